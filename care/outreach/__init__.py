"""Outreach: the use cases (service), planning, sending and the rules every send obeys."""
