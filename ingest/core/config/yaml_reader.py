"""The YAML of ``feeds.yaml`` as nodes that keep their line numbers, and the checked values read from them.

A config mistake is reported with its file, line and key, so the config is
composed into nodes (which know where they were written) rather than loaded
into plain values, and each value is checked as it is read off its node.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from .model import ConfigError

__all__ = ["Entries", "Reader", "check_keys", "compose", "line_of"]

# A mapping's keys, each with the line it is written on and its value's node.
Entries = dict[str, tuple[int, yaml.Node]]

# libyaml's loader reads a long feed list ten times faster and keeps the same line marks.
_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def line_of(node: yaml.Node) -> int:
    """The line ``node`` starts on, counted from 1 as editors do."""
    return node.start_mark.line + 1


def compose(text: str, path: Path) -> yaml.Node | None:
    """The document's root node (None for an empty text); broken YAML is a ConfigError naming its line."""
    try:
        root: yaml.Node | None = yaml.compose(text, Loader=_FAST_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(path, line, None, f"invalid YAML: {problem}") from None
    return root


class Reader:
    """Turns YAML nodes into checked Python values, keeping line numbers."""

    def __init__(self, path: Path):
        self.path = path
        self._loader = yaml.SafeLoader("")

    def value(self, node: yaml.Node) -> Any:
        return self._loader.construct_document(node)

    def mapping(self, node: yaml.Node, key: str) -> Entries:
        if not isinstance(node, yaml.MappingNode):
            raise ConfigError(self.path, line_of(node), key, "must be a mapping of 'key: value' lines")
        entries: Entries = {}
        for key_node, value_node in node.value:
            name = self.value(key_node)
            if not isinstance(name, str):
                raise ConfigError(self.path, line_of(key_node), key, f"keys must be text, got {name!r}")
            if name in entries:
                raise ConfigError(
                    self.path, line_of(key_node), name, f"appears twice (first on line {entries[name][0]})"
                )
            entries[name] = (line_of(key_node), value_node)
        return entries

    def fail(self, entries: Entries, key: str, prefix: str, message: str) -> ConfigError:
        return ConfigError(self.path, entries[key][0], prefix + key, message)

    def string(self, entries: Entries, key: str, prefix: str, default: Any) -> Any:
        if key not in entries:
            return default
        value = self.value(entries[key][1])
        if isinstance(value, (bool, int, float)):  # YAML reads off, no, yes, 1.0 as such
            raise self.fail(entries, key, prefix, f"must be text, not {value!r}; put the value in quotes")
        if not isinstance(value, str) or not value.strip():
            raise self.fail(entries, key, prefix, "must be a non-empty text value")
        return value.strip()

    def integer(self, entries: Entries, key: str, prefix: str, default: int, minimum: int) -> int:
        if key not in entries:
            return default
        value = self.value(entries[key][1])
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.fail(entries, key, prefix, f"must be a whole number of at least {minimum}")
        return value

    def choice(self, entries: Entries, key: str, prefix: str, allowed: tuple[str, ...], default: str) -> str:
        if key not in entries:
            return default
        value = self.value(entries[key][1])
        if value not in allowed:
            raise self.fail(entries, key, prefix, f"{value!r} is not one of: {', '.join(allowed)}")
        return str(value)

    def boolean(self, entries: Entries, key: str, prefix: str) -> bool:
        value = self.value(entries[key][1])
        if not isinstance(value, bool):
            raise self.fail(entries, key, prefix, "must be true or false")
        return value

    def converted(self, entries: Entries, key: str, prefix: str, convert: Callable[[Any], Any]) -> Any:
        """The value of ``key`` passed through ``convert``; its ValueError is the key's message."""
        try:
            return convert(self.value(entries[key][1]))
        except ValueError as exc:
            raise self.fail(entries, key, prefix, str(exc)) from None

    def string_list(self, entries: Entries, key: str, prefix: str) -> tuple[str, ...]:
        """One text or a list of them, blanks dropped."""
        value = self.value(entries[key][1])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) for v in value):
            raise self.fail(entries, key, prefix, "must be a list of text values")
        return tuple(str(v).strip() for v in value if str(v).strip())


def check_keys(reader: Reader, entries: Entries, allowed: set[str], prefix: str) -> None:
    """Refuse the first key not in ``allowed``, listing the known ones."""
    for key, (line, _node) in entries.items():
        if key not in allowed:
            known = ", ".join(sorted(allowed))
            raise ConfigError(reader.path, line, prefix + key, f"unknown key (known keys: {known})")
