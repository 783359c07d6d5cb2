"""Domain errors; each maps to one catalogue text in the handlers."""

from __future__ import annotations

from typing import Any

from care.ports import Label


class CareError(Exception):
    """Base class for errors a user can be told about: a catalogue key and its fields."""

    key = "error.generic"
    fields: dict[str, Any] = {}  # set per instance, never mutated


class UnknownCustomer(CareError):
    """No customer matches the reference given."""

    key = "error.unknown_customer"

    def __init__(self, reference: str = "") -> None:
        super().__init__(f"unknown customer: {reference}")
        self.reference = reference
        self.fields = {"reference": reference}


class NotRegistered(UnknownCustomer):
    """The caller has never pressed /start (looked up by their own Telegram id)."""

    key = "common.press_start"

    def __init__(self, telegram_id: int) -> None:
        super().__init__(str(telegram_id))
        self.fields = {}


class NotStaff(CareError):
    """The caller lacks the role the action needs."""

    key = "error.not_staff"

    def __init__(self, actor_id: int, action: str, needed: str, has: str) -> None:
        super().__init__(f"user {actor_id} ({has}) may not {action} (needs {needed})")
        self.actor_id = actor_id
        self.action = action
        self.needed = needed
        self.has = has
        if has != "customer":  # staff without the needed role are told which role it takes
            self.key = "error.not_allowed_role"
            self.fields = {"role": needed}


class InvalidArgument(CareError):
    """A command argument is malformed; `usage` names the catalogue key with the right form."""

    key = "error.invalid_argument"

    def __init__(self, detail: str, usage: str) -> None:
        super().__init__(detail)
        self.detail = detail
        self.usage = usage
        self.fields = {"usage": Label(usage, "")}


class UnknownFaqEntry(CareError):
    """No FAQ entry has this id."""

    key = "error.unknown_faq_entry"

    def __init__(self, entry_id: int) -> None:
        super().__init__(f"unknown FAQ entry {entry_id}")
        self.entry_id = entry_id
        self.fields = {"entry_id": entry_id}


class NoEntryToExtend(UnknownFaqEntry):
    """`/faq add <id> <lang> …` names an entry that does not exist (an id adds a language)."""

    key = "faq.no_entry_to_extend"


class TicketError(CareError):
    """Something about one ticket, named by its number."""

    key = "tickets.error.generic"

    def __init__(self, number: int) -> None:
        super().__init__(f"{type(self).__name__}: ticket #{number}")
        self.number = number
        self.fields = {"number": number}


class UnknownTicket(TicketError):
    """No ticket has this number."""

    key = "tickets.error.unknown"


class TicketAlreadyResolved(TicketError):
    """The ticket is resolved or closed: it cannot be answered or resolved again."""

    key = "tickets.error.already_resolved"


class TicketNotResolved(TicketError):
    """Only a resolved or closed ticket can be reopened."""

    key = "tickets.error.not_resolved"


class InvalidAmount(CareError):
    """A money amount or a number of points that cannot be used; `problem` says why."""

    PROBLEMS = (
        "not_a_number",
        "negative",
        "zero",
        "too_many_decimals",
        "not_whole",
        "too_large",
    )

    def __init__(self, text: str, problem: str) -> None:
        super().__init__(f"invalid amount {text!r}: {problem}")
        self.key = f"loyalty.error.amount_{problem}"
        self.fields = {"amount": text}


class InsufficientPoints(CareError):
    """A redemption or deduction would make the balance negative."""

    key = "loyalty.error.insufficient"

    def __init__(self, balance: int, requested: int) -> None:
        super().__init__(f"balance {balance} < requested {requested}")
        self.balance = balance
        self.requested = requested
        self.fields = {"balance": balance, "requested": requested}


class DuplicateReference(CareError):
    """An earn with a reference (receipt) already counted for this customer."""

    key = "loyalty.error.duplicate"

    def __init__(self, reference: str, balance: int) -> None:
        super().__init__(f"reference already used: {reference}")
        self.reference = reference
        self.balance = balance
        self.fields = {"reference": reference, "balance": balance}


class InvalidBirthday(CareError):
    """A birthday that is not a real date (31-02) or not a plausible year."""

    key = "birthday.invalid_date"

    def __init__(
        self, text: str, day: int, month: int, year: int | None, *, bad_year: bool = False
    ) -> None:
        super().__init__(f"not a date: {text}")
        if bad_year:
            self.key = "birthday.invalid_year"
        self.text = text
        self.day = day
        self.month = month
        self.year = year
        self.fields = {"text": text, "day": day, "month": month}


class BirthdayLocked(CareError):
    """The customer changed their birthday less than a year ago; `date`: when they next may."""

    key = "birthday.locked"

    def __init__(self, next_change: str) -> None:
        super().__init__(f"birthday changed recently; next change from {next_change}")
        self.fields = {"date": next_change}


class ExpiredButton(CareError):
    """A button whose data is malformed, out of range, stale or not the caller's to press."""

    key = "common.expired_button"


class NotAnswerable(ExpiredButton):
    """An outreach button that no longer belongs to an answerable message."""


class UnknownUnanswered(CareError):
    """No unanswered question has this number."""

    key = "faq.unknown_unanswered"

    def __init__(self, number: int) -> None:
        super().__init__(f"unknown unanswered question {number}")
        self.fields = {"number": number}
