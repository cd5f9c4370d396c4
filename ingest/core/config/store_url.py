"""Which store a config's ``store:`` names, and how to show it without secrets.

``store:`` is a path to a SQLite file (the embedded default) or a
``postgresql://`` URL. A password may sit in the URL, although libpq's
environment (``PGPASSWORD``, ``PGPASSFILE``) is the intended place; every
message that names the store goes through :func:`redact` so no password is
ever printed or logged.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = ["is_postgres", "redact", "SCHEMES"]


SCHEMES = ("postgresql://", "postgres://")
_SECRET_KEYS = {"password", "sslpassword"}


def is_postgres(location: str) -> bool:
    """Whether ``store:`` names a PostgreSQL database rather than a SQLite file."""
    return location.lower().startswith(SCHEMES)


def redact(text: str) -> str:
    """``text`` with the password of every PostgreSQL URL in it (user info or query) replaced by ``***``."""
    return re.sub(r"postgres(?:ql)?://[^\s'\"]+", lambda m: _redact_url(m.group(0)), text, flags=re.IGNORECASE)


def _redact_url(url: str) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        if ":" in userinfo:
            userinfo = userinfo.split(":", 1)[0] + ":***"
        netloc = f"{userinfo}@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, "***" if k.lower() in _SECRET_KEYS else v) for k, v in pairs], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
