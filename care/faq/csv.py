"""FAQ import and export as CSV: `id,question,alternates,answer`, alternates separated by '|'.

The id is a number (the entry's id), a text id (a slug such as `opening-hours`, kept as the
entry's key: re-importing the same file updates the same entries) or empty (a new entry, unless
an entry of that language already has exactly that question: then that one is updated).

Texts follow care/csv_cells.py: export puts a `'` before a cell that starts like a formula, and
import stores such a cell with its `'` unless it is exactly the export of the stored text.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

import aiosqlite

from care.clock import Clock, iso
from care.csv_cells import imported_text, neutralise, plain_length
from care.faq.service import MAX_ANSWER_LENGTH, MAX_QUESTION_LENGTH, FaqService, split_alternates
from care.faq.text import normalise
from care.settings import LANGUAGES
from storage import faq as repo
from storage.db import Database

HEADER = ("id", "question", "alternates", "answer")
MAX_SLUG = 64
_SLUG = re.compile(rf"[a-z][a-z0-9_.-]{{0,{MAX_SLUG - 1}}}", re.IGNORECASE)
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
    ref: int | str | None  # an entry id, a text id (slug), or None for a new entry
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
        by_question = {normalise(r.question): r.entry_id for r in stored.values()}
        for row in rows:
            entry_id = await _resolve(tx, row, by_question)
            by_question[normalise(row.question)] = entry_id
            old = stored.get(entry_id)
            old_alternates = None if old is None else "|".join(old.alternates)
            alternates = imported_text(row.alternates, old_alternates)
            await repo.upsert(
                tx,
                entry_id=entry_id,
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
        keys = await repo.keys(tx)
    for row in rows:
        texts = (row.question, "|".join(row.alternates), row.answer)
        writer.writerow([keys.get(row.entry_id, row.entry_id), *(neutralise(t) for t in texts)])
    return out.getvalue()


def _parse(text: str) -> tuple[list[_Parsed], list[RejectedRow]]:
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = next(reader, None)
    if header is None or tuple(h.strip().lower() for h in header) != HEADER:
        return [], [RejectedRow(1, f"the header must be {','.join(HEADER)}")]
    parsed: list[_Parsed] = []
    rejected: list[RejectedRow] = []
    seen: set[int | str] = set()
    for record in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        problem = _problem(record, seen)
        if problem:
            rejected.append(RejectedRow(line, problem))
            continue
        ref = _ref(record[0])
        if ref is not None:
            seen.add(ref)
        parsed.append(_Parsed(ref, record[1].strip(), record[2].strip(), record[3].strip()))
    return parsed, rejected


async def _resolve(tx: aiosqlite.Connection, row: _Parsed, by_question: dict[str, int]) -> int:
    """The entry a row writes: its id, the entry its text id names (a new one named so), or
    for an empty id the entry with the same question, else a new one."""
    if isinstance(row.ref, int):
        return row.ref
    if row.ref is None:
        found = by_question.get(normalise(row.question))
        return found if found is not None else await repo.next_entry_id(tx)
    found = await repo.find_key(tx, row.ref)
    if found is not None:
        return found
    entry_id = await repo.next_entry_id(tx)
    await repo.add_key(tx, row.ref, entry_id)
    return entry_id


def _ref(cell: str) -> int | str | None:
    """A row's id cell: a number, a text id (lower-cased) or None (empty)."""
    cell = cell.strip()
    if not cell:
        return None
    return int(cell) if cell.isdecimal() else cell.lower()


def _problem(record: list[str], seen: set[int | str]) -> str | None:
    if len(record) != len(HEADER):
        return f"expected {len(HEADER)} columns, found {len(record)}"
    entry_id, question, _, answer = (cell.strip() for cell in record)
    if entry_id.isdecimal() and int(entry_id) <= 0:
        return f"id must be a positive whole number or a text id, not {entry_id!r}"
    if entry_id and not entry_id.isdecimal() and not _SLUG.fullmatch(entry_id):
        return (
            f"a text id is letters, digits, '-', '_' or '.' (at most {MAX_SLUG}, starting "
            f"with a letter), not {entry_id!r}"
        )
    if entry_id and _ref(entry_id) in seen:
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
