"""Segments: saved filters over customers (the /segment syntax) and customer tags."""
