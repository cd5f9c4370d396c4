"""Every error class of ingest, in one tree.

Every error that ends a command with a message (a config mistake, a store
that cannot be opened, bytes that are not a feed, an output layout that
changed, an OPML file that cannot be read) derives from ``IngestError``, so
a caller embedding ingest can catch them all in one place and let a bug,
which derives from none of them, still surface. Two signals that never
reach the user as such (a refused request, an SVG that cannot be made
safe) live here too, outside that tree. Private exceptions that only steer
the flow inside one function stay in their module, named with a leading
underscore.

    Exception
    ├── IngestError                 a problem ingest describes in one message
    │   ├── ConfigError             the config file: path, line, key
    │   ├── RuleError (ValueError)  an include/exclude rule that cannot be used
    │   ├── RuleTimeout             a rule over its time budget on one entry
    │   ├── SelectorError (ValueError)  a selector: or remove: rule that is no CSS selector
    │   ├── ParseError              bytes that are not a feed we can trust
    │   ├── OpmlError               a file that is not a readable OPML document
    │   ├── StoreError              the store cannot be opened or used
    │   │   ├── StoreLocked         another ingest process holds it
    │   │   └── StoreFailed         a statement failed (either backend)
    │   ├── LayoutChanged           the files were written under another layout
    │   ├── DiscoverError           no feed found on a page
    │   ├── EditError               the config cannot be edited as text
    │   │   └── ConfigChanged       it changed while being edited
    │   └── ImportFailed            an OPML import cannot be written
    │       └── ConfigBusy          the config changed meanwhile
    ├── Refused                     a request URL a guard refused (private address...)
    └── UnsafeSvg (ValueError)      an SVG image that cannot be made safe
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "ConfigBusy", "ConfigChanged", "ConfigError", "DiscoverError", "EditError", "ImportFailed", "IngestError",
    "LayoutChanged", "OpmlError", "ParseError", "Refused", "RuleError", "RuleTimeout", "SelectorError", "StoreError", "StoreFailed", "StoreLocked",
    "UnsafeSvg",
]


class IngestError(Exception):
    """A problem ingest can describe in one message; its subclasses say which kind."""


class ConfigError(IngestError):
    """A problem in the config file, located as precisely as the YAML allows."""

    def __init__(self, path: Path | str, line: int | None, key: str | None, message: str):
        self.path = Path(path)
        self.line = line
        self.key = key
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = str(self.path)
        if self.line is not None:
            where += f":{self.line}"
        key = f" {self.key}:" if self.key else ""
        return f"{where}:{key} {self.message}"


class RuleError(IngestError, ValueError):
    """A rule that cannot be used; the message says why."""


class RuleTimeout(IngestError):
    """A rule went over its time budget on one entry; the message names the rule."""


class SelectorError(IngestError, ValueError):
    """A ``selector:`` or ``remove:`` rule of full articles that is no CSS selector."""


class ParseError(IngestError):
    """The bytes are not a feed we can trust; the message says what they were."""


class OpmlError(IngestError):
    """The file is not an OPML document that can be read at all; nothing is imported from it."""


class StoreError(IngestError):
    """The store cannot be opened or used; the message says why."""


class StoreLocked(StoreError):
    """Another ingest process holds the store."""


class StoreFailed(StoreError):
    """A statement failed on the store: the connection, a conflict with another node, a full disk.

    Both backends raise it (never ``sqlite3`` or ``psycopg`` errors), so a
    use case handles one error: the feed's poll fails and the next one
    tries again.
    """


class LayoutChanged(IngestError):
    """The config asks for a different output layout than the files on disk have."""


class DiscoverError(IngestError):
    """The page could not be fetched, or offers no feed; the message says which."""


class EditError(IngestError):
    """The config cannot be edited as text: its ``feeds:`` is not a list."""


class ConfigChanged(EditError):
    """The config file changed between reading and replacing it; nothing was written, and a retry may succeed."""


class ImportFailed(IngestError):
    """The import cannot be written: the result would not be a valid config."""


class ConfigBusy(ImportFailed):
    """The config changed while the import was prepared; nothing was written, and running it again may succeed."""


class Refused(Exception):
    """A guard's refusal of a request URL; its message says why."""


class UnsafeSvg(ValueError):
    """An SVG that cannot be made safe (or read at all)."""
