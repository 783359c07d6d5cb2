"""Telegram glue: one module per feature; each parses an update, makes one care call and replies.

The order in which they are registered is the table in `bot/app.py`.
"""
