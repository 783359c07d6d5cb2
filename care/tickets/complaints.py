"""Complaint detection: does free text read like a complaint? (English and Chinese wording)"""

from __future__ import annotations

import re

# Wording that reads like a complaint. English needs word boundaries ("cold" alone would catch
# "cold brew"); Chinese has no spaces, so its phrases are matched as substrings.
_COMPLAINT_EN = re.compile(
    r"\b(?:refund(?:s|ed)?|money back|broken|broke|damaged|rude(?:ly|ness)?|waited|"
    r"(?:still|been) waiting|wrong (?:order|item|drink|dish|size|change)|"
    r"(?:was|were|is|are|arrived|came|got|stone|too|so|completely) cold|"
    r"(?:arrived|came|was|is|so|very) late|never (?:arrived|came|got)|didn'?t (?:arrive|get)|"
    r"missing|overcharged|charged (?:me )?twice|dirty|disgusting|terrible|awful|horrible|"
    r"worst|unacceptable|disappointed|disappointing|complain(?:t|ts|ed|ing)?|bad service|stale|"
    r"undercooked|spilled|spilt)\b",
    re.IGNORECASE,
)
_COMPLAINT_ZH = (
    "投诉", "退款", "退钱", "太差", "差评", "很差", "真差", "难吃", "态度差", "态度不好",
    "坏了", "破了", "冷了", "凉了", "是冷的", "等了", "等太久", "太慢", "送错", "弄错", "做错",
    "错了", "没收到", "还没到", "失望", "恶心", "太脏", "很脏", "垃圾", "多收", "扣了两次",
)  # fmt: skip


def looks_like_complaint(text: str) -> bool:
    """Whether free text reads like a complaint (English or Chinese wording)."""
    return bool(_COMPLAINT_EN.search(text)) or any(word in text for word in _COMPLAINT_ZH)
