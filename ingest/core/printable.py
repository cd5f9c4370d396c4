"""The one printable form of a URL or a store address: no credentials, no secret query values.

Everything ingest shows or writes for people and scripts (report lines,
``--json``, logs, daemon events, ``/metrics``, error and exception
messages, hook environments, OPML reasons) names a URL through
:func:`printable_url`, so a password written into a feed URL or a store
URL never leaves the config.

The URL is parsed, not searched with a pattern that stops at the first
character a password may well hold. The authority (``user:password@host``)
runs from ``//`` to the first ``/``; an ``@`` in it ends the credentials at
the *last* ``@``, so a password holding ``#``, ``?``, ``'``, a space, a
``:`` or an ``@`` is removed whole, as libpq reads it. A password holding
a raw ``/`` leaves an authority that is not a host (``user:pa``): then
everything up to the last ``@`` of the URL is taken as credentials. When in
doubt, more is hidden rather than less.

Query parameters (and ``key=value`` fragments) whose name says they hold a
secret (:data:`SECRET_KEYS`, compared case-insensitively after
percent-decoding, ``-`` and ``_`` alike) keep their name and lose their
value.

:func:`printable_text` applies the same to every URL inside a free text (an
exception's message) and also hides the literal secrets it is given, which
catches a library quoting a fragment of a URL it could not parse.
:func:`url_secrets` lists those literals for a URL.

:func:`canonical_credentials` is the form of a URL that is requested: its
user information percent-encoded where a raw character (``#``, ``?``, ``/``,
``[``) would make a URL parser see another authority than this module sees.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable, Iterable
from urllib.parse import quote, unquote, urlsplit

__all__ = [
    "MASK",
    "SECRET_KEYS",
    "canonical_credentials",
    "printable_text",
    "printable_url",
    "split_credentials",
    "stored_url",
    "url_secrets",
]


MASK = "***"

# query parameter names whose values are secrets (normalized: lower case, '-' as '_')
SECRET_KEYS = frozenset({
    "access_token", "api_key", "apikey", "auth", "auth_token", "authorization", "client_secret", "code", "id_token",
    "key", "pass", "passwd", "password", "private_token", "pwd", "refresh_token", "secret", "session", "sessionid",
    "sig", "signature", "sslpassword", "token", "x_amz_credential", "x_amz_security_token", "x_amz_signature",
})

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
_HOST_PORT = re.compile(r"(\[[0-9A-Fa-f:.]*\]|[^\[\]:@\s]*)(:\d*)?")


def split_credentials(url: str) -> tuple[str, str | None]:
    """``url`` without its user information, and that user information as written (None when it has none).

    The one parse of an authority that the printable form, the secrets
    list and the URL that is requested all share.
    """
    head, rest, start = _authority_start(url)
    if start < 0:
        return url, None
    slash = rest.find("/")
    authority = rest if slash < 0 else rest[:slash]
    at = authority.rfind("@")
    if slash >= 0 and "@" in rest[slash:]:
        # an '@' past the first '/' ends the credentials if what would be the host cannot be one
        # (a raw '/' in a password: 'user:pa/ss@host', 'us@er:pa/ss@host')
        host = authority[at + 1:]
        if not _HOST_PORT.fullmatch(host.split("?", 1)[0].split("#", 1)[0]) or _bad_port(host):
            at = rest.rfind("@")
    if at < 0:
        return url, None
    return head + rest[at + 1:], rest[:at]


def canonical_credentials(url: str) -> str:
    """``url`` with its ``user:password@`` percent-encoded when a character in it would end the authority early.

    A password holding ``#``, ``?`` or ``/`` as written would otherwise be
    read as the start of the fragment, query or path, and the feed asked at
    the wrong host; one holding ``[`` or ``]`` makes ``urlsplit`` refuse the
    URL as a broken IPv6 address; a raw ``@`` is read to the last ``@`` by
    Python and to the first by libpq (a store's URL). Encoded, every reader
    of the URL sees the same parts. Every place that takes a URL with
    credentials from a user (the config, ``discover``) passes it through
    here first.
    """
    bare, userinfo = split_credentials(url)
    if userinfo is None:
        return url
    try:
        # a raw '@' in the credentials: Python reads up to the last '@', libpq (a store's URL) to the first
        if urlsplit(url).netloc.rpartition("@")[0] == userinfo and "@" not in userinfo:
            return url
    except ValueError:
        pass
    user, colon, password = userinfo.partition(":")
    encoded = quote(unquote(user), safe="") + colon + quote(unquote(password), safe="")
    head, _, rest = bare.partition("//")
    return f"{head}//{encoded}@{rest}"


def printable_url(url: str) -> str:
    """``url`` as it may be shown or written: ``***@`` for any credentials, ``***`` for secret parameter values."""
    return _printable(url if isinstance(url, str) else str(url))


# A run shows, reports and stores each feed's URL several times over: the answers are remembered.
@functools.lru_cache(maxsize=4096)
def _printable(url: str) -> str:
    bare, userinfo = split_credentials(url)
    head, rest, start = _authority_start(bare)
    if start >= 0 and userinfo is not None:
        bare = head + MASK + "@" + rest
    return _mask_parameters(bare)


@functools.lru_cache(maxsize=4096)
def stored_url(url: str) -> str:
    """``url`` as a store keeps it: no user information, each secret parameter value replaced by a digest of it.

    The digest keeps two feeds that differ only in their token two rows;
    the secret itself stays in the config, where the request takes it from.
    """
    bare, _ = split_credentials(url)
    return _mask_parameters(bare, lambda value: "sha256-" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:16])


def url_secrets(url: str) -> set[str]:
    """The literal secrets in ``url`` (user name, password, secret parameter values), as written and decoded.

    Pieces shorter than four characters are left out: hiding them would
    garble every message and they are no secret to guess anyway.
    """
    found: set[str] = set()
    _, userinfo = split_credentials(url)
    if userinfo:
        user, _, password = userinfo.partition(":")
        found |= {userinfo, user, password}
    for _, value in _secret_parameters(url):
        found.add(value)
    more = set()
    for piece in found:
        more |= {unquote(piece), quote(piece, safe=""), quote(unquote(piece), safe="")}
    return {s for s in found | more if len(s) >= 4}


def printable_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every URL in it made printable and each of ``secrets`` replaced by ``***``.

    For messages that did not come from ingest (exceptions of libraries,
    a server's answer) and may quote a URL in any form. A library quotes a
    value it refuses as Python shows it (h11: ``Illegal header value
    b'...'``), so each secret is also hidden as its ``repr`` spells it.
    """
    if not isinstance(text, str):
        text = str(text)
    for secret in sorted({form for s in secrets if s for form in _quoted_forms(s)}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return _URL_IN_TEXT.sub(lambda m: printable_url(m.group(0)), text)


# --- internals -------------------------------------------------------------


@functools.lru_cache(maxsize=1024)
def _quoted_forms(secret: str) -> tuple[str, ...]:
    """``secret`` as written and as ``repr`` shows it, as text and as UTF-8 bytes (without the quotes)."""
    forms = {secret, repr(secret)[1:-1], repr(secret.encode("utf-8", "surrogatepass"))[2:-1]}
    return tuple(forms)

# a URL inside free text: a scheme and '//', then up to white space or a quote/bracket that ends it
_URL_IN_TEXT = re.compile(r"\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>`]*")


def _authority_start(url: str) -> tuple[str, str, int]:
    """(``scheme://``, the rest, its offset), or offset -1 for a URL without an authority."""
    stripped = url.lstrip()
    lead = len(url) - len(stripped)
    match = _SCHEME.match(stripped)
    if match is None or not stripped[match.end():].startswith("//"):
        # also a scheme-less '//host' (a protocol-relative URL)
        if stripped.startswith("//"):
            return url[:lead + 2], stripped[2:], lead + 2
        return url, "", -1
    cut = lead + match.end() + 2
    return url[:cut], url[cut:], cut


def _bad_port(authority: str) -> bool:
    host = authority.split("?", 1)[0].split("#", 1)[0]
    if host.startswith("["):
        return False
    _, colon, port = host.rpartition(":")
    return bool(colon) and not port.isdigit()


def _normal_key(key: str) -> str:
    return unquote(key).strip().lower().replace("-", "_")


def _pairs(part: str) -> list[tuple[str, str, str]]:
    """``(name, '=', value)`` for each ``&`` or ``;`` separated piece of a query or fragment."""
    return [piece.partition("=") for piece in re.split(r"[&;]", part)]


def _secret_parameters(url: str) -> list[tuple[str, str]]:
    found = []
    for part in _query_and_fragment(url):
        for key, eq, value in _pairs(part):
            if eq and _normal_key(key) in SECRET_KEYS and value:
                found.append((key, value))
    return found


def _query_and_fragment(url: str) -> list[str]:
    parts = []
    _, q, query = url.partition("?")
    if q:
        query, _, fragment = query.partition("#")
        parts += [query, fragment]
    else:
        parts.append(url.partition("#")[2])
    return [p for p in parts if p]


def _mask_parameters(url: str, hide: Callable[[str], str] = lambda value: MASK) -> str:
    if "?" not in url and "#" not in url:
        return url

    def mask(part: str) -> str:
        pieces = []
        for piece in re.split(r"([&;])", part):
            key, eq, value = piece.partition("=")
            if eq and value and _normal_key(key) in SECRET_KEYS:
                piece = f"{key}={hide(value)}"
            pieces.append(piece)
        return "".join(pieces)

    base, q, query = url.partition("?")
    if q:
        query, h, fragment = query.partition("#")
        return base + "?" + mask(query) + (h + mask(fragment) if h else "")
    base, h, fragment = url.partition("#")
    return base + h + mask(fragment)
