"""Staff roles and the audit log: who may do what, and a record of everything they did."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aiosqlite

from care.clock import Clock, iso
from care.customers import find_customer
from care.errors import CareError, InvalidArgument, NotStaff, UnknownCustomer
from care.roles import Role
from care.settings import StaffSettings
from storage import audit as audit_repo
from storage import staff as staff_repo
from storage.audit import AuditRow
from storage.db import Database
from storage.staff import StaffRow

MAX_AUDIT_ARGUMENTS = 500
MAX_AUDIT_LINES = 50
STAFF_VERBS = ("list", "add", "remove")


@dataclass(frozen=True, slots=True)
class StaffMember:
    """A person with a role: owners from config, the others from the database."""

    telegram_id: int
    role: Role
    name: str | None


@dataclass(frozen=True, slots=True)
class StaffChange:
    """The outcome of /staff: `outcome` is listed, added, removed, not_member, unknown_user or
    owner_in_config; the person concerned, the role granted, or the members listed."""

    outcome: str
    telegram_id: int | None = None
    name: str | None = None
    role: Role | None = None
    reference: str = ""
    members: tuple[StaffMember, ...] = ()


@dataclass(slots=True)
class StaffAct:
    """A staff action in progress: its transaction, the caller's role, and the audit result."""

    tx: aiosqlite.Connection
    role: Role
    region: str  # national phone numbers in staff references are read in this region
    result: str = "ok"


class StaffService:
    """Checks roles on every call and writes the audit log."""

    def __init__(
        self, db: Database, clock: Clock, settings: StaffSettings, region: str = "GB"
    ) -> None:
        self._db, self._clock, self._settings, self._region = db, clock, settings, region
        self._chat_id = settings.chat_id

    @property
    def staff_chat_id(self) -> int | None:
        """The staff group's chat id: the config's, else the one an owner set with /setup."""
        return self._chat_id

    @property
    def owners(self) -> list[int]:
        """The owners' Telegram ids, from the config."""
        return self._settings.owners

    def use_staff_chat(self, chat_id: int) -> bool:
        """Send staff-chat messages to `chat_id` from now on, unless the config names a chat;
        whether it took effect."""
        if self._settings.chat_id is not None:
            return self._settings.chat_id == chat_id
        self._chat_id = chat_id
        return True

    async def role_of(self, telegram_id: int) -> Role:
        """The caller's role, read from config (owners) and the database (everyone else)."""
        if telegram_id in self._settings.owners:
            return Role.OWNER
        async with self._db.read() as tx:
            row = await staff_repo.find(tx, telegram_id)
        return Role.CUSTOMER if row is None else Role.parse(row.role)

    async def authorize(self, actor_id: int, action: str, arguments: str, needed: Role) -> Role:
        """Return the caller's role if it suffices; otherwise audit the refusal and raise."""
        role = await self.role_of(actor_id)
        if role < needed:
            await self.audit(actor_id, action, arguments, f"refused: needs {needed.label}")
            raise NotStaff(actor_id, action, needed.label, role.label)
        return role

    @asynccontextmanager
    async def act(
        self, actor_id: int, action: str, arguments: str, needed: Role
    ) -> AsyncIterator[StaffAct]:
        """One staff use case: the role checked and the audit row written in its transaction.

        Everything the action changes commits together with its audit row. A refusal, a domain
        error or a crash rolls the action back and is audited on its own (nothing changed).
        """
        try:
            async with self._db.transaction() as tx:
                role = await self._role_in(tx, actor_id)
                if role < needed:
                    raise NotStaff(actor_id, action, needed.label, role.label)
                act = StaffAct(tx, role, self._region)
                yield act
                await audit_repo.add(
                    tx, actor_id, action, arguments[:MAX_AUDIT_ARGUMENTS], act.result,
                    iso(self._clock.now()),
                )  # fmt: skip
        except NotStaff as exc:
            await self.audit(actor_id, action, arguments, f"refused: needs {exc.needed}")
            raise
        except CareError as exc:
            await self.audit(actor_id, action, arguments, f"error: {type(exc).__name__}")
            raise
        except Exception as exc:
            await self.audit(actor_id, action, arguments, f"failed: {type(exc).__name__}")
            raise

    async def _role_in(self, tx: aiosqlite.Connection, telegram_id: int) -> Role:
        if telegram_id in self._settings.owners:
            return Role.OWNER
        row = await staff_repo.find(tx, telegram_id)
        return Role.CUSTOMER if row is None else Role.parse(row.role)

    async def audit(self, actor_id: int, action: str, arguments: str, result: str) -> None:
        """Audit an attempt that changed nothing (refused, failed), in its own transaction. It
        is not the update's change, so the update's done mark does not ride on it."""
        async with self._db.transaction(carry=False) as tx:
            await audit_repo.add(
                tx,
                actor_id,
                action,
                arguments[:MAX_AUDIT_ARGUMENTS],
                result,
                iso(self._clock.now()),
            )

    async def grant(self, actor_id: int, telegram_id: int, role: Role, name: str | None) -> None:
        """Give someone a staff or manager role (owners are set in config only)."""
        if role not in (Role.STAFF, Role.MANAGER):
            raise InvalidArgument(f"cannot grant {role.label}", usage="usage.staff")
        if telegram_id in self._settings.owners:
            raise InvalidArgument("owners are set in the config file", usage="usage.staff")
        async with self._db.transaction() as tx:
            await staff_repo.upsert(
                tx, telegram_id, role.label, name, actor_id, iso(self._clock.now())
            )

    async def revoke(self, telegram_id: int) -> bool:
        """Take someone's role away; False if they had none."""
        async with self._db.transaction() as tx:
            return await staff_repo.remove(tx, telegram_id)

    async def members(self) -> list[StaffMember]:
        """Owners first, then the staff in the database."""
        async with self._db.read() as tx:
            rows: list[StaffRow] = await staff_repo.list_all(tx)
        owners = [StaffMember(owner, Role.OWNER, None) for owner in self._settings.owners]
        return owners + [StaffMember(r.telegram_id, Role.parse(r.role), r.name) for r in rows]

    async def recent_audit(self, limit: int = 20) -> list[AuditRow]:
        """The newest audit entries."""
        async with self._db.read() as tx:
            return await audit_repo.list_recent(tx, limit)

    async def staff_command(self, actor_id: int, args: Sequence[str]) -> StaffChange:
        """/staff list | add <who> [staff|manager] | remove <who>: anyone on staff lists, only
        owners change roles; the change and its audit row in one transaction."""
        verb = args[0].lower() if args else "list"
        needed = Role.STAFF if verb == "list" else Role.OWNER
        async with self.act(actor_id, "staff", " ".join(args), needed) as act:
            change = await self._staff_change(act.tx, actor_id, verb, args)
            act.result = _staff_result(change)
        return change

    async def _staff_change(
        self, tx: aiosqlite.Connection, actor_id: int, verb: str, args: Sequence[str]
    ) -> StaffChange:
        if verb == "list" and len(args) <= 1:
            rows = await staff_repo.list_all(tx)
            owners = [StaffMember(owner, Role.OWNER, None) for owner in self._settings.owners]
            found = [StaffMember(r.telegram_id, Role.parse(r.role), r.name) for r in rows]
            return StaffChange("listed", members=tuple(owners + found))
        shape_ok = (verb == "add" and len(args) in (2, 3)) or (verb == "remove" and len(args) == 2)
        if not shape_ok:
            raise InvalidArgument("staff arguments", usage="usage.staff")
        role = _grantable(args[2] if len(args) == 3 else "staff") if verb == "add" else None
        telegram_id, name = await _person(tx, args[1], self._region)
        if telegram_id is None:
            return StaffChange("unknown_user", reference=args[1])
        if telegram_id in self._settings.owners:
            return StaffChange("owner_in_config", telegram_id, name)
        if role is not None:
            at = iso(self._clock.now())
            await staff_repo.upsert(tx, telegram_id, role.label, name, actor_id, at)
            return StaffChange("added", telegram_id, name, role)
        removed = await staff_repo.remove(tx, telegram_id)
        return StaffChange("removed" if removed else "not_member", telegram_id, name)

    async def audit_log(self, actor_id: int, args: Sequence[str]) -> list[AuditRow]:
        """/audit [n] (managers and owners): the newest entries, the reading itself audited."""
        async with self.act(actor_id, "audit", " ".join(args), Role.MANAGER) as act:
            if len(args) > 1 or (
                args and not (args[0].isdecimal() and 1 <= int(args[0]) <= MAX_AUDIT_LINES)
            ):
                raise InvalidArgument("audit count", usage="usage.audit")
            rows = await audit_repo.list_recent(act.tx, int(args[0]) if args else 10)
            act.result = f"shown {len(rows)}" if rows else "empty"
        return rows


def _grantable(text: str) -> Role:
    """A role that can be granted in chat (staff or manager)."""
    try:
        role = Role.parse(text)
    except ValueError:
        raise InvalidArgument(f"unknown role {text}", usage="usage.staff") from None
    if role not in (Role.STAFF, Role.MANAGER):
        raise InvalidArgument(f"cannot grant {text}", usage="usage.staff")
    return role


async def _person(
    tx: aiosqlite.Connection, reference: str, region: str
) -> tuple[int | None, str | None]:
    """A Telegram id (and name) from the reference of a known customer, or a numeric id."""
    try:
        customer = await find_customer(tx, reference, region)
    except UnknownCustomer:
        if reference.isdecimal() and len(reference) < 16 and int(reference) > 0:
            return int(reference), None
        return None, None
    return customer.telegram_id, customer.name


def _staff_result(change: StaffChange) -> str:
    """The audit log's wording of a /staff outcome."""
    role = change.role.label if change.role else ""
    return {
        "listed": "listed",
        "added": f"granted {role} to {change.telegram_id}",
        "removed": f"revoked {change.telegram_id}",
        "not_member": "not staff",
        "unknown_user": "unknown user",
        "owner_in_config": "refused: owner",
    }[change.outcome]
