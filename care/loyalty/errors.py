"""Loyalty's own domain errors (each a catalogue key with its fields)."""

from __future__ import annotations

from care.errors import CareError


class ReceiptTaken(CareError):
    """The receipt was already counted, for another customer: a receipt counts once per shop."""

    key = "loyalty.error.receipt_taken"

    def __init__(self, receipt: str, holder_code: str) -> None:
        super().__init__(f"receipt {receipt} already counted for {holder_code}")
        self.fields = {"receipt": receipt, "code": holder_code}


class UnknownEntry(CareError):
    """No ledger entry has this number."""

    key = "loyalty.error.unknown_entry"

    def __init__(self, text: str) -> None:
        super().__init__(f"unknown ledger entry {text}")
        self.fields = {"entry": text}


class CannotVoid(CareError):
    """This entry cannot be voided; `problem` says why (already_voided, reversal, expire)."""

    PROBLEMS = ("already_voided", "reversal", "expire")

    def __init__(self, entry_id: int, problem: str) -> None:
        super().__init__(f"entry {entry_id} cannot be voided: {problem}")
        self.key = f"loyalty.error.void_{problem}"
        self.fields = {"entry": entry_id}


class VoidOverdraw(CareError):
    """Voiding the entry would take the balance below zero (the points were spent)."""

    key = "loyalty.error.void_overdraw"

    def __init__(self, entry_id: int, balance: int, delta: int) -> None:
        super().__init__(f"voiding {entry_id} ({delta:+d}) overdraws balance {balance}")
        self.fields = {"entry": entry_id, "balance": balance, "points": delta}
