-- 0007: one-shot FAQ buttons ("none of these", "ask our team") act once per message.
BEGIN;

-- A double tap or a replayed press of the same button on the same message finds its row here
-- and does nothing (no second ticket, no second staff post, no second count).
CREATE TABLE faq_presses (
    chat_id     INTEGER NOT NULL,
    message_id  INTEGER NOT NULL,
    action      TEXT NOT NULL CHECK (action IN ('none', 'staff')),
    pressed_at  TEXT NOT NULL,
    PRIMARY KEY (chat_id, message_id, action)
);

PRAGMA user_version = 7;
COMMIT;
