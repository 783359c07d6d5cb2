"""`carebot demo`: a person can /start in the terminal and get the menu, in en and zh."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bot.shell import run_demo


async def test_demo_shell_greets_and_presses_buttons(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = io.StringIO("/start\n#5\n!as staff\n/staff list\n")
    assert await run_demo(str(tmp_path), role="customer", lang="en", stdin=script) == 0
    out = capsys.readouterr().out
    assert "demo database created" in out
    assert "I'm the assistant of Bean There Café" in out
    assert "[1] ⭐ My points" in out and "[5] ⚙️ Settings" in out
    assert "Messages from us: on" in out  # button 5 opened the settings
    assert "Sam (barista) (3001) – staff" in out  # the seeded staff member


async def test_demo_shell_in_chinese_reuses_the_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = io.StringIO("/start\n")
    assert await run_demo(str(tmp_path), role="customer", lang="zh", stdin=first) == 0
    assert "Alex，你好！" in capsys.readouterr().out
    assert (
        await run_demo(str(tmp_path), role="customer", lang="zh", stdin=io.StringIO("/start\n"))
        == 0
    )
    out = capsys.readouterr().out
    assert "demo database created" not in out
    # The second run's updates are handled, not mistaken for the first run's: welcome back.
    assert "Alex，欢迎回来！" in out and "[5] ⚙️ 设置" in out
