-- 0010: customer tags, saved segments and one-off campaigns to a segment.
BEGIN;

-- Free-form labels staff put on customers (/tag, or the `tags` column of an import).
CREATE TABLE customer_tags (
    customer_id  INTEGER NOT NULL REFERENCES customers (id),
    tag          TEXT NOT NULL,             -- lower case, no spaces
    created_at   TEXT NOT NULL,
    PRIMARY KEY (customer_id, tag)
);
CREATE INDEX customer_tags_tag ON customer_tags (tag);

-- A saved, named filter over customers, in the /segment syntax ('stage>=trust recency=active').
CREATE TABLE segments (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    filter       TEXT NOT NULL,
    created_by   INTEGER NOT NULL,          -- staff Telegram id (0: the command line)
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);

-- One message to a segment. Its messages are outbox rows (kind 'campaign', ref = id) with the
-- dedupe key 'campaign:<id>:<customer id>', written when it is confirmed.
CREATE TABLE campaigns (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    filter       TEXT NOT NULL,             -- the segment's filter when the campaign was made
    texts        TEXT NOT NULL,             -- JSON {"en": …, "zh": …}
    photo        TEXT,                      -- a Telegram file id or URL
    button       TEXT,                      -- 'card' or an https link
    local_at     TEXT,                      -- 'YYYY-MM-DDTHH:MM' in each customer's zone; NULL: now
    status       TEXT NOT NULL DEFAULT 'draft'
                 CHECK (status IN ('draft', 'queued', 'done', 'cancelled')),
    recipients   INTEGER NOT NULL DEFAULT 0,
    excluded     TEXT NOT NULL DEFAULT '{}',  -- JSON {reason: count} when confirmed
    created_by   INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    confirmed_at TEXT,
    finished_at  TEXT
);

-- A campaign's messages not finished yet: checked after every send, to notice the last one.
CREATE INDEX outbox_campaign_open ON outbox (ref)
    WHERE kind = 'campaign' AND status IN ('pending', 'sending');

PRAGMA user_version = 10;
COMMIT;
