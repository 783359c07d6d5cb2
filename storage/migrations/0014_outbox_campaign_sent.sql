-- 0014: the frequency cap of scheduled outreach counts the campaign messages a customer got.
BEGIN;

CREATE INDEX outbox_campaign_sent ON outbox (customer_id, sent_at)
    WHERE kind = 'campaign' AND status = 'sent';

PRAGMA user_version = 14;
COMMIT;
