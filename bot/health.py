"""`carebot status`: is the bot alive, its database writable, its last backup good?"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from bot.config import Settings
from care.clock import parse_iso
from storage import ops as repo
from storage.db import Database
from storage.migrate import current_version, latest_version

STALE_AFTER = timedelta(minutes=2)  # heartbeats are written every 30 s
BACKUP_GRACE = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Check:
    """One thing `status` looked at."""

    name: str
    ok: bool
    detail: str


async def checks(
    settings: Settings, now: datetime, *, stale_after: timedelta = STALE_AFTER
) -> list[Check]:
    """Every check, in order; the database is opened without migrating it."""
    path = settings.storage.path
    if path != ":memory:" and not await asyncio.to_thread(os.path.isfile, path):
        return [Check("database", False, f"no database at {path}")]
    db = await Database.open(path)
    try:
        version, latest = await current_version(db), latest_version()
        if version != latest:
            return [
                Check("database", False, f"schema version {version}, this carebot needs {latest}")
            ]
        found = [await _writable(db)]
        async with db.read() as tx:
            beats = await repo.heartbeats(tx)
            last = await repo.last_backup(tx)
            good = await repo.last_backup(tx, ok_only=True)
    finally:
        await db.close()
    for part in ("poller", "jobs"):
        at = beats.get(part)
        if at is None:
            found.append(Check(part, False, "never seen: is the bot running?"))
            continue
        age = now - parse_iso(at)
        fresh = age <= stale_after
        found.append(Check(part, fresh, f"last seen {int(age.total_seconds())}s ago"))
    found.append(_backup_check(settings, now, last, good))
    return found


async def _writable(db: Database) -> Check:
    try:
        async with db.transaction():
            pass
    except Exception as exc:  # any reason the database cannot take a write is the finding
        return Check("database", False, f"not writable: {exc}")
    return Check("database", True, "writable")


def _backup_check(
    settings: Settings, now: datetime, last: repo.BackupRow | None, good: repo.BackupRow | None
) -> Check:
    interval = settings.backup.interval_hours
    if last is not None and not last.ok:
        return Check("backup", False, f"last backup failed at {last.finished_at}: {last.error}")
    if good is None:
        return Check("backup", True, "none yet" if interval else "off, none taken")
    age = now - parse_iso(good.finished_at)
    hours = age.total_seconds() / 3600
    if interval and age > timedelta(hours=2 * interval) + BACKUP_GRACE:
        return Check("backup", False, f"last good backup is {hours:.1f} h old")
    return Check("backup", True, f"last good backup {hours:.1f} h ago ({good.path})")


def render(found: list[Check], *, as_json: bool) -> str:
    """The report, as text lines or one JSON object."""
    healthy = all(check.ok for check in found)
    if as_json:
        return json.dumps({"ok": healthy, "checks": [asdict(check) for check in found]})
    lines = [f"{'ok  ' if c.ok else 'FAIL'} {c.name}: {c.detail}" for c in found]
    return "\n".join([*lines, "healthy" if healthy else "unhealthy"])
