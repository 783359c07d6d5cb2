-- 0016: the question each 👍/👎 answered, so the shop's own traffic can calibrate the FAQ's
-- thresholds (care/faq/calibrate.py). Erasing a customer deletes their votes, question included.
BEGIN;

ALTER TABLE faq_votes ADD COLUMN question TEXT;
ALTER TABLE faq_votes ADD COLUMN question_language TEXT;

PRAGMA user_version = 16;
COMMIT;
