-- 0006: a receipt counts once in the whole shop; one ledger entry can be voided; big earns wait
-- for a confirmation.
BEGIN;

-- The receipt staff typed with /earn (upper-cased), unique across customers. NULL for earns
-- keyed to a Telegram message and for every other kind.
ALTER TABLE points_ledger ADD COLUMN receipt TEXT;
-- On a reversal written by /void: the entry it cancels (one reversal per entry).
ALTER TABLE points_ledger ADD COLUMN voids INTEGER REFERENCES points_ledger (id);

-- Existing earns: a reference staff typed is a receipt (Telegram-message and merge references
-- are not). A database may already hold the same receipt on two customers (the defect this
-- fixes): the oldest use keeps the receipt, later ones stay as they are (still counted, never
-- rejected by this migration); staff can /void them.
UPDATE points_ledger SET receipt = UPPER(reference)
WHERE id IN (SELECT MIN(id) FROM points_ledger
             WHERE kind = 'earn' AND reference NOT LIKE 'tg:%' AND reference NOT LIKE 'merged:%'
             GROUP BY UPPER(reference));

CREATE UNIQUE INDEX points_ledger_receipt ON points_ledger (receipt) WHERE receipt IS NOT NULL;
CREATE UNIQUE INDEX points_ledger_voids ON points_ledger (voids) WHERE voids IS NOT NULL;

-- An earn far above the customer's usual, waiting for the staff member who asked to confirm it.
CREATE TABLE earn_confirmations (
    id            INTEGER PRIMARY KEY,
    actor_id      INTEGER NOT NULL,            -- only they may confirm it
    customer_id   INTEGER NOT NULL REFERENCES customers (id),
    amount_cents  INTEGER NOT NULL,
    receipt       TEXT,
    reference     TEXT NOT NULL UNIQUE,        -- the /earn message: a re-sent /earn asks once
    reason        TEXT,
    status        TEXT NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'confirmed', 'cancelled')),
    created_at    TEXT NOT NULL
);

PRAGMA user_version = 6;
COMMIT;
