"""Loyalty points: the use cases (service.py) and their internals beside them."""
