"""What ticket operations return: plain results for the handlers to render."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from storage.customers import CustomerRow
from storage.tickets import TicketMessageRow, TicketRow


class Outcome(StrEnum):
    """What became of a message for the customer when the use case committed."""

    QUEUED = "queued"  # in the outbox; the staff chat hears if it cannot be delivered
    FORGOTTEN = "forgotten"  # the customer erased their data (/forget): nothing can reach them
    NO_CHAT = "no_chat"  # an imported customer who never wrote to the bot


@dataclass(frozen=True, slots=True)
class TicketCreated:
    """A new ticket, and when to expect a first answer (0: no target)."""

    ticket: TicketRow
    expect_hours: float
    business_hours: bool  # the target counts business hours only


@dataclass(frozen=True, slots=True)
class Delivery:
    """The ticket after a staff action, and what became of the customer's message."""

    ticket: TicketRow
    outcome: Outcome
    customer_name: str

    @property
    def queued(self) -> bool:
        """Whether a message to the customer is on its way."""
        return self.outcome is Outcome.QUEUED


@dataclass(frozen=True, slots=True)
class Taken:
    """The ticket after Take; `already` when the caller had it before (a second tap)."""

    ticket: TicketRow
    already: bool


@dataclass(frozen=True, slots=True)
class Rating:
    """The outcome of a satisfaction press: counted, or a repeat that was ignored."""

    ticket: TicketRow
    accepted: bool


@dataclass(frozen=True, slots=True)
class TicketView:
    """A ticket with its customer's name and full transcript."""

    ticket: TicketRow
    customer_name: str
    messages: list[TicketMessageRow]


@dataclass(frozen=True, slots=True)
class TicketLine:
    """One line of /tickets."""

    ticket: TicketRow
    customer_name: str


@dataclass(frozen=True, slots=True)
class TicketList:
    """What /tickets shows: the newest tickets of a scope, and whether the list was cut."""

    scope: str
    lines: list[TicketLine]
    truncated_at: int | None


@dataclass(frozen=True, slots=True)
class Thread:
    """A message that joined a ticket: the ticket's number."""

    number: int


@dataclass(frozen=True, slots=True)
class SlaReport:
    """What one scheduler run did."""

    posted: int
    reminders: int
    escalations: int


def display_name(customer: CustomerRow | None) -> str:
    """How staff see a customer: name, else @username, else the member code."""
    if customer is None:
        return "?"
    if customer.name:
        return customer.name
    return f"@{customer.username}" if customer.username else customer.member_code


def format_hours(hours: float) -> str:
    """2.0 → '2', 1.5 → '1.5'."""
    return f"{hours:g}"
