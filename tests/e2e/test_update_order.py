"""Updates run concurrently across chats and strictly in order within each chat."""

from __future__ import annotations

import asyncio
import json

from sandbox import SandboxUser
from tests.conftest import Harness

CHATS = 50
SWITCHES = ("zh", "en", "zh", "en")


async def test_each_chat_is_answered_in_the_order_it_wrote(harness: Harness) -> None:
    users = [harness.customer(f"User{i}") for i in range(CHATS)]
    for user in users:
        await user.send("/start")
    for user in users:
        await user.next_message(timeout=20)
    for lang in SWITCHES:  # every chat's four commands are queued before any is answered
        for user in users:
            await user.send(f"/language {lang}")

    async def replies(user: SandboxUser) -> list[str]:
        return [(await user.next_message(timeout=30)).text or "" for _ in SWITCHES]

    answered = await asyncio.gather(*(replies(user) for user in users))
    for user, texts in zip(users, answered, strict=True):
        spoken = ["zh" if "中文" in text else "en" for text in texts]
        assert spoken == list(SWITCHES), (user, texts)
    care = harness.care
    assert (await care.inbox.counts()).get("pending", 0) == 0


async def test_a_redelivered_update_is_handled_once(harness: Harness) -> None:
    alice = harness.customer("Alice")
    await alice.send("/start")
    await alice.next_message()
    (stored,) = [row for row in await _inbox_rows(harness) if "/start" in row]
    # Telegram sends the same update again (e.g. it never saw our confirmation).
    await harness.care.inbox.store(harness.app.bot.id, [json.loads(stored)])
    await harness.restart()
    await alice.expect_no_message(1.0)


async def _inbox_rows(harness: Harness) -> list[str]:
    async with harness.care.db.read() as tx:
        cursor = await tx.execute("SELECT raw FROM inbox ORDER BY update_id")
        return [row[0] for row in await cursor.fetchall()]
