"""Complaint detection benchmark: how many complaints read as complaints, and questions not.

Run: .venv/bin/python bench/complaint_bench.py [--verbose]

Sets (bench/data/, hand-written, en, zh and mixed, typos and chat spelling):
- complaints.txt: 99 complaints about a café (food and drink, foreign objects, illness, waiting,
  wrong or missing orders, money, delivery, cleanliness, staff, loyalty), the set the wording
  in care/tickets/complaints.py was grouped on;
- complaints_heldout.txt: 81 more, written at the same time and never read while choosing;
- not_complaints.txt: 60 questions that use the same words ("is the cake dry or moist", "are
  you closed on mondays", "i forgot my umbrella yesterday"), and every question of the café
  FAQ sets (cafe_*.tsv, 644), none of which is a complaint.

The baseline is the wording the detector had before this set was written (it is kept here
only for this comparison), run in the same process.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from care.tickets.complaints import looks_like_complaint

DATA = Path(__file__).resolve().parent / "data"

_BASELINE_EN = re.compile(
    r"\b(?:refund(?:s|ed)?|money back|broken|broke|damaged|rude(?:ly|ness)?|waited|"
    r"(?:still|been) waiting|wrong (?:order|item|drink|dish|size|change)|"
    r"(?:was|were|is|are|arrived|came|got|stone|too|so|completely) cold|"
    r"(?:arrived|came|was|is|so|very) late|never (?:arrived|came|got)|didn'?t (?:arrive|get)|"
    r"missing|overcharged|charged (?:me )?twice|dirty|disgusting|terrible|awful|horrible|"
    r"worst|unacceptable|disappointed|disappointing|complain(?:t|ts|ed|ing)?|bad service|stale|"
    r"undercooked|spilled|spilt)\b",
    re.IGNORECASE,
)
_BASELINE_ZH = (
    "投诉", "退款", "退钱", "太差", "差评", "很差", "真差", "难吃", "态度差", "态度不好",
    "坏了", "破了", "冷了", "凉了", "是冷的", "等了", "等太久", "太慢", "送错", "弄错", "做错",
    "错了", "没收到", "还没到", "失望", "恶心", "太脏", "很脏", "垃圾", "多收", "扣了两次",
)  # fmt: skip


def baseline(text: str) -> bool:
    """The detector's wording before bench/data/complaints.txt was written."""
    return bool(_BASELINE_EN.search(text)) or any(w in text for w in _BASELINE_ZH)


def lines(name: str) -> list[str]:
    """The non-empty lines of a data file."""
    return [s for line in (DATA / name).read_text("utf-8").splitlines() if (s := line.strip())]


def cafe_questions() -> list[str]:
    """Every question of the café FAQ sets (in scope and out of scope)."""
    out: list[str] = []
    for path in sorted(DATA.glob("cafe_*.tsv")):
        with path.open(newline="", encoding="utf-8") as f:
            out += [r["question"] for r in csv.DictReader(f, delimiter="\t")]
    return out


def share(detect: Callable[[str], bool], texts: Sequence[str]) -> tuple[float, list[str]]:
    """% of texts detected as complaints, and those that were not."""
    hits = [detect(t) for t in texts]
    return 100 * sum(hits) / max(len(texts), 1), [
        t for t, h in zip(texts, hits, strict=True) if not h
    ]


def main(argv: Sequence[str] | None = None) -> None:
    """Print the table (and, with --verbose, what each detector missed or flagged)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)
    sets = {
        "complaints (chosen on)": (lines("complaints.txt"), True),
        "complaints, held out": (lines("complaints_heldout.txt"), True),
        "questions with the same words": (lines("not_complaints.txt"), False),
        "café FAQ questions": (cafe_questions(), False),
    }
    print("| set | texts | detector | read as complaints (%) |")
    print("|---|---|---|---|")
    for name, (texts, is_complaint) in sets.items():
        for label, detect in (("before", baseline), ("now", looks_like_complaint)):
            pct, missed = share(detect, texts)
            print(f"| {name} | {len(texts)} | {label} | {pct:.1f} |")
            if args.verbose:
                wrong = missed if is_complaint else [t for t in texts if detect(t)]
                print(f"  {'missed' if is_complaint else 'flagged'}: {wrong}")


if __name__ == "__main__":
    main()
