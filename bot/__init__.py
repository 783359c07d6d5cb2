"""carebot: a Telegram customer-care bot."""
