-- 0012: what the owner's reports read: FAQ outcomes counted per hour, and indexes that let each
-- measure read a period's rows (or a covering index) instead of the whole table.
BEGIN;

-- How each FAQ question was handled, counted per UTC hour ('2026-11-30T09'): an answered
-- question wrote nothing before this, so the answered/suggested/fallback rates had no source.
CREATE TABLE faq_outcomes (
    hour     TEXT NOT NULL,
    outcome  TEXT NOT NULL CHECK (outcome IN ('answer', 'suggest', 'fallback')),
    count    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (hour, outcome)
) WITHOUT ROWID;

-- Period sums of the ledger (issued, redeemed, expired), the outstanding balance and points
-- earned per customer for tiers, all from this index alone.
CREATE INDEX points_ledger_report ON points_ledger (created_at, kind, customer_id, delta);
-- Points earned per customer in the tier window, read in customer order without a sort.
CREATE INDEX points_ledger_report_customer ON points_ledger (customer_id, created_at, kind, delta);
-- Spend and visits in a period (by time), and per customer for the RFM grid and the at-risk
-- customers' value (by customer, without touching the table).
CREATE INDEX purchases_report ON purchases (created_at, customer_id, amount_cents);
CREATE INDEX purchases_report_customer ON purchases (customer_id, created_at, amount_cents);
-- Stage moves in a period.
CREATE INDEX stage_history_report ON stage_history (created_at);
-- Tickets opened and resolved in a period.
CREATE INDEX tickets_report_created ON tickets (created_at);
CREATE INDEX tickets_report_resolved ON tickets (resolved_at) WHERE resolved_at IS NOT NULL;
-- 👍/👎 in a period.
CREATE INDEX faq_votes_report ON faq_votes (voted_at);
-- Customers who lapsed in a period (the stage engine's stored moment).
CREATE INDEX customers_report_lapsed ON customers (lapsed_at) WHERE lapsed_at IS NOT NULL;

PRAGMA user_version = 12;
COMMIT;
