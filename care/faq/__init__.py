"""The FAQ: answer customers from the shop's own entries, and let staff teach it."""
