"""Data rights end to end: after /forget or `carebot customers erase`, no table holds anything
that names the customer; `customers export-one` gives all of it first."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest

from bot.cli import main
from bot.demo import seed_demo_faq
from sandbox import SandboxChat, SandboxUser, SentMessage
from storage import customers as customers_repo
from tests.conftest import Harness

PHONE = "+447700900123"
SECRET = "secret pudding recipe"  # words only Zelda wrote


async def _until(party: SandboxUser, needle: str, chat: SandboxChat | None = None) -> SentMessage:
    for _ in range(6):
        message = await party.next_message(chat=chat)
        if needle in message.content:
            return message
    raise AssertionError(f"no message with {needle!r}")


async def _zelda_everywhere(harness: Harness) -> tuple[SandboxUser, str]:
    """Zelda uses every feature that stores something about her; returns her and her code."""
    await seed_demo_faq(harness.care.db, harness.clock)
    await harness.care.faq.invalidate()
    zelda = harness.sandbox.create_user("Zelda", last_name="Quixote", username="zquix")
    owner, staff = harness.owner, harness.staff_chat
    await zelda.send("/start")
    await zelda.next_message()
    await zelda.send("/phone")
    await zelda.next_message()
    await zelda.share_contact(PHONE)
    await zelda.next_message()
    await zelda.send("/birthday 25-12")
    await zelda.next_message()
    await zelda.send(f"where do you keep the {SECRET}")  # not in the FAQ: recorded unanswered
    await zelda.next_message()
    await zelda.send("wifi pasword?")
    await zelda.press(await zelda.next_message(), "👎")
    await _until(zelda, "sorry that didn")
    await zelda.send("/complaint")
    categories = await zelda.next_message()
    while "tickets:category:service" not in [data for _, data in categories.buttons()]:
        categories = await zelda.next_message()
    await zelda.press(categories, "tickets:category:service")
    await _until(zelda, "describe")
    await zelda.send(f"Zelda here, you lost my {SECRET}")
    await zelda.send_photo()
    await _until(zelda, "#1001")
    post = await _until(owner, "Complaint #1001", chat=staff)
    await owner.send("Sorry Zelda Quixote, we will call 07700 900123", chat=staff, reply_to=post)
    await zelda.next_message()
    await owner.send("/earn @zquix 12.50 R-1 treat for Zelda Quixote")
    await owner.next_message()
    await owner.send("/stage @zquix trust regular, Zelda Quixote")
    await owner.next_message()
    await zelda.send("/stage")  # a customer trying a staff command is audited too
    await zelda.next_message()
    async with harness.care.db.read() as tx:
        row = await customers_repo.find_by_telegram_id(tx, zelda.id)
    assert row is not None and row.phone is not None and row.birthday is not None
    return zelda, row.member_code


def _mentions(db_path: str, needles: list[str]) -> list[str]:
    """Every (table, column, value) in the database whose value contains a needle."""
    conn = sqlite3.connect(db_path)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        found = []
        for table in tables:
            cursor = conn.execute(f"SELECT * FROM {table}")
            columns = [d[0] for d in cursor.description]
            for row in cursor:
                for column, value in zip(columns, row, strict=True):
                    text = str(value).lower()
                    found += [f"{table}.{column}: {value}" for n in needles if n.lower() in text]
        return found
    finally:
        conn.close()


def _needles(zelda: SandboxUser, code: str) -> list[str]:
    return ["Zelda", "Quixote", "zquix", "7700900123", "7700 900123", SECRET, str(zelda.id), code]


async def test_forget_leaves_nothing_that_names_the_customer(harness: Harness) -> None:
    zelda, code = await _zelda_everywhere(harness)
    db_path = harness.settings.storage.path
    assert len(_mentions(db_path, _needles(zelda, code))) > 10  # the scan finds her before

    await zelda.send("/forget")
    await zelda.press(await zelda.next_message(), "forget:confirm")
    assert "erased" in (await zelda.next_message()).content

    left = _mentions(db_path, _needles(zelda, code))
    assert left == [], "\n".join(left)
    conn = sqlite3.connect(db_path)
    try:
        # What the shop needs stays: the points, the ticket and its rating, the audit's actions.
        assert conn.execute("SELECT sum(delta) FROM points_ledger").fetchone()[0] == 12
        assert conn.execute("SELECT kind, category FROM tickets").fetchall() == [
            ("complaint", "service")
        ]
        actions = {r[0] for r in conn.execute("SELECT action FROM audit_log")}
        assert {"earn", "stage", "reply", "forget"} <= actions
        assert conn.execute("SELECT count(*) FROM unanswered").fetchone()[0] == 0
    finally:
        conn.close()


async def test_cli_exports_one_customer_then_erases_them(
    harness: Harness, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    zelda, code = await _zelda_everywhere(harness)
    db_path = harness.settings.storage.path
    config = tmp_path / "cli.toml"
    config.write_text(f'[storage]\npath = "{db_path}"\n', "utf-8")

    assert (
        await asyncio.to_thread(main, ["customers", "export-one", code, "--config", str(config)])
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert data["customers"][0]["name"] == "Zelda Quixote"
    assert data["customers"][0]["phone"] == PHONE
    assert any(SECRET in (m["body"] or "") for m in data["ticket_messages"])
    assert [row["delta"] for row in data["points_ledger"]] == [12]
    assert data["unanswered"] and data["faq_votes"] and data["inbox"] and data["outbox"]
    assert any("@zquix" in row["arguments"] for row in data["audit_log"])

    args = ["customers", "erase", PHONE, "--json", "--config", str(config)]
    assert await asyncio.to_thread(main, args) == 0
    erased = json.loads(capsys.readouterr().out)
    assert erased["changed"]["customers"] == 1 and erased["changed"]["ticket_messages"] >= 2
    assert _mentions(db_path, _needles(zelda, code)) == []
    # Gone: neither command finds her again.
    assert await asyncio.to_thread(main, args) == 1
    assert (
        await asyncio.to_thread(main, ["customers", "export-one", code, "--config", str(config)])
        == 1
    )
