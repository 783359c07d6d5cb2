"""`carebot init` against the sandbox: the token checked, a working config, the owner's id."""

from __future__ import annotations

import asyncio
import io
import socket
import stat
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import load_settings
from sandbox import Sandbox


def _init(argv: list[str], stdin: str, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main(argv)


async def test_init_writes_a_working_config_and_captures_the_owner(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CAREBOT_TOKEN", raising=False)
    config = tmp_path / "config.toml"
    async with Sandbox() as sandbox:
        owner = sandbox.create_user("Olivia", language_code="en")
        stranger = sandbox.create_user("Sam")
        argv = ["init", "--config", str(config), "--base-url", sandbox.base_url]
        argv += ["--code", "c0ffee", "--wait", "30"]
        running = asyncio.create_task(
            asyncio.to_thread(_init, argv, f"{sandbox.token}\n", monkeypatch)
        )
        await stranger.send("/start")  # no code: not the owner
        await stranger.send("/start 123456")  # a wrong code
        await owner.send("/start c0ffee")
        assert await running == 0
        told = await owner.next_message()
    assert f"owner now (Telegram id {owner.id})" in (told.text or "")

    settings = load_settings(config)
    assert settings.staff.owners == [owner.id]
    assert settings.telegram.token == sandbox.token
    assert settings.telegram.base_url == sandbox.base_url
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    out = capsys.readouterr().out
    assert "token ok: the bot is @carebot_sandbox_bot" in out
    assert f"owner {owner.id} (Olivia) written" in out


async def test_init_with_the_token_in_the_environment_leaves_it_out_of_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    async with Sandbox() as sandbox:
        monkeypatch.setenv("CAREBOT_TOKEN", sandbox.token)
        owner = sandbox.create_user("Olivia")
        argv = ["init", "--config", str(config), "--base-url", sandbox.base_url, "--code", "x1"]
        running = asyncio.create_task(asyncio.to_thread(_init, argv, "", monkeypatch))
        await owner.send("/start x1")
        assert await running == 0
    assert sandbox.token not in config.read_text("utf-8")
    assert load_settings(config).staff.owners == [owner.id]


async def test_init_with_a_wrong_token_says_so_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CAREBOT_TOKEN", raising=False)
    config = tmp_path / "config.toml"
    async with Sandbox() as sandbox:
        argv = ["init", "--config", str(config), "--base-url", sandbox.base_url]
        code = await asyncio.to_thread(_init, argv, "123:wrong\n", monkeypatch)
    assert code == 4
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "token" in err
    assert "Traceback" not in err
    assert not config.exists()


def test_init_refuses_to_overwrite_a_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("# mine\n", "utf-8")
    assert main(["init", "--config", str(config)]) == 2
    assert "--force" in capsys.readouterr().err
    assert config.read_text("utf-8") == "# mine\n"


def test_run_without_a_network_is_one_line_with_the_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = tmp_path / "config.toml"
    config.write_text(
        f'[telegram]\ntoken = "123:abc"\nbase_url = "http://127.0.0.1:{port}/bot"\n'
        "[staff]\nowners = [1]\n",
        "utf-8",
    )
    assert main(["run", "--config", str(config)]) == 4
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    last = err.splitlines()[-1]  # after the log lines of the start-up (INFO for `run`)
    assert last.startswith("telegram error: cannot reach the Bot API")
    assert "check the network" in last

    assert main(["-v", "run", "--config", str(config)]) == 4
    assert "Traceback" in capsys.readouterr().err
