-- 0008: birthday changes limited to one a year, and single-use /forget confirmations.
BEGIN;

-- When the customer last changed their birthday with /birthday (staff and imports leave it),
-- and when they first set one: no birthday bonus within 30 days of that.
ALTER TABLE customers ADD COLUMN birthday_set_at TEXT;
ALTER TABLE customers ADD COLUMN birthday_first_set_at TEXT;

-- The nonce the newest /forget confirmation button carries, and when it was asked: a button
-- with another nonce, an old one, or one already used asks again instead of erasing.
ALTER TABLE customers ADD COLUMN forget_nonce INTEGER;
ALTER TABLE customers ADD COLUMN forget_asked_at TEXT;

PRAGMA user_version = 8;
COMMIT;
