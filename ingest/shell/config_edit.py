"""Add feeds to the user's config file without touching anything the user wrote.

A config is the user's own text: comments, blank lines, key order, quoting
and alignment all carry meaning to them. Rather than load the YAML and dump
it again (which normalises spacing and quoting even with a round-trip
library), new feeds are inserted as text at the end of the ``feeds:`` list,
indented like the items already there. Every byte of the original stays
where it was, so ``git diff`` on the config shows exactly the added lines.

The file is replaced in one step: the new text is validated with the normal
config loader, written to a file without a name beside the config with the
config's permissions (it may hold passwords), and renamed over it, and only
if the config is still the text that was edited. A bad result never
replaces a good config, and a killed import leaves nothing beside it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import itertools
import os
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigChanged, EditError
from .write import fsync_dir, remove_stale_temporaries, temporary_file

__all__ = ["append_feeds", "ConfigChanged", "EditError", "NewFeed", "remove_abandoned_copies", "replace_config"]


@dataclass(frozen=True)
class NewFeed:
    """A feed to append: its keys in the order they are written, and a comment for its first line."""

    settings: Mapping[str, Any]
    comment: str = ""


def append_feeds(text: str, feeds: Sequence[NewFeed]) -> str:
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
        return _after_last_item(text, key, value, feeds, newline)
    if (isinstance(value, yaml.SequenceNode) and not value.value) or (
        isinstance(value, yaml.ScalarNode) and value.tag == "tag:yaml.org,2002:null"
    ):
        return _into_empty(text, key, value, feeds, newline)
    raise EditError(f"line {value.start_mark.line + 1}: 'feeds' is not a list; cannot add feeds to it")


def _after_last_item(
    text: str, key: yaml.Node, value: yaml.SequenceNode, feeds: Sequence[NewFeed], newline: str,
) -> str:
    """A block list with items: the new items follow the last one (and its comments), indented as the first."""
    dash = value.start_mark.column
    first = value.value[0]
    content = first.start_mark.column if first.start_mark.line == value.start_mark.line else dash + 2
    content = max(content, dash + 2)
    after = _line_end(text, _last_index(value))
    after = _after_list_comments(text, after, deeper_than=key.start_mark.column)
    return _insert(text, after, _block(feeds, dash, content, newline), newline)


def _into_empty(text: str, key: yaml.Node, value: yaml.Node, feeds: Sequence[NewFeed], newline: str) -> str:
    """`feeds: []` or `feeds:` alone: the `[]` goes, the items follow on their own lines."""
    dash = key.start_mark.column + 2
    cut_from, cut_to = value.start_mark.index, value.end_mark.index
    before, rest = text[:cut_from], text[cut_to:]
    if not rest.split("\n", 1)[0].strip():  # nothing but the list on that line: no trailing blanks left
        before = before.rstrip(" \t")
        cut_from = len(before)
    text = before + rest
    after = _line_end(text, cut_from)
    return _insert(text, after, _block(feeds, dash, dash + 2, newline), newline)


def replace_config(path: Path, text: str, original: bytes | None) -> None:
    """Replace the config at ``path`` with ``text`` in one step, if it still holds ``original``.

    ``original`` None: there is no config yet, and one is created (with its
    directory) unless a file appeared there meanwhile. A symlinked config is
    written where the link points, so the link stays. The new file gets the
    old one's permissions (and owner, where allowed).

    The text is written to a file without a name (Linux's ``O_TMPFILE``),
    which gets one only to be renamed over the config at once, so an import
    killed at any moment leaves nothing beside it. Where the file system
    cannot do that, a named temporary copy is written, locked while it is
    written; one left by a killed import is removed by the next
    (``remove_abandoned_copies``).
    """
    real = Path(os.path.realpath(path))
    data = text.encode("utf-8", "surrogateescape")
    if original is None:
        real.parent.mkdir(parents=True, exist_ok=True)
        mode, owner = 0o666 & ~_umask(), None
    else:
        info = real.stat()
        mode, owner = stat.S_IMODE(info.st_mode), (info.st_uid, info.st_gid)
    with _Copy(real, data, mode, owner) as copy:
        if original is None:
            try:
                copy.link(real)  # refused if a config appeared meanwhile
            except FileExistsError:
                raise ConfigChanged(f"{path} was created while the import was prepared; nothing was written, try again") from None
        else:
            if real.read_bytes() != original:
                raise ConfigChanged(f"{path} changed while the import was prepared; nothing was written, try again")
            copy.rename(real)
    fsync_dir(real.parent)


def remove_abandoned_copies(path: Path) -> list[str]:
    """Remove the temporary copies of the config at ``path`` that a killed import left; the paths removed."""
    real = Path(os.path.realpath(path))
    try:
        return remove_stale_temporaries(real.parent, target=real.name)
    except OSError:
        return []


class _Copy:
    """The new config's bytes in a file beside it, durable, with no name or a locked temporary one."""

    def __init__(self, real: Path, data: bytes, mode: int, owner: tuple[int, int] | None) -> None:
        self.real, self.data, self.mode, self.owner = real, data, mode, owner
        self.fd = -1
        self.tmp: str | None = None  # None while the file has no name

    def __enter__(self) -> _Copy:
        try:
            self.fd = os.open(self.real.parent, os.O_TMPFILE | os.O_WRONLY | os.O_CLOEXEC, self.mode)
        except (AttributeError, OSError):  # not Linux, or a file system without O_TMPFILE
            self.fd, self.tmp = temporary_file(self.real)
        try:
            self._fill(self.fd)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _fill(self, fd: int) -> None:
        os.fchmod(fd, self.mode)
        if self.owner is not None:
            with contextlib.suppress(PermissionError):
                os.fchown(fd, *self.owner)
        view = memoryview(self.data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)

    def link(self, target: Path) -> None:
        """Give the copy the name ``target``, which must not exist."""
        if self.tmp is None and self._link_unnamed(str(target)):
            return
        if self.tmp is None:
            self._named()
        assert self.tmp is not None
        os.link(self.tmp, target)

    def rename(self, target: Path) -> None:
        """Put the copy in ``target``'s place in one step (before the close, which drops the copy's lock)."""
        if self.tmp is None:
            self._named()
        assert self.tmp is not None
        os.replace(self.tmp, target)
        self.tmp = None

    def _link_unnamed(self, name: str) -> bool:
        """Give the unnamed copy ``name`` (FileExistsError if taken); False where the system cannot.

        linkat(2) with AT_EMPTY_PATH first (the stdlib's os.link has no way
        to ask for it); then through /proc, which some systems refuse
        (EXDEV) or do not mount.
        """
        if _flink(self.fd, name):
            return True
        try:
            os.link(f"/proc/self/fd/{self.fd}", name, follow_symlinks=True)
        except FileExistsError:
            raise
        except OSError:  # the copy is written again under a temporary name
            return False
        return True

    def _named(self) -> None:
        """A temporary name for the copy, which lives only until the rename that follows.

        The copy is locked first, so no sweeper takes it for a killed import's
        leftover in that instant.
        """
        with contextlib.suppress(OSError):
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        for n in itertools.count():
            tmp = os.path.join(self.real.parent, f".{self.real.name[:40]}.{os.getpid()}.{n}.tmp")
            try:
                if self._link_unnamed(tmp):
                    self.tmp = tmp
                    return
            except FileExistsError:
                continue
            break
        fd, tmp = temporary_file(self.real)  # no /proc: the copy is written again under a temporary name
        os.close(self.fd)
        self.fd, self.tmp = fd, tmp
        self._fill(fd)

    def __exit__(self, *exc: object) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        if self.tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(self.tmp)
            self.tmp = None


def _flink(fd: int, name: str) -> bool:
    """linkat(fd, "", AT_FDCWD, name, AT_EMPTY_PATH): True when done, FileExistsError if ``name`` exists."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        linkat = libc.linkat
    except (OSError, AttributeError):
        return False
    if linkat(fd, b"", _AT_FDCWD, os.fsencode(name), _AT_EMPTY_PATH) == 0:
        return True
    if ctypes.get_errno() == errno.EEXIST:
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), name)
    return False  # not permitted to this user (older kernels ask for CAP_DAC_READ_SEARCH), or not Linux


_AT_FDCWD = -100
_AT_EMPTY_PATH = 0x1000


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


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
