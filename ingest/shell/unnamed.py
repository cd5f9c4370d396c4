"""Files without a name until they are complete (Linux ``O_TMPFILE``), and giving them one.

A file opened with ``O_TMPFILE`` lives in its folder's file system but in
no folder: nobody sees it, and if the process dies it is gone. ``linkat``
gives it its name in one step once it is complete. Where either is missing
(another system, a file system without it, a kernel that will not name a
file through ``/proc`` or ``AT_EMPTY_PATH``), the callers use named
temporary files instead, once and for all in this process.
"""

from __future__ import annotations

import errno
import functools
import os
from typing import Any

try:
    import fcntl
except ImportError:  # not POSIX
    fcntl = None  # type: ignore[assignment]

__all__ = ["link_fd", "unnamed"]


_unnamed_works = True  # False once giving an unnamed file a name failed here: named temporary files instead


def unnamed(directory: str) -> int | None:
    """An unnamed file in ``directory`` (Linux ``O_TMPFILE``), locked as being written; None where there is none."""
    flag = getattr(os, "O_TMPFILE", 0)
    if not flag or not _unnamed_works:
        return None
    try:
        fd = os.open(directory, flag | os.O_RDWR | getattr(os, "O_CLOEXEC", 0), 0o666)
    except OSError as exc:
        if exc.errno in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOTSUP):  # file system without it
            return None
        raise OSError(exc.errno, exc.strerror, directory) from exc
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            pass
    return fd


def link_fd(fd: int, path: str) -> bool:
    """Give the unnamed file ``fd`` the name ``path`` (which must not exist: FileExistsError); False if impossible here.

    ``linkat`` through ``/proc/self/fd`` where that works, else with
    ``AT_EMPTY_PATH`` (Linux 6.10 and later let a process name a file it
    opened itself).
    """
    global _unnamed_works
    try:
        os.link(f"/proc/self/fd/{fd}", path, follow_symlinks=True)
        return True
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.ENOENT, errno.EPERM, errno.EACCES, errno.ENOTDIR):
            raise
    libc = _libc()
    if libc is not None:
        if libc.linkat(fd, b"", _AT_FDCWD, os.fsencode(path), _AT_EMPTY_PATH) == 0:
            return True
        import ctypes

        code = ctypes.get_errno()
        if code == errno.EEXIST:
            raise FileExistsError(code, os.strerror(code), path)
        if code not in (errno.EPERM, errno.ENOENT, errno.EACCES, errno.EINVAL, errno.EXDEV):
            raise OSError(code, os.strerror(code), path)
    _unnamed_works = False
    return False


_AT_FDCWD = -100
_AT_EMPTY_PATH = 0x1000


@functools.lru_cache(maxsize=1)
def _libc() -> Any:
    import ctypes  # only where /proc/self/fd cannot name a file

    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


