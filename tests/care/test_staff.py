"""StaffService: roles from config and database, refusals audited."""

from __future__ import annotations

import pytest

from care.errors import InvalidArgument, NotStaff
from care.roles import Role
from care.settings import StaffSettings
from care.staff import StaffService
from care.updates import UpdateLog
from storage import audit as audit_repo
from storage.db import Database
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


async def test_update_log_skips_only_finished_updates(db: Database, clock: FakeClock) -> None:
    log = UpdateLog(db, clock)
    assert await log.begin(10)
    assert await log.begin(10)  # interrupted before finishing: handled again
    await log.finish(10)
    assert not await log.begin(10)
    clock.advance(days=3)
    assert await log.prune() == 1
