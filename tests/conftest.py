"""Shared fixtures: a migrated temporary database, a fake clock, a running bot on the sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.app import build_application, start_embedded, stop_embedded
from bot.config import Settings, settings_from_mapping
from care.services import CareServices
from sandbox import Sandbox, SandboxChat, SandboxUser
from storage.db import Database
from storage.migrate import migrate
from tests.fakes import FakeClock

OWNER_ID = 700_000_001


@pytest.fixture
def clock() -> FakeClock:
    """A clock that starts at 2026-11-22 10:00 UTC and only moves when told."""
    return FakeClock()


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated SQLite file in a temporary directory."""
    database = await Database.open(tmp_path / "care.sqlite3")
    await migrate(database)
    yield database
    await database.close()


@dataclass
class Harness:
    """A real Application polling the sandbox, with an owner and a staff group."""

    sandbox: Sandbox
    app: Any
    settings: Settings
    clock: FakeClock
    owner: SandboxUser
    staff_chat: SandboxChat
    _started: bool = field(default=False, repr=False)

    @property
    def care(self) -> CareServices:
        """The application's care services (for setting up and checking state)."""
        care = self.app.bot_data.care
        assert care is not None
        return care

    def customer(self, name: str = "Alice", *, language_code: str | None = "en") -> SandboxUser:
        """A new Telegram user (not yet registered with the bot)."""
        return self.sandbox.create_user(name, username=name.lower(), language_code=language_code)

    async def start(self) -> None:
        """Initialise the application and start polling the sandbox."""
        await start_embedded(self.app)
        self._started = True

    async def stop(self) -> None:
        """Stop polling and shut the application down (closing the database)."""
        if not self._started:
            return
        self._started = False
        await stop_embedded(self.app)

    async def restart(self) -> None:
        """Stop and start a fresh Application on the same database, as after a crash."""
        await self.stop()
        self.app = build_application(self.settings, clock=self.clock)
        await self.start()


def make_settings(sandbox: Sandbox, db_path: Path, **sections: dict[str, Any]) -> Settings:
    """Settings that point the bot at the sandbox and a temporary database."""
    raw: dict[str, Any] = {
        "telegram": {
            "token": sandbox.token,
            "base_url": sandbox.base_url,
            "base_file_url": sandbox.base_file_url,
            "poll_timeout": 1,
        },
        "storage": {"path": str(db_path)},
        "business": {"name": "Bean There Café"},
    }
    for name, values in sections.items():
        raw.setdefault(name, {}).update(values)
    return settings_from_mapping(raw, "<test>", environ={})


HarnessFactory = Callable[..., Awaitable[Harness]]


@pytest.fixture
async def harness_factory(tmp_path: Path, clock: FakeClock) -> AsyncIterator[HarnessFactory]:
    """Build and start harnesses with extra config sections; all are stopped at the end."""
    started: list[tuple[Harness, Sandbox]] = []

    async def factory(**sections: dict[str, Any]) -> Harness:
        sandbox = Sandbox()
        await sandbox.start()
        owner = sandbox.create_user("Olivia", username="olivia", user_id=OWNER_ID)
        staff_chat = sandbox.create_group("Staff room", members=[owner])
        sections.setdefault("staff", {}).update({"owners": [OWNER_ID], "chat_id": staff_chat.id})
        settings = make_settings(sandbox, tmp_path / f"bot{len(started)}.sqlite3", **sections)
        app = build_application(settings, clock=clock)
        harness = Harness(sandbox, app, settings, clock, owner, staff_chat)
        started.append((harness, sandbox))
        await harness.start()
        return harness

    yield factory
    for harness, sandbox in reversed(started):
        await harness.stop()
        await sandbox.stop()


@pytest.fixture
async def harness(harness_factory: HarnessFactory) -> Harness:
    """A running bot with default settings."""
    return await harness_factory()
