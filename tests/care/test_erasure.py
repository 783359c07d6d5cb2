"""Every table is decided on for an erase, and every table that holds a customer's rows is read
by `export-one` and changed by an erase (a new table fails here until it is)."""

from __future__ import annotations

from care.erasure import TABLES, Identity
from storage import privacy as repo
from storage.customers import CustomerRow
from storage.db import Database

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
