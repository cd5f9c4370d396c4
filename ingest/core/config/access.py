"""How a feed is reached: its URL, request headers and credentials, and the secrets a config holds.

These are the settings whose values must never be printed, so their checks
live together: messages quote a URL only as ``printable_url`` shows it and
never quote a password; ``config_secrets`` collects what outputs must hide.
"""

from __future__ import annotations

import os
import re
from typing import Any
from urllib.parse import urlsplit

from ..printable import canonical_credentials, printable_url, split_credentials, url_secrets
from .model import BasicAuth, FeedConfig
from .yaml_reader import Entries, Reader

__all__ = ["auth", "config_secrets", "feed_secrets", "feed_url", "headers"]

# Header names ingest sets itself, or that would break the request if overridden.
_RESERVED_HEADERS = {"host", "content-length", "transfer-encoding", "connection", "accept-encoding",
                     "if-none-match", "if-modified-since", "authorization"}
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_SECRET_HEADER = re.compile(r"key|token|secret|auth|cookie|session|pass|signature", re.IGNORECASE)


def feed_url(reader: Reader, fmap: Entries, prefix: str) -> str:
    """A feed's ``url:``: http(s) with a host, or file with a path; credentials in it kept, encoded."""
    url: str | None = reader.string(fmap, "url", prefix, default=None)
    if url is None:
        raise reader.fail(fmap, "url", prefix, "must be a URL")
    url = canonical_credentials(url)
    shown = printable_url(url)
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError as exc:  # an unclosed IPv6 bracket, a port that is not a number
        raise reader.fail(fmap, "url", prefix, f"{shown!r} is not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        if not hostname:
            raise reader.fail(fmap, "url", prefix, f"{shown!r} has no host name")
    elif scheme == "file":
        if not parts.path:
            raise reader.fail(fmap, "url", prefix, f"{shown!r} has no file path")
    else:
        raise reader.fail(fmap, "url", prefix, f"{shown!r} is not an http://, https:// or file:// URL")
    return url


def headers(reader: Reader, entries: Entries, key: str, prefix: str) -> tuple[tuple[str, str], ...]:
    """``headers:``, extra request headers; those ingest sets itself cannot be overridden."""
    value = reader.value(entries[key][1])
    if not isinstance(value, dict):
        raise reader.fail(entries, key, prefix, "must be a mapping of header names to values")
    out = []
    for name, header_value in value.items():
        if not isinstance(name, str) or not _TOKEN.match(name):
            raise reader.fail(entries, key, prefix, f"{name!r} is not a valid header name")
        if name.lower() in _RESERVED_HEADERS:
            hint = " (use 'auth:' for credentials)" if name.lower() == "authorization" else ""
            raise reader.fail(entries, key, prefix, f"{name} is set by ingest and cannot be configured{hint}")
        if isinstance(header_value, bool) or not isinstance(header_value, (str, int, float)):
            raise reader.fail(entries, key, prefix, f"{name}: the value must be text")
        # HTTP carries no white space around a field value (every server strips it; h11 refuses to send it)
        text = str(header_value).strip(" \t")
        if any(c in text for c in "\r\n\0"):
            raise reader.fail(entries, key, prefix, f"{name}: the value must be on one line")
        out.append((name, text))
    return tuple(out)


def auth(reader: Reader, entries: Entries, key: str, prefix: str) -> BasicAuth:
    """Basic auth from ``{username, password}`` or ``{username, password_env}``.

    ``password_env`` names an environment variable, so the secret can stay out
    of a config file that is checked in. Messages never quote the password.
    """
    value = reader.value(entries[key][1])
    shape = "must be {username: ..., password: ...} or {username: ..., password_env: VARIABLE}"
    if not isinstance(value, dict):
        raise reader.fail(entries, key, prefix, shape)
    unknown = set(value) - {"username", "password", "password_env"}
    if unknown:
        raise reader.fail(entries, key, prefix, f"unknown key {sorted(unknown)[0]!r}; {shape}")
    username = value.get("username")
    if not isinstance(username, str) or not username or ":" in username:
        raise reader.fail(entries, key, prefix, "username must be non-empty text without ':'")
    if ("password" in value) == ("password_env" in value):
        raise reader.fail(entries, key, prefix, "give exactly one of password or password_env")
    if "password_env" in value:
        password = _password_from_environment(reader, entries, key, prefix, value["password_env"])
    else:
        password = value["password"]
        if isinstance(password, bool) or not isinstance(password, (str, int)):
            raise reader.fail(entries, key, prefix, "password must be text")
        password = str(password)
    return BasicAuth(username=username, password=password)


def _password_from_environment(reader: Reader, entries: Entries, key: str, prefix: str, variable: Any) -> str:
    if not isinstance(variable, str) or not variable:
        raise reader.fail(entries, key, prefix, "password_env must name an environment variable")
    password = os.environ.get(variable)
    if password is None:
        raise reader.fail(entries, key, prefix, f"environment variable {variable} is not set")
    return password


def config_secrets(feeds: list[FeedConfig], store_url: str | None, webhooks: Any = ()) -> frozenset[str]:
    """Every literal secret of a config, which no output may show (see ``printable.printable_text``).

    A webhook's URL is a secret as a whole (a build hook's path is its key).
    """
    found: set[str] = set()
    for hook in webhooks:
        url = getattr(hook, "url", "")
        bare, _ = split_credentials(url)
        path = bare.split("//", 1)[-1].partition("/")[2]
        found |= {url, bare} | ({"/" + path} if len(path) >= 8 else set())
    if store_url:
        found |= url_secrets(store_url)
    for feed in feeds:
        found |= feed_secrets(feed)
    return frozenset(s for s in found if len(s) >= 4)


def feed_secrets(feed: FeedConfig) -> frozenset[str]:
    """The literal secrets one feed's settings hold: its URL's, ``auth:`` and secret headers.

    A library's error about a request may quote any of them (an HTTP
    library names the header value it refused): a fetch's error text is
    cleared of them before anything shows or stores it.
    """
    found = set(url_secrets(feed.url))
    if feed.auth is not None:
        found |= {feed.auth.password, feed.auth.username}
    found |= {value for name, value in feed.headers if _SECRET_HEADER.search(name)}
    return frozenset(s for s in found if len(s) >= 4)
