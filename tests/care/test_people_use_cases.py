"""People use cases (customers, staff, stages, outreach): each is one transaction, and a staff
change commits together with its audit row."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import aiosqlite
import pytest

from care.customers import CustomerService
from care.errors import InvalidArgument, NotStaff
from care.settings import LocaleSettings, StaffSettings, StageSettings
from care.staff import StaffService
from care.stages.service import StageService
from storage import audit as audit_repo
from storage.db import Database
from tests.fakes import FakeClock
from tests.outreach_support import OWNER, add_customer, build, rows

Transaction = Callable[..., AbstractAsyncContextManager[aiosqlite.Connection]]


@pytest.fixture
def transactions(db: Database, monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Every transaction the database opens from now on (True: a write transaction)."""
    opened: list[bool] = []
    original: Transaction = db.transaction

    def counting(*, write: bool = True) -> AbstractAsyncContextManager[aiosqlite.Connection]:
        opened.append(write)
        return original(write=write)

    monkeypatch.setattr(db, "transaction", counting)
    return opened


async def _audit(db: Database) -> list[tuple[int, str, str, str]]:
    async with db.read() as tx:
        found = await audit_repo.list_recent(tx, 50)
    return [(r.actor_id, r.action, r.arguments, r.result) for r in reversed(found)]


async def test_customer_use_cases_are_one_transaction_each(
    db: Database, clock: FakeClock, transactions: list[bool]
) -> None:
    await add_customer(db, clock, 5, "Ann")
    customers = CustomerService(db, clock, LocaleSettings())
    _, outreach, _ = build(db, clock)
    for use_case in (
        customers.set_language(5),
        customers.set_language(5, "en"),
        customers.timezone(5, "上海"),
        customers.timezone(5),
        customers.set_opted_out(5, True),
        customers.preferences(5),
        outreach.set_birthday(5, "12月25日"),
        outreach.birthday_of(5),
    ):
        transactions.clear()
        await use_case
        assert len(transactions) == 1
    transactions.clear()
    nonce = await customers.ask_forget(5)
    assert (await customers.confirm_forget(5, nonce)).erased
    assert len(transactions) == 2  # one per button press


async def test_staff_use_cases_are_one_transaction_with_their_audit_row(
    db: Database, clock: FakeClock, transactions: list[bool]
) -> None:
    cid = await add_customer(db, clock, 5, "Ann")
    staff = StaffService(db, clock, StaffSettings(owners=[OWNER]))
    stages = StageService(db, clock, StageSettings(), staff=staff)
    _, outreach, _ = build(db, clock)
    calls = (
        staff.staff_command(OWNER, ["add", "@ann", "manager"]),
        staff.staff_command(5, ["list"]),
        staff.audit_log(5, ["3"]),
        stages.stage_for(5, "@ann", ["@ann", "trust", "regular"]),
        stages.stage_for(5, "@ann", ["@ann"]),
        outreach.preview_for(5, None),
        outreach.stats_for(5),
        outreach.set_birthday_for(5, "@ann", "1990年12月25日"),
    )
    for use_case in calls:
        transactions.clear()
        await use_case
        assert transactions == [True]
    assert [(a, action, result) for a, action, _, result in await _audit(db)] == [
        (OWNER, "staff", "granted manager to 5"),
        (5, "staff", "listed"),
        (5, "audit", "shown 2"),
        (5, "stage", f"set {cid} trust"),
        (5, "stage", f"shown {cid}"),
        (5, "outreach", "preview 2026-11-22 due=0 total=0"),
        (5, "outreach", "stats"),
        (5, "birthday", f"set {cid} 1990-12-25"),
    ]
    [row] = await rows(db, "SELECT stage, birthday FROM customers")
    assert row == {"stage": "trust", "birthday": "1990-12-25"}


async def test_a_refused_or_wrong_staff_command_changes_nothing_and_is_audited(
    db: Database, clock: FakeClock
) -> None:
    await add_customer(db, clock, 5, "Ann")
    staff = StaffService(db, clock, StaffSettings(owners=[OWNER]))
    stages = StageService(db, clock, StageSettings(), staff=staff)
    with pytest.raises(NotStaff):
        await stages.stage_for(5, "@ann", ["@ann", "alliance"])
    with pytest.raises(NotStaff):
        await staff.staff_command(5, ["add", "5", "manager"])  # no promoting oneself
    with pytest.raises(InvalidArgument):
        await staff.staff_command(OWNER, ["add", "@ann", "emperor"])
    assert (await staff.staff_command(OWNER, ["remove", str(OWNER)])).outcome == "owner_in_config"
    assert [result for *_, result in await _audit(db)] == [
        "refused: needs staff",
        "refused: needs owner",
        "error: InvalidArgument",
        "refused: owner",
    ]
    [row] = await rows(db, "SELECT stage FROM customers")
    assert row == {"stage": "aware"}
    assert await rows(db, "SELECT * FROM staff_roles") == []
