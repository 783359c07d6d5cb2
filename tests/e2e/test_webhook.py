"""Webhook mode: Telegram's POSTs (with the secret) reach the bot; anyone else is refused."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bot.app import build_application, start_embedded, stop_embedded
from bot.config import ConfigError, settings_from_mapping
from sandbox import Sandbox

SECRET = "s3cret-token_1-0123456789abcdefghij"  # 35 characters


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox() as running:
        yield running


def _update(update_id: int, user_json: dict[str, object], chat: dict[str, object]) -> dict:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_795_000_000,
            "chat": chat,
            "from": user_json,
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }


async def test_updates_posted_to_the_webhook_are_answered(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    port = _free_port()
    settings = settings_from_mapping(
        {
            "telegram": {
                "token": sandbox.token,
                "base_url": sandbox.base_url,
                # What Telegram calls (it accepts only https on 443/80/88/8443); a proxy there
                # would forward to the local port the bot listens on.
                "webhook_url": "https://bot.example.com/hook",
                "webhook_port": port,
                "webhook_secret": SECRET,
            },
            "storage": {"path": str(tmp_path / "hook.sqlite3")},
        },
        environ={},
    )
    app = build_application(settings)
    await start_embedded(app, webhook=settings.telegram)
    try:
        registered = await sandbox.wait_for_call("setWebhook")
        assert registered["url"] == "https://bot.example.com/hook"
        assert registered["secret_token"] == SECRET
        # The test posts her /start itself, past the sandbox: tell it she pressed Start.
        alice = sandbox.create_user("Alice", started=True)
        update = _update(1, alice.to_json(), alice.private_chat_json())
        async with httpx.AsyncClient() as client:
            refused = await client.post(
                f"http://127.0.0.1:{port}/hook",
                json=update,
                headers={"X-Telegram-Bot-Api-Secret-Token": "guess"},
            )
            assert refused.status_code == 403
            accepted = await client.post(
                f"http://127.0.0.1:{port}/hook",
                json=_update(2, alice.to_json(), alice.private_chat_json()),
                headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
            )
            assert accepted.status_code == 200
        welcome = await alice.next_message()
        assert "Hello Alice" in (welcome.text or "")
        await alice.expect_no_message(0.3)  # the refused POST was never handled
    finally:
        await stop_embedded(app)


@pytest.mark.parametrize(
    ("telegram", "problem"),
    [
        ({"webhook_url": "http://example.com/hook", "webhook_secret": SECRET}, "https"),
        ({"webhook_url": "https://example.com/hook"}, "webhook_secret"),
        ({"webhook_url": "https://example.com/hook", "webhook_secret": "no spaces"}, "secret"),
    ],
)
def test_webhook_settings_are_validated(telegram: dict[str, str], problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings_from_mapping({"telegram": {"token": "1:x", **telegram}}, environ={})
    assert problem in str(caught.value)
