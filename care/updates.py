"""Idempotent update handling: an update Telegram redelivers after a crash acts once."""

from __future__ import annotations

from datetime import timedelta

from care.clock import Clock, iso
from storage import updates as repo
from storage.db import Database

KEEP_PROCESSED = timedelta(days=2)


class UpdateLog:
    """Remembers which updates were fully handled."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db, self._clock = db, clock

    async def begin(self, update_id: int) -> bool:
        """Record an update as started; False if it was already handled to the end."""
        # A 'started' update that comes back was interrupted by a crash: it is handled again,
        # and the side effects that matter are idempotent by their own unique keys.
        async with self._db.transaction() as tx:
            if await repo.status(tx, update_id) == "done":
                return False
            await repo.mark(tx, update_id, "started", iso(self._clock.now()))
        return True

    async def finish(self, update_id: int) -> None:
        """Record an update as handled to the end."""
        async with self._db.transaction() as tx:
            await repo.mark(tx, update_id, "done", iso(self._clock.now()))

    async def prune(self) -> int:
        """Forget old entries; returns how many were removed."""
        async with self._db.transaction() as tx:
            return await repo.prune(tx, iso(self._clock.now() - KEEP_PROCESSED))
