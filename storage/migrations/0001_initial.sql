-- 0001: the initial schema. Timestamps are UTC ISO-8601 text; money is in minor units (cents).
BEGIN;

-- A person the business knows: from Telegram (/start) or imported (telegram_id NULL until linked).
CREATE TABLE customers (
    id              INTEGER PRIMARY KEY,
    telegram_id     INTEGER UNIQUE,
    username        TEXT,
    phone           TEXT UNIQUE,
    name            TEXT,
    language        TEXT NOT NULL DEFAULT 'en',
    timezone        TEXT,                       -- IANA name; NULL means the configured default
    birthday        TEXT,                       -- 'YYYY-MM-DD' or '--MM-DD' when the year is unknown
    stage           TEXT NOT NULL DEFAULT 'aware',
    stage_since     TEXT NOT NULL,
    stage_manual    INTEGER NOT NULL DEFAULT 0, -- 1 while a staff-set stage holds
    opted_out       INTEGER NOT NULL DEFAULT 0, -- /stop: no outreach at all
    reachable       INTEGER NOT NULL DEFAULT 1, -- 0 after a 403 (blocked) until /start again
    member_code     TEXT NOT NULL UNIQUE,
    forgotten_at    TEXT,                       -- personal data erased by /forget
    created_at      TEXT NOT NULL,
    last_seen_at    TEXT
);
CREATE INDEX customers_username ON customers (username);

-- Every stage change, with why ('rule: 3 purchases in 90 days', 'staff @anna').
CREATE TABLE stage_history (
    id           INTEGER PRIMARY KEY,
    customer_id  INTEGER NOT NULL REFERENCES customers (id),
    from_stage   TEXT,
    to_stage     TEXT NOT NULL,
    reason       TEXT NOT NULL,
    staff_id     INTEGER,
    created_at   TEXT NOT NULL
);
CREATE INDEX stage_history_customer ON stage_history (customer_id, created_at);

-- Append-only points ledger; the balance is SUM(delta). reference is unique per customer.
CREATE TABLE points_ledger (
    id           INTEGER PRIMARY KEY,
    customer_id  INTEGER NOT NULL REFERENCES customers (id),
    delta        INTEGER NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('earn', 'redeem', 'adjust', 'expire', 'bonus')),
    reason       TEXT,
    reference    TEXT NOT NULL,
    staff_id     INTEGER,
    created_at   TEXT NOT NULL,
    UNIQUE (customer_id, reference)
);
CREATE INDEX points_ledger_customer_time ON points_ledger (customer_id, created_at);

-- Purchases are events the stage engine reads (recorded with every earn).
CREATE TABLE purchases (
    id            INTEGER PRIMARY KEY,
    customer_id   INTEGER NOT NULL REFERENCES customers (id),
    amount_cents  INTEGER NOT NULL,
    reference     TEXT,
    created_at    TEXT NOT NULL
);
CREATE INDEX purchases_customer_time ON purchases (customer_id, created_at);

-- Feedback, complaints and questions for staff.
CREATE TABLE tickets (
    id                 INTEGER PRIMARY KEY,
    number             INTEGER NOT NULL UNIQUE,
    customer_id        INTEGER REFERENCES customers (id),
    kind               TEXT NOT NULL CHECK (kind IN ('feedback', 'complaint', 'question')),
    category           TEXT,
    status             TEXT NOT NULL DEFAULT 'open'
                       CHECK (status IN ('open', 'waiting_customer', 'resolved', 'closed')),
    rating             INTEGER CHECK (rating BETWEEN 1 AND 5),
    csat               INTEGER CHECK (csat BETWEEN 1 AND 5),
    assignee_id        INTEGER,
    staff_message_id   INTEGER,               -- the post in the staff chat, for reply threading
    customer_unreachable INTEGER NOT NULL DEFAULT 0,
    created_at         TEXT NOT NULL,
    first_response_at  TEXT,
    resolved_at        TEXT,
    updated_at         TEXT NOT NULL
);
CREATE INDEX tickets_customer_status ON tickets (customer_id, status);
CREATE INDEX tickets_status_created ON tickets (status, created_at);

CREATE TABLE ticket_messages (
    id            INTEGER PRIMARY KEY,
    ticket_id     INTEGER NOT NULL REFERENCES tickets (id),
    author        TEXT NOT NULL CHECK (author IN ('customer', 'staff', 'system')),
    staff_id      INTEGER,
    body          TEXT,
    photo_file_id TEXT,
    created_at    TEXT NOT NULL
);
CREATE INDEX ticket_messages_ticket ON ticket_messages (ticket_id, created_at);

-- FAQ entries: one id shared across languages, one row per language.
CREATE TABLE faq (
    entry_id    INTEGER NOT NULL,
    language    TEXT NOT NULL,
    question    TEXT NOT NULL,
    alternates  TEXT NOT NULL DEFAULT '[]',   -- JSON list of phrasings
    answer      TEXT NOT NULL,
    tags        TEXT NOT NULL DEFAULT '[]',   -- JSON list
    enabled     INTEGER NOT NULL DEFAULT 1,
    helpful     INTEGER NOT NULL DEFAULT 0,   -- thumbs up
    unhelpful   INTEGER NOT NULL DEFAULT 0,   -- thumbs down
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (entry_id, language)
);

-- Questions the bot could not answer, counted by normalised text.
CREATE TABLE unanswered (
    id            INTEGER PRIMARY KEY,
    normalised    TEXT NOT NULL,
    language      TEXT NOT NULL,
    example       TEXT NOT NULL,
    count         INTEGER NOT NULL DEFAULT 1,
    first_seen_at TEXT NOT NULL,
    last_seen_at  TEXT NOT NULL,
    resolved_entry_id INTEGER,
    UNIQUE (normalised, language)
);

-- The outreach outbox: one row per (customer, kind, occasion); the key makes "never twice" hold.
CREATE TABLE outreach (
    id           INTEGER PRIMARY KEY,
    customer_id  INTEGER NOT NULL REFERENCES customers (id),
    kind         TEXT NOT NULL,
    occasion     TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'queued'
                 CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'skipped', 'missed')),
    reason       TEXT,
    due_at       TEXT NOT NULL,
    sent_at      TEXT,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    UNIQUE (customer_id, kind, occasion)
);
CREATE INDEX outreach_status_due ON outreach (status, due_at);

-- Every staff action, allowed or refused.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    actor_id    INTEGER NOT NULL,            -- Telegram id of the caller
    action      TEXT NOT NULL,
    arguments   TEXT NOT NULL DEFAULT '',
    result      TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX audit_log_time ON audit_log (created_at);

-- Staff roles granted in the database (owners come from config).
CREATE TABLE staff_roles (
    telegram_id INTEGER PRIMARY KEY,
    role        TEXT NOT NULL CHECK (role IN ('staff', 'manager')),
    name        TEXT,
    granted_by  INTEGER NOT NULL,
    created_at  TEXT NOT NULL
);

-- Updates already handled; a redelivered update_id is not handled twice.
CREATE TABLE processed_updates (
    update_id    INTEGER PRIMARY KEY,
    status       TEXT NOT NULL CHECK (status IN ('started', 'done')),
    processed_at TEXT NOT NULL
);

PRAGMA user_version = 1;
COMMIT;
