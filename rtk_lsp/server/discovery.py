"""Discovery files: how the CLI, the Claude Code hook and scripts find a running HTTP server.

Each running server (a `rtk-lsp serve` daemon, or a language server's embedded endpoint)
keeps one JSON file in `$XDG_RUNTIME_DIR/rtk-lsp/` (else `<cache dir>/servers/`):

    {"pid": 4242, "pid_start": "123456", "url": "http://127.0.0.1:40123", "token": "...",
     "roots": ["/home/me/src/shop"], "allow": [], "kind": "serve", "version": "0.1.0",
     "started_at": 1760000000.0}

The directory is 0700 and each file 0600: the token in it is the only credential the
server accepts. A file whose process is gone is stale; readers delete it. `pid_start`
(the process start time from /proc) tells a live server from an unrelated process that
inherited a dead server's pid.

This module is imported by every `rtk-lsp plan`, so it uses the standard library only and
answers "no server" in well under a millisecond when there is none.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import http.client
import json
import logging
import os
import secrets
import stat
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from rtk_lsp import __version__
from rtk_lsp.paths import cache_dir, innermost, inside
from rtk_lsp.plan.request import PlanRequest

logger = logging.getLogger(__name__)

PREFIX = "server-"
SUFFIX = ".json"
CONNECT_TIMEOUT = 0.5  # seconds: a loopback connect either works at once or not at all
PLAN_TIMEOUT = 15.0  # seconds for a whole plan request, index wait included
INDEX_WAIT = 5.0  # seconds a CLI plan lets the server wait for a first index before computing itself
MAX_RESPONSE = 64 * 1024 * 1024


def discovery_dir() -> str:
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isabs(runtime) and os.path.isdir(runtime):
        return os.path.join(runtime, "rtk-lsp")
    return os.path.join(cache_dir(), "servers")


def new_token() -> str:
    return secrets.token_urlsafe(32)


def process_start(pid: int) -> str | None:
    """The start time of a process (clock ticks since boot), or None where /proc has no answer."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
    fields = data[data.rfind(b")") + 2 :].split()
    return fields[19].decode() if len(fields) > 19 else None


def pid_alive(pid: int, start: str | None = None) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, as someone else: then it is not our server, unless /proc says otherwise
    if start is None:
        return True
    now = process_start(pid)
    return now is None or now == start


def _private_dir(path: str, create: bool) -> bool:
    """True if `path` is a directory only this user can write (created 0700 when asked to)."""
    if create:
        try:
            os.makedirs(path, mode=0o700, exist_ok=True)
        except OSError as exc:
            logger.warning("cannot create %s: %s", path, exc)
            return False
    try:
        st = os.lstat(path)
    except OSError:
        return False
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
        logger.warning("ignoring discovery directory %s: not a directory of this user", path)
        return False
    if st.st_mode & 0o077:
        if st.st_uid == os.getuid() and create:
            with contextlib.suppress(OSError):
                os.chmod(path, 0o700)  # ours, made with a lax umask by an older version
                return True
        logger.warning("ignoring discovery directory %s: other users can access it", path)
        return False
    return True


@dataclass(frozen=True)
class ServerInfo:
    path: str
    pid: int
    url: str
    token: str | None
    roots: tuple[str, ...]
    allow: tuple[str, ...]
    kind: str
    version: str
    started_at: float

    def covers(self, path: str) -> int:
        """How specific this server is for `path`: the length of the root containing it, else -1.

        A served root beats a directory it would merely open on demand (`allow`).
        """
        root = innermost(path, self.roots, str)
        if root is not None:
            return (1 << 20) + len(root)
        allowed = innermost(path, self.allow, str)
        return len(allowed) if allowed is not None else -1

    def may_answer_as_root(self, path: str) -> bool:
        """Whether this server's plan for `path` can be a plan of `path` itself: it serves `path`,
        or no root of its holds `path` and it would open `path` on demand (which the answer's
        `root` confirms). A server of a directory above `path` answers with that directory's plan."""
        return path in self.roots or (
            innermost(path, self.roots, str) is None and innermost(path, self.allow, str) is not None
        )


def _parse(path: str, data: Any) -> ServerInfo | None:
    if not isinstance(data, Mapping):
        return None
    pid, url, token = data.get("pid"), data.get("url"), data.get("token")
    roots, allow = data.get("roots", []), data.get("allow", [])
    if not isinstance(pid, int) or not isinstance(url, str) or not url.startswith("http://"):
        return None
    if token is not None and not isinstance(token, str):
        return None
    if not all(isinstance(r, str) for r in [*roots, *allow]):
        return None
    return ServerInfo(
        path=path,
        pid=pid,
        url=url,
        token=token,
        roots=tuple(roots),
        allow=tuple(allow),
        kind=str(data.get("kind", "")),
        version=str(data.get("version", "")),
        started_at=float(data.get("started_at", 0.0)),
    )


def list_servers(directory: str | None = None, *, clean: bool = True) -> list[ServerInfo]:
    """Live servers, newest first; stale and unreadable files are removed when `clean`."""
    directory = directory or discovery_dir()
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    if not _private_dir(directory, create=False):
        return []
    found: list[ServerInfo] = []
    for name in names:
        if not (name.startswith(PREFIX) and name.endswith(SUFFIX)):
            continue
        path = os.path.join(directory, name)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            continue
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid() or st.st_size > 1 << 16:
                continue
            with os.fdopen(fd, "rb", closefd=False) as f:
                raw = f.read(1 << 16)
        except OSError:
            continue
        finally:
            os.close(fd)
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        info = _parse(path, data)
        start = data.get("pid_start") if isinstance(data, Mapping) else None
        if info is None or not pid_alive(info.pid, start if isinstance(start, str) else None):
            if clean:
                logger.debug("removing stale discovery file %s", path)
                with contextlib.suppress(OSError):
                    os.unlink(path)
            continue
        found.append(info)
    found.sort(key=lambda s: -s.started_at)
    return found


def servers_for(path: str, directory: str | None = None) -> list[ServerInfo]:
    """Live servers that serve `path` (or a directory above it), the most specific first."""
    real = os.path.realpath(path)
    scored = [(s.covers(real), s) for s in list_servers(directory)]
    return [s for score, s in sorted(scored, key=lambda t: -t[0]) if score >= 0]


class Announcement:
    """This process's discovery file: published once listening, rewritten when roots change."""

    def __init__(
        self,
        url: str,
        token: str | None,
        kind: str,
        roots: Iterable[str] = (),
        allow: Iterable[str] = (),
        directory: str | None = None,
    ) -> None:
        self.url = url
        self.token = token
        self.kind = kind
        self.roots = tuple(roots)
        self.allow = tuple(allow)
        self.directory = directory or discovery_dir()
        self.pid = os.getpid()
        self.path = os.path.join(self.directory, f"{PREFIX}{self.pid}{SUFFIX}")
        self.started_at = time.time()
        self.published = False

    def content(self) -> dict[str, Any]:
        return {
            "pid": self.pid,
            "pid_start": process_start(self.pid),
            "url": self.url,
            "token": self.token,
            "roots": list(self.roots),
            "allow": list(self.allow),
            "kind": self.kind,
            "version": __version__,
            "started_at": self.started_at,
        }

    def publish(self) -> str:
        """Write the file atomically, mode 0600. Raises OSError when the directory is unusable."""
        if not _private_dir(self.directory, create=True):
            raise PermissionError(f"discovery directory {self.directory} is not private to this user")
        data = json.dumps(self.content(), indent=2).encode()
        tmp = os.path.join(self.directory, f".{PREFIX}{self.pid}-{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            try:
                os.fchmod(fd, 0o600)  # whatever the umask said
                view = memoryview(data)
                while view:  # a short write is not an error; a full disk is
                    view = view[os.write(fd, view) :]
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)  # never a half-written (or empty) file left behind
            raise
        self.published = True
        return self.path

    def set_roots(self, roots: Iterable[str]) -> None:
        roots = tuple(roots)
        if roots == self.roots:
            return
        self.roots = roots
        if self.published:
            try:
                self.publish()
            except OSError as exc:
                logger.warning("cannot update discovery file %s: %s", self.path, exc)

    def withdraw(self) -> None:
        """Remove the file if it is still ours (idempotent; safe from atexit)."""
        if not self.published:
            return
        self.published = False
        try:
            with open(self.path, "rb") as f:
                data = json.loads(f.read())
            if isinstance(data, Mapping) and data.get("pid") == self.pid:
                os.unlink(self.path)
        except (OSError, ValueError):
            pass


# ---- which directory is a project, and one daemon per project --------------------------------------


def too_broad(path: str) -> bool:
    """`/`, the home directory or a directory above it: nobody means one of those as a project."""
    real = os.path.realpath(path)
    home = os.path.realpath(os.path.expanduser("~"))
    return real == os.sep or inside(home, real)


def project_top(path: str, base: str | None = None) -> str:
    """The git work tree holding `path` (never above `base`, nor a too-broad one), else `path`."""
    real = os.path.realpath(path)
    d = real
    while (base is None or inside(d, base)) and not too_broad(d):
        if os.path.exists(os.path.join(d, ".git")):
            return d
        parent = os.path.dirname(d)
        if parent == d:
            break
        d = parent
    return real


def _lock_path(kind: str, root: str) -> str:
    digest = hashlib.sha1(os.path.realpath(root).encode("utf-8", errors="surrogateescape")).hexdigest()[:16]
    return os.path.join(discovery_dir(), f"{kind}-{digest}.lock")


def take_lock(kind: str, root: str, *, wait: float = 0.0) -> int | None:
    """An exclusive lock on `root` for this process: the open fd holding it, or None if another has it.

    "serve" is held by an exclusive daemon for its whole life (the kernel drops it when the
    process dies, however it dies); "spawn" by a hook while it starts one.
    """
    directory = discovery_dir()
    if not _private_dir(directory, create=True):
        return None
    fd = os.open(_lock_path(kind, root), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() >= deadline:
                os.close(fd)
                return None
            time.sleep(0.02)


def lock_held(kind: str, root: str) -> bool:
    """True while some process holds `kind` for `root` (a daemon runs, or is starting)."""
    fd = take_lock(kind, root)
    if fd is None:
        return True
    os.close(fd)
    return False


# ---- client ------------------------------------------------------------------------------------


class ServerError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"HTTP {status} {code}: {message}")
        self.status = status
        self.code = code


def call(
    server: ServerInfo,
    method: str,
    path: str,
    body: Mapping[str, Any] | None = None,
    *,
    timeout: float = PLAN_TIMEOUT,
    wait: float | None = None,
) -> Any:
    """One JSON request to a discovered server. Raises OSError, ServerError or ValueError."""
    parts = urlsplit(server.url)
    if parts.hostname is None or parts.port is None:
        raise ValueError(f"bad server URL {server.url!r}")
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=min(CONNECT_TIMEOUT, timeout))
    try:
        conn.connect()
        if conn.sock is not None:
            conn.sock.settimeout(timeout)
        headers = {"Accept": "application/json", "Host": f"127.0.0.1:{parts.port}"}
        if server.token:
            headers["Authorization"] = f"Bearer {server.token}"
        if wait is not None:
            headers["Prefer"] = f"wait={max(0.0, wait):g}"
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=payload, headers=headers)
        response = conn.getresponse()
        data = response.read(MAX_RESPONSE + 1)
        if len(data) > MAX_RESPONSE:
            raise ValueError("response too large")
        decoded = json.loads(data)
        if response.status != 200:
            error = decoded.get("error", {}) if isinstance(decoded, dict) else {}
            raise ServerError(response.status, str(error.get("code", "")), str(error.get("message", "")))
        return decoded
    finally:
        conn.close()


def plan_from(
    server: ServerInfo,
    root: str,
    request: PlanRequest,
    *,
    timeout: float = PLAN_TIMEOUT,
    wait: float = INDEX_WAIT,
    session: str | None = None,
) -> dict[str, Any]:
    """One plan of `root` (a resolved path) from one server; `session`: see plan_via_running_server.

    Raises OSError, ServerError (503 `index_not_ready` while its first index builds past
    `wait` seconds), ValueError or http.client.HTTPException.
    """
    body: dict[str, Any] = {
        "project_root": root,
        "task": request.task,
        "token_budget": request.budget,
        "detail": request.detail,
    }
    if session is not None:
        body["session"] = session
    result = call(server, "POST", "/v1/plan-context", body, timeout=timeout, wait=wait)
    if not isinstance(result, dict):
        raise ValueError(f"the answer is a JSON {type(result).__name__}, not a plan")
    return result


def plan_via_running_server(
    root: str,
    request: PlanRequest,
    *,
    timeout: float = PLAN_TIMEOUT,
    wait: float = INDEX_WAIT,
    directory: str | None = None,
    exact: bool = False,
    session: str | None = None,
) -> dict[str, Any] | None:
    """The plan from a live server serving `root` (or, unless `exact`, a parent of it); None on any failure.

    None means "compute it yourself": no server, a stale file (removed on the way), a server
    still indexing past `wait` seconds, a refused token, or a timeout. With `exact`, only a
    plan whose root is `root` itself counts, so that the answer is the one computed in process.
    `session` names the agent session that will report what it did next (the hook's).
    """
    real = os.path.realpath(root)
    for server in servers_for(real, directory):
        if exact and not server.may_answer_as_root(real):
            continue
        try:
            result = plan_from(server, real, request, timeout=timeout, wait=wait, session=session)
        except (OSError, ValueError, ServerError, http.client.HTTPException) as exc:
            logger.debug("server %s (pid %d) did not plan: %s", server.url, server.pid, exc)
            continue
        if exact and result.get("root") != real:
            logger.debug(
                "server %s (pid %d) planned %s, not %s", server.url, server.pid, result.get("root"), real
            )
            continue
        return result
    return None
