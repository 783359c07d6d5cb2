"""Configuration: errors name the file and the key; the token can come from the environment."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from bot.app import care_settings
from bot.cli import main
from bot.config import ConfigError, load_settings, settings_from_mapping
from care.settings import CareSettings

GOOD = """
[telegram]
token = "123:abc"
[storage]
path = "data/care.sqlite3"
[staff]
owners = [111, 222]
chat_id = -100123
[locale]
default_language = "zh"
timezone = "Asia/Shanghai"
"""


WEBHOOK = 'webhook_url = "https://shop.example/hook"\n'
LONG_SECRET = "0123456789abcdef0123456789abcdef"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, "utf-8")
    return path


def test_a_good_file_loads(tmp_path: Path) -> None:
    settings = load_settings(_write(tmp_path, GOOD), environ={})
    assert settings.telegram.token == "123:abc"
    assert settings.staff.owners == [111, 222]
    assert settings.locale.zone.key == "Asia/Shanghai"
    assert "123:abc" not in repr(settings)


def test_the_example_config_is_valid() -> None:
    example = Path(__file__).resolve().parent.parent / "config.example.toml"
    settings = load_settings(example, environ={"CAREBOT_TOKEN": "1:x"})
    assert settings.telegram.token == "1:x"


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        (GOOD + "\n[extra]\nx = 1\n", "extra", "unknown key"),
        (GOOD.replace("[storage]", "[storage]\ncolour = 'red'"), "storage.colour", "unknown key"),
        (GOOD.replace("Asia/Shanghai", "Mars/Olympus"), "locale.timezone", "unknown IANA"),
        (GOOD.replace('"zh"', '"fr"'), "locale.default_language", "must be one of"),
        (GOOD.replace("[111, 222]", '"111"'), "staff.owners", "must be a list"),
        (GOOD.replace("-100123", '"staff"'), "staff.chat_id", "must be an integer"),
        (GOOD.replace('token = "123:abc"', ""), "telegram.token", "missing"),
        (GOOD + "[faq]\nanswer_threshold = 150\n", "faq.answer_threshold", "between 0 and 100"),
        (GOOD + "[faq]\nsuggest_threshold = -1\n", "faq.suggest_threshold", "between 0 and 100"),
        (
            GOOD + "[faq]\nanswer_threshold = 30\nsuggest_threshold = 35\n",
            "faq.suggest_threshold",
            "not be above answer_threshold",
        ),
        (GOOD + '[tickets]\nbusiness_hours = "9 to 5"\n', "tickets.business_hours", "HH:MM"),
        (
            GOOD + '[tickets]\nbusiness_hours = "09:00-09:00"\n',
            "tickets.business_hours",
            "same time",
        ),
        (
            GOOD.replace(
                "[storage]", WEBHOOK + 'webhook_secret = "short-but-valid_chars"\n[storage]'
            ),
            "telegram.webhook_secret",
            "too short (21 characters)",
        ),
    ],
)
def test_errors_name_the_file_and_the_key(
    tmp_path: Path, text: str, key: str, problem: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    assert caught.value.key == key
    assert problem in caught.value.problem
    assert str(path) in str(caught.value)


def test_token_from_environment(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD.replace('token = "123:abc"', ""))
    assert load_settings(path, environ={"CAREBOT_TOKEN": "9:env"}).telegram.token == "9:env"


def test_bad_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(_write(tmp_path, "[telegram\n"), environ={})
    with pytest.raises(ConfigError, match="file not found"):
        load_settings(tmp_path / "absent.toml", environ={})


def test_check_config_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CAREBOT_TOKEN", raising=False)
    good = _write(tmp_path, GOOD)
    assert main(["check-config", str(good)]) == 0
    assert "ok" in capsys.readouterr().out
    good.write_text(GOOD.replace("Asia/Shanghai", "Nowhere/City"), "utf-8")
    assert main(["check-config", str(good)]) == 2
    assert "locale.timezone" in capsys.readouterr().err


def test_migrate_command_creates_the_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    _write(tmp_path, GOOD)
    assert main(["migrate", "--config", "config.toml"]) == 0
    assert "schema version" in capsys.readouterr().out
    assert (tmp_path / "data" / "care.sqlite3").exists()


def test_unreadable_config_and_storage_get_clear_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check-config", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe[telegram")
    assert main(["check-config", str(binary)]) == 2
    assert "not UTF-8" in capsys.readouterr().err
    junk = tmp_path / "junk.sqlite3"
    junk.write_text("this is not a database", "utf-8")
    config = _write(tmp_path, f'[storage]\npath = "{junk}"\n')
    assert main(["migrate", "--config", str(config)]) == 3  # returns: no thread left running
    assert "not a usable SQLite database" in capsys.readouterr().err


def test_a_relative_storage_path_is_beside_the_config_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "etc" / "carebot"
    folder.mkdir(parents=True)
    config = _write(folder, GOOD)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    wanted = folder / "data" / "care.sqlite3"
    assert load_settings(config, environ={}).storage.path == str(wanted)
    assert main(["migrate", "--config", str(config)]) == 0
    assert str(wanted) in capsys.readouterr().out
    assert wanted.exists() and not (elsewhere / "data").exists()
    # so is one given relative to the working directory, and absolute paths stay as they are
    assert load_settings("../etc/carebot/config.toml", environ={}).storage.path == str(wanted)
    absolute = GOOD.replace("data/care.sqlite3", str(tmp_path / "abs.sqlite3"))
    config.write_text(absolute, "utf-8")
    assert load_settings(config, environ={}).storage.path == str(tmp_path / "abs.sqlite3")


def test_check_config_accepts_overnight_business_hours(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, GOOD + '[tickets]\nbusiness_hours = "18:00-09:00"\n')
    assert main(["check-config", str(path)]) == 0
    captured = capsys.readouterr()
    assert "ok" in captured.out and captured.err == ""


def test_check_config_warns_without_an_owner(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, GOOD.replace("owners = [111, 222]", "owners = []"))
    assert main(["check-config", str(path)]) == 0
    captured = capsys.readouterr()
    assert "ok" in captured.out
    assert "warning:" in captured.err and "[staff.owners]" in captured.err


@pytest.mark.parametrize(
    ("listen", "warned"), [("0.0.0.0", True), ("::", True), ("127.0.0.1", False)]
)
def test_check_config_warns_when_the_webhook_listens_on_all_interfaces(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], listen: str, warned: bool
) -> None:
    telegram = f'{WEBHOOK}webhook_secret = "{LONG_SECRET}"\nwebhook_listen = "{listen}"\n'
    path = _write(tmp_path, GOOD.replace("[storage]", telegram + "[storage]"))
    assert main(["check-config", str(path)]) == 0
    err = capsys.readouterr().err
    assert ("[telegram.webhook_listen]" in err and "TLS reverse proxy" in err) is warned
    assert LONG_SECRET not in err


@pytest.mark.parametrize("section", [f.name for f in fields(CareSettings)])
def test_every_care_section_is_a_config_table_and_reaches_care(section: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings_from_mapping({section: {"no_such_key": 1}}, require_token=False)
    assert caught.value.key == f"{section}.no_such_key"
    settings = settings_from_mapping({}, require_token=False)
    care = care_settings(settings)
    assert type(care) is CareSettings  # a copy: care never holds the token
    assert getattr(care, section) is getattr(settings, section)
