"""Domain errors; each maps to one catalogue text in the handlers."""

from __future__ import annotations


class CareError(Exception):
    """Base class for errors a user can be told about."""

    key = "error.generic"


class UnknownCustomer(CareError):
    """No customer matches the reference given."""

    key = "error.unknown_customer"

    def __init__(self, reference: str = "") -> None:
        super().__init__(f"unknown customer: {reference}")
        self.reference = reference


class NotStaff(CareError):
    """The caller lacks the role the action needs."""

    key = "error.not_staff"

    def __init__(self, actor_id: int, action: str, needed: str, has: str) -> None:
        super().__init__(f"user {actor_id} ({has}) may not {action} (needs {needed})")
        self.actor_id = actor_id
        self.action = action
        self.needed = needed
        self.has = has


class InvalidArgument(CareError):
    """A command argument is malformed; `usage` names the catalogue key with the right form."""

    key = "error.invalid_argument"

    def __init__(self, detail: str, usage: str) -> None:
        super().__init__(detail)
        self.detail = detail
        self.usage = usage


class InvalidBirthday(CareError):
    """A birthday that is not a real date (31-02) or not a plausible year."""

    key = "birthday.invalid_date"

    def __init__(self, text: str, day: int, month: int, year: int | None) -> None:
        super().__init__(f"not a date: {text}")
        self.text = text
        self.day = day
        self.month = month
        self.year = year


class NotAnswerable(CareError):
    """An outreach button that no longer belongs to an answerable message."""

    key = "common.expired_button"
