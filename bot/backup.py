"""Online backups of the SQLite database with SQLite's backup API, their retention, and
restoring one (only while no bot runs on the database)."""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import sqlite3
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from care.ops import BackupOutcome
from care.services import CareServices
from care.settings import BackupSettings
from storage.migrate import latest_version

log = logging.getLogger(__name__)

NAME_PREFIX = "carebot-"
NAME_SUFFIX = ".sqlite3"
STAMP = "%Y%m%dT%H%M%SZ"
# The copy and its integrity_check yield the CPU to the bot: on 2 busy cores FAQ answers kept
# 123/s (p99 184 ms) during a 1 GB backup at nice 19, 34-48/s (p99 378-735 ms) without it.
BACKUP_NICE = 19


class BackupError(Exception):
    """A backup or restore that cannot be done, with the reason for the operator."""


class BotRunning(BackupError):
    """A bot holds the database's run lock."""


@dataclass(frozen=True, slots=True)
class Copy:
    """A verified copy of the database."""

    path: Path
    size_bytes: int
    counts: dict[str, int]
    schema_version: int


@contextmanager
def run_lock(db_path: str, *, exclusive: bool) -> Iterator[None]:
    """Hold `<database>.lock`: shared while a bot runs, exclusive while a restore replaces it.

    The kernel drops the lock when the process dies, so a crashed bot never blocks a restore.
    """
    if db_path == ":memory:":
        yield
        return
    path = Path(f"{db_path}.lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        try:
            fcntl.flock(handle, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except BlockingIOError:
            if exclusive:
                raise BotRunning(
                    f"a carebot is running on {db_path}: stop it first (systemctl stop carebot"
                    " or docker compose stop)"
                ) from None
            raise BotRunning(
                f"a restore of {db_path} is in progress: start the bot after it"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def backup_dir(settings: BackupSettings, db_path: str) -> Path:
    """Where scheduled backups go: `[backup] dir`, a relative one beside the database."""
    folder = Path(settings.dir).expanduser()
    return folder if folder.is_absolute() else Path(db_path).resolve().parent / folder


def backup_name(moment: datetime) -> str:
    """The file name of a backup taken at `moment` (sorts by time)."""
    return f"{NAME_PREFIX}{moment.astimezone(UTC).strftime(STAMP)}{NAME_SUFFIX}"


def taken_at(path: Path) -> datetime | None:
    """When a backup was taken, from its name; None for a file that is not one of ours."""
    name = path.name
    if not (name.startswith(NAME_PREFIX) and name.endswith(NAME_SUFFIX)):
        return None
    try:
        stamp = name[len(NAME_PREFIX) : -len(NAME_SUFFIX)]
        return datetime.strptime(stamp, STAMP).replace(tzinfo=UTC)
    except ValueError:
        return None


def online_copy(source: str, target: Path) -> Copy:
    """Copy a live database with SQLite's backup API, verify the copy, then move it in place.

    One backup step takes one read snapshot: writers go on (WAL), and the copy holds exactly
    the transactions committed before it began. Blocking: run it in a thread.
    """
    lower_priority()
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    src = sqlite3.connect(source, timeout=30)
    try:
        dest = sqlite3.connect(partial)
        try:
            src.backup(dest)
            dest.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, no -wal
            version, counts = verify(dest)
        finally:
            dest.close()
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        src.close()
    os.replace(partial, target)
    return Copy(target, target.stat().st_size, counts, version)


def lower_priority() -> None:
    """Give the calling thread the lowest CPU priority (on Linux nice is per thread)."""
    if sys.platform == "linux":
        with suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKUP_NICE)


def verify(conn: sqlite3.Connection) -> tuple[int, dict[str, int]]:
    """Run integrity_check on a database; return its schema version and rows per table."""
    problems = [row[0] for row in conn.execute("PRAGMA integrity_check")]
    if problems != ["ok"]:
        raise BackupError(f"integrity_check failed: {'; '.join(problems[:3])}")
    names = [
        row[0]
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            " ORDER BY name"
        )
    ]
    counts = {}
    for name in names:
        quoted = '"' + name.replace('"', '""') + '"'
        counts[name] = conn.execute(f"SELECT count(*) FROM {quoted}").fetchone()[0]  # noqa: S608
    return int(conn.execute("PRAGMA user_version").fetchone()[0]), counts


def inspect(path: Path) -> tuple[int, dict[str, int]]:
    """Open a backup file read-only and verify it; its schema version and rows per table."""
    if not path.is_file():
        raise BackupError(f"{path}: no such file")
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return verify(conn)
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path}: not a usable SQLite database ({exc})") from None
    finally:
        conn.close()


def to_prune(backups: list[Path], keep_daily: int, keep_weekly: int) -> list[Path]:
    """The backups retention drops: the newest of each of the last `keep_daily` days with a
    backup stays, and the newest of each of the last `keep_weekly` ISO weeks."""
    dated = sorted(
        ((moment, path) for path in backups if (moment := taken_at(path)) is not None),
        reverse=True,
    )
    keep: set[Path] = set()
    days: set[object] = set()
    weeks: set[object] = set()
    for moment, path in dated:
        day, week = moment.date(), moment.isocalendar()[:2]
        if day not in days and len(days) < keep_daily:
            days.add(day)
            keep.add(path)
        if week not in weeks and len(weeks) < keep_weekly:
            weeks.add(week)
            keep.add(path)
    return [path for _, path in dated if path not in keep]


def log_copy(copy: Copy) -> None:
    """One line per backup with its row counts."""
    rows = " ".join(f"rows.{name}={count}" for name, count in copy.counts.items())
    log.info("backup ok path=%s size_bytes=%s %s", copy.path, copy.size_bytes, rows)


async def take(care: CareServices, target: Path) -> BackupOutcome:
    """Back the bot's database up to `target` off the event loop, verify and record it
    (owners are alerted through the outbox when it failed)."""
    started = care.clock.now()
    try:
        # A thread of its own: the copy lowers its thread's priority for good.
        pool = ThreadPoolExecutor(1, thread_name_prefix="backup")
        try:
            loop = asyncio.get_running_loop()
            copy = await loop.run_in_executor(pool, online_copy, care.db.path, target)
        finally:
            pool.shutdown(wait=False)
    except (OSError, sqlite3.Error, BackupError) as exc:
        log.error("backup failed path=%s error=%s", target, exc)
        outcome = BackupOutcome(started, str(target), ok=False, error=str(exc))
    else:
        log_copy(copy)
        outcome = BackupOutcome(started, str(target), True, copy.size_bytes, copy.counts)
    await care.ops.record_backup(outcome)
    return outcome


async def scheduled(care: CareServices) -> BackupOutcome:
    """The scheduled backup: a new file in `[backup] dir`, then retention."""
    settings = care.settings.backup
    folder = backup_dir(settings, care.db.path)
    outcome = await take(care, folder / backup_name(care.clock.now()))
    if outcome.ok:
        existing = [path for path in folder.iterdir() if taken_at(path) is not None]
        for path in to_prune(existing, settings.keep_daily, settings.keep_weekly):
            path.unlink(missing_ok=True)
            log.info("backup pruned path=%s", path)
    return outcome


@dataclass(frozen=True, slots=True)
class Restored:
    """What `restore` did."""

    schema_version: int
    counts: dict[str, int]
    aside: Path | None


def restore(source: Path, db_path: str, moment: datetime) -> Restored:
    """Replace the database with a backup; the replaced one is kept aside, beside it.

    Refuses while a bot runs on the database and a backup newer than this code's schema.
    An older one is fine: the next start migrates it forward.
    """
    version, counts = inspect(source)
    latest = latest_version()
    if version > latest:
        raise BackupError(
            f"{source} is at schema version {version}, this carebot knows {latest}:"
            " restore it with the carebot version that made it"
        )
    with run_lock(db_path, exclusive=True):
        database = Path(db_path)
        aside = None
        try:
            if database.exists():
                aside = database.with_name(f"{database.name}.replaced-{moment.strftime(STAMP)}")
                online_copy(db_path, aside)  # takes what the WAL holds too
            staged = online_copy(str(source), database.with_name(f"{database.name}.restoring"))
            for suffix in ("-wal", "-shm"):  # the old WAL must never meet the new file
                Path(f"{db_path}{suffix}").unlink(missing_ok=True)
            os.replace(staged.path, database)
        except (OSError, sqlite3.Error) as exc:
            raise BackupError(f"restore failed, {db_path} left as it was: {exc}") from exc
    return Restored(version, counts, aside)
