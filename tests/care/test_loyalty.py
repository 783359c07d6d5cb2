"""Loyalty on a temporary database with a fake clock: ledger, tiers, expiry, linking, import."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from care.clock import iso
from care.customer_import import CustomerTransfer
from care.customers import CustomerService
from care.errors import (
    DuplicateReference,
    ExpiredButton,
    InsufficientPoints,
    InvalidAmount,
    InvalidArgument,
    NotStaff,
    UnknownCustomer,
)
from care.loyalty.errors import CannotVoid, ReceiptTaken, UnknownEntry, VoidOverdraw
from care.loyalty.linking import LinkOutcome, PhoneLinking
from care.loyalty.service import EarnConfirmation, EarnResult, LoyaltyService
from care.loyalty.units import add_months, parse_amount, parse_points
from care.outbox import Outbox
from care.phones import normalise_phone, region_for
from care.ports import Label
from care.roles import Role
from care.settings import (
    LocaleSettings,
    LoyaltySettings,
    OutreachSettings,
    StaffSettings,
    StageSettings,
    TierSettings,
)
from care.staff import StaffService
from care.stages.service import StageService
from handlers.common import error_text
from storage import audit as audit_repo
from storage import customers as customers_repo
from storage import points as points_repo
from storage.db import Database
from storage.migrate import available_migrations, migrate
from tests.fakes import FakeClock, RecordingMessenger

LOCALE = LocaleSettings(default_language="en", timezone="UTC", phone_region="GB")
OWNER = 900
TIERS = [TierSettings("member", 0, 1.0), TierSettings("silver", 500, 2.0)]


@pytest.fixture
def messenger() -> RecordingMessenger:
    return RecordingMessenger()


@pytest.fixture
def outbox(db: Database, clock: FakeClock, messenger: RecordingMessenger) -> Outbox:
    return Outbox(db, clock, messenger)


def make_service(
    db: Database, clock: FakeClock, outbox: Outbox, **settings: object
) -> LoyaltyService:
    loyalty = LoyaltySettings(tiers=TIERS, **settings)  # type: ignore[arg-type]
    staff = StaffService(db, clock, StaffSettings(owners=[OWNER]))
    stages = StageService(db, clock, StageSettings(), OutreachSettings())
    return LoyaltyService(db, clock, loyalty, LOCALE, staff=staff, stages=stages, outbox=outbox)


@pytest.fixture
def loyalty(db: Database, clock: FakeClock, outbox: Outbox) -> LoyaltyService:
    return make_service(db, clock, outbox)


@pytest.fixture
def customers(db: Database, clock: FakeClock) -> CustomerService:
    return CustomerService(db, clock, LOCALE)


async def register(customers: CustomerService, telegram_id: int = 42) -> int:
    return (await customers.register(telegram_id, "anna", "Anna", "en")).customer.id


async def balance(db: Database, customer_id: int) -> int:
    async with db.read() as tx:
        return await points_repo.balance(tx, customer_id)


# ---------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("text", "cents"), [("120", 12000), ("12.5", 1250), ("12,50", 1250), ("0.01", 1)]
)
def test_amounts_take_up_to_two_decimals(text: str, cents: int) -> None:
    assert parse_amount(text) == cents


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("12.345", "too_many_decimals"),
        ("-5", "negative"),
        ("abc", "not_a_number"),
        ("0", "zero"),
        ("99999999999", "too_large"),
    ],
)
def test_bad_amounts_say_what_is_wrong_in_both_languages(text: str, problem: str) -> None:
    with pytest.raises(InvalidAmount) as caught:
        parse_amount(text)
    assert caught.value.key == f"loyalty.error.amount_{problem}"
    assert error_text(caught.value, "en") != error_text(caught.value, "zh")


def test_points_are_whole_and_signed_only_when_allowed() -> None:
    assert parse_points("30") == 30
    assert parse_points("-30", signed=True) == -30
    for bad, problem in (("-3", "negative"), ("2.5", "not_whole"), ("x", "not_a_number")):
        with pytest.raises(InvalidAmount) as caught:
            parse_points(bad)
        assert caught.value.key.endswith(problem)


def test_add_months_clamps_to_the_month_end(clock: FakeClock) -> None:
    jan31 = clock.now().replace(month=1, day=31)
    assert add_months(jan31, 1).day == 28
    assert add_months(jan31, -12).year == jan31.year - 1


# ---------------------------------------------------------------- ledger


async def test_earn_records_points_and_a_purchase_once_per_reference(
    loyalty: LoyaltyService, customers: CustomerService, db: Database
) -> None:
    cid = await register(customers)
    result = await loyalty.earn(cid, 12050, "R-1", staff_id=7)
    assert (result.points, result.balance, result.tier) == (120, 120, "member")
    with pytest.raises(DuplicateReference) as caught:
        await loyalty.earn(cid, 12050, "R-1", staff_id=7)
    assert caught.value.balance == 120
    async with db.read() as tx:
        purchases = await points_repo.list_purchases(tx, cid)
        entries = await points_repo.list_entries(tx, cid, limit=10)
    assert [(p.amount_cents, p.reference) for p in purchases] == [(12050, "R-1")]
    assert [(e.kind, e.delta, e.staff_id) for e in entries] == [("earn", 120, 7)]


async def test_points_per_unit_scales_and_rounds_down(
    db: Database, clock: FakeClock, outbox: Outbox, customers: CustomerService
) -> None:
    service = make_service(db, clock, outbox, points_per_unit=0.1)
    cid = await register(customers)
    assert (await service.earn(cid, 1999, "a")).points == 1  # 19.99 × 0.1


async def test_redeem_never_overdraws_and_a_repeat_is_applied_once(
    loyalty: LoyaltyService, customers: CustomerService, db: Database
) -> None:
    cid = await register(customers)
    await loyalty.earn(cid, 10000, "R-1")
    with pytest.raises(InsufficientPoints) as caught:
        await loyalty.redeem_by_staff(OWNER, "@anna", "101", None, "tg:1:1")
    assert (caught.value.balance, caught.value.requested) == (100, 101)
    assert (await loyalty.redeem_by_staff(OWNER, "@anna", "60", None, "tg:1:2")).balance == 40
    again = await loyalty.redeem_by_staff(OWNER, "@anna", "60", None, "tg:1:2")
    assert again.already_applied and again.balance == 40
    assert await balance(db, cid) == 40


async def test_100_concurrent_redemptions_cannot_overdraw(
    loyalty: LoyaltyService, customers: CustomerService, db: Database, tmp_path: Path
) -> None:
    cid = await register(customers)
    await loyalty.earn(cid, 50000, "R-1")  # 500 points

    # Half through this connection, half through a second one (as a second process would).
    other_db = await Database.open(db.path)
    try:
        await migrate(other_db)
        other_clock = FakeClock()
        other = make_service(
            other_db, other_clock, Outbox(other_db, other_clock, RecordingMessenger())
        )

        async def attempt(i: int) -> bool:
            service = loyalty if i % 2 else other
            try:
                await service.redeem_by_staff(
                    OWNER, "@anna", "10" if i % 3 else "20", None, f"r-{i}"
                )
            except InsufficientPoints:
                return False
            return True

        outcomes = await asyncio.gather(*(attempt(i) for i in range(100)))
    finally:
        await other_db.close()
    final = await balance(db, cid)
    assert final >= 0
    async with db.read() as tx:
        redeemed = -sum(
            e.delta
            for e in await points_repo.list_entries(tx, cid, limit=1000)
            if e.kind == "redeem"
        )
    assert redeemed == 500 - final and final < 10
    assert 0 < sum(outcomes) < 100


async def test_adjust_needs_a_reason_and_keeps_the_balance_positive(
    loyalty: LoyaltyService, customers: CustomerService
) -> None:
    await register(customers)
    with pytest.raises(InvalidArgument):
        await loyalty.adjust_by_staff(OWNER, "@anna", "10", " ", "a1")
    assert (await loyalty.adjust_by_staff(OWNER, "@anna", "+10", "goodwill", "a1")).balance == 10
    with pytest.raises(InsufficientPoints):
        await loyalty.adjust_by_staff(OWNER, "@anna", "-11", "typo", "a2")
    with pytest.raises(UnknownCustomer):
        await loyalty.adjust_by_staff(OWNER, "9999", "5", "who?", "a3")


# ---------------------------------------------------------------- tiers and caps


async def test_promotion_is_announced_and_multiplies_later_earnings(
    loyalty: LoyaltyService,
    customers: CustomerService,
    messenger: RecordingMessenger,
    outbox: Outbox,
    clock: FakeClock,
) -> None:
    cid = await register(customers)
    first = await loyalty.earn(cid, 49900, "a")
    assert not first.promoted and (await loyalty.standing(cid)).missing == 1
    second = await loyalty.earn(cid, 100, "b")
    assert second.promoted and second.tier == "silver" and second.announced
    assert messenger.sent == []  # queued with the earn, sent after commit
    assert await outbox.drain() == 1
    assert [(m.chat_id, m.key, m.fields) for m in messenger.sent] == [
        (42, "loyalty.promoted", {"tier": Label("loyalty.tier.silver", "silver")})
    ]
    assert (await loyalty.earn(cid, 1000, "c")).points == 20  # silver doubles
    clock.advance(days=400)  # the rolling 12 months no longer hold those points
    standing = await loyalty.standing(cid)
    assert (standing.tier, standing.balance) == ("member", 520)


async def test_daily_cap_limits_points_per_local_day(
    db: Database, clock: FakeClock, outbox: Outbox, customers: CustomerService
) -> None:
    service = make_service(db, clock, outbox, daily_cap=100)
    cid = await register(customers)
    assert (await service.earn(cid, 8000, "a")).points == 80
    capped = await service.earn(cid, 8000, "b")
    assert capped.capped and capped.points == 20
    clock.advance(days=1)
    assert (await service.earn(cid, 8000, "c")).points == 80


# ---------------------------------------------------------------- expiry


async def test_oldest_points_expire_first_after_a_warning(
    db: Database,
    clock: FakeClock,
    outbox: Outbox,
    messenger: RecordingMessenger,
    customers: CustomerService,
) -> None:
    service = make_service(db, clock, outbox, expiry_months=12)
    cid = await register(customers)
    start = clock.now()
    await service.earn(cid, 10000, "old")  # 100 points, expire in 12 months
    clock.advance(days=100)
    await service.earn(cid, 5000, "new")  # 50 points
    await service.redeem_by_staff(OWNER, "@anna", "30", None, "spend")  # spends 30 of the oldest
    clock.set(add_months(start, 12) - timedelta(days=5))
    run = await service.expire_due()
    assert (run.expired_points, run.warned) == (0, 1)
    assert await outbox.drain() == 1
    assert messenger.sent[-1].key == "loyalty.expiry_warning"
    assert messenger.sent[-1].fields["points"] == 70
    assert (await service.expire_due()).warned == 0  # warned once
    summary = await service.summary_for(42)
    assert summary.expiring == 70
    clock.advance(days=5)
    run = await service.expire_due()
    assert run.expired_points == 70 and await balance(db, cid) == 50
    assert (await service.expire_due()).expired_points == 0


# ---------------------------------------------------------------- reads


async def test_summary_and_history_pages(
    loyalty: LoyaltyService, customers: CustomerService, clock: FakeClock
) -> None:
    cid = await register(customers)
    for i in range(11):
        await loyalty.earn(cid, 100 * (i + 1), f"r{i}")
        clock.advance(hours=1)
    summary = await loyalty.summary_for(42)
    assert [m.delta for m in summary.recent] == [11, 10, 9, 8, 7]
    first, last = await loyalty.history_for(42, 0), await loyalty.history_for(42, 1)
    assert (first.pages, first.total, last.page) == (2, 11, 1)
    assert [m.delta for m in last.movements] == [3, 2, 1]
    with pytest.raises(ExpiredButton):  # a page no button offers: forged
        await loyalty.history_for(42, 9)
    with pytest.raises(UnknownCustomer):
        await loyalty.summary_for(77)


async def test_customer_card_counts_open_tickets(
    loyalty: LoyaltyService, customers: CustomerService, db: Database, clock: FakeClock
) -> None:
    cid = await register(customers)
    async with db.transaction() as tx:
        for number, status in enumerate(("open", "waiting_customer", "resolved"), start=1):
            await tx.execute(
                "INSERT INTO tickets (number, customer_id, kind, status, created_at, updated_at)"
                " VALUES (?, ?, 'complaint', ?, ?, ?)",
                (number, cid, status, iso(clock.now()), iso(clock.now())),
            )
    assert (await loyalty.card_by_staff(OWNER, "@anna")).open_tickets == 2


# ---------------------------------------------------------------- linking and import


async def _import(db: Database, clock: FakeClock, rows: list[dict[str, str]], **kw: object):  # type: ignore[no-untyped-def]
    transfer = CustomerTransfer(db, clock, LOCALE)
    return await transfer.import_rows(list(enumerate(rows, start=2)), **kw)  # type: ignore[arg-type]


async def test_shared_phone_merges_the_imported_record_once(
    loyalty: LoyaltyService, customers: CustomerService, db: Database, clock: FakeClock
) -> None:
    report = await _import(
        db,
        clock,
        [{"phone": "+44 7700 900123", "name": "Anna B", "points": "300", "stage": "engaged"}],
    )
    assert report.created == 1
    imported = await customers.resolve("+447700900123")
    await loyalty.earn(imported.id, 2000, "R-9")  # counted on the imported card ...
    cid = await register(customers)
    await loyalty.earn(cid, 2000, "R-9")  # ... and again on Telegram: the same receipt
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO tickets (number, customer_id, kind, created_at, updated_at)"
            " VALUES (1, ?, 'feedback', ?, ?)",
            (imported.id, iso(clock.now()), iso(clock.now())),
        )
    linking = PhoneLinking(db, clock, LOCALE, StageService(db, clock, StageSettings()))
    result = await linking.link_phone(42, "447700900123")  # Telegram drops the '+'
    assert result.outcome is LinkOutcome.MERGED
    assert result.balance == 300 + 20  # the receipt counted once
    assert result.customer.member_code == imported.member_code  # the old card keeps working
    assert result.customer.stage == "engaged" and result.customer.phone == "+447700900123"
    assert (await loyalty.card_by_staff(OWNER, "@anna")).open_tickets == 1
    async with db.read() as tx:
        assert await customers_repo.find_by_id(tx, imported.id) is None
        assert len(await points_repo.list_purchases(tx, cid)) == 1
    again = await linking.link_phone(42, "+44 7700 900123")
    assert again.outcome is LinkOutcome.ALREADY and again.balance == 320
    await customers.register(43, "bob", "Bob", "en")
    assert (await linking.link_phone(43, "447700900123")).outcome is LinkOutcome.TAKEN


async def test_import_reports_bad_rows_and_dry_run_writes_nothing(
    db: Database, clock: FakeClock
) -> None:
    rows = [
        {"telegram_id": "501", "name": "Ok", "birthday": "--02-29", "points": "10"},
        {"telegram_id": "abc", "name": "Bad id"},
        {"phone": "+4915112345678", "birthday": "1990-13-01"},
        {"name": "No key"},
        {"telegram_id": "501", "name": "Again"},
        {"phone": "+4915112345679", "language": "fr"},
        {"phone": "+4915112345670", "last_purchase_at": "2026-01-05", "timezone": "Mars/Base"},
    ]
    dry = await _import(db, clock, rows, dry_run=True)
    assert dry.created == 1 and [r.row for r in dry.rejected] == [3, 4, 5, 6, 7, 8]
    async with db.read() as tx:
        assert await customers_repo.count(tx) == 0
    report = await _import(db, clock, rows)
    reasons = {r.row: r.reason for r in report.rejected}
    assert reasons[3].startswith("telegram_id") and reasons[4].startswith("birthday")
    assert "telegram_id or a phone" in reasons[5] and reasons[6] == "same customer as row 2"
    assert reasons[7].startswith("language") and reasons[8].startswith("timezone")
    async with db.read() as tx:
        assert await customers_repo.count(tx) == 1


async def test_export_then_import_is_lossless(
    loyalty: LoyaltyService, customers: CustomerService, db: Database, clock: FakeClock,
    tmp_path: Path,
) -> None:  # fmt: skip
    cid = await register(customers)
    await loyalty.earn(cid, 4550, "R-1")
    await _import(
        db,
        clock,
        [
            {"phone": "+33612345678", "name": "Zoé", "birthday": "1985-04-12", "language": "zh",
             "timezone": "Europe/Paris", "points": "75", "stage": "trust",
             "last_purchase_at": "2026-10-01T09:30:00+00:00"},
        ],
    )  # fmt: skip
    exported = await CustomerTransfer(db, clock, LOCALE).export_rows()
    assert len(exported) == 2 and exported[0]["points"] == "45"
    assert (await _import(db, clock, exported)).unchanged == 2  # same database: nothing changes
    fresh = await Database.open(tmp_path / "fresh.sqlite3")
    try:
        await migrate(fresh)
        assert (await _import(fresh, clock, exported)).created == 2
        assert await CustomerTransfer(fresh, clock, LOCALE).export_rows() == exported
    finally:
        await fresh.close()


@pytest.mark.parametrize(
    ("loyalty", "key"),
    [
        ({"points_per_unit": 0}, "loyalty.points_per_unit"),
        ({"daily_cap": -1}, "loyalty.daily_cap"),
        ({"tiers": [{"name": "a", "threshold": 5}]}, "loyalty.tiers"),
        ({"tiers": [{"name": "a"}, {"name": "b", "threshold": 0}]}, "loyalty.tiers"),
        ({"tiers": [{"name": "a", "multiplier": 0}]}, "loyalty.tiers.multiplier"),
    ],
)
def test_bad_loyalty_config_names_the_key(loyalty: dict[str, object], key: str) -> None:
    from bot.config import ConfigError, settings_from_mapping

    with pytest.raises(ConfigError) as caught:
        settings_from_mapping({"loyalty": loyalty}, require_token=False)
    assert caught.value.key == key


async def test_an_imported_stage_must_exist_and_holds_against_the_rules(
    db: Database, clock: FakeClock
) -> None:
    from care.settings import OutreachSettings, StageSettings
    from care.stages.service import StageService

    report = await _import(
        db,
        clock,
        [
            {"phone": "+441111111111", "name": "Vip", "stage": "superstar"},
            {"phone": "+442222222222", "name": "Loyal", "stage": "Trust",
             "last_purchase_at": "2026-11-01T09:00:00+00:00"},
        ],
    )  # fmt: skip
    assert [r.row for r in report.rejected] == [2] and "superstar" in report.rejected[0].reason
    stages = StageService(db, clock, StageSettings(), OutreachSettings())
    await stages.reevaluate_all()
    async with db.read() as tx:
        loyal = await customers_repo.find_by_phone(tx, "+442222222222")
    assert loyal is not None and loyal.stage == "trust" and loyal.stage_manual


# ---------------------------------------------------------------- staff use cases (issue 9)

STAFF_ID, MANAGER_ID = 901, 902


async def _staff(db: Database, clock: FakeClock) -> None:
    staff = StaffService(db, clock, StaffSettings(owners=[OWNER]))
    await staff.grant(OWNER, STAFF_ID, Role.STAFF, "Sam")
    await staff.grant(OWNER, MANAGER_ID, Role.MANAGER, "Mia")


async def _audit(db: Database) -> list[tuple[int, str, str]]:
    async with db.read() as tx:
        return [(r.actor_id, r.action, r.result) for r in await audit_repo.list_recent(tx, 100)]


async def _outbox_kinds(db: Database) -> list[tuple[str, int | None]]:
    async with db.read() as tx:
        rows = await tx.execute_fetchall("SELECT kind, customer_id FROM outbox ORDER BY id")
    return [(row[0], row[1]) for row in rows]


async def test_an_earn_by_staff_is_one_transaction_with_its_audit_stage_and_notice(
    loyalty: LoyaltyService,
    customers: CustomerService,
    db: Database,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await _staff(db, clock)
    cid = await register(customers)
    transactions: list[bool] = []
    statements: list[str] = []
    begin, statement = db.transaction, db.statement

    def counting_transaction(*, write: bool = True) -> Any:
        transactions.append(write)
        return begin(write=write)

    def counting_statement() -> Any:
        statements.append("statement")
        return statement()

    monkeypatch.setattr(db, "transaction", counting_transaction)
    monkeypatch.setattr(db, "statement", counting_statement)
    result = await loyalty.earn_by_staff(STAFF_ID, "@anna", "600", None, None, "tg:1:5")
    monkeypatch.undo()

    assert isinstance(result, EarnResult) and result.promoted and result.tier == "silver"
    assert (transactions, statements) == ([True], [])  # one write transaction, nothing else
    assert (STAFF_ID, "earn", f"customer {cid} +600 ref tg:1:5 balance 600 entry #1") in (
        await _audit(db)
    )
    assert await _outbox_kinds(db) == [("loyalty.promoted", cid)]
    async with db.read() as tx:
        row = await customers_repo.get(tx, cid)
    assert row.stage == "engaged"  # the stage moved with the purchase, in the same commit


async def test_a_redelivered_earn_without_receipt_counts_once(
    loyalty: LoyaltyService, customers: CustomerService, db: Database, clock: FakeClock
) -> None:
    await _staff(db, clock)
    await register(customers)
    first = await loyalty.earn_by_staff(STAFF_ID, "@anna", "10", None, None, "tg:1:7")
    again = await loyalty.earn_by_staff(STAFF_ID, "@anna", "10", None, None, "tg:1:7")
    assert isinstance(first, EarnResult) and isinstance(again, EarnResult)
    assert not first.already_applied and again.already_applied
    assert again.balance == 10 and again.entry_id == first.entry_id
    with pytest.raises(NotStaff):
        await loyalty.earn_by_staff(42, "@anna", "10", None, None, "tg:42:1")


async def test_a_receipt_counts_once_in_the_shop(
    loyalty: LoyaltyService, customers: CustomerService, db: Database, clock: FakeClock
) -> None:
    await _staff(db, clock)
    anna = await register(customers)
    bob = (await customers.register(43, "bob", "Bob", "en")).customer
    await loyalty.earn_by_staff(STAFF_ID, "@anna", "20", "R-5", None, "tg:1:1")
    with pytest.raises(ReceiptTaken) as caught:
        await loyalty.earn_by_staff(STAFF_ID, "@bob", "20", "r-5", None, "tg:1:2")
    assert caught.value.fields["receipt"] == "R-5"
    assert "for another customer" in error_text(caught.value, "en")
    with pytest.raises(DuplicateReference):
        await loyalty.earn_by_staff(STAFF_ID, "@anna", "20", "R-5", None, "tg:1:3")
    assert (await loyalty.standing(anna)).balance == 20
    assert (await loyalty.standing(bob.id)).balance == 0
    assert (STAFF_ID, "earn", "error: ReceiptTaken") in await _audit(db)


async def test_void_takes_back_the_tier_lifetime_points_and_stage_that_adjust_left(
    loyalty: LoyaltyService, customers: CustomerService, db: Database, clock: FakeClock
) -> None:
    await _staff(db, clock)
    stages = StageService(db, clock, StageSettings(), OutreachSettings())
    cid = await register(customers)
    await loyalty.earn_by_staff(STAFF_ID, "@anna", "12", None, None, "tg:1:1")
    clock.advance(hours=1)
    mistaken = await loyalty.earn_by_staff(STAFF_ID, "@anna", "1200", None, None, "tg:1:2")
    assert isinstance(mistaken, EarnResult) and mistaken.tier == "silver"
    assert (await stages.report(cid)).evaluation.stage == "understanding"  # 2 purchases

    # What staff did before /void: the balance comes back, the tier and lifetime points don't.
    await loyalty.adjust_by_staff(OWNER, "@anna", "-1200", "typo", "tg:1:3")
    assert (await loyalty.standing(cid)).balance == 12
    assert (await loyalty.standing(cid)).tier == "silver"
    await loyalty.adjust_by_staff(OWNER, "@anna", "+1200", "undo the typo fix", "tg:1:4")

    with pytest.raises(NotStaff):  # staff may not void: managers and owners
        await loyalty.void_by_staff(STAFF_ID, f"#{mistaken.entry_id}", None)
    voided = await loyalty.void_by_staff(MANAGER_ID, f"#{mistaken.entry_id}", "typo")
    assert (voided.balance, voided.tier, voided.stage) == (12, "member", "engaged")
    standing = await loyalty.standing(cid)
    assert (standing.balance, standing.tier, standing.earned_12m) == (12, "member", 12)
    report = await stages.report(cid)
    assert (report.lifetime_points, report.purchases_total) == (12, 1)
    assert report.evaluation.stage == "engaged"
    card = await loyalty.card_by_staff(OWNER, "@anna")
    assert [(m.entry_id, m.voided, m.voids) for m in card.recent][:2] == [
        (voided.reversal_id, False, mistaken.entry_id),
        (4, False, None),
    ]
    assert any(m.entry_id == mistaken.entry_id and m.voided for m in card.recent)
    assert any(
        actor == MANAGER_ID
        and action == "void"
        and result.startswith(f"voided #{mistaken.entry_id}")
        for actor, action, result in await _audit(db)
    )
    with pytest.raises(CannotVoid):
        await loyalty.void_by_staff(MANAGER_ID, str(mistaken.entry_id), None)
    with pytest.raises(CannotVoid):
        await loyalty.void_by_staff(MANAGER_ID, str(voided.reversal_id), None)
    with pytest.raises(UnknownEntry):
        await loyalty.void_by_staff(MANAGER_ID, "999", None)
    with pytest.raises(InvalidArgument):
        await loyalty.void_by_staff(MANAGER_ID, "9" * 40, None)


async def test_voiding_spent_points_is_refused(
    loyalty: LoyaltyService, customers: CustomerService, db: Database, clock: FakeClock
) -> None:
    await _staff(db, clock)
    await register(customers)
    earned = await loyalty.earn_by_staff(STAFF_ID, "@anna", "50", None, None, "tg:1:1")
    await loyalty.redeem_by_staff(STAFF_ID, "@anna", "40", None, "tg:1:2")
    assert isinstance(earned, EarnResult)
    with pytest.raises(VoidOverdraw):
        await loyalty.void_by_staff(OWNER, str(earned.entry_id), None)


async def test_an_earn_far_above_the_usual_waits_for_its_asker(
    loyalty: LoyaltyService, customers: CustomerService, db: Database, clock: FakeClock
) -> None:
    await _staff(db, clock)
    cid = await register(customers)
    for n in range(3):
        await loyalty.earn_by_staff(STAFF_ID, "@anna", "30", None, None, f"tg:1:{n}")
    # 5 × the median (30.00) is 150.00: up to that no question is asked.
    small = await loyalty.earn_by_staff(STAFF_ID, "@anna", "150", None, None, "tg:1:10")
    assert isinstance(small, EarnResult)
    ask = await loyalty.earn_by_staff(STAFF_ID, "@anna", "3000", "R-1", "big", "tg:1:11")
    assert isinstance(ask, EarnConfirmation) and ask.usual_cents == 3000
    assert (await loyalty.standing(cid)).balance == 240  # nothing added yet
    again = await loyalty.earn_by_staff(STAFF_ID, "@anna", "3000", "R-1", "big", "tg:1:11")
    assert isinstance(again, EarnConfirmation)
    assert again.confirmation_id == ask.confirmation_id  # a re-sent /earn asks once
    with pytest.raises(ExpiredButton):  # only the one who asked may confirm
        await loyalty.confirm_earn(MANAGER_ID, ask.confirmation_id)
    with pytest.raises(ExpiredButton):  # a forged number
        await loyalty.confirm_earn(STAFF_ID, ask.confirmation_id + 1000)
    done = await loyalty.confirm_earn(STAFF_ID, ask.confirmation_id)
    assert done is not None and done.points == 3000 and done.reference == "R-1"
    assert await loyalty.confirm_earn(STAFF_ID, ask.confirmation_id) is None  # second tap
    assert await loyalty.cancel_earn(STAFF_ID, ask.confirmation_id) is False
    assert (await loyalty.standing(cid)).balance == 3240

    late = await loyalty.earn_by_staff(STAFF_ID, "@anna", "9000", None, None, "tg:1:12")
    assert isinstance(late, EarnConfirmation)
    clock.advance(minutes=16)
    with pytest.raises(ExpiredButton):
        await loyalty.confirm_earn(STAFF_ID, late.confirmation_id)
    with pytest.raises(ExpiredButton):
        await loyalty.cancel_earn(STAFF_ID, late.confirmation_id)


async def test_small_amounts_never_ask_and_the_check_can_be_off(
    db: Database, clock: FakeClock, outbox: Outbox, customers: CustomerService
) -> None:
    await _staff(db, clock)
    await register(customers)
    loyalty = make_service(db, clock, outbox)
    for n in range(3):
        await loyalty.earn_by_staff(STAFF_ID, "@anna", "1", None, None, f"tg:1:{n}")
    # 50 × the usual, but under the 100.00 floor: no question.
    assert isinstance(
        await loyalty.earn_by_staff(STAFF_ID, "@anna", "50", None, None, "tg:1:5"), EarnResult
    )
    never = make_service(db, clock, outbox, confirm_above_times=0)
    assert isinstance(
        await never.earn_by_staff(STAFF_ID, "@anna", "5000", None, None, "tg:1:6"), EarnResult
    )


# ---------------------------------------------------------------- phone numbers


@pytest.mark.parametrize("text", ["07700 900222", "+44 7700 900222", "447700900222"])
def test_phone_numbers_in_any_form_are_one_number(text: str) -> None:
    assert normalise_phone(text, "GB") == "+447700900222"


def test_the_phone_region_follows_the_time_zone_unless_set() -> None:
    assert region_for(LocaleSettings(timezone="UTC")) == "GB"
    assert region_for(LocaleSettings(phone_region="cn")) == "CN"
    with pytest.raises(ValueError, match="phone_region"):
        LocaleSettings(phone_region="XX")


async def test_a_national_import_merges_with_the_shared_international_number(
    loyalty: LoyaltyService, customers: CustomerService, db: Database, clock: FakeClock
) -> None:
    report = await _import(db, clock, [{"phone": "07700 900222", "points": "250"}])
    assert report.created == 1
    imported = await customers.resolve("+44 7700 900222")
    assert imported.phone == "+447700900222"
    cid = await register(customers)
    linking = PhoneLinking(db, clock, LOCALE, StageService(db, clock, StageSettings()))
    result = await linking.link_phone(42, "447700900222")  # as Telegram shares it
    assert result.outcome is LinkOutcome.MERGED and result.balance == 250
    assert (await customers.resolve("07700900222")).id == cid


async def test_a_number_stored_before_e164_is_still_found(
    customers: CustomerService, db: Database, clock: FakeClock
) -> None:
    cid = await register(customers)
    async with db.transaction() as tx:
        await tx.execute("UPDATE customers SET phone = '07700900333' WHERE id = ?", (cid,))
    assert (await customers.resolve("+44 7700 900333")).id == cid


async def test_migration_0006_keeps_a_receipt_counted_twice_and_refuses_a_third(
    tmp_path: Path, clock: FakeClock, messenger: RecordingMessenger
) -> None:
    db = await Database.open(tmp_path / "old.sqlite3")
    try:
        for migration in available_migrations()[:5]:  # a database from before receipts
            await db.executescript(migration.sql)
        async with db.transaction() as tx:
            for cid, code in ((1, "AAA222"), (2, "BBB333")):
                await tx.execute(
                    "INSERT INTO customers (id, telegram_id, username, member_code, stage_since,"
                    " created_at) VALUES (?, ?, ?, ?, '2026-01-01', '2026-01-01')",
                    (cid, 40 + cid, f"user{cid}", code),
                )
                await tx.execute(
                    "INSERT INTO points_ledger (customer_id, delta, kind, reference, created_at)"
                    " VALUES (?, 10, 'earn', 'r-1', ?)",
                    (cid, f"2026-01-0{cid}"),
                )
        await migrate(db)  # the duplicate does not stop the upgrade
        async with db.read() as tx:
            rows = await tx.execute_fetchall(
                "SELECT customer_id, receipt FROM points_ledger ORDER BY id"
            )
        assert [(row[0], row[1]) for row in rows] == [(1, "R-1"), (2, None)]
        service = make_service(db, clock, Outbox(db, clock, messenger))
        await StaffService(db, clock, StaffSettings(owners=[OWNER])).grant(
            OWNER, STAFF_ID, Role.STAFF, "Sam"
        )
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO customers (id, member_code, stage_since, created_at)"
                             " VALUES (3, 'CCC444', '2026-01-01', '2026-01-01')")  # fmt: skip
        with pytest.raises(ReceiptTaken):
            await service.earn_by_staff(STAFF_ID, "CCC444", "10", "R-1", None, "tg:1:1")
    finally:
        await db.close()


async def test_a_cancelled_big_earn_can_be_sent_again(
    loyalty: LoyaltyService, customers: CustomerService, db: Database, clock: FakeClock
) -> None:
    await _staff(db, clock)
    await register(customers)
    for n in range(3):
        await loyalty.earn_by_staff(STAFF_ID, "@anna", "30", None, None, f"tg:1:{n}")
    ask = await loyalty.earn_by_staff(STAFF_ID, "@anna", "3000", "R-7", None, "tg:1:10")
    assert isinstance(ask, EarnConfirmation)
    assert await loyalty.cancel_earn(STAFF_ID, ask.confirmation_id)
    resent = await loyalty.earn_by_staff(STAFF_ID, "@anna", "3000", "R-7", None, "tg:1:10")
    assert isinstance(resent, EarnConfirmation) and resent.cancelled  # the same message
    fresh = await loyalty.earn_by_staff(STAFF_ID, "@anna", "3000", "R-7", None, "tg:1:11")
    assert isinstance(fresh, EarnConfirmation) and not fresh.cancelled
    done = await loyalty.confirm_earn(STAFF_ID, fresh.confirmation_id)
    assert done is not None and done.reference == "R-7"
