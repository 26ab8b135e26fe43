"""The one way the index reads a file it opens by name, so that no checkout can hang or exhaust it.

A repository decides what its files are: `go.mod -> /dev/zero`, a FIFO named `.gitignore`, a
50 MB `package.json`, a symlink into the user's home. Every read goes through `read_file`:

* only regular files are read: a FIFO, socket or device is refused before a byte is read;
* the file is opened with O_NONBLOCK, so that even opening a FIFO cannot wait for a writer;
* at most `limit` bytes are read, whatever the file's size;
* with `within` (a resolved directory), a symlink, or a symlinked directory on the way, that
  leads out of it is refused: a final symlink before anything is opened, a directory one as
  soon as the kernel says where the open landed.

`Refused` (an OSError) is raised for what must not be read; callers treat it as any other
unreadable file. Nothing here blocks on the file system beyond what reading a regular file
does; a hung network mount still blocks, so callers on an event loop use a thread.
"""

from __future__ import annotations

import errno
import os
import stat

from rtk_lsp.paths import inside

# Enough for any honest config, ignore or ref file; a larger one is read up to here.
SMALL_FILE_LIMIT = 1 << 20

_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CHUNK = 1 << 20


class Refused(OSError):
    """A file that must not be read: not a regular file, or (through a symlink) outside the root."""


def _open(path: str, within: str | None) -> int:
    try:
        return os.open(path, _FLAGS | _NOFOLLOW)
    except OSError as exc:
        # ELOOP (EMLINK on some BSDs): the last component is a symlink. Follow it only
        # after checking where it leads, so that nothing outside the root is even opened.
        if exc.errno not in (errno.ELOOP, errno.EMLINK) or not _NOFOLLOW:
            raise
    target = os.path.realpath(path)
    if within is not None and not inside(target, within):
        raise Refused(errno.EACCES, "symlink leads outside the workspace", path)
    return os.open(target, _FLAGS | _NOFOLLOW)


def _landed_outside(fd: int, path: str, within: str) -> bool:
    try:
        where = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:  # no /proc here: resolve the path instead
        where = os.path.realpath(path)
    return not inside(where.removesuffix(" (deleted)"), within)


def read_file(path: str, limit: int, within: str | None = None) -> tuple[bytes, os.stat_result]:
    """At most `limit` bytes of the regular file at `path`, and its stat.

    Raises OSError for a file that cannot be read, `Refused` for one that must not be.
    `within` must be a resolved path (`os.path.realpath`).
    """
    fd = _open(path, within)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise Refused(errno.EINVAL, "not a regular file", path)
        if within is not None and _landed_outside(fd, path, within):
            raise Refused(errno.EACCES, "a symlinked directory leads outside the workspace", path)
        chunks = []
        left = limit
        want = min(left, st.st_size + 1 if st.st_size else _CHUNK)
        while left > 0:
            chunk = os.read(fd, max(1, min(left, want)))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
            want = _CHUNK
        return b"".join(chunks), st
    finally:
        os.close(fd)


def read_text(path: str, limit: int = SMALL_FILE_LIMIT, within: str | None = None) -> str | None:
    """The first `limit` bytes of a small text file (config, ignore rules, git refs), decoded
    with replacement; None when it is missing, unreadable or refused."""
    try:
        data, _ = read_file(path, limit, within)
    except OSError:
        return None
    return data.decode("utf-8", errors="replace")
