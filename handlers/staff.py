"""Staff administration: /staff add|remove|list and /audit."""

from __future__ import annotations

from collections.abc import Sequence

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from care.errors import InvalidArgument, UnknownCustomer
from care.roles import Role
from handlers.commands_menu import refresh_staff_commands
from handlers.common import reply, staff_command
from handlers.context import CareContext
from handlers.texts import t

MAX_AUDIT_LINES = 50


def _staff_role_needed(args: Sequence[str]) -> Role:
    """Anyone on staff may list; only owners change roles."""
    return Role.STAFF if not args or args[0].lower() == "list" else Role.OWNER


@staff_command("staff", needed=_staff_role_needed)
async def cmd_staff(update: Update, context: CareContext, role: Role) -> str | None:
    """/staff list | add <who> [staff|manager] | remove <who>."""
    args = context.args or []
    verb = args[0].lower() if args else "list"
    if verb == "list" and len(args) <= 1:
        members = await context.care.staff.members()
        lines = [t("staff.list_header", context.lang, count=len(members))]
        lines += [
            t("staff.list_line", context.lang, who=_who(m.telegram_id, m.name), role=m.role.label)
            for m in members
        ]
        await reply(update.effective_message, "\n".join(lines))
        return "listed"
    if (
        verb not in ("add", "remove")
        or len(args) not in (2, 3)
        or (verb == "remove" and len(args) != 2)
    ):
        raise InvalidArgument("staff arguments", usage="usage.staff")
    telegram_id, name = await _resolve_person(context, args[1])
    if telegram_id is None:
        await reply(update.effective_message, t("staff.unknown_user", context.lang, who=args[1]))
        return "unknown user"
    if telegram_id in context.care.settings.staff.owners:
        await reply(update.effective_message, t("staff.owner_in_config", context.lang))
        return "refused: owner"
    who = _who(telegram_id, name)
    if verb == "add":
        new_role = _parse_role(args[2] if len(args) == 3 else "staff")
        await context.care.staff.grant(update.effective_user.id, telegram_id, new_role, name)  # type: ignore[union-attr]
        await refresh_staff_commands(context.bot, telegram_id, is_staff=True)
        await reply(
            update.effective_message, t("staff.added", context.lang, who=who, role=new_role.label)
        )
        return f"granted {new_role.label} to {telegram_id}"
    removed = await context.care.staff.revoke(telegram_id)
    key = "staff.removed" if removed else "staff.not_member"
    if removed:
        await refresh_staff_commands(context.bot, telegram_id, is_staff=False)
    await reply(update.effective_message, t(key, context.lang, who=who))
    return f"revoked {telegram_id}" if removed else "not staff"


@staff_command("audit", needed=Role.MANAGER)
async def cmd_audit(update: Update, context: CareContext, role: Role) -> str | None:
    """/audit [n]: the newest audit entries."""
    args = context.args or []
    if len(args) > 1 or (
        args and not (args[0].isdecimal() and 1 <= int(args[0]) <= MAX_AUDIT_LINES)
    ):
        raise InvalidArgument("audit count", usage="usage.audit")
    limit = int(args[0]) if args else 10
    rows = await context.care.staff.recent_audit(limit)
    if not rows:
        await reply(update.effective_message, t("audit.empty", context.lang))
        return "empty"
    lines = [t("audit.header", context.lang, count=len(rows))]
    lines += [
        t(
            "audit.line",
            context.lang,
            at=row.created_at[:16].replace("T", " "),
            actor=row.actor_id,
            action=row.action,
            arguments=row.arguments,
            result=row.result,
        )
        for row in rows
    ]
    await reply(update.effective_message, "\n".join(lines))
    return f"shown {len(rows)}"


def _parse_role(text: str) -> Role:
    try:
        role = Role.parse(text)
    except ValueError:
        raise InvalidArgument(f"unknown role {text}", usage="usage.staff") from None
    if role not in (Role.STAFF, Role.MANAGER):
        raise InvalidArgument(f"cannot grant {text}", usage="usage.staff")
    return role


async def _resolve_person(context: CareContext, reference: str) -> tuple[int | None, str | None]:
    """A Telegram id (and name) from a numeric id or the @username of a known customer."""
    try:
        customer = await context.care.customers.resolve(reference)
    except UnknownCustomer:
        if reference.isdecimal() and len(reference) < 16 and int(reference) > 0:
            return int(reference), None
        return None, None
    return customer.telegram_id, customer.name


def _who(telegram_id: int, name: str | None) -> str:
    return f"{name} ({telegram_id})" if name else str(telegram_id)


def handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    """This module's handlers."""
    return [CommandHandler("staff", cmd_staff), CommandHandler("audit", cmd_audit)]
