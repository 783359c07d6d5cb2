"""What ticket operations return: plain results for the handlers to render."""

from __future__ import annotations

from dataclasses import dataclass

from storage.customers import CustomerRow
from storage.tickets import TicketMessageRow, TicketRow


@dataclass(frozen=True, slots=True)
class TicketCreated:
    """A new ticket, whether it reached the staff chat, and when to expect a first answer."""

    ticket: TicketRow
    posted: bool
    expect_hours: float


@dataclass(frozen=True, slots=True)
class Delivery:
    """The ticket after a staff action, and whether the customer got the message."""

    ticket: TicketRow
    delivered: bool
    customer_name: str


@dataclass(frozen=True, slots=True)
class Rating:
    """The outcome of a satisfaction press: counted, or a repeat that was ignored."""

    ticket: TicketRow
    accepted: bool


@dataclass(frozen=True, slots=True)
class TicketView:
    """A ticket with its customer and full transcript."""

    ticket: TicketRow
    customer: CustomerRow | None
    messages: list[TicketMessageRow]


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
