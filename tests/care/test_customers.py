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


async def test_forget_erases_and_unlinks(service: CustomerService) -> None:
    reg = await service.register(9, "eve", "Eve", "en")
    forgotten = await service.forget(9)
    assert forgotten.id == reg.customer.id
    assert forgotten.telegram_id is None and forgotten.name is None and forgotten.opted_out
    assert await service.find(9) is None
    with pytest.raises(UnknownCustomer):
        await service.resolve(reg.customer.member_code)


async def test_preferences_need_a_registered_customer(service: CustomerService) -> None:
    with pytest.raises(UnknownCustomer):
        await service.set_opted_out(1, True)
    await service.register(1, None, "X", "en")
    with pytest.raises(InvalidArgument):
        await service.set_language(1, "fr")
    assert (await service.toggle_language(1)).language == "zh"


@pytest.mark.parametrize("bad", ["12", "phone", "+12345678901234567", ""])
def test_bad_phone_numbers_are_rejected(bad: str) -> None:
    with pytest.raises(InvalidArgument):
        normalise_phone(bad, "GB")


@pytest.mark.parametrize(
    ("name", "zone"),
    [("Europe/Paris", "Europe/Paris"), ("shanghai", "Asia/Shanghai"), ("UTC", "UTC"),
     ("new york", "America/New_York"), ("Mars", None), ("", None)],
)  # fmt: skip
def test_time_zones_by_name_or_city(name: str, zone: str | None) -> None:
    assert find_zone(name) == zone
