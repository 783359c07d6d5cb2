"""Staff roles, ordered by what they may do."""

from __future__ import annotations

from enum import IntEnum


class Role(IntEnum):
    """What a Telegram user may do; a higher role includes the lower ones."""

    CUSTOMER = 0
    STAFF = 1
    MANAGER = 2
    OWNER = 3

    @property
    def label(self) -> str:
        """The lower-case name used in commands and storage."""
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Role:
        """The role named by `text` (case-insensitive); ValueError if none."""
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(text) from None
