"""The last guard on what a command prints: every URL printable, no secret of the config.

Each output path already names URLs through ``core.printable.printable_url``.
A library's exception may still quote a URL (or a piece of one it could not
parse) in any form, so while a command runs its standard output and error
(and so every log handler that writes to them) pass through
``printable_text`` with the literal secrets of the loaded config: user names,
passwords, secret parameter values and secret headers, as written, decoded,
percent-encoded and JSON-escaped.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

from ..core.printable import printable_text

__all__ = ["add_secrets", "scrubbed_streams", "scrub"]


_secrets: set[str] = set()


def add_secrets(secrets: Iterable[str]) -> None:
    """Hide these literals (and their JSON-escaped forms) from every output from now on."""
    for secret in secrets:
        _secrets.add(secret)
        for ascii_only in (True, False):
            _secrets.add(json.dumps(secret, ensure_ascii=ascii_only)[1:-1])


def scrub(text: str) -> str:
    """``text`` as it may be printed."""
    return printable_text(text, _secrets)


class _Scrubbing:
    """A text stream that scrubs what is written to it and is the wrapped stream in every other way."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(scrub(text))
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextlib.contextmanager
def scrubbed_streams() -> Iterator[None]:
    """Standard output and error scrubbed for the duration of a command."""
    saved = sys.stdout, sys.stderr
    sys.stdout = _Scrubbing(sys.stdout)
    sys.stderr = _Scrubbing(sys.stderr)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved
        _secrets.clear()
