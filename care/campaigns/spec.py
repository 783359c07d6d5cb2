"""What a campaign is before it is written: the TOML file's fields, validated (pure code).

name = "autumn-menu"
segment = "language=zh recency=active"   # a saved segment's name, or the filter itself
at = "2027-09-14T10:00"                  # optional: local time in each customer's zone
photo = "AgAC…"                          # optional: a Telegram file id or an https URL
button = "card"                          # optional: "card" or an https link
[text]
en = "Our autumn menu is here…"
zh = "秋季菜单上新了…"
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from care.errors import CareError, InvalidArgument
from care.settings import LANGUAGES

MAX_TEXT = 1024  # Telegram's caption limit, so a photo campaign fits too
_NAME = re.compile(r"^[\w\-. ]{1,64}$")
KEYS = ("name", "segment", "at", "photo", "button", "text")


class BadCampaign(CareError):
    """A campaign definition with a missing or bad field; `field` names it."""

    key = "campaigns.error.bad_field"

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"{name}: {problem}")
        self.field_name = name
        self.problem = problem
        self.fields = {"field": name, "problem": problem}


@dataclass(frozen=True, slots=True)
class CampaignSpec:
    """A campaign to preview or send."""

    name: str
    segment: str
    texts: dict[str, str] = field(default_factory=dict)
    at: datetime | None = None  # naive: the local wall-clock time in each customer's zone
    photo: str | None = None
    button: str | None = None  # 'card' or an https URL


def parse_local_at(text: str) -> datetime:
    """'YYYY-MM-DDTHH:MM' as a naive local moment; BadCampaign otherwise."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadCampaign("at", f"not YYYY-MM-DDTHH:MM: {text!r}") from None
    if moment.tzinfo is not None:
        raise BadCampaign("at", "a local time without an offset (each customer's own zone)")
    return moment


def spec_from_mapping(data: Mapping[str, Any]) -> CampaignSpec:
    """A campaign from a parsed TOML file; BadCampaign names the first bad key."""
    for key in data:
        if key not in KEYS:
            raise BadCampaign(key, "unknown key")
    name = data.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise BadCampaign("name", "required: letters, digits, - _ . (up to 64)")
    segment = data.get("segment")
    if not isinstance(segment, str) or not segment.strip():
        raise BadCampaign("segment", "required: a segment's name or a filter")
    texts = data.get("text")
    if not isinstance(texts, Mapping) or not texts:
        raise BadCampaign("text", "required: a [text] table with en and/or zh")
    for lang, text in texts.items():
        if lang not in LANGUAGES:
            raise BadCampaign(f"text.{lang}", f"languages are {', '.join(LANGUAGES)}")
        if not isinstance(text, str) or not text.strip():
            raise BadCampaign(f"text.{lang}", "must be a non-empty string")
        if len(text) > MAX_TEXT:
            raise BadCampaign(f"text.{lang}", f"longer than {MAX_TEXT} characters")
    at = data.get("at")
    if at is not None and not isinstance(at, str):
        at = at.isoformat() if hasattr(at, "isoformat") else str(at)  # TOML local date-times
    photo = data.get("photo")
    if photo is not None and (not isinstance(photo, str) or not photo.strip()):
        raise BadCampaign("photo", "a Telegram file id or an https URL")
    return CampaignSpec(
        name=name,
        segment=segment.strip(),
        texts={lang: text.strip() for lang, text in texts.items()},
        at=parse_local_at(at) if at is not None else None,
        photo=photo,
        button=check_button(data.get("button")),
    )


def check_button(value: object) -> str | None:
    """The one optional button: 'card' (show my card) or an https link."""
    if value is None:
        return None
    if value == "card" or (isinstance(value, str) and re.match(r"^https://\S+$", value)):
        return str(value)
    raise BadCampaign("button", "'card' or an https:// link")


def parse_command(text: str) -> CampaignSpec:
    """`new <segment> [at=YYYY-MM-DDTHH:MM] [button=card|https://…] | en … | zh …`."""
    head, *parts = text.split("|")
    words = head.split()
    if len(words) < 2 or words[0].lower() != "new" or not parts:
        raise InvalidArgument("campaign new", usage="usage.campaign")
    segment, at, button = words[1], None, None
    for option in words[2:]:
        key, _, value = option.partition("=")
        if key == "at":
            at = parse_local_at(value)
        elif key == "button":
            button = check_button(value)
        else:
            raise BadCampaign(key, "unknown option (at=, button=)")
    texts: dict[str, str] = {}
    for part in parts:
        lang, _, body = part.strip().partition(" ")
        lang = lang.rstrip(":").lower()
        if lang not in LANGUAGES or not body.strip():
            raise BadCampaign(f"text.{lang}", f"each part starts with {' or '.join(LANGUAGES)}")
        texts[lang] = body.strip()
    return CampaignSpec(f"{segment}", segment, texts, at, None, button)
