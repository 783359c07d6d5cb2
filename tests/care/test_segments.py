"""Segment filters: the syntax and its errors, and who a filter selects."""

from __future__ import annotations

from datetime import timedelta

import pytest

from care.clock import iso
from care.customer_import import CustomerTransfer, unknown_columns
from care.errors import NotStaff
from care.segments.filter import BadFilter, parse_filter
from care.settings import LocaleSettings
from storage.db import Database
from tests.campaign_support import OWNER, add_customer, services
from tests.fakes import FakeClock

TIERS = ("member", "silver", "gold")


def test_terms_are_read_and_normalised() -> None:
    f = parse_filter("stage>=trust recency=at-risk language=zh,en tag=VIP open_ticket=no", TIERS)
    assert f.text() == "stage>=trust recency=at_risk language=zh,en tag=vip open_ticket=no"
    assert parse_filter("last_purchase<30d birthday_month=03 tier>=Silver", TIERS).text() == (
        "last_purchase<30d birthday_month=3 tier>=silver"
    )


@pytest.mark.parametrize(
    ("text", "problem", "named"),
    [
        ("colour=red", "unknown_key", "colour"),
        ("stage>=friend", "unknown_value", "friend"),
        ("recency=asleep", "unknown_value", "asleep"),
        ("tier=platinum", "unknown_value", "platinum"),
        ("language=fr", "unknown_value", "fr"),
        ("birthday_month=13", "unknown_value", "13"),
        ("last_purchase<yesterday", "unknown_value", "yesterday"),
        ("open_ticket=maybe", "unknown_value", "maybe"),
        ("stage>=trust,alliance", "comma_needs_equals", ""),
        ("language>en", "not_ordered", "language"),
        ("stage", "not_a_term", ""),
    ],
)
def test_an_unknown_key_or_value_is_an_error_that_names_it(
    text: str, problem: str, named: str
) -> None:
    with pytest.raises(BadFilter) as caught:
        parse_filter(f"recency=active {text}", TIERS)
    assert caught.value.problem == problem
    assert caught.value.fields["term"] == text
    assert caught.value.fields["value"] == named


async def test_a_segment_selects_by_every_key(db: Database, clock: FakeClock) -> None:
    care = services(db, clock)
    now = clock.now()
    recent, old = iso(now - timedelta(days=5)), iso(now - timedelta(days=200))
    await add_customer(care, 11, "Ann", stage="trust", last_purchase_at=recent,
                       at_risk_at=iso(now + timedelta(days=20)), birthday="1990-03-04",
                       tags=["vip"])  # fmt: skip
    await add_customer(care, 12, "Bo", stage="alliance", language="zh", last_purchase_at=old,
                       at_risk_at=iso(now - timedelta(days=150)),
                       lapsed_at=iso(now - timedelta(days=100)))  # fmt: skip
    await add_customer(care, 13, "Cy", stage="engaged", last_purchase_at=old,
                       at_risk_at=iso(now - timedelta(days=1)),
                       lapsed_at=iso(now + timedelta(days=30)), birthday="--03-20")  # fmt: skip
    await add_customer(care, 14, "Di")  # aware, never bought

    async def names(text: str) -> list[str]:
        view = await care.segments.define(OWNER, "s", text)
        return sorted(view.samples)

    assert await names("stage>=trust") == ["Ann", "Bo"]
    assert await names("stage<trust") == ["Cy", "Di"]
    assert await names("recency=active") == ["Ann", "Di"]  # never bought: the model says active
    assert await names("recency=at_risk") == ["Cy"]
    assert await names("recency=lapsed,at_risk") == ["Bo", "Cy"]
    assert await names("language=zh") == ["Bo"]
    assert await names("last_purchase>30d") == ["Ann"]
    assert await names("last_purchase<30d") == ["Bo", "Cy"]  # never bought matches no date
    assert await names(f"last_purchase>={(now - timedelta(days=6)).date()}") == ["Ann"]
    assert await names("birthday_month=3") == ["Ann", "Cy"]
    assert await names("tag=vip") == ["Ann"]
    assert await names("tag!=vip stage>=engaged") == ["Bo", "Cy"]
    assert await names("open_ticket=no tier=member") == ["Ann", "Bo", "Cy", "Di"]
    with pytest.raises(BadFilter) as caught:
        await names("tag=regular")
    assert caught.value.problem == "unknown_tag" and caught.value.fields["value"] == "regular"


async def test_show_counts_live_and_tags_are_audited(db: Database, clock: FakeClock) -> None:
    care = services(db, clock)
    for n in range(7):
        await add_customer(care, 20 + n, f"C{n}", language="zh" if n % 2 else "en")
    await care.segments.define(OWNER, "chinese", "language=zh")
    assert (await care.segments.show(OWNER, "chinese")).count == 3
    tagged = await care.segments.tag(OWNER, "20", "Regular")
    assert (tagged.tag, tagged.added) == ("regular", True)
    assert not (await care.segments.tag(OWNER, "20", "regular")).added
    view = await care.segments.define(OWNER, "regulars", "tag=regular")
    assert (view.count, view.samples) == (1, ("C0",))
    await add_customer(care, 40, "Late", language="zh")
    shown = await care.segments.show(OWNER, "chinese")
    assert shown.count == 4 and len(shown.samples) == 4
    with pytest.raises(NotStaff):
        await care.segments.show(20, "chinese")
    async with db.read() as tx:
        cursor = await tx.execute("SELECT action, result FROM audit_log ORDER BY id")
        audit = [tuple(row) for row in await cursor.fetchall()]
    assert ("tag", "had 1 regular") in audit
    assert audit[-1] == ("segment", "refused: needs staff")


async def test_an_import_with_a_tags_column_tags_customers(db: Database, clock: FakeClock) -> None:
    care = services(db, clock)
    transfer = CustomerTransfer(db, clock, LocaleSettings())
    assert unknown_columns(["telegram_id", "tags"]) == []
    report = await transfer.import_rows(
        [
            (2, {"telegram_id": "501", "name": "Ann", "tags": "VIP, regular"}),
            (3, {"telegram_id": "502", "name": "Ben", "tags": "regular"}),
            (4, {"telegram_id": "503", "name": "Cy", "tags": "no good!"}),
        ]
    )
    assert (report.created, [r.row for r in report.rejected]) == (2, [4])
    assert (await care.segments.define(OWNER, "vips", "tag=vip")).samples == ("Ann",)
    assert (await care.segments.define(OWNER, "regulars", "tag=regular")).count == 2
