-- 0013: staff teach the FAQ in one tap (proposals), dismissed questions, stale translations,
-- and text keys for entries imported from CSV without numeric ids.
BEGIN;

-- A phrasing customers used for an entry: a question whose suggestion they pressed, or one
-- whose answer got 👎 before another entry followed. Proposed to staff as "add this phrasing
-- to entry N?"; accepted ones become alternates, rejected ones are not proposed again.
CREATE TABLE faq_proposals (
    id            INTEGER PRIMARY KEY,
    normalised    TEXT NOT NULL,
    language      TEXT NOT NULL,
    example       TEXT NOT NULL,      -- the latest wording as asked
    entry_id      INTEGER NOT NULL,
    count         INTEGER NOT NULL DEFAULT 1,
    status        TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'accepted', 'rejected')),
    first_seen_at TEXT NOT NULL,
    last_seen_at  TEXT NOT NULL,
    decided_by    INTEGER,
    decided_at    TEXT,
    UNIQUE (normalised, language, entry_id)
);

-- One observation per (message, entry): a double tap or a replayed press counts once.
CREATE TABLE faq_proposal_seen (
    chat_id     INTEGER NOT NULL,
    message_id  INTEGER NOT NULL,
    entry_id    INTEGER NOT NULL,
    PRIMARY KEY (chat_id, message_id, entry_id)
);

-- Staff dismissed the question: no longer listed (it is still counted).
ALTER TABLE unanswered ADD COLUMN dismissed_at TEXT;

-- 1 when another language's answer of the entry changed after this one was last edited.
ALTER TABLE faq ADD COLUMN stale INTEGER NOT NULL DEFAULT 0;

-- A CSV import's text id (a slug) and the entry it names: re-importing the file upserts.
CREATE TABLE faq_keys (
    key       TEXT PRIMARY KEY,
    entry_id  INTEGER NOT NULL UNIQUE
);

PRAGMA user_version = 13;
COMMIT;
