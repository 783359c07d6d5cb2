"""A customer's data rights: erase what identifies them in every table, or read it all out.

Both run inside the caller's transaction (`/forget`, `carebot customers erase`, `export-one`).
What stays after an erase is what the shop needs and what no longer names anyone: the ledger's
amounts, tickets' kinds and ratings, the audit log's actions and times.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import aiosqlite

from care.faq.text import normalise
from storage import audit as audit_repo
from storage import customers as customers_repo
from storage import privacy as repo
from storage.customers import CustomerRow

ERASED = "[erased]"
QUOTED = 8  # a text the customer wrote this long is looked for in others' updates
ERASED_ACTOR = 0  # an audit row's actor who was the erased customer

# How an erase treats every table of the schema (tests/care/test_erasure.py fails on a table
# missing here, so a new table is decided on when it is added).
TABLES: dict[str, str] = {
    "customers": "row kept for the ledger and tickets; telegram id, username, name, phone,"
    " birthday, time zone and member code replaced",
    "stage_history": "kept; staff notes scrubbed of the customer's names and numbers",
    "points_ledger": "kept (the shop's accounts); reasons scrubbed",
    "purchases": "kept: amounts and times only",
    "tickets": "kept: kind, category, status, ratings and times only",
    "ticket_messages": "texts and photos erased; author and time kept",
    "ticket_posts": "the messages in their chat that stood for a ticket: deleted",
    "ticket_alerts": "no personal data: which SLA alert was sent",
    "faq": "no personal data",
    "faq_generation": "no personal data",
    "faq_votes": "deleted (the entries' 👍/👎 counts keep the vote)",
    "faq_presses": "deleted",
    "unanswered": "their questions lose an asker; a row goes with its last asker",
    "unanswered_askers": "deleted (who asked which unanswered question)",
    "outreach": "deleted (occasions and due times give the birthday away)",
    "outreach_optouts": "deleted",
    "earn_confirmations": "pending ones cancelled; reasons scrubbed",
    "inbox": "their own updates reduced to the update id; others' handled ones scrubbed of them",
    "outbox": "to them: recipient and fields dropped, unsent ones skipped; their tickets' posts"
    " and anything else: scrubbed of them and of what they wrote",
    "audit_log": "kept: action, result, time; them as the actor and their names and numbers in"
    " the arguments replaced",
    "staff_roles": "staff, not customers: untouched",
    "backups": "no personal data",
    "heartbeats": "no personal data",
    "bot_facts": "no personal data",
    "customer_tags": "deleted (staff's labels may say anything about them)",
    "segments": "no personal data: saved filters",
    "campaigns": "no personal data: the shop's texts and counts (their messages are outbox rows)",
    "faq_outcomes": "no personal data: questions counted per hour",
    "faq_proposals": "phrasings proposed to staff from their own words: deleted",
    "faq_proposal_seen": "deleted",
    "faq_keys": "no personal data: the CSV's text ids",
}


@dataclass(frozen=True, slots=True)
class Erasure:
    """What an erase changed: rows per table."""

    customer_id: int
    changed: dict[str, int] = field(default_factory=dict)


class Identity:
    """How the customer can be named in free text: ids, username, phone, member code, name."""

    def __init__(
        self, customer: CustomerRow, texts: Iterable[str] = (), *, quoted: int = QUOTED
    ) -> None:
        parts: list[str] = []
        if customer.telegram_id is not None:
            parts.append(rf"(?<!\d){customer.telegram_id}(?!\d)")
        if customer.username and len(customer.username) >= 3:
            parts.append(rf"(?<![\w@])@?{re.escape(customer.username)}(?!\w)")
        parts.append(rf"(?<!\w){re.escape(customer.member_code)}(?!\w)")
        digits = re.sub(r"\D", "", customer.phone or "")
        if len(digits) >= 7:  # the last nine digits, however they were spaced or prefixed
            core = r"[\s-]?".join(digits[-9:])
            parts.append(rf"(?<!\d)(?:\+?\d[\d\s-]{{0,5}})?{core}(?!\d)")
        name = (customer.name or "").strip()
        if len(name) >= 2:  # "Tom" is not in "Tomorrow"; 李华 may sit inside a Chinese sentence
            before = r"(?<!\w)" if name[0].isascii() and name[0].isalnum() else ""
            after = r"(?!\w)" if name[-1].isascii() and name[-1].isalnum() else ""
            parts.append(before + re.escape(name) + after)
        # What they wrote, as others' updates quote it (a staff reply quotes the ticket's post).
        wrote = [text for text in texts if len(text) >= quoted and not text.startswith("/")]
        parts += [re.escape(text) for text in sorted(wrote, key=len, reverse=True)]
        self.telegram_id = customer.telegram_id
        self._pattern = re.compile("|".join(parts), re.IGNORECASE)

    def found_in(self, text: str | None) -> bool:
        """Whether the text names the customer."""
        return bool(text) and self._pattern.search(text or "") is not None

    def scrub(self, text: str) -> str:
        """The text with every mention of the customer replaced."""
        return self._pattern.sub(ERASED, text)

    def scrub_json(self, value: Any) -> Any:
        """A JSON value with every mention replaced, their Telegram id (as a number) too."""
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, bool):
            return value
        if isinstance(value, int):
            return ERASED_ACTOR if value == self.telegram_id else value
        if isinstance(value, list):
            return [self.scrub_json(item) for item in value]
        if isinstance(value, dict):
            return {key: self.scrub_json(item) for key, item in value.items()}
        return value


async def erase_customer(
    tx: aiosqlite.Connection,
    customer: CustomerRow,
    at: str,
    *,
    action: str,
    new_code: Callable[[], str],
) -> Erasure:
    """Erase the customer's personal data from every table (see TABLES), in `tx`; the erase
    itself is audited as `action`, naming only the customer's internal number."""
    own = await repo.export_rows(tx, customer.id, customer.telegram_id)
    texts = _texts(own)
    who = Identity(customer, texts)
    changed = await repo.erase_rows(tx, customer.id, customer.telegram_id)
    for table in ("stage_history", "points_ledger", "earn_confirmations"):
        for row in own[table]:
            if who.found_in(row["reason"]):
                await repo.set_reason(tx, table, row["id"], who.scrub(row["reason"]))
                changed[table] = changed.get(table, 0) + 1
    asked = {row["unanswered_id"]: row["asked"] for row in own["unanswered_askers"]}
    changed["unanswered"] = await _unanswered(tx, texts, asked)
    changed["faq_proposals"] = await _proposals(tx, texts)
    changed["inbox"] = await _inbox(tx, who, {(r["bot_id"], r["update_id"]) for r in own["inbox"]})
    to_them = {
        row["id"]
        for row in own["outbox"]
        if row["customer_id"] == customer.id or row["chat_id"] == customer.telegram_id
    }
    # The staff chat still gets (or got) their tickets' posts, without anything they wrote.
    about = Identity(customer, texts, quoted=3)
    changed["outbox"] = await _outbox(tx, who, to_them, about, {r["id"] for r in own["outbox"]})
    changed["audit_log"] = await _audit(tx, who)
    await customers_repo.erase_personal_data(tx, customer.id, at)
    for _ in range(10):  # the old code is on a card the person may keep
        if await repo.new_member_code(tx, customer.id, new_code()):
            break
    changed["customers"] = 1
    await audit_repo.add(tx, ERASED_ACTOR, action, f"customer {customer.id}", "erased", at)
    return Erasure(customer.id, {table: n for table, n in changed.items() if n})


async def export_customer(tx: aiosqlite.Connection, customer: CustomerRow) -> dict[str, Any]:
    """Everything stored about the customer, by table, as JSON-ready values."""
    own = await repo.export_rows(tx, customer.id, customer.telegram_id)
    texts = _texts(own)
    who = Identity(customer, texts)
    norms = {normalise(text) for text in texts}
    found: dict[str, Any] = {table: rows for table, rows in own.items() if table != "inbox"}
    found["inbox"] = [
        {"update_id": row["update_id"], "update": _json(row["raw"])} for row in own["inbox"]
    ]
    found["outbox"] = [{**row, "message": _json(row["message"])} for row in own["outbox"]]
    found["unanswered"] = [
        row
        for row in await repo.texts_of(tx, "unanswered", "example")
        if row["example"] in texts or row["normalised"] in norms
    ]
    found["audit_log"] = [
        row
        for row in await repo.texts_of(tx, "audit_log", "arguments")
        if row["actor_id"] == customer.telegram_id
        or who.found_in(row["arguments"])
        or who.found_in(row["result"])
    ]
    return found


def _texts(own: dict[str, list[dict[str, Any]]]) -> set[str]:
    """What the customer wrote: their messages' texts and captions, and their tickets' texts."""
    texts: set[str] = set()
    for row in own["inbox"]:
        update = _json(row["raw"])
        if not isinstance(update, dict):
            continue
        for kind in ("message", "edited_message"):
            message = update.get(kind)
            if isinstance(message, dict):
                texts.update(str(message[key]) for key in ("text", "caption") if message.get(key))
    texts.update(
        str(row["body"])
        for row in own["ticket_messages"]
        if row["author"] == "customer" and row["body"]
    )
    return texts


async def _unanswered(tx: aiosqlite.Connection, texts: set[str], asked: dict[int, int]) -> int:
    """Their questions lose them as asker: those they are recorded as asking, and those with
    their words (asked before askers were recorded)."""
    rows = await _their_questions(tx, "unanswered", texts, also=frozenset(asked))
    for row in rows:
        await repo.forget_unanswered(
            tx,
            row["id"],
            count=row["count"],
            asked=asked.get(row["id"], 1),
            example=row["normalised"],
        )
    return len(rows)


async def _proposals(tx: aiosqlite.Connection, texts: set[str]) -> int:
    rows = await _their_questions(tx, "faq_proposals", texts)
    for row in rows:
        await repo.delete_proposal(tx, row["id"])
    return len(rows)


async def _their_questions(
    tx: aiosqlite.Connection, table: str, texts: set[str], also: frozenset[int] = frozenset()
) -> list[dict[str, Any]]:
    """The rows of a table of customers' questions that hold one of their texts (or whose id
    is in `also`)."""
    norms = {normalise(text) for text in texts}
    return [
        row
        for row in await repo.texts_of(tx, table, "example")
        if row["example"] in texts or row["normalised"] in norms or row["id"] in also
    ]


async def _inbox(tx: aiosqlite.Connection, who: Identity, own: set[tuple[int, int]]) -> int:
    changed = 0
    for row in await repo.texts_of(tx, "inbox", "raw"):
        key = (row["bot_id"], row["update_id"])
        if key in own:
            raw, chat_key = json.dumps({"update_id": row["update_id"]}), "-"
        elif row["status"] != "pending" and _mentions(who, row["raw"]):
            # Someone else's update not handled yet is left as it came (scrubbing it would change
            # what it does); the inbox prunes it two days after it is handled.
            raw = json.dumps(who.scrub_json(_json(row["raw"])), ensure_ascii=False)
            chat_key = row["chat_key"]
        else:
            continue
        await repo.set_inbox_raw(tx, row["bot_id"], row["update_id"], raw, chat_key)
        changed += 1
    return changed


async def _outbox(
    tx: aiosqlite.Connection,
    who: Identity,
    to_them: set[int],
    about: Identity,
    their_tickets: set[int],
) -> int:
    changed = 0
    for row in await repo.texts_of(tx, "outbox", "message"):
        message = _json(row["message"])
        if row["id"] in to_them and isinstance(message, dict):
            bare = {"chat_id": 0, "key": message.get("key"), "lang": message.get("lang")}
            text = json.dumps({**message, **bare, "fields": {}, "buttons": []})
            await repo.set_outbox_message(tx, row["id"], text, unlink=True)
        elif row["id"] in their_tickets and isinstance(message, dict):
            text = json.dumps(_scrub_fields(about, message), ensure_ascii=False)
            await repo.set_outbox_message(tx, row["id"], text, unlink=False)
        elif isinstance(message, dict) and _scrub_fields(who, message) != message:
            text = json.dumps(_scrub_fields(who, message), ensure_ascii=False)
            await repo.set_outbox_message(tx, row["id"], text, unlink=False)
        else:
            continue
        changed += 1
    return changed


async def _audit(tx: aiosqlite.Connection, who: Identity) -> int:
    changed = 0
    for row in await repo.texts_of(tx, "audit_log", "arguments"):
        actor = ERASED_ACTOR if row["actor_id"] == who.telegram_id else row["actor_id"]
        arguments, result = who.scrub(row["arguments"]), who.scrub(row["result"])
        if (actor, arguments, result) != (row["actor_id"], row["arguments"], row["result"]):
            await repo.set_audit(tx, row["id"], actor, arguments, result)
            changed += 1
    return changed


def _scrub_fields(who: Identity, message: dict[str, Any]) -> dict[str, Any]:
    """An outbox message with its fields scrubbed (its key, chat, buttons and catalogue labels
    are the bot's own words)."""
    fields = {
        name: value if isinstance(value, dict) and "$label" in value else who.scrub_json(value)
        for name, value in dict(message.get("fields") or {}).items()
    }
    return {**message, "fields": fields}


def _mentions(who: Identity, raw: str) -> bool:
    """Whether stored JSON names the customer (in a text, or their Telegram id as a number)."""
    value = _json(raw)
    return who.scrub_json(value) != value


def _json(text: str) -> Any:
    """Stored JSON, or the text itself when it is not JSON (a poison update)."""
    try:
        return json.loads(text)
    except ValueError:
        return text
