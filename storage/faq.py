"""FAQ entries (one row per entry and language) and the questions the bot could not answer."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import aiosqlite

from storage.db import Reads

_FAQ_COLUMNS = (
    "entry_id, language, question, alternates, answer, tags, enabled, helpful, unhelpful,"
    " updated_at, stale"
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
    stale: bool = False  # another language's answer changed after this one


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
    values["stale"] = bool(values["stale"])
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
    """An entry id not used yet (nor named by a CSV text id, whose entry may be deleted)."""
    cursor = await tx.execute(
        "SELECT MAX(COALESCE((SELECT MAX(entry_id) FROM faq), 0),"
        " COALESCE((SELECT MAX(entry_id) FROM faq_keys), 0)) + 1"
    )
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
    question: tuple[str, str] | None = None,
) -> bool:
    """Count one 👍 (helpful) or 👎 on an answer message, with the question (text, language) it
    answered if known; False if that message has a vote."""
    text, question_language = question or (None, None)
    cursor = await tx.execute(
        "INSERT INTO faq_votes (chat_id, message_id, entry_id, language, helpful, voted_at,"
        " question, question_language) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (chat_id, message_id) DO NOTHING",
        (chat_id, message_id, entry_id, language, int(helpful), at, text, question_language),
    )
    if cursor.rowcount != 1:
        return False
    column = "helpful" if helpful else "unhelpful"
    await tx.execute(
        f"UPDATE faq SET {column} = {column} + 1 WHERE entry_id = ? AND language = ?",  # noqa: S608
        (entry_id, language),
    )
    return True


async def generation(tx: Reads) -> int:
    """The FAQ's generation: it changes whenever an entry is added, changed or removed."""
    [row] = await tx.execute_fetchall("SELECT generation FROM faq_generation WHERE id = 1")
    return int(row[0])


async def record_unanswered(
    tx: aiosqlite.Connection,
    normalised: str,
    language: str,
    example: str,
    at: str,
    asker: int,
) -> int:
    """Count a question nobody could answer, and who asked it; returns its id."""
    [row] = await tx.execute_fetchall(
        "INSERT INTO unanswered (normalised, language, example, first_seen_at, last_seen_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (normalised, language) DO UPDATE SET"
        " count = count + 1, last_seen_at = excluded.last_seen_at, example = excluded.example,"
        " resolved_entry_id = NULL RETURNING id",
        (normalised, language, example, at, at),
    )
    await tx.execute(
        "INSERT INTO unanswered_askers (unanswered_id, telegram_id) VALUES (?, ?)"
        " ON CONFLICT (unanswered_id, telegram_id) DO UPDATE SET asked = asked + 1",
        (row[0], asker),
    )
    return int(row[0])


async def list_unanswered(tx: aiosqlite.Connection, limit: int) -> list[UnansweredRow]:
    """Open unanswered questions, most frequent first."""
    cursor = await tx.execute(
        "SELECT id, normalised, language, example, count, first_seen_at, last_seen_at"
        " FROM unanswered WHERE resolved_entry_id IS NULL AND dismissed_at IS NULL"
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


async def mark_stale(
    tx: aiosqlite.Connection, entry_id: int, edited_language: str, *, others: bool
) -> int:
    """After one language's answer changed: clear its stale flag and (with `others`) flag the
    entry's other languages; returns how many were flagged."""
    await tx.execute(
        "UPDATE faq SET stale = 0 WHERE entry_id = ? AND language = ?", (entry_id, edited_language)
    )
    if not others:
        return 0
    cursor = await tx.execute(
        "UPDATE faq SET stale = 1 WHERE entry_id = ? AND language != ?",
        (entry_id, edited_language),
    )
    return cursor.rowcount


async def dismiss_unanswered(tx: aiosqlite.Connection, unanswered_id: int, at: str) -> bool:
    """Stop listing an open unanswered question; False if there is no such open question."""
    cursor = await tx.execute(
        "UPDATE unanswered SET dismissed_at = ? WHERE id = ? AND dismissed_at IS NULL"
        " AND resolved_entry_id IS NULL",
        (at, unanswered_id),
    )
    return cursor.rowcount == 1


async def resolve_unanswered_text(
    tx: aiosqlite.Connection, normalised: str, language: str, entry_id: int
) -> None:
    """Mark the unanswered question with this normalised text (if any) as taught to an entry."""
    await tx.execute(
        "UPDATE unanswered SET resolved_entry_id = ? WHERE normalised = ? AND language = ?",
        (entry_id, normalised, language),
    )


@dataclass(frozen=True, slots=True)
class ProposalRow:
    """A phrasing customers used for an entry, proposed to staff as an alternate."""

    id: int
    normalised: str
    language: str
    example: str
    entry_id: int
    count: int
    status: str
    last_seen_at: str


_PROPOSAL_COLUMNS = "id, normalised, language, example, entry_id, count, status, last_seen_at"


async def observe_pair(
    tx: aiosqlite.Connection,
    *,
    chat_id: int,
    message_id: int,
    normalised: str,
    language: str,
    example: str,
    entry_id: int,
    at: str,
) -> bool:
    """Count a (question, entry) pair seen on one message; False if that message counted it."""
    cursor = await tx.execute(
        "INSERT INTO faq_proposal_seen (chat_id, message_id, entry_id) VALUES (?, ?, ?)"
        " ON CONFLICT DO NOTHING",
        (chat_id, message_id, entry_id),
    )
    if cursor.rowcount != 1:
        return False
    await tx.execute(
        "INSERT INTO faq_proposals (normalised, language, example, entry_id, first_seen_at,"
        " last_seen_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (normalised, language, entry_id)"
        " DO UPDATE SET count = count + 1, example = excluded.example,"
        " last_seen_at = excluded.last_seen_at",
        (normalised, language, example, entry_id, at, at),
    )
    return True


@dataclass(frozen=True, slots=True)
class LabelledQuestion:
    """A customer's question and the entry the shop's traffic says it was for (None: it should
    not have been answered)."""

    text: str
    language: str
    entry_id: int | None


async def labelled_questions(tx: Reads, limit: int) -> list[LabelledQuestion]:
    """The latest `limit` customers' questions labelled by what happened next, newest first: an
    open proposal (a pressed suggestion, or another entry after a 👎) and a 👍 name their entry;
    a 👎 nothing followed and a question staff dismissed should not have been answered."""
    rows = await tx.execute_fetchall(
        "SELECT example, language, entry_id, first_seen_at AS at FROM faq_proposals"
        " WHERE status = 'open'"
        " UNION ALL SELECT question, question_language, entry_id, voted_at FROM faq_votes"
        " WHERE helpful = 1 AND question IS NOT NULL"
        " UNION ALL SELECT question, question_language, NULL, voted_at FROM faq_votes v"
        " WHERE helpful = 0 AND question IS NOT NULL AND NOT EXISTS (SELECT 1 FROM"
        " faq_proposal_seen s WHERE s.chat_id = v.chat_id AND s.message_id = v.message_id)"
        " UNION ALL SELECT example, language, NULL, dismissed_at FROM unanswered"
        " WHERE dismissed_at IS NOT NULL ORDER BY at DESC LIMIT ?",
        (limit,),
    )
    return [LabelledQuestion(r[0], r[1], r[2]) for r in rows]


async def list_open_proposals(tx: aiosqlite.Connection, limit: int) -> list[ProposalRow]:
    """Open proposals for entries that still exist, most seen first."""
    cursor = await tx.execute(
        f"SELECT {_PROPOSAL_COLUMNS} FROM faq_proposals p WHERE status = 'open'"  # noqa: S608
        " AND EXISTS (SELECT 1 FROM faq f WHERE f.entry_id = p.entry_id)"
        " ORDER BY count DESC, last_seen_at DESC, id LIMIT ?",
        (limit,),
    )
    return [ProposalRow(**dict(row)) for row in await cursor.fetchall()]


async def find_proposal(tx: aiosqlite.Connection, proposal_id: int) -> ProposalRow | None:
    """One proposal by id, or None."""
    cursor = await tx.execute(
        f"SELECT {_PROPOSAL_COLUMNS} FROM faq_proposals WHERE id = ?",  # noqa: S608
        (proposal_id,),
    )
    row = await cursor.fetchone()
    return None if row is None else ProposalRow(**dict(row))


async def decide_proposal(
    tx: aiosqlite.Connection, proposal_id: int, status: str, actor_id: int, at: str
) -> bool:
    """Accept or reject an open proposal; False if it was decided before."""
    cursor = await tx.execute(
        "UPDATE faq_proposals SET status = ?, decided_by = ?, decided_at = ?"
        " WHERE id = ? AND status = 'open'",
        (status, actor_id, at, proposal_id),
    )
    return cursor.rowcount == 1


async def find_key(tx: aiosqlite.Connection, key: str) -> int | None:
    """The entry a CSV text id names, or None."""
    cursor = await tx.execute("SELECT entry_id FROM faq_keys WHERE key = ?", (key,))
    row = await cursor.fetchone()
    return None if row is None else int(row[0])


async def add_key(tx: aiosqlite.Connection, key: str, entry_id: int) -> None:
    """Name an entry by a CSV text id."""
    await tx.execute("INSERT INTO faq_keys (key, entry_id) VALUES (?, ?)", (key, entry_id))


async def keys(tx: aiosqlite.Connection) -> dict[int, str]:
    """Every entry's CSV text id, by entry id."""
    cursor = await tx.execute("SELECT entry_id, key FROM faq_keys")
    return {int(row[0]): str(row[1]) for row in await cursor.fetchall()}
