"""Errors raised by the storage layer; `care` translates them into domain errors."""

from __future__ import annotations


class StorageError(Exception):
    """Base class for storage errors."""


class DuplicateKey(StorageError):
    """A UNIQUE key already holds this value."""

    def __init__(self, table: str, key: str) -> None:
        super().__init__(f"duplicate key in {table}: {key}")
        self.table = table
        self.key = key


class NotFound(StorageError):
    """No row matches."""


class SchemaTooNew(StorageError):
    """The database was migrated by a newer carebot than this one."""


class MigrationFailed(StorageError):
    """A migration file did not bring the database to its version."""


class NotADatabase(StorageError):
    """The storage path holds something that is not a SQLite database."""
