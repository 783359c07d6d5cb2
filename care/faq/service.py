"""The FAQ's use cases: answer a question, follow up its buttons, and the staff tools."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import NoReturn

import aiosqlite

from care import callbacks
from care.clock import Clock, iso
from care.errors import (
    ExpiredButton,
    InvalidArgument,
    NoEntryToExtend,
    UnknownFaqEntry,
    UnknownUnanswered,
)
from care.faq import smalltalk
from care.faq.calibrate import Calibration
from care.faq.live import LiveIndex
from care.faq.match import Decision
from care.faq.results import (
    FaqPage,
    FaqReply,
    FollowUp,
    Outcome,
    Proposal,
    ProposalDecision,
    Review,
    TeamAsked,
    TeamRequest,
    Unhelpful,
    VoteResult,
)
from care.faq.teach import group_questions
from care.faq.text import detect_language, looks_like_code, normalise, words
from care.outbox import Outbox
from care.ports import OutboundMessage
from care.roles import Role
from care.settings import LANGUAGES, FaqSettings
from care.staff import StaffService
from care.tickets.complaints import looks_like_complaint
from care.tickets.service import TicketService
from storage import customers as customers_repo
from storage import faq as repo
from storage import reports as reports_repo
from storage.db import Database, Writes, ride_along
from storage.faq import FaqRow, UnansweredRow

MAX_QUESTION_LENGTH = 300
DIGEST_PROPOSALS = 5  # Yes / No messages in a weekly digest
GROUPED_FROM = 200  # open unanswered questions looked at for near-identical groups
MAX_ANSWER_LENGTH = 3000
ACTION = "faq"  # the audit log's name for every staff FAQ command


class FaqService:
    """The FAQ's use cases, over the live index of the FAQ (care.faq.live)."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        settings: FaqSettings,
        staff: StaffService,
        outbox: Outbox,
        staff_lang: str,
        tickets: TicketService,
    ) -> None:
        self._db, self._clock = db, clock
        self._staff, self._outbox, self._staff_lang = staff, outbox, staff_lang
        self._tickets = tickets
        self._index = LiveIndex(db, settings)

    # ------------------------------------------------------------------ customers

    async def answer(
        self,
        text: str,
        lang: str,
        *,
        asker: int | None,
        after_unhelpful: Unhelpful | None = None,
    ) -> FaqReply:
        """Decide what to tell a customer who wrote `text`; a fallback is recorded for staff.

        `asker` is the Telegram id of the customer asking, or None for a dry run (`carebot faq
        ask`), which decides the same and writes nothing. An answered question writes nothing
        (unless it follows a 👎 answer of another entry: that pair is proposed to staff); a
        fallback writes one row in one transaction.
        """
        norm = normalise(text)  # once: everything below works on this
        customer_lang = lang if lang in LANGUAGES else "en"
        if not words(norm) or looks_like_code(text):  # nothing to answer: ask for words
            return FaqReply(Outcome.NO_WORDS, customer_lang, text)
        qlang = detect_language(norm, default=customer_lang)
        key = smalltalk.reply_key(norm)
        if key is not None:
            return FaqReply(Outcome.SMALL_TALK, qlang, text, small_talk=key)
        snapshot = await self._index.current()
        match = await snapshot.decide(norm, qlang)
        qlang = match.query_lang
        answered = match.entry_id if match.decision is Decision.ANSWER else None
        entry = None if answered is None else snapshot.row_for(answered, qlang)
        offered = match.suggestions if entry is None else (entry.entry_id,)
        rows = tuple(r for i in offered if (r := snapshot.row_for(i, qlang)) is not None)
        # A complaint is not a question for the FAQ ("my cake was stale" asks nothing about
        # cake): its button comes first, the entry it would be answered with (or the
        # suggestions) after it, and it is not recorded as unanswered.
        if looks_like_complaint(text):
            return FaqReply(Outcome.COMPLAINT, qlang, text, suggestions=rows, match=match)
        if entry is not None:
            if asker is not None and after_unhelpful is not None:
                async with self._db.transaction() as tx:
                    await self._follow_unhelpful(tx, after_unhelpful, entry.entry_id)
                    await reports_repo.add_faq_outcome(tx, _hour(self._clock.now()), "answer")
            else:
                await self._count(asker, "answer")
            return FaqReply(Outcome.ANSWER, qlang, text, entry=entry, match=match)
        if match.decision is Decision.SUGGEST:
            await self._count(asker, "suggest")
            return FaqReply(Outcome.SUGGEST, qlang, text, suggestions=rows, match=match)
        unanswered_id = None
        if asker is not None:
            async with self._db.transaction() as tx:
                unanswered_id = await self._record(tx, norm, qlang, text, asker)
                await reports_repo.add_faq_outcome(tx, _hour(self._clock.now()), "fallback")
        return FaqReply(Outcome.FALLBACK, qlang, text, unanswered_id=unanswered_id, match=match)

    async def _count(self, asker: int | None, outcome: str) -> None:
        """Count an answered or suggested question for the reports: it rides along with the
        update's own commit (no transaction of its own in the bot), a dry run counts nothing."""
        if asker is None:
            return
        hour = _hour(self._clock.now())

        async def work(tx: Writes) -> None:
            await reports_repo.add_faq_outcome(tx, hour, outcome)

        if not ride_along(work):
            async with self._db.transaction() as tx:
                await work(tx)

    @property
    def matcher(self) -> str:
        """The matcher answering: "semantic" or "lexical" (after the first question)."""
        return self._index.matcher

    async def matcher_in_use(self) -> str:
        """The matcher that answers this FAQ ("semantic" or "lexical"), building the index
        first if no question has yet."""
        await self._index.current()
        return self._index.matcher

    async def calibration(self) -> Calibration:
        """The thresholds the FAQ is answered with now, and why (`carebot faq calibrate`)."""
        return await self._index.calibration()

    async def recalibrate(self) -> Calibration:
        """Recalibrate on the feedback gathered since the last calibration (a daily job)."""
        return await self._index.recalibrate()

    async def suggestion_pressed(
        self,
        entry_id: int,
        lang: str,
        question: tuple[str, str] | None,
        *,
        chat_id: int,
        message_id: int,
        after_unhelpful: Unhelpful | None = None,
    ) -> FaqRow:
        """The entry a "did you mean" button names (ExpiredButton if there is none); the
        question (text, language) and that entry are proposed to staff, once per message."""
        row = (await self._index.current()).row_for(entry_id, lang)
        if row is None:
            raise ExpiredButton()
        if question is None and after_unhelpful is None:
            return row
        async with self._db.transaction() as tx:
            if question is not None:
                await self._propose(tx, *question, entry_id, chat_id, message_id)
            if after_unhelpful is not None:
                await self._follow_unhelpful(tx, after_unhelpful, entry_id)
        return row

    async def none_of_these(
        self, question: tuple[str, str] | None, *, chat_id: int, message_id: int
    ) -> FollowUp:
        """No suggestion fitted: record the question (text, language) once per message.

        After a complaint offer the complaint stays on offer and nothing is recorded (a
        complaint is not an FAQ gap).
        """
        async with self._db.transaction() as tx:
            if not await self._press(tx, chat_id, message_id, "none"):
                return FollowUp(repeat=True)
            if question is None:  # forgotten (a restart): nothing to record
                return FollowUp(repeat=False)
            text, lang = question
            if looks_like_complaint(text):
                return FollowUp(False, complaint=True)
            return FollowUp(False, await self._record(tx, normalise(text), lang, text, chat_id))

    async def vote(
        self,
        entry_id: int,
        lang: str,
        helpful: bool,
        *,
        chat_id: int,
        message_id: int,
        question: tuple[str, str] | None = None,
    ) -> VoteResult:
        """Count a 👍/👎 on one answer message once, with the question it answered (for
        calibration); after 👎 record the question as unanswered."""
        async with self._db.transaction() as tx:
            if await repo.find(tx, entry_id, lang) is None:
                raise ExpiredButton()
            counted = await repo.vote(
                tx,
                chat_id=chat_id,
                message_id=message_id,
                entry_id=entry_id,
                language=lang,
                helpful=helpful,
                at=iso(self._clock.now()),
                question=question,
            )
            if not counted or helpful or question is None:
                return VoteResult(counted)
            text, question_lang = question
            recorded = await self._record(tx, normalise(text), question_lang, text, chat_id)
            return VoteResult(True, recorded)

    async def ask_team(
        self, unanswered_id: int, *, telegram_id: int, name: str, chat_id: int, message_id: int
    ) -> TeamRequest:
        """Pass a recorded question to a person, once per button message, in one transaction:
        a registered customer's becomes a ticket, anyone else's goes to the staff chat."""
        async with self._db.transaction() as tx:
            question = await repo.find_unanswered(tx, unanswered_id)
            if question is None:
                raise ExpiredButton()
            if not await self._press(tx, chat_id, message_id, "staff"):
                return TeamRequest(TeamAsked.REPEAT)
            customer = await customers_repo.find_by_telegram_id(tx, telegram_id)
            if customer is not None:
                created = await self._tickets.open_question_in(tx, customer.id, question.example)
                return TeamRequest(TeamAsked.TICKET, created)
            staff_chat = self._staff.staff_chat_id
            if staff_chat is None:
                return TeamRequest(TeamAsked.UNAVAILABLE)
            fields = {"customer": name, "question": question.example, "number": question.id}
            await self._outbox.add(
                tx,
                OutboundMessage(staff_chat, "faq.staff_question", self._staff_lang, fields),
                kind="faq.staff_question",
                ref=question.id,
            )
            return TeamRequest(TeamAsked.NOTIFIED)

    # ------------------------------------------------------------------ staff

    async def list_page(self, actor_id: int, page: int, per_page: int = 10) -> FaqPage:
        """One page of entries (staff)."""
        async with self._staff.act(actor_id, ACTION, f"list {page}", Role.STAFF) as act:
            if page < 1:
                raise InvalidArgument("page", usage="usage.faq")
            total = await repo.count(act.tx)
            rows = await repo.list_page(act.tx, (page - 1) * per_page, per_page)
            pages = max(1, -(-total // per_page))
            act.result = "empty" if total == 0 else f"page {page}"
            if total and page > pages:
                act.result = f"no page {page}"
        return FaqPage(page, pages, total, tuple(rows))

    async def show(self, actor_id: int, entry_id: int) -> list[FaqRow]:
        """An entry in all its languages (staff); UnknownFaqEntry if none."""
        async with self._staff.act(actor_id, ACTION, f"show {entry_id}", Role.STAFF) as act:
            rows = await repo.find_entry(act.tx, entry_id)
            if not rows:
                raise UnknownFaqEntry(entry_id)
            act.result = f"shown {entry_id}"
        return rows

    async def add(
        self,
        actor_id: int,
        lang: str,
        question: str,
        alternates: tuple[str, ...],
        answer: str,
        entry_id: int | None = None,
    ) -> int:
        """Add an entry, or (with `entry_id`) a language of an existing one; returns its id."""
        question, answer = question.strip(), answer.strip()
        alternates = tuple(a.strip() for a in alternates if a.strip())
        arguments = f"add {'' if entry_id is None else f'{entry_id} '}{lang} {question}"
        async with self._staff.act(actor_id, ACTION, arguments, Role.STAFF) as act:
            _check_entry(lang, question, answer)
            if entry_id is None:
                entry_id = await repo.next_entry_id(act.tx)
            elif not await repo.find_entry(act.tx, entry_id):
                raise NoEntryToExtend(entry_id)
            await self._upsert(act.tx, entry_id, lang, question, alternates, answer)
            act.result = f"saved {entry_id} {lang}"
        await self.invalidate()
        return entry_id

    async def edit(
        self, actor_id: int, entry_id: int, lang: str, field: str, value: str
    ) -> FaqRow:
        """Change an entry's question, answer or alternates (separated by ';' or '|')."""
        arguments = f"edit {entry_id} {lang} {field}"
        async with self._staff.act(actor_id, ACTION, arguments, Role.STAFF) as act:
            row = await repo.find(act.tx, entry_id, lang)
            if row is None:
                raise UnknownFaqEntry(entry_id)
            question, answer, alternates = row.question, row.answer, row.alternates
            if field == "question":
                question = value.strip()
            elif field == "answer":
                answer = value.strip()
            elif field == "alternates":
                alternates = split_alternates(value)
            else:
                raise InvalidArgument(f"unknown field {field}", usage="usage.faq_edit")
            _check_entry(lang, question, answer)
            await self._upsert(act.tx, entry_id, lang, question, alternates, answer, row.tags)
            act.result = f"edited {entry_id} {lang} {field}"
            # A changed answer: the other languages now say something else, flagged until
            # they are edited too (an edit of a stale answer is that catch-up).
            changed = field == "answer" and answer != row.answer
            if changed and await repo.mark_stale(act.tx, entry_id, lang, others=not row.stale):
                act.result += ", other languages stale"
            edited = await repo.find(act.tx, entry_id, lang)
        await self.invalidate()
        assert edited is not None
        return edited

    async def delete(self, actor_id: int, entry_id: int) -> None:
        """Delete an entry in every language."""
        async with self._staff.act(actor_id, ACTION, f"del {entry_id}", Role.STAFF) as act:
            if not await repo.delete(act.tx, entry_id):
                raise UnknownFaqEntry(entry_id)
            act.result = f"deleted {entry_id}"
        await self.invalidate()

    async def unanswered(self, actor_id: int, limit: int = 20) -> list[UnansweredRow]:
        """Open unanswered questions, most frequent first (staff)."""
        async with self._staff.act(actor_id, "unanswered", "", Role.STAFF) as act:
            rows = await repo.list_unanswered(act.tx, limit)
            act.result = f"listed {len(rows)}" if rows else "empty"
        return rows

    async def teach(self, actor_id: int, unanswered_id: int, entry_id: int) -> FaqRow:
        """Add an unanswered question as an alternate phrasing of an entry, in its language."""
        arguments = f"teach {unanswered_id} {entry_id}"
        async with self._staff.act(actor_id, ACTION, arguments, Role.STAFF) as act:
            question = await repo.find_unanswered(act.tx, unanswered_id)
            if question is None:
                raise UnknownUnanswered(unanswered_id)
            rows = await repo.find_entry(act.tx, entry_id)
            if not rows:
                raise UnknownFaqEntry(entry_id)
            row = next((r for r in rows if r.language == question.language), rows[0])
            if question.example not in row.alternates:
                alternates = (*row.alternates, question.example)
                await self._upsert(
                    act.tx, entry_id, row.language, row.question, alternates, row.answer, row.tags
                )
            await repo.resolve_unanswered(act.tx, unanswered_id, entry_id)
            taught = await repo.find(act.tx, entry_id, row.language)
            act.result = f"taught {unanswered_id} to {entry_id}"
        await self.invalidate()
        assert taught is not None
        return taught

    async def review(self, actor_id: int, limit: int = 20) -> Review:
        """What /unanswered shows: open questions, near-identical ones grouped with a proposed
        entry, and the phrasings proposed for existing entries (staff)."""
        async with self._staff.act(actor_id, "unanswered", "", Role.STAFF) as act:
            review = await self._review(act.tx, limit)
            act.result = (
                f"listed {len(review.unanswered)}, proposed {len(review.proposals)}"
                if review.unanswered or review.proposals
                else "empty"
            )
        return review

    async def decide(self, actor_id: int, proposal_id: int, accept: bool) -> ProposalDecision:
        """Yes: the proposed phrasing becomes an alternate of its entry (answered from the next
        question on); No: it is not proposed again. Staff only, audited, once."""
        arguments = f"proposal {proposal_id} {'yes' if accept else 'no'}"
        async with self._staff.act(actor_id, ACTION, arguments, Role.STAFF) as act:
            proposal = await repo.find_proposal(act.tx, proposal_id)
            if proposal is None:
                raise ExpiredButton()
            decided = ProposalDecision(accept, False, proposal.example, proposal.entry_id)
            if proposal.status != "open":
                act.result = f"already {proposal.status}"
                return replace(decided, accepted=proposal.status == "accepted", already=True)
            rows = await repo.find_entry(act.tx, proposal.entry_id)
            if not rows:
                raise ExpiredButton()
            now = iso(self._clock.now())
            status = "accepted" if accept else "rejected"
            await repo.decide_proposal(act.tx, proposal_id, status, actor_id, now)
            act.result = f"{status} {proposal_id} for {proposal.entry_id}"
            if accept:
                row = next((r for r in rows if r.language == proposal.language), rows[0])
                if proposal.example not in row.alternates:
                    alternates = (*row.alternates, proposal.example)
                    await self._upsert(
                        act.tx, row.entry_id, row.language, row.question, alternates,
                        row.answer, row.tags,
                    )  # fmt: skip
                await repo.resolve_unanswered_text(
                    act.tx, proposal.normalised, proposal.language, proposal.entry_id
                )
        if accept:
            await self.invalidate()
        return decided

    async def dismiss(self, actor_id: int, unanswered_id: int) -> None:
        """Stop listing an unanswered question (staff); UnknownUnanswered if it is not open."""
        arguments = f"dismiss {unanswered_id}"
        async with self._staff.act(actor_id, "unanswered", arguments, Role.STAFF) as act:
            if not await repo.dismiss_unanswered(act.tx, unanswered_id, iso(self._clock.now())):
                raise UnknownUnanswered(unanswered_id)
            act.result = f"dismissed {unanswered_id}"

    async def weekly_digest(self) -> int:
        """Post this week's FAQ digest to the staff chat once (ISO week, UTC): the unanswered
        questions and one Yes / No message per proposal. Returns the messages queued."""
        staff_chat = self._staff.staff_chat_id
        if staff_chat is None:
            return 0
        year, week, _ = self._clock.now().isocalendar()
        key = f"faq.digest:{year}-W{week:02d}"
        async with self._db.transaction() as tx:
            review = await self._review(tx, DIGEST_PROPOSALS)
            if not review.unanswered and not review.proposals:
                return 0
            top = review.unanswered[0].example if review.unanswered else "-"
            fields = {
                "questions": len(review.unanswered),
                "top": top,
                "proposals": len(review.proposals),
            }
            header = OutboundMessage(staff_chat, "faq.digest", self._staff_lang, fields)
            if not await self._outbox.add(tx, header, kind="faq.digest", dedupe_key=key):
                return 0  # this week's digest was queued before
            for proposal in review.proposals:
                await self._outbox.add(
                    tx,
                    proposal_message(staff_chat, self._staff_lang, proposal),
                    kind="faq.digest",
                    ref=proposal.id,
                    dedupe_key=f"{key}:{proposal.id}",
                )
        return 1 + len(review.proposals)

    async def refuse_usage(self, actor_id: int, arguments: str, usage: str) -> NoReturn:
        """A staff command that could not be read: refused for customers, its usage for staff."""
        async with self._staff.act(actor_id, ACTION, arguments, Role.STAFF):
            raise InvalidArgument(f"faq {arguments}", usage=usage)
        raise AssertionError("unreachable")  # act re-raises; mypy cannot tell

    # ------------------------------------------------------------------ internals

    async def _record(
        self, tx: aiosqlite.Connection, norm: str, lang: str, text: str, asker: int
    ) -> int | None:
        """Count a question the FAQ could not answer, asked by `asker` (a Telegram id); None if
        it has no words."""
        if not words(norm):
            return None
        return await repo.record_unanswered(
            tx,
            norm[:MAX_QUESTION_LENGTH],
            lang,
            text[:MAX_QUESTION_LENGTH],
            iso(self._clock.now()),
            asker,
        )

    async def _review(self, tx: aiosqlite.Connection, limit: int) -> Review:
        rows = await repo.list_unanswered(tx, GROUPED_FROM)
        proposals = []
        for p in await repo.list_open_proposals(tx, limit):
            entry = await repo.find_entry(tx, p.entry_id)
            question = next((r for r in entry if r.language == p.language), entry[0]).question
            proposals.append(Proposal(p.id, p.example, p.language, p.count, p.entry_id, question))
        return Review(tuple(rows[:limit]), tuple(group_questions(rows)), tuple(proposals))

    async def _propose(
        self,
        tx: aiosqlite.Connection,
        text: str,
        lang: str,
        entry_id: int,
        chat_id: int,
        message_id: int,
    ) -> None:
        """Count (question, entry) as a phrasing to propose, unless the entry has it already."""
        norm = normalise(text)
        if not words(norm):
            return
        known = {
            normalise(p)
            for r in await repo.find_entry(tx, entry_id)
            for p in (r.question, *r.alternates)
        }
        if norm in known:
            return
        await repo.observe_pair(
            tx,
            chat_id=chat_id,
            message_id=message_id,
            normalised=norm[:MAX_QUESTION_LENGTH],
            language=lang,
            example=text[:MAX_QUESTION_LENGTH],
            entry_id=entry_id,
            at=iso(self._clock.now()),
        )

    async def _follow_unhelpful(
        self, tx: aiosqlite.Connection, unhelpful: Unhelpful, entry_id: int
    ) -> None:
        """Another entry followed a 👎 answer: propose it for the question that answer missed."""
        if entry_id == unhelpful.entry_id:
            return
        await self._propose(
            tx,
            unhelpful.question,
            unhelpful.lang,
            entry_id,
            unhelpful.chat_id,
            unhelpful.message_id,
        )

    async def _press(
        self, tx: aiosqlite.Connection, chat_id: int, message_id: int, action: str
    ) -> bool:
        return await repo.press(
            tx, chat_id=chat_id, message_id=message_id, action=action, at=iso(self._clock.now())
        )

    async def _upsert(
        self,
        tx: aiosqlite.Connection,
        entry_id: int,
        lang: str,
        question: str,
        alternates: tuple[str, ...],
        answer: str,
        tags: tuple[str, ...] = (),
    ) -> None:
        await repo.upsert(
            tx,
            entry_id=entry_id,
            language=lang,
            question=question,
            alternates=alternates,
            answer=answer,
            tags=tags,
            at=iso(self._clock.now()),
        )

    async def invalidate(self) -> None:
        """Rebuild the index before the next question (see LiveIndex.invalidate)."""
        self._index.invalidate()

    async def generation(self) -> int:
        """The FAQ's current generation in the database."""
        return await self._index.generation()


def _check_entry(lang: str, question: str, answer: str) -> None:
    """The rules every saved entry keeps: a known language, a question and an answer that fit."""
    if lang not in LANGUAGES or not question or not answer:
        raise InvalidArgument("faq entry", usage="usage.faq_add")
    if len(question) > MAX_QUESTION_LENGTH or len(answer) > MAX_ANSWER_LENGTH:
        raise InvalidArgument("faq entry too long", usage="usage.faq_add")


def proposal_message(chat_id: int, lang: str, proposal: Proposal) -> OutboundMessage:
    """ "Add this phrasing to entry N?" with its Yes / No buttons."""
    fields = {
        "question": proposal.question,
        "lang": proposal.lang,
        "count": proposal.count,
        "id": proposal.entry_id,
        "entry": proposal.entry_question,
    }
    buttons = (
        ("faq.proposal_yes", callbacks.build("faq", "teach", proposal.id, "yes")),
        ("faq.proposal_no", callbacks.build("faq", "teach", proposal.id, "no")),
    )
    return OutboundMessage(chat_id, "faq.proposal", lang, fields, buttons)


def split_alternates(text: str) -> tuple[str, ...]:
    """Alternate phrasings separated by '|' or ';'."""
    return tuple(part.strip() for part in text.replace(";", "|").split("|") if part.strip())


def _hour(moment: datetime) -> str:
    """The FAQ outcome counters' bucket: the UTC hour, '2026-11-30T09'."""
    return iso(moment)[:13]
