-- 0002: ticket threading and SLA alerts.
BEGIN;

-- Every message that stands for a ticket in some chat: the staff post, the customer's copy of
-- each staff reply and confirmation, and each customer answer posted back to the staff chat.
-- A reply to any of them belongs to the ticket.
CREATE TABLE ticket_posts (
    chat_id     INTEGER NOT NULL,
    message_id  INTEGER NOT NULL,
    ticket_id   INTEGER NOT NULL REFERENCES tickets (id),
    PRIMARY KEY (chat_id, message_id)
);

-- SLA alerts already sent: at most one per ticket per threshold, across restarts.
CREATE TABLE ticket_alerts (
    ticket_id   INTEGER NOT NULL REFERENCES tickets (id),
    threshold   TEXT NOT NULL CHECK (threshold IN ('first_response', 'resolution')),
    sent_at     TEXT NOT NULL,
    PRIMARY KEY (ticket_id, threshold)
);

-- Tickets not yet posted to the staff chat are looked up by every scheduler run.
CREATE INDEX tickets_unposted ON tickets (staff_message_id) WHERE staff_message_id IS NULL;

PRAGMA user_version = 2;
COMMIT;
