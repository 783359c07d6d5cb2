"""Configuration: a TOML file read into frozen dataclasses and validated at start-up."""

from __future__ import annotations

import os
import re
import tomllib
import types
import typing
from dataclasses import MISSING, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from care.settings import CareSettings

TOKEN_ENV = "CAREBOT_TOKEN"  # noqa: S105 (a variable name, not a secret)
CONFIG_ENV = "CAREBOT_CONFIG"
DEFAULT_CONFIG = "config.toml"
_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
MIN_SECRET_LENGTH = 32  # Telegram accepts 1; a short one can be guessed by whoever finds the URL
ALL_INTERFACES = ("0.0.0.0", "::", "")


class ConfigError(Exception):
    """A configuration problem, naming the file and the key."""

    def __init__(self, source: str, key: str, problem: str) -> None:
        super().__init__(f"{source}: [{key}] {problem}" if key else f"{source}: {problem}")
        self.source = source
        self.key = key
        self.problem = problem


@dataclass(frozen=True, slots=True)
class TelegramSettings:
    """How to reach the Bot API."""

    token: str = ""
    base_url: str | None = None
    base_file_url: str | None = None
    poll_timeout: int = 30
    webhook_url: str = ""  # empty: long polling
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    webhook_secret: str = ""

    def __post_init__(self) -> None:
        if self.poll_timeout < 0:
            raise ValueError("poll_timeout: must be zero or more seconds")
        if not self.webhook_url:
            return
        parsed = urlsplit(self.webhook_url)
        local = parsed.hostname in ("127.0.0.1", "localhost", "::1")
        if parsed.scheme != "https" and not (parsed.scheme == "http" and local):
            raise ValueError("webhook_url: Telegram only calls https:// URLs")
        if not _SECRET.fullmatch(self.webhook_secret):
            raise ValueError(
                "webhook_secret: required with webhook_url; 1-256 of A-Z, a-z, 0-9, _ and -"
            )
        if len(self.webhook_secret) < MIN_SECRET_LENGTH:
            raise ValueError(
                f"webhook_secret: too short ({len(self.webhook_secret)} characters); use at least"
                f" {MIN_SECRET_LENGTH} random ones, e.g. from `openssl rand -hex 32`"
            )
        if not 1 <= self.webhook_port <= 65535:
            raise ValueError("webhook_port: must be between 1 and 65535")

    @property
    def webhook_path(self) -> str:
        """The path of webhook_url, which the local server listens on."""
        return urlsplit(self.webhook_url).path.lstrip("/")

    def __repr__(self) -> str:  # the token and the secret must never reach a log line
        mode = "webhook" if self.webhook_url else "polling"
        return f"TelegramSettings(token=***, base_url={self.base_url!r}, mode={mode})"


@dataclass(frozen=True, slots=True)
class StorageSettings:
    """Where the SQLite file lives (read from a file, a relative path is beside that file)."""

    path: str = "carebot.sqlite3"


@dataclass(frozen=True, slots=True)
class Settings(CareSettings):
    """Everything carebot is configured with: care's sections plus how to reach Telegram and the
    database. Each field is the TOML table of the same name."""

    telegram: TelegramSettings = field(default_factory=TelegramSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)


def config_warnings(settings: Settings) -> list[str]:
    """What is allowed but probably a mistake, each naming its key as errors do."""
    found = []
    if not settings.staff.owners:
        found.append(
            "[staff.owners] is empty: nobody can add staff or receive escalations;"
            " add your Telegram user id"
        )
    telegram = settings.telegram
    if telegram.webhook_url and telegram.webhook_listen in ALL_INTERFACES:
        found.append(
            f"[telegram.webhook_listen] {telegram.webhook_listen!r} listens on all interfaces:"
            " put a TLS reverse proxy in front and listen on 127.0.0.1 behind it"
        )
    return found


def default_config_path() -> str:
    """The config file to use when none is given: $CAREBOT_CONFIG, else config.toml."""
    return os.environ.get(CONFIG_ENV, DEFAULT_CONFIG)


def load_settings(
    path: str | Path, *, environ: dict[str, str] | None = None, require_token: bool = True
) -> Settings:
    """Read and validate a config file; raise ConfigError naming the file and the key."""
    source = str(path)
    try:
        raw = tomllib.loads(Path(path).read_text("utf-8"))
    except FileNotFoundError:
        raise ConfigError(source, "", "file not found") from None
    except IsADirectoryError:
        raise ConfigError(source, "", "is a directory, not a file") from None
    except UnicodeDecodeError:
        raise ConfigError(source, "", "is not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(source, "", f"cannot be read ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, "", f"not valid TOML: {exc}") from None
    settings = settings_from_mapping(raw, source, environ=environ, require_token=require_token)
    database = _beside(Path(path), settings.storage.path)
    return _replace(settings, storage=_replace(settings.storage, path=database))


def _beside(config: Path, path: str) -> str:
    """A relative path from the config file means a path next to that file, wherever carebot
    was started from (a service manager's working directory is rarely the config's folder)."""
    if path == ":memory:":
        return path
    return os.path.join(os.path.dirname(os.path.abspath(config)), Path(path).expanduser())


def settings_from_mapping(
    raw: dict[str, Any],
    source: str = "<config>",
    *,
    environ: dict[str, str] | None = None,
    require_token: bool = True,
) -> Settings:
    """Build Settings from parsed TOML; the token may come from $CAREBOT_TOKEN."""
    settings = _build(Settings, raw, source, "")
    env = os.environ if environ is None else environ
    token = settings.telegram.token or env.get(TOKEN_ENV, "")
    if require_token and not token:
        raise ConfigError(source, "telegram.token", f"missing (set it or ${TOKEN_ENV})")
    telegram = _replace(settings.telegram, token=token)
    return _replace(settings, telegram=telegram)


def _replace(obj: Any, **changes: Any) -> Any:
    values = {f.name: getattr(obj, f.name) for f in fields(obj)}
    values.update(changes)
    return type(obj)(**values)


def _build(cls: type, raw: Any, source: str, prefix: str) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(source, prefix, "must be a table")
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in fields(cls)}
    for key in raw:
        if key not in known:
            raise ConfigError(source, _join(prefix, key), "unknown key")
    values: dict[str, Any] = {}
    for name, spec in known.items():
        key = _join(prefix, name)
        if name not in raw:
            if spec.default is MISSING and spec.default_factory is MISSING:
                raise ConfigError(source, key, "missing")
            continue
        values[name] = _convert(hints[name], raw[name], source, key)
    try:
        return cls(**values)
    except ValueError as exc:
        field_name, _, problem = str(exc).partition(": ")
        if field_name in known and problem:
            raise ConfigError(source, _join(prefix, field_name), problem) from None
        raise ConfigError(source, prefix, str(exc)) from None


def _convert(hint: Any, value: Any, source: str, key: str) -> Any:
    if is_dataclass(hint):
        return _build(hint, value, source, key)  # type: ignore[arg-type]
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (types.UnionType, typing.Union):
        options = [a for a in args if a is not type(None)]
        return _convert(options[0], value, source, key)
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(source, key, f"must be a list, got {_kind(value)}")
        return [_convert(args[0], item, source, key) for item in value]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(source, key, f"must be a table, got {_kind(value)}")
        return {k: _convert(args[1], v, source, _join(key, k)) for k, v in value.items()}
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint is bool and not isinstance(value, bool):
        raise ConfigError(source, key, f"must be true or false, got {_kind(value)}")
    if hint is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigError(source, key, f"must be an integer, got {_kind(value)}")
    if not isinstance(value, hint):
        raise ConfigError(source, key, f"must be {hint.__name__}, got {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    return f"{type(value).__name__} {value!r}"


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name
