"""The FAQ's in-memory index as of the database's current generation (rebuilt on change).

The database keeps a generation number that triggers bump on every change to an entry, by this
process or another (`carebot faq import` while the bot runs); each question reads it (one small
SELECT, no transaction) and rebuilds the index if it was built from an older generation.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from care.faq.index import FaqDoc
from care.faq.match import FaqIndex
from storage import faq as repo
from storage.db import Database
from storage.faq import FaqRow


@dataclass(frozen=True, slots=True)
class Snapshot:
    """An index and the rows it answers with, as of one FAQ generation."""

    generation: int
    index: FaqIndex
    rows: dict[tuple[int, str], FaqRow]

    def row_for(self, entry_id: int, lang: str) -> FaqRow | None:
        """The entry in `lang` if it has that language, else in any language it has."""
        row = self.rows.get((entry_id, lang))
        if row is not None:
            return row
        return next((r for (i, _), r in sorted(self.rows.items()) if i == entry_id), None)


class LiveIndex:
    """The index for the FAQ as it is now, shared by every question of the process."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._snapshot: Snapshot | None = None
        self._invalidations = 0  # so that a rebuild racing with invalidate() is not kept
        self._rebuild_lock = asyncio.Lock()

    def invalidate(self) -> None:
        """Rebuild the index before the next question.

        Changes to the FAQ are noticed without it, by their generation; this also forces a
        rebuild when the generation cannot tell (e.g. a database restored from a backup). An
        index that was being built meanwhile is used for the question that asked for it only.
        """
        self._invalidations += 1
        self._snapshot = None

    async def generation(self) -> int:
        """The FAQ's current generation in the database."""
        async with self._db.statement() as conn:
            return await repo.generation(conn)

    async def current(self) -> Snapshot:
        """The index for the FAQ as it is now: rebuilt if the database has a newer generation."""
        generation = await self.generation()
        async with self._rebuild_lock:
            snapshot = self._snapshot
            if snapshot is not None and snapshot.generation == generation:
                return snapshot
            invalidations = self._invalidations
            async with self._db.read() as tx:
                # The rows and the generation they belong to, from one snapshot: a change
                # committed during the (slow) build leaves this index a generation behind, and
                # the next question rebuilds it.
                built_from = await repo.generation(tx)
                rows = await repo.list_enabled(tx)
            docs = [FaqDoc(r.entry_id, r.language, (r.question, *r.alternates)) for r in rows]
            # A large FAQ takes a while to index: keep the event loop answering meanwhile.
            index = await asyncio.to_thread(FaqIndex.build, docs)
            snapshot = Snapshot(built_from, index, {(r.entry_id, r.language): r for r in rows})
            if invalidations == self._invalidations:
                self._snapshot = snapshot
            return snapshot
