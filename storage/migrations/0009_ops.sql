-- 0009: what operating the bot needs: the record of every backup, heartbeats of the running
-- bot (read by `carebot status`), and the staff chat an owner chose with /setup staffchat.
BEGIN;

-- One row per backup attempt, scheduled or from `carebot backup`; `carebot status` reads the last.
CREATE TABLE backups (
    id           INTEGER PRIMARY KEY,
    started_at   TEXT NOT NULL,
    finished_at  TEXT NOT NULL,
    path         TEXT NOT NULL,
    ok           INTEGER NOT NULL CHECK (ok IN (0, 1)),
    size_bytes   INTEGER,
    counts       TEXT,                      -- JSON: rows per table in the copy
    error        TEXT
);
CREATE INDEX backups_finished ON backups (finished_at);

-- The running bot's proofs of life, one row per part ('jobs', 'poller'), updated by a job.
CREATE TABLE heartbeats (
    name         TEXT PRIMARY KEY,
    at           TEXT NOT NULL
);

-- Small facts set from Telegram rather than the config file ('staff_chat_id').
CREATE TABLE bot_facts (
    name         TEXT PRIMARY KEY,
    value        TEXT NOT NULL,
    set_by       INTEGER,
    set_at       TEXT NOT NULL
);

PRAGMA user_version = 9;
COMMIT;
