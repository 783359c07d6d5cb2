"""StaffService: roles from config and database, refusals audited."""

from __future__ import annotations

import pytest

from care.errors import InvalidArgument, NotStaff
from care.roles import Role
from care.settings import StaffSettings
from care.staff import StaffService
from storage import audit as audit_repo
from storage.db import Database, riding
from tests.fakes import FakeClock


@pytest.fixture
def staff(db: Database, clock: FakeClock) -> StaffService:
    return StaffService(db, clock, StaffSettings(owners=[1], chat_id=-5))


async def test_roles_come_from_config_and_database(staff: StaffService) -> None:
    assert await staff.role_of(1) is Role.OWNER
    assert await staff.role_of(2) is Role.CUSTOMER
    await staff.grant(1, 2, Role.MANAGER, "Max")
    assert await staff.role_of(2) is Role.MANAGER
    assert await staff.revoke(2)
    assert await staff.role_of(2) is Role.CUSTOMER
    assert not await staff.revoke(2)


async def test_refusal_is_audited(staff: StaffService, db: Database) -> None:
    with pytest.raises(NotStaff):
        await staff.authorize(3, "earn", "@x 10", Role.STAFF)
    async with db.read() as tx:
        rows = await audit_repo.list_recent(tx)
    assert [(r.actor_id, r.action, r.arguments, r.result) for r in rows] == [
        (3, "earn", "@x 10", "refused: needs staff")
    ]
    assert await staff.authorize(1, "earn", "", Role.OWNER) is Role.OWNER


async def test_owners_cannot_be_granted_in_the_database(staff: StaffService) -> None:
    with pytest.raises(InvalidArgument):
        await staff.grant(1, 1, Role.STAFF, None)
    with pytest.raises(InvalidArgument):
        await staff.grant(1, 4, Role.OWNER, None)


GRANT = (
    "INSERT INTO staff_roles (telegram_id, role, granted_by, created_at)"
    " VALUES (?, 'staff', 1, 'now')"
)


async def test_a_staff_act_commits_its_change_with_its_audit_row(
    staff: StaffService, db: Database
) -> None:
    async with staff.act(1, "earn", "ABC 5", Role.STAFF) as act:
        await act.tx.execute(GRANT, (2,))
        act.result = "earned 5"
    with pytest.raises(InvalidArgument):
        async with staff.act(1, "earn", "ABC x", Role.STAFF) as act:
            await act.tx.execute(GRANT, (3,))
            raise InvalidArgument("x", usage="usage.earn")
    with pytest.raises(NotStaff):
        async with staff.act(5, "earn", "ABC 5", Role.STAFF) as act:
            raise AssertionError("a customer's act never runs")
    async with db.read() as tx:
        results = [(row.actor_id, row.result) for row in await audit_repo.list_recent(tx, 10)]
        granted = await (await tx.execute("SELECT telegram_id FROM staff_roles")).fetchall()
    assert sorted(results) == [
        (1, "earned 5"),
        (1, "error: InvalidArgument"),
        (5, "refused: needs staff"),
    ]
    assert [row[0] for row in granted] == [2]  # the failed act left nothing behind


async def test_a_refusal_does_not_carry_the_updates_done_mark(
    staff: StaffService, db: Database
) -> None:
    marked: list[int] = []

    async def done_mark(tx: object) -> None:
        marked.append(1)

    with riding() as rider:  # as in the bot: the update's done mark waits for its change
        rider.works.append(done_mark)
        with pytest.raises(NotStaff):
            async with staff.act(99, "earn", "@alice 5", Role.STAFF):
                pass
        # Audited, but a refusal is no change: after a crash the update is handled again
        # (and refused again) rather than announced as done.
        assert not rider.committed and marked == []
    async with db.read() as tx:
        [row] = await audit_repo.list_recent(tx)
    assert (row.actor_id, row.result) == (99, "refused: needs staff")
