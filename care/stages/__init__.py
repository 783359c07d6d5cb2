"""Relationship stages: the use cases (service), the rules and the stage reasons."""
