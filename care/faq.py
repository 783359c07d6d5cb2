"""The FAQ: answer a customer's question, learn from the ones we could not answer."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from care.clock import Clock, iso
from care.errors import InvalidArgument, UnknownFaqEntry, UnknownUnanswered
from care.faq_match import (
    Decision,
    FaqDoc,
    FaqIndex,
    Match,
    MatchThresholds,
    detect_language,
    normalise,
)
from care.faq_text import words
from care.ports import Messenger, OutboundMessage, SendStatus
from care.settings import LANGUAGES, FaqSettings, StaffSettings
from storage import faq as repo
from storage.db import Database
from storage.faq import FaqRow, UnansweredRow

MAX_QUESTION_LENGTH = 300
MAX_ANSWER_LENGTH = 3000


def has_words(text: str) -> bool:
    """False for text with nothing to match or record (only emoji, punctuation, spaces)."""
    return bool(words(normalise(text)))


def question_language(text: str, customer_lang: str) -> str:
    """The language a question is written in (the customer's when it cannot tell)."""
    return detect_language(
        normalise(text), default=customer_lang if customer_lang in LANGUAGES else "en"
    )


@dataclass(frozen=True, slots=True)
class FaqReply:
    """What to tell a customer who asked something."""

    decision: Decision
    lang: str  # the language to answer in: the one the question was written in
    entry: FaqRow | None  # the answer (ANSWER)
    suggestions: tuple[FaqRow, ...]  # "did you mean" (SUGGEST)
    unanswered_id: int | None  # the recorded question (FALLBACK)
    match: Match


@dataclass(frozen=True, slots=True)
class _Snapshot:
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


class FaqService:
    """Matches questions against an in-memory index, rebuilt whenever the FAQ changes.

    The database keeps a generation number that triggers bump on every change to an entry, by
    this process or another (`carebot faq import` while the bot runs); each question reads it
    (one small SELECT) and rebuilds the index if it was built from an older generation.
    """

    def __init__(
        self,
        db: Database,
        clock: Clock,
        settings: FaqSettings,
        messenger: Messenger,
        staff: StaffSettings,
        staff_lang: str,
    ) -> None:
        self._db, self._clock = db, clock
        self._messenger, self._staff, self._staff_lang = messenger, staff, staff_lang
        self._thresholds = MatchThresholds(
            answer=settings.answer_threshold,
            suggest=settings.suggest_threshold,
            margin=settings.margin,
            max_suggestions=settings.max_suggestions,
        )
        self._snapshot: _Snapshot | None = None
        self._invalidations = 0  # so that a rebuild racing with invalidate() is not kept
        self._rebuild_lock = asyncio.Lock()

    async def ask(self, text: str, customer_lang: str, *, record: bool = True) -> FaqReply:
        """Answer, suggest or fall back; a fallback is recorded as unanswered (unless told not)."""
        snapshot = await self._current()
        match = snapshot.index.match(text, customer_lang, self._thresholds)
        lang = match.query_lang
        if match.decision is Decision.ANSWER and match.entry_id is not None:
            entry = snapshot.row_for(match.entry_id, lang)
            return FaqReply(match.decision, lang, entry, (), None, match)
        if match.decision is Decision.SUGGEST:
            rows = tuple(
                r for i in match.suggestions if (r := snapshot.row_for(i, lang)) is not None
            )
            return FaqReply(match.decision, lang, None, rows, None, match)
        unanswered_id = await self.record_unanswered(text, lang) if record else None
        return FaqReply(Decision.FALLBACK, lang, None, (), unanswered_id, match)

    async def record_unanswered(self, text: str, lang: str) -> int | None:
        """Count a question the FAQ could not answer; None if it has no words."""
        norm = normalise(text)
        if not words(norm):
            return None
        async with self._db.transaction() as tx:
            return await repo.record_unanswered(
                tx,
                norm[:MAX_QUESTION_LENGTH],
                lang,
                text[:MAX_QUESTION_LENGTH],
                iso(self._clock.now()),
            )

    async def unanswered_question(self, unanswered_id: int) -> UnansweredRow | None:
        """One recorded question, or None."""
        async with self._db.read() as tx:
            return await repo.find_unanswered(tx, unanswered_id)

    async def ask_staff(self, unanswered_id: int, customer: str) -> bool:
        """Post an unanswered question to the staff chat; False if it could not be delivered."""
        chat_id = self._staff.chat_id
        question = await self.unanswered_question(unanswered_id)
        if chat_id is None or question is None:
            return False
        result = await self._messenger.send(
            OutboundMessage(
                chat_id,
                "faq.staff_question",
                self._staff_lang,
                {"customer": customer, "question": question.example, "number": question.id},
            )
        )
        return result.status is SendStatus.SENT

    async def entry(self, entry_id: int, lang: str) -> FaqRow:
        """An entry in the wanted language (else another); UnknownFaqEntry if it is gone."""
        row = (await self._current()).row_for(entry_id, lang)
        if row is None:
            raise UnknownFaqEntry(entry_id)
        return row

    async def vote(
        self, entry_id: int, lang: str, helpful: bool, *, chat_id: int, message_id: int
    ) -> bool:
        """Count a 👍 or 👎 on the answer in one message, once; False if it was counted before."""
        async with self._db.transaction() as tx:
            return await repo.vote(
                tx,
                chat_id=chat_id,
                message_id=message_id,
                entry_id=entry_id,
                language=lang,
                helpful=helpful,
                at=iso(self._clock.now()),
            )

    async def page(self, page: int, per_page: int = 10) -> tuple[list[FaqRow], int]:
        """One page of entries and the number of (entry, language) rows in all."""
        if page < 1:
            raise InvalidArgument("page", usage="usage.faq")
        async with self._db.read() as tx:
            return await repo.list_page(tx, (page - 1) * per_page, per_page), await repo.count(tx)

    async def show(self, entry_id: int) -> list[FaqRow]:
        """An entry in all its languages; UnknownFaqEntry if none."""
        async with self._db.read() as tx:
            rows = await repo.find_entry(tx, entry_id)
        if not rows:
            raise UnknownFaqEntry(entry_id)
        return rows

    async def save(
        self,
        lang: str,
        question: str,
        alternates: tuple[str, ...],
        answer: str,
        entry_id: int | None = None,
    ) -> int:
        """Add an entry (or a language of an existing one, or replace it); returns its id."""
        question, answer = question.strip(), answer.strip()
        alternates = tuple(a.strip() for a in alternates if a.strip())
        if lang not in LANGUAGES or not question or not answer:
            raise InvalidArgument("faq entry", usage="usage.faq_add")
        if len(question) > MAX_QUESTION_LENGTH or len(answer) > MAX_ANSWER_LENGTH:
            raise InvalidArgument("faq entry too long", usage="usage.faq_add")
        async with self._db.transaction() as tx:
            if entry_id is None:
                entry_id = await repo.next_entry_id(tx)
            await repo.upsert(
                tx,
                entry_id=entry_id,
                language=lang,
                question=question,
                alternates=alternates,
                answer=answer,
                at=iso(self._clock.now()),
            )
        await self.invalidate()
        return entry_id

    async def edit(self, entry_id: int, lang: str, field: str, value: str) -> FaqRow:
        """Change an entry's question, answer or alternates (separated by ';' or '|')."""
        async with self._db.read() as tx:
            row = await repo.find(tx, entry_id, lang)
        if row is None:
            raise UnknownFaqEntry(entry_id)
        question, answer, alternates = row.question, row.answer, row.alternates
        if field == "question":
            question = value
        elif field == "answer":
            answer = value
        elif field == "alternates":
            alternates = split_alternates(value)
        else:
            raise InvalidArgument(f"unknown field {field}", usage="usage.faq_edit")
        await self.save(lang, question, alternates, answer, entry_id=entry_id)
        return await self.entry(entry_id, lang)

    async def delete(self, entry_id: int) -> None:
        """Delete an entry in every language."""
        async with self._db.transaction() as tx:
            if not await repo.delete(tx, entry_id):
                raise UnknownFaqEntry(entry_id)
        await self.invalidate()

    async def unanswered(self, limit: int = 20) -> list[UnansweredRow]:
        """Open unanswered questions, most frequent first."""
        async with self._db.read() as tx:
            return await repo.list_unanswered(tx, limit)

    async def teach(self, unanswered_id: int, entry_id: int) -> FaqRow:
        """Add an unanswered question as an alternate phrasing of an entry, in its language."""
        async with self._db.transaction() as tx:
            question = await repo.find_unanswered(tx, unanswered_id)
            if question is None:
                raise UnknownUnanswered(unanswered_id)
            rows = await repo.find_entry(tx, entry_id)
            if not rows:
                raise UnknownFaqEntry(entry_id)
            row = next((r for r in rows if r.language == question.language), rows[0])
            if question.example not in row.alternates:
                await repo.upsert(
                    tx,
                    entry_id=entry_id,
                    language=row.language,
                    question=row.question,
                    alternates=(*row.alternates, question.example),
                    answer=row.answer,
                    tags=row.tags,
                    at=iso(self._clock.now()),
                )
            await repo.resolve_unanswered(tx, unanswered_id, entry_id)
        await self.invalidate()
        return await self.entry(entry_id, row.language)

    async def invalidate(self) -> None:
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

    async def _current(self) -> _Snapshot:
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
            snapshot = _Snapshot(built_from, index, {(r.entry_id, r.language): r for r in rows})
            if invalidations == self._invalidations:
                self._snapshot = snapshot
            return snapshot


def split_alternates(text: str) -> tuple[str, ...]:
    """Alternate phrasings separated by '|' or ';'."""
    return tuple(part.strip() for part in text.replace(";", "|").split("|") if part.strip())
