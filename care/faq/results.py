"""What the FAQ's use cases return: decisions and outcomes, rendered by the handlers."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from care.faq.match import Match
from care.tickets.results import TicketCreated
from storage.faq import FaqRow, UnansweredRow


class Outcome(StrEnum):
    """What the bot does with a customer's message."""

    NO_WORDS = "no-words"  # only emoji or punctuation, or code (SQL, markup): ask for words
    SMALL_TALK = "small-talk"  # "hi", "thanks", "再见": a friendly word
    COMPLAINT = "complaint"  # reads like a complaint: offer to file it
    ANSWER = "answer"
    SUGGEST = "suggest"  # "did you mean"
    FALLBACK = "fallback"  # nothing fits: recorded for staff, a person offered


@dataclass(frozen=True, slots=True)
class FaqReply:
    """The decision about one customer message, and what it needs to be rendered."""

    outcome: Outcome
    lang: str  # the language to reply in: the one the question was written in
    question: str  # the text as asked
    entry: FaqRow | None = None  # ANSWER
    suggestions: tuple[FaqRow, ...] = ()  # SUGGEST, and COMPLAINT (offered after its button)
    unanswered_id: int | None = None  # FALLBACK, when the question was recorded
    small_talk: str | None = None  # SMALL_TALK: the reply's catalogue key
    match: Match | None = None  # the matcher's decision and its why (when it ran)


@dataclass(frozen=True, slots=True)
class FollowUp:
    """After "none of these" or 👎: the recorded question (None if there was none to record)."""

    repeat: bool  # the button was pressed before: do nothing
    unanswered_id: int | None = None
    complaint: bool = False  # the question reads like a complaint: keep offering to file it


@dataclass(frozen=True, slots=True)
class VoteResult:
    """A 👍/👎: counted (False for a repeat) and, after 👎, the question recorded for staff."""

    counted: bool
    unanswered_id: int | None = None


class TeamAsked(StrEnum):
    """What "ask our team" did."""

    REPEAT = "repeat"  # pressed before: nothing more to do
    TICKET = "ticket"  # a registered customer: their question becomes a ticket
    NOTIFIED = "notified"  # not registered: posted to the staff chat
    UNAVAILABLE = "unavailable"  # not registered and no staff chat to post to


@dataclass(frozen=True, slots=True)
class TeamRequest:
    """The outcome of "ask our team", with the ticket opened for a registered customer."""

    outcome: TeamAsked
    ticket: TicketCreated | None = None


@dataclass(frozen=True, slots=True)
class FaqPage:
    """One page of the staff FAQ list."""

    page: int
    pages: int
    total: int
    rows: tuple[FaqRow, ...]


@dataclass(frozen=True, slots=True)
class Unhelpful:
    """An answer the customer gave 👎: the question it was for and the entry that missed.

    If another entry follows for that customer (answered, or a suggestion pressed), the
    question and that entry are proposed to staff.
    """

    question: str
    lang: str
    entry_id: int
    chat_id: int
    message_id: int  # of the 👎'd answer: the pair counts once per such message


@dataclass(frozen=True, slots=True)
class Proposal:
    """ "Add this phrasing to entry N?": what staff are asked, with Yes / No."""

    id: int
    question: str  # as a customer asked it
    lang: str
    count: int  # how often customers went from this question to this entry
    entry_id: int
    entry_question: str


@dataclass(frozen=True, slots=True)
class QuestionGroup:
    """Near-identical unanswered questions, counted, with a proposed new entry."""

    lang: str
    question: str  # the most asked wording: the proposed entry's question
    alternates: tuple[str, ...]  # the other wordings: its alternates
    count: int  # times asked, all wordings together
    numbers: tuple[int, ...]  # their /unanswered numbers


@dataclass(frozen=True, slots=True)
class Review:
    """What /unanswered shows staff: open questions, their groups and the proposals."""

    unanswered: tuple[UnansweredRow, ...]
    groups: tuple[QuestionGroup, ...]
    proposals: tuple[Proposal, ...]


@dataclass(frozen=True, slots=True)
class ProposalDecision:
    """A staff member's Yes / No on a proposal."""

    accepted: bool
    already: bool  # decided before (a double tap, or by someone else): nothing changed
    question: str
    entry_id: int
