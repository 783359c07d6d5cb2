"""Every command that opens the database migrates it forward, and all refuse a newer one."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.cli import main
from storage.migrate import available_migrations, latest_version

# (arguments after the config) for commands that open the database but never reach Telegram
COMMANDS = {
    "migrate": ["migrate"],
    "outreach plan": ["outreach", "plan", "--date", "2026-12-01"],
    "faq ask": ["faq", "ask", "what time do you open?"],
    "faq export": ["faq", "export", "{tmp}/faq.csv", "--lang", "en"],
    "customers export": ["customers", "export", "{tmp}/customers.csv"],
}


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text('[storage]\npath = "care.sqlite3"\n', "utf-8")
    return path


def _argv(name: str, tmp_path: Path, config: Path) -> list[str]:
    words = [word.replace("{tmp}", str(tmp_path)) for word in COMMANDS[name]]
    return [*words, "--config", str(config)]


def _version(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])


@pytest.mark.parametrize("name", list(COMMANDS))
def test_an_old_database_is_migrated_forward_by_every_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    database = tmp_path / "care.sqlite3"
    with sqlite3.connect(database) as conn:  # a database an older carebot left behind
        conn.executescript(available_migrations()[0].sql)
    assert _version(database) == 1 < latest_version()
    assert main(_argv(name, tmp_path, _config(tmp_path))) == 0, capsys.readouterr().err
    assert _version(database) == latest_version()


@pytest.mark.parametrize("name", list(COMMANDS))
def test_a_database_newer_than_the_code_is_refused_by_every_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    database = tmp_path / "care.sqlite3"
    with sqlite3.connect(database) as conn:
        conn.execute(f"PRAGMA user_version = {latest_version() + 1}")
    assert main(_argv(name, tmp_path, _config(tmp_path))) == 3
    err = capsys.readouterr().err
    assert "storage error" in err and f"schema version {latest_version() + 1}" in err
    assert _version(database) == latest_version() + 1  # untouched
