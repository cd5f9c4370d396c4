"""Add feeds to the user's config file without touching anything the user wrote.

A config is the user's own text: comments, blank lines, key order, quoting
and alignment all carry meaning to them. Rather than load the YAML and dump
it again (which normalises spacing and quoting even with a round-trip
library), new feeds are inserted as text at the end of the ``feeds:`` list,
indented like the items already there. Every byte of the original stays
where it was, so ``git diff`` on the config shows exactly the added lines.

The file is replaced in one step: the new text is validated with the normal
config loader, written to a temporary file beside the config with the
config's permissions (it may hold passwords), and renamed over it, and only
if the config is still the text that was edited. A bad result never
replaces a good config.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigChanged, EditError
from .write import fsync_dir

__all__ = ["append_feeds", "ConfigChanged", "EditError", "NewFeed", "replace_config"]


@dataclass(frozen=True)
class NewFeed:
    """A feed to append: its keys in the order they are written, and a comment for its first line."""

    settings: Mapping[str, Any]
    comment: str = ""


def append_feeds(text: str, feeds: Sequence[NewFeed]) -> str:
    # complexity: each shape the config's feeds: may have on disk (block, flow, empty, missing) is one branch
    """``text`` with ``feeds`` added at the end of its top-level ``feeds:`` list, and nothing else changed."""
    if not feeds:
        return text
    newline = "\r\n" if "\r\n" in text else "\n"
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if root is not None and not isinstance(root, yaml.MappingNode):
        raise EditError("the config is not a mapping of 'key: value' lines")
    entry = _feeds_entry(root)
    if entry is None:  # no feeds: key at all: start the list at the end of the file
        block = _block(feeds, dash=2, content=4, newline=newline)
        separator = "" if not text or text.endswith(("\n", "\r")) else newline
        return f"{text}{separator}feeds:{newline}{block}"
    key, value = entry
    if isinstance(value, yaml.SequenceNode) and value.flow_style and (value.value or (root is not None and root.flow_style)):
        return _into_flow(text, value, feeds)
    if isinstance(value, yaml.SequenceNode) and value.value:
        dash = value.start_mark.column
        first = value.value[0]
        content = first.start_mark.column if first.start_mark.line == value.start_mark.line else dash + 2
        content = max(content, dash + 2)
        after = _line_end(text, _last_index(value))
        after = _after_list_comments(text, after, deeper_than=key.start_mark.column)
        return _insert(text, after, _block(feeds, dash, content, newline), newline)
    if (isinstance(value, yaml.SequenceNode) and not value.value) or (
        isinstance(value, yaml.ScalarNode) and value.tag == "tag:yaml.org,2002:null"
    ):
        # `feeds: []` or `feeds:` alone: the `[]` goes, the items follow on their own lines
        dash = key.start_mark.column + 2
        cut_from, cut_to = value.start_mark.index, value.end_mark.index
        before, rest = text[:cut_from], text[cut_to:]
        if not rest.split("\n", 1)[0].strip():  # nothing but the list on that line: no trailing blanks left
            before = before.rstrip(" \t")
            cut_from = len(before)
        text = before + rest
        after = _line_end(text, cut_from)
        return _insert(text, after, _block(feeds, dash, dash + 2, newline), newline)
    raise EditError(f"line {value.start_mark.line + 1}: 'feeds' is not a list; cannot add feeds to it")


def replace_config(path: Path, text: str, original: bytes) -> None:
    """Replace the config at ``path`` with ``text`` in one step, if it still holds ``original``.

    A symlinked config is written where the link points, so the link stays.
    The new file gets the old one's permissions (and owner, where allowed).
    """
    real = Path(os.path.realpath(path))
    info = real.stat()
    fd, tmp = tempfile.mkstemp(prefix=f".{real.name}.", suffix=".tmp", dir=real.parent)
    try:
        try:
            os.fchmod(fd, stat.S_IMODE(info.st_mode))
            try:
                os.fchown(fd, info.st_uid, info.st_gid)
            except PermissionError:
                pass
            view = memoryview(text.encode("utf-8", "surrogateescape"))
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        if real.read_bytes() != original:
            raise ConfigChanged(f"{path} changed while the import was prepared; nothing was written, try again")
        os.replace(tmp, real)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    fsync_dir(real.parent)


# --- internals -------------------------------------------------------------


def _feeds_entry(root: yaml.Node | None) -> tuple[yaml.Node, yaml.Node] | None:
    if root is None:
        return None
    for key, value in root.value:
        if isinstance(key, yaml.ScalarNode) and key.value == "feeds":
            return key, value
    return None


def _block(feeds: Sequence[NewFeed], dash: int, content: int, newline: str) -> str:
    """The feeds as block-sequence items whose ``-`` is at column ``dash`` and keys at ``content``."""
    lines: list[str] = []
    for feed in feeds:
        for index, (key, value) in enumerate(feed.settings.items()):
            line = f"{key}: {_flow(value)}"
            if index == 0:
                line = " " * dash + "-" + " " * (content - dash - 1) + line
                if feed.comment:
                    line += "  # " + feed.comment
            else:
                line = " " * content + line
            lines.append(line + newline)
    return "".join(lines)


def _flow(value: Any) -> str:
    """``value`` as a block value on one line: a scalar quoted as needed, a list as ``[a, b]``."""
    if isinstance(value, (list, tuple)):
        return yaml.safe_dump(list(value), default_flow_style=True, allow_unicode=True, width=2**31).strip()
    dumped = yaml.safe_dump({"k": value}, default_flow_style=False, allow_unicode=True, width=2**31)
    return dumped.strip()[len("k: "):]


def _into_flow(text: str, sequence: yaml.SequenceNode, feeds: Sequence[NewFeed]) -> str:
    """A flow list (``feeds: [{url: a}]``) stays one: the feeds go in before its ``]``, comments dropped."""
    items = [
        yaml.safe_dump(dict(feed.settings), default_flow_style=True, allow_unicode=True, width=2**31, sort_keys=False).strip()
        for feed in feeds
    ]
    close = sequence.end_mark.index - 1  # the ']'
    joined = ", ".join(items)
    return text[:close].rstrip() + (", " if sequence.value else "") + joined + text[close:]


def _last_index(node: yaml.Node, seen: set[int] | None = None) -> int:
    """Where the last character of ``node``'s own text is (block collections end where the next token starts)."""
    seen = set() if seen is None else seen
    if id(node) in seen:
        return 0
    seen.add(id(node))
    if isinstance(node, yaml.ScalarNode) or getattr(node, "flow_style", False):
        end = node.end_mark.index
        return max(node.start_mark.index, end - 1)
    children: list[yaml.Node] = []
    for child in node.value:
        children.extend(child if isinstance(child, tuple) else (child,))
    return max((_last_index(child, seen) for child in children), default=node.start_mark.index)


def _line_end(text: str, index: int) -> int:
    """The index just past the line break that ends the line holding ``index``."""
    newline = text.find("\n", index)
    return len(text) if newline < 0 else newline + 1


def _after_list_comments(text: str, start: int, deeper_than: int) -> int:
    """Past the comment lines that still belong to the list (indented more than ``feeds:``), such as commented-out feeds."""
    position = end = start
    while position < len(text):
        line_end = _line_end(text, position)
        line = text[position:line_end]
        stripped = line.lstrip(" ")
        if stripped.startswith("#") and len(line) - len(stripped) > deeper_than:
            end = line_end
        elif stripped.strip():
            break
        position = line_end
    return end


def _insert(text: str, at: int, block: str, newline: str) -> str:
    before = text[:at]
    if before and not before.endswith(("\n", "\r")):
        before += newline
    return before + block + text[at:]
