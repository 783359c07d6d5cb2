"""Staff teach the FAQ: near-identical unanswered questions grouped into a proposed entry."""

from __future__ import annotations

from collections.abc import Sequence

from rapidfuzz import fuzz

from care.faq.results import QuestionGroup
from care.faq.text import content_terms
from storage.faq import UnansweredRow

NEAR_IDENTICAL = 85.0  # rapidfuzz token_set_ratio of two normalised questions


def near_identical(a: str, b: str) -> bool:
    """Two normalised questions that say the same: the same content words, or nearly the same
    text (typos, word order, a word more or less)."""
    ca, cb = content_terms(a).terms, content_terms(b).terms
    if ca and ca == cb:
        return True
    return fuzz.token_set_ratio(a, b) >= NEAR_IDENTICAL and fuzz.ratio(a, b) >= NEAR_IDENTICAL - 15


def group_questions(rows: Sequence[UnansweredRow]) -> list[QuestionGroup]:
    """Groups of two or more near-identical questions (same language), most asked first.

    Rows come most asked first, so each group's first row is its most asked wording.
    """
    groups: list[list[UnansweredRow]] = []
    for row in rows:
        for group in groups:
            head = group[0]
            if head.language == row.language and near_identical(head.normalised, row.normalised):
                group.append(row)
                break
        else:
            groups.append([row])
    found = [
        QuestionGroup(
            lang=g[0].language,
            question=g[0].example,
            alternates=tuple(r.example for r in g[1:]),
            count=sum(r.count for r in g),
            numbers=tuple(r.id for r in g),
        )
        for g in groups
        if len(g) > 1
    ]
    return sorted(found, key=lambda g: -g.count)
