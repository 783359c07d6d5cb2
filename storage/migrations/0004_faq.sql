-- 0004: FAQ votes counted once per answer message, and a generation number of the FAQ.
BEGIN;

-- One 👍/👎 per answer message: a double tap or a replayed button press is not counted again.
CREATE TABLE faq_votes (
    chat_id     INTEGER NOT NULL,
    message_id  INTEGER NOT NULL,
    entry_id    INTEGER NOT NULL,
    language    TEXT NOT NULL,
    helpful     INTEGER NOT NULL CHECK (helpful IN (0, 1)),
    voted_at    TEXT NOT NULL,
    PRIMARY KEY (chat_id, message_id)
);

-- Bumped by the triggers below whenever what the matcher indexes or answers changes, by any
-- process (the bot, `carebot faq import`, …): a bot compares it with the generation its
-- in-memory index was built from, and rebuilds when they differ. Votes do not bump it.
CREATE TABLE faq_generation (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    generation  INTEGER NOT NULL
);
INSERT INTO faq_generation (id, generation) VALUES (1, 1);

CREATE TRIGGER faq_generation_insert AFTER INSERT ON faq
BEGIN
    UPDATE faq_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER faq_generation_delete AFTER DELETE ON faq
BEGIN
    UPDATE faq_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER faq_generation_update AFTER UPDATE OF question, alternates, answer, enabled ON faq
BEGIN
    UPDATE faq_generation SET generation = generation + 1 WHERE id = 1;
END;

PRAGMA user_version = 4;
COMMIT;
