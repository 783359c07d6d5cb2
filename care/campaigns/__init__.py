"""Campaigns: one message to a segment, previewed, confirmed, paced, exactly once."""
