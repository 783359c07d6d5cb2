"""The message catalogue: every customer- and staff-facing text, in English and Chinese.

Texts live in `*.toml` files beside this module, one per feature. Each key is a table with one
string per language, side by side so a translation is never forgotten:

    ["start.welcome"]
    en = "Welcome, {name}!"
    zh = "欢迎，{name}！"
"""

from __future__ import annotations

import string
import tomllib
from functools import cache
from importlib import resources
from typing import Any

LANGUAGES = ("en", "zh")
FALLBACK_LANGUAGE = "en"


@cache
def catalogue() -> dict[str, dict[str, str]]:
    """Every key with its texts per language, loaded once from the TOML files."""
    merged: dict[str, dict[str, str]] = {}
    for entry in sorted(resources.files(__name__).iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".toml"):
            continue
        for key, texts in tomllib.loads(entry.read_text("utf-8")).items():
            if key in merged:
                raise ValueError(f"catalogue key {key!r} defined twice ({entry.name})")
            merged[key] = {lang: str(text) for lang, text in texts.items()}
    return merged


def t(key: str, lang: str, /, **fields: Any) -> str:
    """The text for `key` in `lang` (falling back to English), with its fields filled in."""
    texts = catalogue()[key]
    template = texts.get(lang) or texts[FALLBACK_LANGUAGE]
    return template.format(**fields) if fields else template


def label(key: str, fallback: str, lang: str) -> str:
    """The catalogue text for `key` if the catalogue has it (e.g. a configured name), else
    `fallback` as it is."""
    return t(key, lang) if key in catalogue() else fallback


def tier_label(tier: str, lang: str) -> str:
    """A loyalty tier's name in the customer's language (configured names pass through)."""
    return label(f"loyalty.tier.{tier}", tier, lang)


def placeholders(template: str) -> set[str]:
    """The `{names}` a template expects."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}
