"""The log filter: no token, webhook secret or token-shaped string reaches a log line."""

from __future__ import annotations

import logging

import pytest

from bot.logs import SecretFilter, command_logging, protect

TOKEN = "7123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
SECRET = TOKEN.partition(":")[2]


def test_a_token_in_a_url_an_argument_or_an_exception_is_redacted(
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = f"https://api.telegram.org/bot{TOKEN}/getUpdates"
    with command_logging(logging.DEBUG):
        logging.getLogger("httpx").debug("HTTP Request: POST %s", url)
        logging.getLogger("telegram.ext").info(f"bot {TOKEN} said hello")
        try:
            raise ConnectionError(f"cannot reach {url}")
        except ConnectionError:
            logging.getLogger("bot.test").exception("request failed")
    err = capsys.readouterr().err
    assert SECRET not in err
    assert "HTTP Request: POST https://api.telegram.org/bot7123456789:***/getUpdates" in err
    assert "bot 7123456789:*** said hello" in err
    assert "ConnectionError: cannot reach" in err and "request failed" in err


def test_registered_secrets_of_any_shape_are_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    with command_logging(logging.INFO):
        protect("123:short", "webhook-secret-0123456789abcdef-xyz", "")
        logging.getLogger("bot.test").warning(
            "token=%s secret=%s", "123:short", "webhook-secret-0123456789abcdef-xyz"
        )
    err = capsys.readouterr().err
    assert "token=123:*** secret=***" in err
    assert "short" not in err and "abcdef" not in err


def test_the_filter_sits_on_every_root_handler_and_is_removed_afterwards() -> None:
    root = logging.getLogger()
    before = list(root.handlers)
    with command_logging(logging.DEBUG):
        assert root.level == logging.DEBUG
        assert all(any(isinstance(f, SecretFilter) for f in h.filters) for h in root.handlers)
        assert logging.getLogger("httpx").getEffectiveLevel() == logging.DEBUG
    assert root.handlers == before
    assert not any(isinstance(f, SecretFilter) for h in root.handlers for f in h.filters)
    with command_logging(logging.INFO):  # without -v, one line per HTTP request stays out
        assert logging.getLogger("httpx").getEffectiveLevel() == logging.WARNING


def test_a_bad_format_string_is_still_redacted() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%s %s", (TOKEN,), None)
    SecretFilter().filter(record)
    assert SECRET not in record.getMessage() and "7123456789:***" in record.getMessage()
