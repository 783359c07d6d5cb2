"""`carebot -v run` in its own process against the sandbox: DEBUG lines, and never the token."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from sandbox import Sandbox

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "7123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
SECRET = TOKEN.partition(":")[2]
DEADLINE = 60.0  # a slow machine may take a while to import and start; never a timing assertion


async def test_verbose_run_logs_no_token(tmp_path: Path) -> None:
    async with Sandbox(token=TOKEN) as sandbox:
        config = tmp_path / "config.toml"
        config.write_text(
            f"""
[telegram]
token = "{TOKEN}"
base_url = "{sandbox.base_url}"
base_file_url = "{sandbox.base_file_url}"
poll_timeout = 1
[storage]
path = "care.sqlite3"
[staff]
owners = [700000001]
""",
            "utf-8",
        )
        env = {k: v for k, v in os.environ.items() if k not in ("CAREBOT_TOKEN", "CAREBOT_CONFIG")}
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "-v",
            "run",
            "--config",
            str(config),
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            await sandbox.wait_for_call("getUpdates", timeout=DEADLINE)
            alice = sandbox.create_user("Alice")
            await alice.send("/start")
            assert "Alice" in (await alice.next_message(timeout=DEADLINE)).content
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGINT)  # run_polling stops cleanly on Ctrl-C
            stdout, stderr = await asyncio.wait_for(process.communicate(), DEADLINE)
    out, err = stdout.decode(), stderr.decode()
    assert process.returncode == 0, err[-2000:]
    assert " DEBUG telegram" in err  # python-telegram-bot's own debug lines are there
    assert "bot7123456789:***/getUpdates" in err  # the Bot API client logged the URL, redacted
    assert SECRET not in out and SECRET not in err
