-- 0015: who asked each unanswered question, so erasing a customer finds every question of
-- theirs (before, only those still in the inbox, which keeps updates two days).
BEGIN;

CREATE TABLE unanswered_askers (
    unanswered_id  INTEGER NOT NULL REFERENCES unanswered (id) ON DELETE CASCADE,
    telegram_id    INTEGER NOT NULL,   -- the asker's chat (a private chat's id is the user's)
    asked          INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (unanswered_id, telegram_id)
);
CREATE INDEX unanswered_askers_telegram ON unanswered_askers (telegram_id);

PRAGMA user_version = 15;
COMMIT;
