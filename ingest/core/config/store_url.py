"""Which store a config's ``store:`` names, and how to show it without secrets.

``store:`` is a path to a SQLite file (the embedded default) or a
``postgresql://`` URL. A password may sit in the URL, although libpq's
environment (``PGPASSWORD``, ``PGPASSFILE``) is the intended place; every
message that names the store goes through :func:`redact` so no password is
ever printed or logged.
"""

from __future__ import annotations

from ..printable import printable_text

__all__ = ["is_postgres", "redact", "SCHEMES"]


SCHEMES = ("postgresql://", "postgres://")


def is_postgres(location: str) -> bool:
    """Whether ``store:`` names a PostgreSQL database rather than a SQLite file."""
    return location.lower().startswith(SCHEMES)


def redact(text: str) -> str:
    """``text`` with every URL in it (a store URL among them) in its printable form: see ``core.printable``."""
    return printable_text(text)
