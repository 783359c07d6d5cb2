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


async def test_demo_shows_both_sides_of_a_complaint_and_the_rating_can_be_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = io.StringIO(
        "/start\n/complaint\n#2\nThe flat white was cold\n!photo the cup\n"
        "!staff hello\n!as staff\n!reply 1 So sorry, a fresh one is on us\n"
        "/resolve 1001 replaced\n!as customer\n#1\n"
    )
    assert await run_demo(str(tmp_path), role="customer", lang="en", stdin=script) == 0
    out = capsys.readouterr().out
    # As Alex, the staff room's post (with the text and the photo) is shown, marked.
    assert "[to staff chat #1]> ⚠️ Complaint #1001 · Service" in out
    assert "The flat white was cold\n     the cup" in out
    assert "[to staff chat #2]> [📷 photo]" in out
    assert "(only staff are in the staff room" in out  # !staff as a customer
    # As Olivia, the reply to post #1 and the resolution reach Alex, marked.
    assert "[to Alex]> 💬 Our team about ticket #1001:" in out and "a fresh one is on us" in out
    assert "[to Alex]> ✅ Your ticket #1001 is resolved." in out
    assert "(as Alex: !as customer, #N)" in out
    # Back as Alex, button 1 of the rating question rates it.
    assert "Thank you for rating ticket #1001: 5/5." in out


async def test_demo_renders_the_contact_button_and_help_and_reset_starts_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = io.StringIO("!help\n/start\n/phone\n!contact +447700900333\n")
    assert await run_demo(str(tmp_path), role="customer", lang="en", stdin=script) == 0
    out = capsys.readouterr().out
    assert "!staff TEXT" in out and "!photo [TEXT]" in out and "!reply N TEXT" in out
    assert "keyboard: [📱 Share my phone number] (type !contact +44…)" in out

    again = io.StringIO("/start\n")
    assert await run_demo(str(tmp_path), role="customer", lang="en", stdin=again) == 0
    assert "demo database created" not in capsys.readouterr().out
    fresh = io.StringIO("/start\n")
    assert await run_demo(str(tmp_path), role="customer", lang="en", stdin=fresh, reset=True) == 0
    out = capsys.readouterr().out
    assert "demo database created" in out and "welcome back" not in out.lower()
