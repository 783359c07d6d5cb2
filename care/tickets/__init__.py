"""Tickets: feedback, complaints and questions; staff answers; satisfaction; SLA alerts."""
