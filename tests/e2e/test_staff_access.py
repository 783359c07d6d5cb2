"""End to end: staff commands are served to staff, refused to customers, and always audited."""

from __future__ import annotations

from storage import audit as audit_repo
from storage.audit import AuditRow
from tests.conftest import Harness


async def _audit(harness: Harness) -> list[AuditRow]:
    async with harness.care.db.read() as tx:
        return await audit_repo.list_recent(tx, 100)


async def test_customer_is_refused_every_staff_command_and_audited(harness: Harness) -> None:
    alice = harness.customer("Alice")
    await alice.send("/start")
    await alice.next_message()
    for command in ("/staff list", "/staff add @alice manager", "/audit"):
        await alice.send(command)
        assert (await alice.next_message()).text == "Sorry, that command is for staff only."
    await alice.expect_no_message(0.2)
    refusals = [row for row in await _audit(harness) if row.actor_id == alice.id]
    assert {row.action for row in refusals} == {"staff", "audit"}
    assert all(row.result.startswith("refused") for row in refusals)
    assert len(refusals) == 3


async def test_owner_grants_a_role_and_the_staff_member_is_served(harness: Harness) -> None:
    alice = harness.customer("Alice")
    await alice.send("/start")
    await alice.next_message()
    owner = harness.owner
    await owner.send("/staff add @alice manager")
    assert "is now manager" in ((await owner.next_message()).text or "")
    scope = {"type": "chat", "chat_id": alice.id}
    assert "audit" in [c["command"] for c in harness.sandbox.commands(scope=scope)]

    await alice.send("/staff list")
    listing = (await alice.next_message()).text or ""
    assert "owner" in listing and "Alice" in listing and "manager" in listing
    await alice.send("/audit 5")
    assert "audit entries" in ((await alice.next_message()).text or "")
    await alice.send("/staff remove @alice")
    assert "needs the owner role" in ((await alice.next_message()).text or "")

    await owner.send("/staff remove @alice")
    assert "no longer staff" in ((await owner.next_message()).text or "")
    await alice.send("/staff list")
    assert "staff only" in ((await alice.next_message()).text or "")

    results = [(row.actor_id, row.action, row.result) for row in reversed(await _audit(harness))]
    assert (owner.id, "staff", f"granted manager to {alice.id}") in results
    assert (alice.id, "staff", "refused: needs owner") in results
    assert (owner.id, "staff", f"revoked {alice.id}") in results


async def test_staff_commands_with_bad_arguments_show_usage(harness: Harness) -> None:
    owner = harness.owner
    for command in ("/staff add", "/staff promote 5", "/staff add 123 emperor", "/audit lots"):
        await owner.send(command)
        reply = (await owner.next_message()).text or ""
        assert reply.startswith("That doesn't look right. Usage:"), (command, reply)
    await owner.send("/staff add @nobody")
    assert "don't know @nobody" in ((await owner.next_message()).text or "")
    errors = [row for row in await _audit(harness) if row.result.startswith("error")]
    assert len(errors) == 4


async def test_owner_cannot_be_changed_from_chat(harness: Harness) -> None:
    owner = harness.owner
    await owner.send(f"/staff remove {owner.id}")
    assert "config file" in ((await owner.next_message()).text or "")


async def test_an_action_whose_confirmation_fails_is_still_audited(harness: Harness) -> None:
    alice = harness.customer("Alice")
    await alice.send("/start")
    await alice.next_message()
    owner = harness.owner
    harness.sandbox.fail("sendMessage", status=500, chat_id=owner.id, times=4)  # every retry
    await owner.send("/earn @alice 10 R-9")
    # The earn committed: its confirmation arrives later through the outbox, not an apology.
    assert "New balance: 10 points" in ((await owner.next_message()).text or "")
    rows = [row for row in await _audit(harness) if row.action == "earn"]
    assert [(row.arguments, row.result.split(" ref ")[0]) for row in rows] == [
        ("@alice 10 R-9", f"customer {rows[0].result.split()[1]} +10")
    ]
    await owner.send("/earn @alice 10 R-9")  # the retry with the receipt is refused, not doubled
    assert "already counted" in ((await owner.next_message()).text or "")


async def test_unicode_digits_get_a_clear_answer_not_an_apology(harness: Harness) -> None:
    owner = harness.owner
    for command in ("/audit ²", "/faq show ²", "/ticket ²", "/earn ² 5", "/staff add ²"):
        await owner.send(command)
        reply = (await owner.next_message()).text or ""
        assert "something went wrong" not in reply, (command, reply)
    await owner.send("/audit ５")  # full-width digits are digits
    assert "audit entries" in ((await owner.next_message()).text or "")


async def test_staff_may_send_long_texts_customers_may_not(harness: Harness) -> None:
    alice = harness.customer("Alice")
    await alice.send("/start")
    await alice.next_message()
    await alice.send("/complaint")
    await alice.next_message()
    owner = harness.owner
    long_reply = "We are sorry. " * 200  # 2800 characters, over the customers' 2000
    await owner.send(f"/reply 1001 {long_reply}")
    answer = (await owner.next_message()).text or ""
    assert "too long" not in answer
    await alice.send("x" * 2500)
    assert "too long" in ((await alice.next_message()).text or "")
