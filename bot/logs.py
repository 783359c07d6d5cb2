"""Logging for the carebot command: one stderr handler whose filter keeps secrets out of it.

python-telegram-bot and the Bot API client (bot/request.py) put the Bot API URL, which holds
the token, in their DEBUG lines (and in some exceptions), so every record passes through
`SecretFilter` on the root handler: whichever library logs, and whatever it logs, the line is
redacted before it is written.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager

FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
# "bot<id>:<secret>" as in a Bot API URL, and a bare token as @BotFather issues it
_URL_TOKEN = re.compile(r"bot(\d+):[A-Za-z0-9_-]+")
_BARE_TOKEN = re.compile(r"\b(\d{5,}):[A-Za-z0-9_-]{30,}")
_HIDDEN = "***"
_CHATTY = ("httpx", "httpcore")


class SecretFilter(logging.Filter):
    """Redacts the registered secrets and anything shaped like a bot token from every record."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()

    def protect(self, *secrets: str) -> None:
        """Also redact these exact strings (empty ones are ignored)."""
        self._secrets.update(secret for secret in secrets if secret)

    def redact(self, text: str) -> str:
        """`text` with the secret part of every token replaced (the bot id stays readable)."""
        text = _URL_TOKEN.sub(rf"bot\1:{_HIDDEN}", text)
        text = _BARE_TOKEN.sub(rf"\1:{_HIDDEN}", text)
        for secret in sorted(self._secrets, key=len, reverse=True):
            bot_id, colon, _ = secret.partition(":")
            text = text.replace(secret, f"{bot_id}:{_HIDDEN}" if colon else _HIDDEN)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        """Replace the record's message and arguments by their redacted rendering."""
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a bad format string: keep what there is, redacted
            message = f"{record.msg!s} args={record.args!r}"
        record.msg, record.args = self.redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


SECRETS = SecretFilter()


class _Stderr(logging.Handler):
    """Writes to whatever sys.stderr is at the time (pytest swaps it between tests)."""

    def emit(self, record: logging.LogRecord) -> None:
        """Write one formatted line."""
        try:
            sys.stderr.write(self.format(record) + "\n")
        except Exception:  # logging's contract: report the failure, never raise it
            self.handleError(record)


@contextmanager
def command_logging(level: int) -> Iterator[None]:
    """Log to stderr at `level` through the secret filter while the command runs.

    The filter goes on every root handler (also ones already there, pytest's for one), so no
    library's record reaches a log without passing it. Without -v the HTTP libraries' one line
    per request stays out. Everything is put back afterwards: tests run many commands in one
    process.
    """
    root = logging.getLogger()
    handler = _Stderr()
    handler.setFormatter(logging.Formatter(FORMAT))
    levels = {name: logging.getLogger(name).level for name in ("", *_CHATTY)}
    root.addHandler(handler)
    filtered = [h for h in root.handlers if SECRETS not in h.filters]
    for each in filtered:
        each.addFilter(SECRETS)
    root.setLevel(level)
    for name in _CHATTY:
        logging.getLogger(name).setLevel(
            logging.NOTSET if level <= logging.DEBUG else logging.WARNING
        )
    try:
        yield
    finally:
        root.removeHandler(handler)
        for each in filtered:
            each.removeFilter(SECRETS)
        for name, old in levels.items():
            logging.getLogger(name).setLevel(old)


def protect(*secrets: str) -> None:
    """Register secrets (the token, the webhook secret) that no log line may contain."""
    SECRETS.protect(*secrets)
