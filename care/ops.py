"""Operating the bot: heartbeats, the record of backups (owners alerted when one fails), and
the staff chat an owner sets from Telegram."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from care.clock import Clock, iso, parse_iso
from care.outbox import Outbox
from care.ports import OutboundMessage
from care.roles import Role
from care.settings import StaffSettings
from care.staff import StaffService
from storage import ops as repo
from storage.db import Database
from storage.ops import BackupRow

log = logging.getLogger(__name__)

STAFF_CHAT_FACT = "staff_chat_id"


@dataclass(frozen=True, slots=True)
class BackupOutcome:
    """What one backup attempt produced (filled in by whoever made the copy)."""

    started_at: datetime
    path: str
    ok: bool
    size_bytes: int | None = None
    counts: dict[str, int] = field(default_factory=dict)
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Health:
    """What the database says about the running bot."""

    heartbeats: dict[str, datetime]
    last_backup: BackupRow | None
    last_good_backup: BackupRow | None


@dataclass(frozen=True, slots=True)
class StaffChatSet:
    """The staff chat an owner chose; `config_chat_id` is set when the config overrides it."""

    chat_id: int
    config_chat_id: int | None


class OpsService:
    """Heartbeats, backup records and the staff chat set with /setup."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        staff_settings: StaffSettings,
        staff: StaffService,
        outbox: Outbox,
        lang: str,
    ) -> None:
        self._db, self._clock, self._staff_settings = db, clock, staff_settings
        self._staff, self._outbox, self._lang = staff, outbox, lang

    async def beat(self, names: list[str]) -> None:
        """Record that these parts of the bot are alive now."""
        at = iso(self._clock.now())
        async with self._db.transaction() as tx:
            for name in names:
                await repo.beat(tx, name, at)

    async def record_backup(self, outcome: BackupOutcome) -> None:
        """Store a backup's outcome; a failed one alerts every owner in the same transaction."""
        finished = iso(self._clock.now())
        async with self._db.transaction() as tx:
            backup_id = await repo.record_backup(
                tx,
                started_at=iso(outcome.started_at),
                finished_at=finished,
                path=outcome.path,
                ok=outcome.ok,
                size_bytes=outcome.size_bytes,
                counts=outcome.counts,
                error=outcome.error,
            )
            if outcome.ok:
                return
            for owner in self._staff_settings.owners:
                message = OutboundMessage(
                    owner, "ops.backup_failed", self._lang, {"error": outcome.error or "?"}
                )
                await self._outbox.add(
                    tx, message, kind="ops.backup_failed", dedupe_key=f"backup:{backup_id}:{owner}"
                )

    async def health(self) -> Health:
        """Heartbeats and the last backups, as stored."""
        async with self._db.read() as tx:
            beats = await repo.heartbeats(tx)
            last = await repo.last_backup(tx)
            good = await repo.last_backup(tx, ok_only=True)
        return Health({name: parse_iso(at) for name, at in beats.items()}, last, good)

    async def set_staff_chat(self, actor_id: int, chat_id: int) -> StaffChatSet:
        """An owner makes this group the staff chat (the config's chat_id still wins if set).

        Stored for the next starts, and used at once: the next ticket or question goes there.
        """
        configured = self._staff_settings.chat_id
        overridden = configured if configured not in (None, chat_id) else None
        async with self._staff.act(actor_id, "setup.staffchat", str(chat_id), Role.OWNER) as act:
            at = iso(self._clock.now())
            await repo.set_fact(act.tx, STAFF_CHAT_FACT, str(chat_id), actor_id, at)
            act.result = "ok" if overridden is None else "stored; the config's chat_id wins"
        self._staff.use_staff_chat(chat_id)
        return StaffChatSet(chat_id, overridden)

    async def stored_staff_chat(self) -> int | None:
        """The staff chat set with /setup staffchat, if any."""
        async with self._db.read() as tx:
            value = await repo.fact(tx, STAFF_CHAT_FACT)
        return None if value is None else int(value)
