"""The message catalogue: both languages, the same placeholders, and every key used exists."""

from __future__ import annotations

import re
from pathlib import Path

from handlers.texts import LANGUAGES, catalogue, placeholders, t

ROOT = Path(__file__).resolve().parent.parent
KEY_USE = re.compile(r"""\bt\(\s*["']([a-z_]+\.[a-z_.]+)["']""")


def test_every_key_has_every_language_with_the_same_placeholders() -> None:
    for key, texts in catalogue().items():
        assert set(texts) == set(LANGUAGES), key
        assert all(texts[lang].strip() for lang in LANGUAGES), key
        assert placeholders(texts["en"]) == placeholders(texts["zh"]), key


def test_every_key_used_in_code_exists() -> None:
    known = set(catalogue())
    used: set[str] = set()
    for package in ("handlers", "bot", "care"):
        for path in (ROOT / package).rglob("*.py"):
            used |= set(KEY_USE.findall(path.read_text("utf-8")))
    assert used, "the scan found no keys at all"
    assert used - known == set()


def test_unknown_language_falls_back_to_english() -> None:
    assert t("common.press_start", "fr") == t("common.press_start", "en")
