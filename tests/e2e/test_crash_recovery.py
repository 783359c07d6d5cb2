"""Killing `carebot run` at any moment and starting it again loses nothing and repeats nothing."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import sys
from pathlib import Path

import httpx

from bot.pipeline import SECRET_HEADER
from sandbox import Sandbox, SandboxUser

CUSTOMERS = 12


async def _start_bot(config: Path) -> asyncio.subprocess.Process:
    env = {**os.environ, "CAREBOT_TOKEN": ""}
    return await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "bot", "run", "--config", str(config)),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        env=env,
    )


async def test_kill_and_restart_loses_and_repeats_nothing(tmp_path: Path) -> None:
    async with Sandbox() as sandbox:
        db_path = tmp_path / "crash.sqlite3"
        config = tmp_path / "config.toml"
        config.write_text(
            f'[telegram]\ntoken = "{sandbox.token}"\nbase_url = "{sandbox.base_url}"\n'
            f'base_file_url = "{sandbox.base_file_url}"\npoll_timeout = 1\n'
            f'[storage]\npath = "{db_path}"\n',
            "utf-8",
        )
        users = [sandbox.create_user(f"User{i}", username=f"user{i}") for i in range(CUSTOMERS)]
        bot = await _start_bot(config)
        try:
            first_half = users[: CUSTOMERS // 2]
            for user in first_half:
                await user.send("/start")
            for user in first_half:
                await user.next_message(timeout=20)
            for user in users[CUSTOMERS // 2 :]:
                await user.send("/start")
            bot.send_signal(signal.SIGKILL)  # in the middle of the second half
            await bot.wait()
            bot = await _start_bot(config)
            for user in users:  # everyone is answered, by the first process or the second
                if not user.inbox():
                    await user.next_message(timeout=20)
        finally:
            if bot.returncode is None:
                bot.send_signal(signal.SIGTERM)
                await bot.wait()

    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        ids = [row[0] for row in conn.execute("SELECT telegram_id FROM customers")]
    conn.close()
    assert sorted(ids) == sorted(user.id for user in users)
    for user in users:
        welcomes = [m for m in user.inbox() if (m.text or "").startswith("Hello")]
        assert len(welcomes) <= 1, user  # a redelivered /start never greets as new twice


async def test_a_webhook_update_acknowledged_with_200_survives_a_kill(tmp_path: Path) -> None:
    secret = "webhook-secret-" + "x" * 20
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    async with Sandbox() as sandbox:
        db_path = tmp_path / "hook.sqlite3"
        config = tmp_path / "config.toml"
        config.write_text(
            f'[telegram]\ntoken = "{sandbox.token}"\nbase_url = "{sandbox.base_url}"\n'
            f'webhook_url = "https://bot.example.com/hook"\nwebhook_port = {port}\n'
            f'webhook_secret = "{secret}"\n[storage]\npath = "{db_path}"\n',
            "utf-8",
        )
        users = [sandbox.create_user(f"Hook{i}", started=True) for i in range(CUSTOMERS)]
        bot = await _start_bot(config)
        url, headers = f"http://127.0.0.1:{port}/hook", {SECRET_HEADER: secret}
        try:
            async with httpx.AsyncClient() as client:
                for _ in range(100):  # until the bot listens
                    try:
                        await client.post(url, json={}, headers=headers)
                        break
                    except httpx.ConnectError:
                        await asyncio.sleep(0.1)
                for number, user in enumerate(users, start=1):
                    update = _start_update(number, user)
                    assert (
                        await client.post(url, json=update, headers=headers)
                    ).status_code == 200
            bot.send_signal(signal.SIGKILL)  # right after the last 200: nothing handled yet
            await bot.wait()
            bot = await _start_bot(config)
            await _until_registered(db_path, len(users))
            await asyncio.sleep(1.0)  # the replies that follow the last registrations
        finally:
            if bot.returncode is None:
                bot.send_signal(signal.SIGTERM)
                await bot.wait()
    # Every update acknowledged with a 200 was handled (before the kill or after the restart),
    # once: a reply can only be missing where the kill fell between a commit and its reply.
    assert _registered(db_path) == {user.id for user in users}
    for user in users:
        welcomes = [m for m in user.inbox() if (m.text or "").startswith("Hello")]
        assert len(welcomes) <= 1, user
    assert sum(bool(user.inbox()) for user in users) >= len(users) - 1


def _registered(db_path: Path) -> set[int]:
    with sqlite3.connect(db_path) as conn:
        ids = {row[0] for row in conn.execute("SELECT telegram_id FROM customers")}
    conn.close()
    return ids


async def _until_registered(db_path: Path, count: int) -> None:
    for _ in range(200):  # 20 s
        if len(_registered(db_path)) >= count:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"only {len(_registered(db_path))} of {count} registered")


def _start_update(update_id: int, user: SandboxUser) -> dict[str, object]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_795_000_000,
            "chat": user.private_chat_json(),
            "from": user.to_json(),
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }


async def test_a_kill_between_an_earns_commit_and_its_reply_is_reported_after_restart(
    tmp_path: Path,
) -> None:
    async with Sandbox() as sandbox:
        owner = sandbox.create_user("Owner", username="owner", started=True)
        alice = sandbox.create_user("Alice", username="alice")
        db_path = tmp_path / "earn.sqlite3"
        config = tmp_path / "config.toml"
        config.write_text(
            f'[telegram]\ntoken = "{sandbox.token}"\nbase_url = "{sandbox.base_url}"\n'
            f'base_file_url = "{sandbox.base_file_url}"\npoll_timeout = 1\n'
            f'[storage]\npath = "{db_path}"\n[staff]\nowners = [{owner.id}]\n',
            "utf-8",
        )
        bot = await _start_bot(config)
        try:
            await alice.send("/start")
            await alice.next_message(timeout=20)
            sandbox.delay(
                "sendMessage", 60, times=5
            )  # the earn's reply hangs: the kill comes first
            await owner.send("/earn @alice 12")
            await _until(db_path, "SELECT count(*) FROM points_ledger WHERE kind = 'earn'")
            bot.send_signal(signal.SIGKILL)  # committed, not yet confirmed to the owner
            await bot.wait()
            sandbox.reset_faults()
            bot = await _start_bot(config)
            notice = await owner.next_message(timeout=20)
        finally:
            if bot.returncode is None:
                bot.send_signal(signal.SIGTERM)
                await bot.wait()
    assert "was carried out just before the bot restarted" in (notice.text or "")
    assert "/earn @alice 12" in (notice.text or "")
    with sqlite3.connect(db_path) as conn:  # done once: not earned again at the restart
        assert conn.execute("SELECT count(*) FROM points_ledger").fetchone() == (1,)
        assert conn.execute("SELECT count(*) FROM inbox WHERE answered = 0").fetchone() == (0,)
    conn.close()


async def _until(db_path: Path, count_query: str) -> None:
    for _ in range(200):  # 20 s
        with sqlite3.connect(db_path) as conn:
            found = conn.execute(count_query).fetchone()[0]
        conn.close()
        if found:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"nothing for {count_query}")
