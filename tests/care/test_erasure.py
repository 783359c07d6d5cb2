"""Every table is decided on for an erase, and every table that holds a customer's rows is read
by `export-one` and changed by an erase (a new table fails here until it is)."""

from __future__ import annotations

from care.clock import iso
from care.customers import CustomerService
from care.erasure import TABLES, Identity, erase_customer
from care.settings import LocaleSettings
from storage import faq as faq_repo
from storage import privacy as repo
from storage.customers import CustomerRow
from storage.db import Database
from tests.fakes import FakeClock

# Columns that hold a customer's (or a Telegram user's) identity.
PERSONAL_COLUMNS = {"customer_id", "telegram_id", "chat_id", "actor_id", "phone"}
NO_DATA = "no personal data"


async def test_every_table_of_the_schema_has_an_erase_rule(db: Database) -> None:
    async with db.read() as tx:
        schema = await repo.tables(tx)
    assert set(schema) == set(TABLES), "decide in care/erasure.py TABLES how an erase treats it"
    for table, columns in schema.items():
        if PERSONAL_COLUMNS & set(columns):
            assert not TABLES[table].startswith(NO_DATA), table


async def test_every_table_with_customer_rows_is_exported(db: Database) -> None:
    async with db.read() as tx:
        schema = await repo.tables(tx)
        exported = await repo.export_rows(tx, customer_id=1, telegram_id=1)
    linked = {t for t, columns in schema.items() if {"customer_id", "telegram_id"} & set(columns)}
    assert linked - {"staff_roles"} <= set(exported)  # staff roles are staff, not customers


def _customer(**changes: object) -> CustomerRow:
    fields = dict.fromkeys(CustomerRow.__dataclass_fields__)
    fields.update(id=7, telegram_id=424242, username="zquix", member_code="ABC234")
    fields.update(changes)
    return CustomerRow(**fields)  # type: ignore[arg-type]


def test_mentions_are_found_however_they_are_written() -> None:
    who = Identity(_customer(name="Tom Baker", phone="+447700900123"), ["my pudding recipe"])
    assert who.scrub("/earn @zquix 5") == "/earn [erased] 5"
    assert who.scrub("/earn 07700 900123 5 for Tom Baker") == "/earn [erased] 5 for [erased]"
    assert who.scrub("id 424242, code abc234") == "id [erased], code [erased]"
    assert who.scrub("you lost my pudding recipe!") == "you lost [erased]!"
    assert who.scrub("Tomorrow, 4242420 and @zquixote") == "Tomorrow, 4242420 and @zquixote"
    assert who.scrub_json({"from": {"id": 424242}, "n": [424243]}) == {
        "from": {"id": 0},
        "n": [424243],
    }


def test_a_chinese_name_is_found_inside_a_sentence() -> None:
    assert Identity(_customer(name="李华")).scrub("我是李华，谢谢") == "我是[erased]，谢谢"


async def test_an_erase_finds_unanswered_questions_the_inbox_no_longer_holds(
    db: Database, clock: FakeClock
) -> None:
    customers = CustomerService(db, clock, LocaleSettings(), "Cafe")
    wei = (await customers.register(424242, "wei", "Wei", "en")).customer
    at = iso(clock.now())
    async with db.transaction() as tx:  # asked twice, weeks ago: no stored update left
        mine = await faq_repo.record_unanswered(
            tx, "pudding recipe", "en", "pudding?", at, wei.telegram_id or 0
        )
        await faq_repo.record_unanswered(
            tx, "pudding recipe", "en", "pudding??", at, wei.telegram_id or 0
        )
        await faq_repo.record_unanswered(tx, "parking", "en", "parking?", at, 555)
        shared = await faq_repo.record_unanswered(
            tx, "parking", "en", "Parking, Wei here", at, wei.telegram_id or 0
        )
    async with db.transaction() as tx:
        await erase_customer(tx, wei, at, action="customers.erase", new_code=lambda: "ZZZ999")
    async with db.read() as tx:
        rows = await tx.execute_fetchall("SELECT id, count, example FROM unanswered ORDER BY id")
        askers = await tx.execute_fetchall(
            "SELECT unanswered_id, telegram_id FROM unanswered_askers"
        )
    # Their own question is gone with its last asker; the shared one lost them and their words.
    assert [tuple(row) for row in rows] == [(shared, 1, "parking")] and mine != shared
    assert [tuple(row) for row in askers] == [(shared, 555)]
