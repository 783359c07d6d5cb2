-- 0011: an update whose change committed but whose reply may not have gone out (the process
-- stopped in between) is told so after a restart, instead of staying silent.
BEGIN;

-- 0 from the handler's commit until its reply was sent; done rows of earlier versions answered.
ALTER TABLE inbox ADD COLUMN answered INTEGER NOT NULL DEFAULT 1;
CREATE INDEX inbox_unanswered ON inbox (bot_id, update_id) WHERE answered = 0;

PRAGMA user_version = 11;
COMMIT;
