-- 0005: the durable inbox of Telegram updates and the outbox of everything sent outside a reply.
BEGIN;

-- Every update fetched from (or posted by) Telegram, committed before Telegram is told it
-- arrived. Handling marks a row 'done' in the same transaction as the handler's change.
CREATE TABLE inbox (
    bot_id       INTEGER NOT NULL,          -- a database reused by another bot keeps both apart
    update_id    INTEGER NOT NULL,
    chat_key     TEXT NOT NULL,             -- one chat's updates are handled in order
    raw          TEXT NOT NULL,             -- the update's JSON as Telegram sent it
    status       TEXT NOT NULL DEFAULT 'pending'
                 CHECK (status IN ('pending', 'done', 'parked')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    error        TEXT,                      -- the last failure, for `carebot inbox`
    received_at  TEXT NOT NULL,
    done_at      TEXT,
    PRIMARY KEY (bot_id, update_id)
);
CREATE INDEX inbox_open ON inbox (bot_id, status, update_id) WHERE status != 'done';
CREATE INDEX inbox_done_at ON inbox (done_at) WHERE status = 'done';

-- The inbox replaces the list of processed update ids (which knew no bot id).
DROP TABLE processed_updates;


-- Every message to a customer or the staff chat that is not the immediate reply, written in
-- the same transaction as the change that caused it and drained by one sender after commit.
CREATE TABLE outbox (
    id           INTEGER PRIMARY KEY,
    chat_id      INTEGER NOT NULL,
    customer_id  INTEGER REFERENCES customers (id),  -- set for messages to a customer
    kind         TEXT NOT NULL,             -- what it is ('loyalty.promoted', 'ticket.post', …)
    ref          TEXT,                      -- the row it belongs to, for the after-send hook
    dedupe_key   TEXT UNIQUE,               -- never twice
    message      TEXT NOT NULL,             -- JSON: catalogue key, language, fields, buttons
    promotional  INTEGER NOT NULL DEFAULT 0,  -- not for customers who opted out
    status       TEXT NOT NULL DEFAULT 'pending'
                 CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'skipped')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    not_before   TEXT NOT NULL,             -- due time (a retry waits)
    error        TEXT,
    message_id   INTEGER,                   -- Telegram's id once sent
    created_at   TEXT NOT NULL,
    sent_at      TEXT
);
CREATE INDEX outbox_due ON outbox (not_before, id) WHERE status = 'pending';
CREATE INDEX outbox_kind_ref ON outbox (kind, ref);

PRAGMA user_version = 5;
COMMIT;
