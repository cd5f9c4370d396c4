"""Write files atomically: a site builder never sees a half-written file.

The text goes to a hidden temporary file in the same directory (site builders
skip dot-files), then is renamed over the target in one step. The same
directory is the one place sure to be on the target's file system, which a
rename needs.

A process killed between the two steps (SIGKILL, an OOM kill, a container
stop, a power cut) leaves its temporary file behind. Each writer holds an
exclusive ``flock`` on its temporary file until the rename is done, and the
kernel drops the lock when the process dies however it dies, so
``remove_stale_temporaries`` can tell a leftover from a file being written
without trusting process ids, which come round again (a container's first
process always has the same one).

Making a file durable is a separate step, so that a run can write a whole
feed's files and flush them together, off the thread that writes (see
``flush``), while it goes on with other feeds; writing each file back to
disk starts as soon as it is written.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import itertools
import os
import re
import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import asyncio

__all__ = [
    "flush", "Flusher", "fsync_dir", "is_temporary", "read_text", "remove_stale_temporaries", "same_bytes",
    "spool_file", "StrPath", "temporary_file", "write_atomic",
]


from .unnamed import link_fd, unnamed

try:
    import fcntl
except ImportError:  # not POSIX: temporary files are not locked, and leftovers are not removed
    fcntl = None  # type: ignore[assignment]

# Paths are taken as str or Path. A run writes thousands of files and keeps
# their names as plain strings: pathlib interns every name it parses, for good.
StrPath = str | os.PathLike[str]

_temp_names = itertools.count()


def write_atomic(path: StrPath, text: str | bytes, *, sync: bool = True) -> None:
    """Replace ``path`` with ``text`` in one step.

    ``sync=False`` leaves durability to the caller, who writes a batch of
    files and then calls ``flush`` on them once.
    """
    # an owner's file that is not UTF-8 goes back as it was; bytes (an image) are written as they are
    data = text if isinstance(text, bytes) else text.encode("utf-8", "surrogateescape")
    path = os.fspath(path)
    directory, name = os.path.split(path)
    blank = unnamed(directory)
    if blank is not None and _write_unnamed(blank, directory, name, path, data, sync):
        return
    fd, tmp = _create_temp(directory, name)
    try:
        try:
            _fill(fd, data, sync)
            os.replace(tmp, path)  # before the close, which drops the lock that marks the file as being written
        finally:
            os.close(fd)
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


def _fill(fd: int, data: bytes, sync: bool) -> None:
    """All of ``data`` into ``fd``, then on disk (``sync``) or on its way there."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
    if sync:
        os.fsync(fd)
    else:
        _start_writeback(fd)


def spool_file(directory: str) -> tuple[int, str | None]:
    """A file in ``directory`` for bytes that wait (a large image before its post): descriptor, and its path if named.

    On Linux it has no name at all (``O_TMPFILE``): a killed process leaves
    nothing behind. Elsewhere it is a locked temporary file of this module's
    shape, which the next run's sweep of the directory removes.
    """
    fd = unnamed(directory)
    if fd is not None:
        return fd, None
    return _create_temp(directory, "spool")


def _write_unnamed(fd: int, directory: str, name: str, path: str, data: bytes, sync: bool) -> bool:
    """Write ``data`` into the unnamed file ``fd``, then give it ``path``.

    A new file is linked straight to its name (``linkat``): it appears whole
    or not at all, and a kill at any moment leaves nothing. An existing file
    is replaced by linking the complete file under a hidden temporary name
    and renaming that over it: only a kill in the instant between the link
    and the rename leaves that (complete, locked-while-alive) file, which the
    next run's sweep removes. False (nothing written) where the kernel
    will not name an unnamed file: the caller writes a named one.
    """
    tmp = None
    try:
        try:
            _fill(fd, data, sync)
            try:
                if not link_fd(fd, path):
                    return False
            except FileExistsError:
                tmp = _link_temp(fd, directory, name)
                os.replace(tmp, path)  # before the close, which drops the lock that marks the file as being written
                tmp = None
        finally:
            os.close(fd)
    except BaseException as exc:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        if isinstance(exc, OSError):  # name the file the user will look for, not the temp file
            raise OSError(exc.errno, exc.strerror, path) from exc
        raise
    if sync:
        fsync_dir(directory)
    return True


def _link_temp(fd: int, directory: str, name: str) -> str:
    while True:
        tmp = os.path.join(directory, f".{name[:40]}.{os.getpid()}.{next(_temp_names)}.tmp")
        try:
            if not link_fd(fd, tmp):
                raise OSError(errno.EOPNOTSUPP, "cannot name an unnamed file here", tmp)
        except FileExistsError:
            continue
        return tmp


def temporary_file(path: StrPath) -> tuple[int, str]:
    """A new hidden temporary file beside ``path``, locked as being written: its descriptor and path.

    For a writer that must do more than ``write_atomic`` between writing and
    renaming (keep permissions, check the target did not change); a process
    killed before the rename leaves it for ``remove_stale_temporaries``.
    """
    directory, name = os.path.split(os.fspath(path))
    return _create_temp(directory, name)


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
            fd = os.open(tmp, flags, 0o666)
        except FileExistsError:
            continue
        except OSError as exc:  # name the file the user will look for, not the temp file
            raise OSError(exc.errno, exc.strerror, os.path.join(directory, name)) from exc
        if _hold(fd, tmp):
            return fd, tmp
        os.close(fd)  # another process took it for a leftover in the instant before the lock: use another name


def _hold(fd: int, path: str) -> bool:
    """Lock a new temporary file as being written; False if a sweeper got to it first.

    A sweeper may open the file between its creation and this lock, find it
    unlocked and remove it: the lock is then refused, or the name no longer
    leads to this file. On a file system without locks the file is written
    unlocked, and sweepers, unable to lock it either, leave it alone.
    """
    if fcntl is None:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError:
        return True
    return _same_file(fd, path)


def _same_file(fd: int, path: str) -> bool:
    try:
        named = os.stat(path, follow_symlinks=False)
    except OSError:
        return False
    held = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino)


# What _create_temp names: a dot, at most 40 characters of the target's name,
# the writer's process id, a counter, ".tmp".
_TEMP_NAME = re.compile(r"\..{1,40}\.[0-9]+\.[0-9]+\.tmp", re.DOTALL)


def is_temporary(name: str) -> bool:
    """Whether a file name has the shape of this module's temporary files."""
    return name.startswith(".") and name.endswith(".tmp") and _TEMP_NAME.fullmatch(name) is not None


def remove_stale_temporaries(directory: StrPath, *, target: str | None = None) -> list[str]:
    """Remove the temporary files in ``directory`` that no living process is writing.

    Only names of the shape ``_create_temp`` gives are considered (with
    ``target``, only those of that file's temporary copies), and of those
    only files whose writer's lock is gone: a file another process is
    writing this moment, into the same directory, is left alone. Returns
    the paths removed; a directory that does not exist has none.
    """
    prefix = f".{target[:40]}." if target is not None else "."
    if fcntl is None:
        return []
    try:
        entries = os.scandir(directory)
    except (FileNotFoundError, NotADirectoryError):
        return []
    removed = []
    with entries:
        for entry in entries:
            if (
                entry.name.startswith(prefix) and is_temporary(entry.name) and entry.is_file(follow_symlinks=False)
                and _remove_if_abandoned(entry.path)
            ):
                removed.append(entry.path)
    return removed


def _remove_if_abandoned(path: str) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # a living writer holds it, or the file system cannot say: leave it
            return False
        if not _same_file(fd, path):  # renamed into place meanwhile: it is a site file now
            return False
        try:
            os.unlink(path)
        except OSError:
            return False
        return True
    finally:
        os.close(fd)


def flush(paths: Iterable[StrPath]) -> None:
    """Make files written with ``sync=False``, and their names, durable.

    Each file is synced on its own, then each directory once. A ``syncfs``
    of the whole file system would be one call, but it writes back every
    dirty page on it, other programs' included: beside a site build or a
    backup writing gigabytes, one call took 200 ms instead of 1. Syncing
    only ingest's own files costs what ingest wrote, whatever the
    neighbours do. ``write_atomic`` already started writing each file back,
    so by the time it is synced here little is left to wait for: measured
    on 5,000 new files, 0.48 s and 0.22 s of system CPU, against 0.83 s and
    0.30 s without that head start, and more of both with several syncing
    threads.

    Raises OSError when the file system reports that it could not write
    them (a full disk, an I/O error): the caller must not record them as
    written.
    """
    paths = list(dict.fromkeys(os.fspath(path) for path in paths))
    for path in paths:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        try:
            _datasync(fd)
        finally:
            os.close(fd)
    for directory in {os.path.dirname(path) for path in paths}:
        fsync_dir(directory)


# fdatasync writes a file's data and what is needed to read it back (its size, its blocks), not
# its times; where the platform lacks it, fsync.
_datasync = getattr(os, "fdatasync", os.fsync)


@functools.cache
def _writeback_starter() -> Callable[[int], object] | None:
    """Linux's sync_file_range(2) asked to start writing a whole file back, without waiting; None elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes  # only runs that write files need it

    try:
        function = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_longlong, ctypes.c_longlong, ctypes.c_uint]
    function.restype = ctypes.c_int
    return lambda fd: function(fd, 0, 0, _SYNC_FILE_RANGE_WRITE)


_SYNC_FILE_RANGE_WRITE = 2  # from <fcntl.h>


def _start_writeback(fd: int) -> None:
    """Start writing a file's data to disk now, so that ``flush`` later has little to wait for."""
    start = _writeback_starter()
    if start is not None:
        start(fd)  # advisory: a failure here is reported by the sync that follows


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


class Flusher:
    """Makes written files durable in batches, off the event loop.

    A feed's files are written, then handed here; its claims are confirmed
    in the store only once this says they are on disk, so the crash
    guarantees stay what they were. While one batch is being synced, the
    files of feeds that finish meanwhile wait together for the next: the
    disk is asked once per batch, and the loop goes on fetching and writing
    other feeds in the meantime.
    """

    def __init__(self) -> None:
        self._waiting: list[tuple[list[str], asyncio.Future[None]]] = []
        self._syncing: asyncio.Task[None] | None = None

    async def flush(self, paths: list[str]) -> None:
        """Return once ``paths`` are durable; OSError if the file system could not write them."""
        import asyncio  # here, not at the top: commands that only read files run no event loop

        done = asyncio.get_running_loop().create_future()
        self._waiting.append((paths, done))
        if self._syncing is None or self._syncing.done():
            self._syncing = asyncio.ensure_future(self._sync())
        await done

    async def _sync(self) -> None:
        import asyncio

        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                await asyncio.to_thread(flush, [path for paths, _done in batch for path in paths])
            except OSError as exc:  # every file of the batch stays unconfirmed, and is written again next time
                for _paths, done in batch:
                    if not done.done():
                        done.set_exception(exc)
            else:
                for _paths, done in batch:
                    if not done.done():
                        done.set_result(None)
