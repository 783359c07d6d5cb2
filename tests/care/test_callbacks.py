"""Callback data is built and parsed in one place and never trusted."""

from __future__ import annotations

import pytest

from care import callbacks
from care.callbacks import ID, Choice, Number
from care.errors import ExpiredButton


def test_round_trip() -> None:
    data = callbacks.build("tickets", "csat", 12, 5)
    assert data == "tickets:csat:12:5"
    assert callbacks.parse(data, "tickets", "csat", ID, Number(1, 5)) == (12, 5)
    assert callbacks.pattern("tickets", "csat").match(data)
    assert not callbacks.pattern("tickets", "take").match(data)


@pytest.mark.parametrize(
    "data",
    [
        "tickets:csat:" + "9" * 40 + ":5",  # would overflow SQLite's INTEGER
        "tickets:csat:0:5",  # ids start at 1
        "tickets:csat:12:6",  # out of range
        "tickets:csat:１２:5",  # full-width digits
        "tickets:csat:12",  # too short
        "tickets:csat:12:5:1",  # too long
        "tickets:take:12:5",  # another verb
        "",
        None,
    ],
)
def test_forged_data_is_an_expired_button(data: str | None) -> None:
    with pytest.raises(ExpiredButton):
        callbacks.parse(data, "tickets", "csat", ID, Number(1, 5))


def test_choices_and_length() -> None:
    assert callbacks.parse("faq:vote:3:up", "faq", "vote", ID, Choice("up", "down")) == (3, "up")
    with pytest.raises(ExpiredButton):
        callbacks.parse("faq:vote:3:sideways", "faq", "vote", ID, Choice("up", "down"))
    with pytest.raises(ValueError):
        callbacks.build("faq", "show", "x" * 70)
