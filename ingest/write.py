"""Write files atomically: a site builder never sees a half-written file.

The text goes to a hidden temporary file in the same directory (site builders
skip dot-files), is flushed to disk, then renamed over the target in one step.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def _file_mode() -> int:
    """What a plain open() would give: mkstemp's 0600 is too strict for a web server."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


FILE_MODE = _file_mode()

def write_atomic(path: Path, text: str, *, sync_dir: bool = True) -> None:
    """Replace ``path`` with ``text`` in one step.

    ``sync_dir=False`` leaves the directory flush to the caller, who may
    batch many files and call ``fsync_dir`` once.
    """
    data = text.encode("utf-8")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:40]}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(exc, OSError):  # name the file the user will look for, not the temp file
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        raise
    if sync_dir:
        fsync_dir(path.parent)


def fsync_dir(directory: Path) -> None:
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


def same_bytes(path: Path, text: str) -> bool:
    """Whether ``path`` is a file holding exactly ``text`` (a directory or an unreadable file is not)."""
    try:
        return path.is_file() and path.read_bytes() == text.encode("utf-8")
    except OSError:
        return False
