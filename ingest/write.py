"""Write files atomically: a site builder never sees a half-written file.

The text goes to a hidden temporary file in the same directory (site builders
skip dot-files), then is renamed over the target in one step.

Making a file durable is a separate step, so that a run can write a whole
feed's files and flush them together: one ``fsync`` per file costs about as
much as everything else a run does for that file. ``flush`` makes a batch
durable with one ``syncfs`` per file system where Linux offers it, else by
syncing each file and directory.
"""

from __future__ import annotations

import functools
import itertools
import os
import sys
from collections.abc import Callable, Iterable

# Paths are taken as str or Path. A run writes thousands of files and keeps
# their names as plain strings: pathlib interns every name it parses, for good.
StrPath = str | os.PathLike[str]

_temp_names = itertools.count()


def write_atomic(path: StrPath, text: str, *, sync: bool = True) -> None:
    """Replace ``path`` with ``text`` in one step.

    ``sync=False`` leaves durability to the caller, who writes a batch of
    files and then calls ``flush`` on them once.
    """
    data = text.encode("utf-8", "surrogateescape")  # an owner's file that is not UTF-8 goes back as it was
    path = os.fspath(path)
    directory, name = os.path.split(path)
    fd, tmp = _create_temp(directory, name)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            if sync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):  # name the file the user will look for, not the temp file
            raise OSError(exc.errno, exc.strerror, path) from exc
        raise
    if sync:
        fsync_dir(directory)


def _create_temp(directory: str, name: str) -> tuple[int, str]:
    """A new hidden file next to ``name``: its descriptor and path.

    The process id and a counter make the name unique among running
    writers; O_EXCL refuses a name already held, such as the temporary file
    of a killed run whose process id came round again, and the next number
    is tried.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    while True:
        tmp = os.path.join(directory, f".{name[:40]}.{os.getpid()}.{next(_temp_names)}.tmp")
        try:
            # 0o666 less the umask: what a plain open() gives, readable by a web server.
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
        except OSError as exc:  # name the file the user will look for, not the temp file
            raise OSError(exc.errno, exc.strerror, os.path.join(directory, name)) from exc


def flush(paths: Iterable[StrPath]) -> None:
    """Make files written with ``sync=False``, and their names, durable.

    Raises OSError when the file system reports that it could not write
    them (a full disk, an I/O error): the caller must not record them as
    written.
    """
    paths = [os.fspath(path) for path in paths]
    if not paths:
        return
    directories = {os.path.dirname(path) for path in paths}
    if _syncfs() is not None:
        devices: dict[int, str] = {}
        for directory in directories:
            devices.setdefault(os.stat(directory).st_dev, directory)
        for directory in devices.values():
            _sync_filesystem(directory)
        return
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    for directory in directories:
        fsync_dir(directory)


@functools.cache
def _syncfs() -> Callable[[int], int] | None:
    """Linux's syncfs(2), which Python's os module does not offer; None elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes  # only runs that write files need it

    try:
        function = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int]
    function.restype = ctypes.c_int
    return function


def _sync_filesystem(directory: str) -> None:
    import ctypes

    syncfs = _syncfs()
    assert syncfs is not None
    fd = os.open(directory, os.O_RDONLY)
    try:
        if syncfs(fd) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, os.strerror(errno), directory)
    finally:
        os.close(fd)


def fsync_dir(directory: StrPath) -> None:
    """Make the rename itself durable, where the platform allows it."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def read_text(path: StrPath) -> str | None:
    """A file's text, or None when there is none.

    Bytes that are not UTF-8 come back as surrogate escapes: such a file
    never equals anything ingest renders, and is written back byte for byte.
    """
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return None
    return data.decode("utf-8", "surrogateescape")


def same_bytes(path: StrPath, text: str) -> bool:
    """Whether ``path`` is a file holding exactly ``text`` (a directory or an unreadable file is not)."""
    try:
        if not os.path.isfile(path):  # never open a directory or a pipe
            return False
        with open(path, "rb") as handle:
            return handle.read() == text.encode("utf-8", "surrogateescape")
    except OSError:
        return False
