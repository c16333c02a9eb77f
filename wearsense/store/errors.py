"""The one exception type of the store."""

from __future__ import annotations


class StoreError(Exception):
    """Raised for every problem with the companion's database, with a sentence a user can act on.

    When: the file is not a SQLite database, belongs to another program (foreign
    ``application_id`` or tables), is corrupt, was written by a newer WearSense (schema
    version), cannot be opened or written; a patient or device that does not exist; an
    argument the store cannot accept (unknown timezone, duplicate pseudonym, overlapping
    assignment). ``path`` names the database file when the problem is the file.
    """

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.reason = message
