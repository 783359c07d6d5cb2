"""Loyalty points: the use cases (service.py) and their internals (tiers, units, expiry, linking)."""
