"""Killing `carebot run` at any moment and starting it again loses nothing and repeats nothing."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from pathlib import Path

from sandbox import Sandbox

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
