"""CustomerService on a real temporary database with a fake clock."""

from __future__ import annotations

import pytest

from care.customers import (
    MEMBER_CODE_ALPHABET,
    CustomerService,
    find_zone,
    language_from_code,
)
from care.errors import InvalidArgument, UnknownCustomer
from care.phones import normalise_phone
from care.settings import LocaleSettings
from storage import customers as repo
from storage.db import Database
from tests.fakes import FakeClock


@pytest.fixture
def service(db: Database, clock: FakeClock) -> CustomerService:
    return CustomerService(db, clock, LocaleSettings(default_language="en", timezone="UTC"))


async def test_register_is_idempotent_and_refreshes_the_name(
    service: CustomerService, db: Database, clock: FakeClock
) -> None:
    first = await service.register(5, "al", "Al", "en-GB")
    clock.advance(hours=1)
    second = await service.register(5, "alice", "Alice", "en-GB")
    assert first.created and not second.created
    assert second.customer.id == first.customer.id
    assert second.customer.username == "alice"
    assert second.customer.last_seen_at == "2026-11-22T11:00:00+00:00"
    async with db.read() as tx:
        assert await repo.count(tx) == 1
    assert set(first.customer.member_code) <= set(MEMBER_CODE_ALPHABET)


@pytest.mark.parametrize(
    ("code", "expected"),
    [("zh-hans", "zh"), ("zh", "zh"), ("en-US", "en"), ("fr", "en"), (None, "en"), ("", "en")],
)
def test_language_from_telegram_code(code: str | None, expected: str) -> None:
    assert language_from_code(code, "en") == expected


async def test_resolve_by_every_kind_of_reference(service: CustomerService, db: Database) -> None:
    reg = await service.register(777, "Bobby", "Bob", "en")
    async with db.transaction() as tx:
        await tx.execute(
            "UPDATE customers SET phone = '+4915112345678' WHERE id = ?", (reg.customer.id,)
        )
    for reference in ("777", "@bobby", reg.customer.member_code.lower(), "+49 151 1234-5678"):
        assert (await service.resolve(reference)).id == reg.customer.id, reference
    with pytest.raises(UnknownCustomer):
        await service.resolve("@nobody")


async def test_forget_erases_and_unlinks(
    service: CustomerService, db: Database, clock: FakeClock
) -> None:
    reg = await service.register(9, "eve", "Eve", "en")
    nonce = await service.ask_forget(9)
    assert (await service.confirm_forget(9, nonce)).erased
    async with db.read() as tx:
        forgotten = await repo.get(tx, reg.customer.id)
    assert forgotten.telegram_id is None and forgotten.name is None and forgotten.opted_out
    assert await service.find(9) is None
    assert (await service.confirm_forget(9, nonce)).gone  # a second tap: nothing to do
    with pytest.raises(UnknownCustomer):
        await service.resolve(reg.customer.member_code)


async def test_a_forget_confirmation_is_single_use_newest_and_recent(
    service: CustomerService, clock: FakeClock
) -> None:
    await service.register(9, "eve", "Eve", "en")
    old = await service.ask_forget(9)
    new = await service.ask_forget(9)
    again = await service.confirm_forget(9, old)  # an older message's button
    assert not again.erased and again.nonce not in (None, old, new)
    assert not (await service.confirm_forget(9, new)).erased  # replaced by the ask above
    assert again.nonce is not None
    clock.advance(minutes=6)
    late = await service.confirm_forget(9, again.nonce)
    assert not late.erased and late.nonce is not None
    assert await service.find(9) is not None
    clock.advance(minutes=4)
    assert (await service.confirm_forget(9, late.nonce)).erased


async def test_preferences_need_a_registered_customer(service: CustomerService) -> None:
    with pytest.raises(UnknownCustomer):
        await service.set_opted_out(1, True)
    await service.register(1, None, "X", "en")
    with pytest.raises(InvalidArgument):
        await service.set_language(1, "fr")
    assert (await service.set_language(1)).language == "zh"
    assert (await service.set_opted_out(1, True)).changed
    assert not (await service.set_opted_out(1, True)).changed


@pytest.mark.parametrize("bad", ["12", "phone", "+12345678901234567", ""])
def test_bad_phone_numbers_are_rejected(bad: str) -> None:
    with pytest.raises(InvalidArgument):
        normalise_phone(bad, "GB")


@pytest.mark.parametrize(
    ("name", "zone"),
    [("Europe/Paris", "Europe/Paris"), ("shanghai", "Asia/Shanghai"), ("UTC", "UTC"),
     ("new york", "America/New_York"), ("Mars", None), ("", None),
     ("上海", "Asia/Shanghai"), ("北京", "Asia/Shanghai"), ("深圳市", "Asia/Shanghai"),
     ("香港", "Asia/Hong_Kong"), ("台北", "Asia/Taipei"), ("新加坡", "Asia/Singapore"),
     ("东京", "Asia/Tokyo"), ("伦敦", "Europe/London"), ("纽约", "America/New_York"),
     ("悉尼", "Australia/Sydney"), ("火星", None)],
)  # fmt: skip
def test_time_zones_by_name_or_city(name: str, zone: str | None) -> None:
    assert find_zone(name) == zone
