"""Plumbing shared by the end-to-end benches: the sandbox, bot subprocesses, waiting, figures.

Every use of the sandbox that the benches make (its import, and the few private driver calls for
updates its public driver API cannot build: forged callback data, channel posts, stickers) is in
this module, so moving the sandbox is one edit here. Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from sandbox import Sandbox, SandboxChat, SandboxUser, SentMessage

__all__ = [
    "OWNER_ID",
    "ROOT",
    "BotProcess",
    "Sandbox",
    "SandboxChat",
    "SandboxUser",
    "SentMessage",
    "channel_post",
    "copy_database",
    "forged_press",
    "ledger_rows",
    "make_channel",
    "my_chat_member",
    "percentile",
    "raw_message",
    "seeded_database",
    "wait_quiet",
    "write_config",
]

ROOT = Path(__file__).resolve().parents[1]
OWNER_ID = 700_000_001


def write_config(
    path: Path,
    sandbox: Sandbox,
    db_path: Path,
    *,
    staff_chat_id: int | None = None,
    poll_timeout: int = 10,
    extra: str = "",
) -> Path:
    """Write a carebot config whose [telegram] base_url is the sandbox; return the path."""
    staff = f"owners = [{OWNER_ID}]\n"
    if staff_chat_id is not None:
        staff += f"chat_id = {staff_chat_id}\n"
    path.write_text(
        f'[telegram]\ntoken = "{sandbox.token}"\nbase_url = "{sandbox.base_url}"\n'
        f'base_file_url = "{sandbox.base_file_url}"\npoll_timeout = {poll_timeout}\n'
        f'[storage]\npath = "{db_path}"\n'
        f'[business]\nname = "Bean There Café"\n'
        f"[staff]\n{staff}{extra}",
        "utf-8",
    )
    return path


@contextlib.contextmanager
def seeded_database() -> Iterator[Path]:
    """A migrated database holding the demo café FAQ (en and zh), imported by `carebot faq`."""
    with tempfile.TemporaryDirectory(prefix="carebot-bench-seed-") as tmp:
        db_path = Path(tmp) / "seed.sqlite3"
        config = Path(tmp) / "seed.toml"
        config.write_text(f'[storage]\npath = "{db_path}"\n', "utf-8")
        for lang in ("en", "zh"):
            csv = ROOT / "bot" / "data" / f"faq_{lang}.csv"
            subprocess.run(
                [sys.executable, "-m", "bot", "faq", "import", str(csv), "--lang", lang]
                + ["--config", str(config)],
                check=True,
                capture_output=True,
                env=_env(),
            )
        yield db_path


def copy_database(seed: Path, target: Path) -> Path:
    """Copy a (closed) seeded database to `target`."""
    shutil.copyfile(seed, target)
    return target


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {**os.environ, "CAREBOT_TOKEN": "", "PYTHONUNBUFFERED": "1"}
    env.pop("CAREBOT_CONFIG", None)
    env.update(extra or {})
    return env


class BotProcess:
    """A bot running as a subprocess (`python -m bot run`, or any argv), stderr to a file."""

    def __init__(
        self, argv: Sequence[str], log_path: Path, env: dict[str, str] | None = None
    ) -> None:
        self.argv = [sys.executable, *argv]
        self.log_path = log_path
        self.env = _env(env)
        self.proc: asyncio.subprocess.Process | None = None
        self.starts = 0

    @classmethod
    def carebot(
        cls, config: Path, log_path: Path, env: dict[str, str] | None = None
    ) -> BotProcess:
        """`python -m bot run --config CONFIG`."""
        return cls(["-m", "bot", "run", "--config", str(config)], log_path, env)

    @property
    def pid(self) -> int:
        """The running process's id."""
        assert self.proc is not None
        return self.proc.pid

    @property
    def alive(self) -> bool:
        """Whether the process is running."""
        return self.proc is not None and self.proc.returncode is None

    async def start(self, sandbox: Sandbox, timeout: float = 60.0) -> None:  # noqa: ASYNC109
        """Start the process and wait for its first getUpdates (it is polling)."""
        since = len(sandbox.calls)
        log = self.log_path.open("ab")
        try:
            self.proc = await asyncio.create_subprocess_exec(
                *self.argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=self.env,
                cwd=ROOT,
            )
        finally:
            log.close()
        self.starts += 1
        waiter = asyncio.ensure_future(
            sandbox.wait_for_call("getUpdates", since=since, timeout=timeout)
        )
        exited = asyncio.ensure_future(self.proc.wait())
        done, _ = await asyncio.wait({waiter, exited}, return_when=asyncio.FIRST_COMPLETED)
        if exited in done:
            waiter.cancel()
            raise RuntimeError(f"{self.argv} exited with {self.proc.returncode}: {self.tail()}")
        exited.cancel()
        waiter.result()

    def kill(self) -> None:
        """SIGKILL: no clean-up at all, as a power cut or the OOM killer."""
        if self.alive:
            assert self.proc is not None
            self.proc.send_signal(signal.SIGKILL)

    async def wait(self) -> int:
        """Wait for the process to end; return its exit code."""
        assert self.proc is not None
        return await self.proc.wait()

    async def stop(self, timeout: float = 15.0) -> None:  # noqa: ASYNC109
        """SIGTERM and wait (SIGKILL after `timeout`)."""
        if not self.alive:
            return
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), timeout)
        except TimeoutError:
            self.kill()
            await self.proc.wait()

    def rss_kib(self) -> int | None:
        """Resident set size of the process in KiB (from /proc), None once it ended."""
        if not self.alive:
            return None
        try:
            status = Path(f"/proc/{self.pid}/status").read_text()
        except OSError:
            return None
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return None

    def cpu_seconds(self) -> float:
        """User + system CPU time the process used so far (from /proc), 0 once it ended."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def log_text(self) -> str:
        """Everything the process wrote to stdout and stderr so far."""
        try:
            return self.log_path.read_text("utf-8", errors="replace")
        except OSError:
            return ""

    def tail(self, lines: int = 15) -> str:
        """The last lines of the log."""
        return "\n".join(self.log_text().splitlines()[-lines:])


async def wait_quiet(
    sandbox: Sandbox,
    *,
    quiet: float = 2.0,
    timeout: float = 60.0,  # noqa: ASYNC109
    busy: BotProcess | None = None,
) -> bool:
    """Wait until no update is pending and the bot made no API call but getUpdates for `quiet`
    seconds; False if that did not happen within `timeout` (or the bot process died)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last_change = loop.time()
    seen = _activity(sandbox)
    while loop.time() < deadline:
        await asyncio.sleep(0.1)
        if busy is not None and not busy.alive:
            return False
        now_seen = _activity(sandbox)
        if now_seen != seen or sandbox.pending_updates:
            seen, last_change = now_seen, loop.time()
        elif loop.time() - last_change >= quiet:
            return True
    return False


def _activity(sandbox: Sandbox) -> int:
    return sum(1 for name, _ in sandbox.calls if name != "getupdates")


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by the nearest-rank method; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))
    return ordered[rank - 1]


def ledger_rows(db_path: Path, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Run one read query on the bot's database (WAL: safe while the bot runs)."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10)
    try:
        return conn.execute(sql, tuple(params)).fetchall()
    finally:
        conn.close()


# ---------------------------------------------------------------- updates the driver cannot build
# The sandbox's public driver API sends texts, photos and contacts and presses buttons that exist;
# the fuzz bench also needs forged callback data and update kinds it has no method for.


def forged_press(sandbox: Sandbox, user: SandboxUser, message: SentMessage, data: str) -> str:
    """A callback query with arbitrary data on a bot message; returns the query id."""
    state = sandbox._state
    return state.callback_query(
        user.id, state.current_message(message.chat_id, message.message_id), data
    )


def raw_message(
    sandbox: Sandbox, user: SandboxUser, chat: SandboxChat | None, content: dict[str, Any]
) -> int:
    """A message of any content (sticker, location, document, voice…); returns its id."""
    return sandbox._state.user_message(user.id, chat.id if chat else user.id, content, None)


def make_channel(sandbox: Sandbox, title: str) -> SandboxChat:
    """A channel the bot is an admin of (the sandbox models groups; we relabel one)."""
    channel = sandbox.create_group(title)
    channel._record.type = "channel"
    return channel


def channel_post(sandbox: Sandbox, channel: SandboxChat, text: str, edit_of: int = 0) -> int:
    """A `channel_post` (or `edited_channel_post` of message `edit_of`); returns the id."""
    chat = channel.to_json()
    if edit_of:
        original = sandbox._state.messages.get((channel.id, edit_of))
        if original is not None:
            edited = {**original, "text": text, "edit_date": int(time.time())}
            sandbox._state.messages[(channel.id, edit_of)] = edited
            sandbox.inject("edited_channel_post", edited)
            return edit_of
    message_id = sandbox._state.new_message_id(channel.id)
    message = {
        "message_id": message_id,
        "date": int(time.time()),
        "chat": chat,
        "sender_chat": chat,
        "text": text,
    }
    if text.startswith("/"):
        length = len(text.split(maxsplit=1)[0].encode("utf-16-le")) // 2
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
    sandbox._state.messages[(channel.id, message_id)] = message
    sandbox.inject("channel_post", message)
    return message_id


def my_chat_member(sandbox: Sandbox, user: SandboxUser, status: str) -> None:
    """The user blocks ("kicked") or unblocks ("member") the bot in their private chat."""
    bot = {"id": sandbox.bot_id, "is_bot": True, "first_name": "Carebot Sandbox"}
    old = "member" if status == "kicked" else "kicked"

    def member(state: str) -> dict[str, Any]:
        return {"status": state, "user": bot, **({"until_date": 0} if state == "kicked" else {})}

    sandbox.inject(
        "my_chat_member",
        {
            "chat": user.private_chat_json(),
            "from": user.to_json(),
            "date": int(time.time()),
            "old_chat_member": member(old),
            "new_chat_member": member(status),
        },
    )
