-- 0002: relationship stages and scheduled outreach.
BEGIN;

-- Facts the stage engine derives from purchases, kept on the customer so outreach planning can
-- select due customers with an index instead of aggregating purchases for everyone.
ALTER TABLE customers ADD COLUMN last_purchase_at TEXT;   -- newest purchase
ALTER TABLE customers ADD COLUMN at_risk_at TEXT;         -- when the customer becomes 'at risk'
ALTER TABLE customers ADD COLUMN lapsed_at TEXT;          -- when the customer becomes 'lapsed'
ALTER TABLE customers ADD COLUMN next_checkin_at TEXT;    -- next check-in due; NULL: none due
ALTER TABLE customers ADD COLUMN winback_due_at TEXT;     -- win-back due for this lapse episode
ALTER TABLE customers ADD COLUMN evaluated_at TEXT;       -- last stage evaluation

-- Birthdays by month and day ('MM-DD' is the tail of both 'YYYY-MM-DD' and '--MM-DD').
CREATE INDEX customers_birthday_md ON customers (substr(birthday, -5));
CREATE INDEX customers_next_checkin ON customers (next_checkin_at)
    WHERE next_checkin_at IS NOT NULL;
CREATE INDEX customers_winback_due ON customers (winback_due_at)
    WHERE winback_due_at IS NOT NULL;

-- The outbox, continued: what the sender needs and what the statistics count.
ALTER TABLE outreach ADD COLUMN stage TEXT;               -- the customer's stage when planned
ALTER TABLE outreach ADD COLUMN expires_at TEXT;          -- not sent by then: 'missed'
ALTER TABLE outreach ADD COLUMN message_id INTEGER;       -- Telegram's id once sent
ALTER TABLE outreach ADD COLUMN replied_at TEXT;          -- check-in answered
ALTER TABLE outreach ADD COLUMN valid_until TEXT;         -- win-back offer validity
ALTER TABLE outreach ADD COLUMN won_back_at TEXT;         -- purchase within the offer validity
CREATE INDEX outreach_kind_created ON outreach (kind, created_at);
-- Win-backs still waiting for a purchase within the offer's validity.
CREATE INDEX outreach_winback_open ON outreach (valid_until)
    WHERE kind = 'winback' AND status = 'sent' AND won_back_at IS NULL;

-- Per-kind opt-outs ('/stop' in customers.opted_out stops everything).
CREATE TABLE outreach_optouts (
    customer_id  INTEGER NOT NULL REFERENCES customers (id),
    kind         TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (customer_id, kind)
);

PRAGMA user_version = 3;
COMMIT;
