"""FAQ entries (one row per entry and language) and the questions the bot could not answer."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import aiosqlite

_FAQ_COLUMNS = (
    "entry_id, language, question, alternates, answer, tags, enabled, helpful, unhelpful,"
    " updated_at"
)


@dataclass(frozen=True, slots=True)
class FaqRow:
    """One FAQ entry in one language."""

    entry_id: int
    language: str
    question: str
    alternates: tuple[str, ...]
    answer: str
    tags: tuple[str, ...]
    enabled: bool
    helpful: int
    unhelpful: int
    updated_at: str


@dataclass(frozen=True, slots=True)
class UnansweredRow:
    """A question nobody could answer yet, counted by its normalised text."""

    id: int
    normalised: str
    language: str
    example: str
    count: int
    first_seen_at: str
    last_seen_at: str


def _faq(row: Any) -> FaqRow:
    values = dict(row)
    values["alternates"] = tuple(json.loads(values["alternates"]))
    values["tags"] = tuple(json.loads(values["tags"]))
    values["enabled"] = bool(values["enabled"])
    return FaqRow(**values)


async def list_enabled(tx: aiosqlite.Connection) -> list[FaqRow]:
    """Every enabled entry in every language (what the matcher indexes)."""
    cursor = await tx.execute(
        f"SELECT {_FAQ_COLUMNS} FROM faq WHERE enabled = 1 ORDER BY entry_id, language"  # noqa: S608
    )
    return [_faq(row) for row in await cursor.fetchall()]


async def list_page(
    tx: aiosqlite.Connection, offset: int, limit: int, language: str | None = None
) -> list[FaqRow]:
    """One page of entries by id (all languages, or one)."""
    cursor = await tx.execute(
        f"SELECT {_FAQ_COLUMNS} FROM faq WHERE (? IS NULL OR language = ?)"  # noqa: S608
        " ORDER BY entry_id, language LIMIT ? OFFSET ?",
        (language, language, limit, offset),
    )
    return [_faq(row) for row in await cursor.fetchall()]


async def count(tx: aiosqlite.Connection) -> int:
    """How many (entry, language) rows exist."""
    cursor = await tx.execute("SELECT COUNT(*) FROM faq")
    row = await cursor.fetchone()
    assert row is not None
    return int(row[0])


async def find(tx: aiosqlite.Connection, entry_id: int, language: str) -> FaqRow | None:
    """One entry in one language, or None."""
    cursor = await tx.execute(
        f"SELECT {_FAQ_COLUMNS} FROM faq WHERE entry_id = ? AND language = ?",  # noqa: S608
        (entry_id, language),
    )
    row = await cursor.fetchone()
    return None if row is None else _faq(row)


async def find_entry(tx: aiosqlite.Connection, entry_id: int) -> list[FaqRow]:
    """An entry in all its languages (empty if none)."""
    cursor = await tx.execute(
        f"SELECT {_FAQ_COLUMNS} FROM faq WHERE entry_id = ? ORDER BY language",  # noqa: S608
        (entry_id,),
    )
    return [_faq(row) for row in await cursor.fetchall()]


async def next_entry_id(tx: aiosqlite.Connection) -> int:
    """An entry id not used yet."""
    cursor = await tx.execute("SELECT COALESCE(MAX(entry_id), 0) + 1 FROM faq")
    row = await cursor.fetchone()
    assert row is not None
    return int(row[0])


async def upsert(
    tx: aiosqlite.Connection,
    *,
    entry_id: int,
    language: str,
    question: str,
    alternates: tuple[str, ...],
    answer: str,
    at: str,
    tags: tuple[str, ...] = (),
) -> None:
    """Insert an entry in one language, or replace its texts (keeping its votes)."""
    await tx.execute(
        "INSERT INTO faq (entry_id, language, question, alternates, answer, tags, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (entry_id, language) DO UPDATE SET"
        " question = excluded.question, alternates = excluded.alternates,"
        " answer = excluded.answer, tags = excluded.tags, enabled = 1,"
        " updated_at = excluded.updated_at",
        (
            entry_id,
            language,
            question,
            json.dumps(list(alternates), ensure_ascii=False),
            answer,
            json.dumps(list(tags), ensure_ascii=False),
            at,
        ),
    )


async def delete(tx: aiosqlite.Connection, entry_id: int, language: str | None = None) -> int:
    """Delete an entry (all languages, or one); returns the rows removed."""
    cursor = await tx.execute(
        "DELETE FROM faq WHERE entry_id = ? AND (? IS NULL OR language = ?)",
        (entry_id, language, language),
    )
    return cursor.rowcount


async def vote(
    tx: aiosqlite.Connection,
    *,
    chat_id: int,
    message_id: int,
    entry_id: int,
    language: str,
    helpful: bool,
    at: str,
) -> bool:
    """Count one 👍 (helpful) or 👎 on an answer message; False if that message has a vote."""
    cursor = await tx.execute(
        "INSERT INTO faq_votes (chat_id, message_id, entry_id, language, helpful, voted_at)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (chat_id, message_id) DO NOTHING",
        (chat_id, message_id, entry_id, language, int(helpful), at),
    )
    if cursor.rowcount != 1:
        return False
    column = "helpful" if helpful else "unhelpful"
    await tx.execute(
        f"UPDATE faq SET {column} = {column} + 1 WHERE entry_id = ? AND language = ?",  # noqa: S608
        (entry_id, language),
    )
    return True


async def generation(tx: aiosqlite.Connection) -> int:
    """The FAQ's generation: it changes whenever an entry is added, changed or removed."""
    [row] = await tx.execute_fetchall("SELECT generation FROM faq_generation WHERE id = 1")
    return int(row[0])


async def record_unanswered(
    tx: aiosqlite.Connection, normalised: str, language: str, example: str, at: str
) -> int:
    """Count a question nobody could answer; returns its id."""
    cursor = await tx.execute(
        "INSERT INTO unanswered (normalised, language, example, first_seen_at, last_seen_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (normalised, language) DO UPDATE SET"
        " count = count + 1, last_seen_at = excluded.last_seen_at, example = excluded.example,"
        " resolved_entry_id = NULL RETURNING id",
        (normalised, language, example, at, at),
    )
    row = await cursor.fetchone()
    assert row is not None
    return int(row[0])


async def list_unanswered(tx: aiosqlite.Connection, limit: int) -> list[UnansweredRow]:
    """Open unanswered questions, most frequent first."""
    cursor = await tx.execute(
        "SELECT id, normalised, language, example, count, first_seen_at, last_seen_at"
        " FROM unanswered WHERE resolved_entry_id IS NULL"
        " ORDER BY count DESC, last_seen_at DESC LIMIT ?",
        (limit,),
    )
    return [UnansweredRow(**dict(row)) for row in await cursor.fetchall()]


async def find_unanswered(tx: aiosqlite.Connection, unanswered_id: int) -> UnansweredRow | None:
    """One unanswered question by id, or None."""
    cursor = await tx.execute(
        "SELECT id, normalised, language, example, count, first_seen_at, last_seen_at"
        " FROM unanswered WHERE id = ?",
        (unanswered_id,),
    )
    row = await cursor.fetchone()
    return None if row is None else UnansweredRow(**dict(row))


async def resolve_unanswered(tx: aiosqlite.Connection, unanswered_id: int, entry_id: int) -> None:
    """Mark an unanswered question as taught to an entry."""
    await tx.execute(
        "UPDATE unanswered SET resolved_entry_id = ? WHERE id = ?", (entry_id, unanswered_id)
    )


async def press(
    tx: aiosqlite.Connection, *, chat_id: int, message_id: int, action: str, at: str
) -> bool:
    """Record a one-shot button press on one message; False if it was pressed before."""
    cursor = await tx.execute(
        "INSERT INTO faq_presses (chat_id, message_id, action, pressed_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (chat_id, message_id, action) DO NOTHING",
        (chat_id, message_id, action, at),
    )
    return cursor.rowcount == 1
