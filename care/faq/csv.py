"""FAQ import and export as CSV: `id,question,alternates,answer`, alternates separated by '|'.

Texts follow care/csv_cells.py: export puts a `'` before a cell that starts like a formula, and
import stores such a cell with its `'` unless it is exactly the export of the stored text.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from care.clock import Clock, iso
from care.csv_cells import imported_text, neutralise, plain_length
from care.faq.service import MAX_ANSWER_LENGTH, MAX_QUESTION_LENGTH, FaqService, split_alternates
from care.settings import LANGUAGES
from storage import faq as repo
from storage.db import Database

HEADER = ("id", "question", "alternates", "answer")
_ALL = 1_000_000  # every entry of a language, in one page


@dataclass(frozen=True, slots=True)
class RejectedRow:
    """A CSV line that was not imported, and why."""

    line: int
    reason: str


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import did."""

    imported: int
    rejected: list[RejectedRow] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Parsed:
    entry_id: int
    question: str
    alternates: str  # the cell, split when stored
    answer: str


async def import_faq(
    db: Database, clock: Clock, faq: FaqService | None, text: str, lang: str
) -> ImportReport:
    """Upsert every valid row by (id, language) in one transaction; report the bad ones."""
    if lang not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}")
    rows, rejected = _parse(text)
    now = iso(clock.now())
    async with db.transaction() as tx:
        stored = {r.entry_id: r for r in await repo.list_page(tx, 0, _ALL, language=lang)}
        for row in rows:
            old = stored.get(row.entry_id)
            old_alternates = None if old is None else "|".join(old.alternates)
            alternates = imported_text(row.alternates, old_alternates)
            await repo.upsert(
                tx,
                entry_id=row.entry_id,
                language=lang,
                question=imported_text(row.question, None if old is None else old.question),
                alternates=(
                    old.alternates
                    if old is not None and alternates == old_alternates
                    else split_alternates(alternates)
                ),
                answer=imported_text(row.answer, None if old is None else old.answer),
                at=now,
            )
    if faq is not None:
        await faq.invalidate()
    return ImportReport(imported=len(rows), rejected=rejected)


async def export_faq(db: Database, lang: str) -> str:
    """Every entry in one language as CSV text (the import format), safe to open."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    async with db.read() as tx:
        rows = await repo.list_page(tx, 0, _ALL, language=lang)
    for row in rows:
        texts = (row.question, "|".join(row.alternates), row.answer)
        writer.writerow([row.entry_id, *(neutralise(text) for text in texts)])
    return out.getvalue()


def _parse(text: str) -> tuple[list[_Parsed], list[RejectedRow]]:
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = next(reader, None)
    if header is None or tuple(h.strip().lower() for h in header) != HEADER:
        return [], [RejectedRow(1, f"the header must be {','.join(HEADER)}")]
    parsed: list[_Parsed] = []
    rejected: list[RejectedRow] = []
    seen: set[int] = set()
    for record in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        problem = _problem(record, seen)
        if problem:
            rejected.append(RejectedRow(line, problem))
            continue
        entry_id = int(record[0])
        seen.add(entry_id)
        parsed.append(_Parsed(entry_id, record[1].strip(), record[2].strip(), record[3].strip()))
    return parsed, rejected


def _problem(record: list[str], seen: set[int]) -> str | None:
    if len(record) != len(HEADER):
        return f"expected {len(HEADER)} columns, found {len(record)}"
    entry_id, question, _, answer = (cell.strip() for cell in record)
    if not entry_id.isdecimal() or int(entry_id) <= 0:
        return f"id must be a positive whole number, not {entry_id!r}"
    if int(entry_id) in seen:
        return f"id {entry_id} appears twice"
    if not question:
        return "the question is empty"
    if not answer:
        return "the answer is empty"
    if plain_length(question) > MAX_QUESTION_LENGTH:
        return f"the question is longer than {MAX_QUESTION_LENGTH} characters"
    if plain_length(answer) > MAX_ANSWER_LENGTH:
        return f"the answer is longer than {MAX_ANSWER_LENGTH} characters"
    return None
