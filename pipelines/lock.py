"""A crash-safe exclusive lock on a file, with who-holds-it information for `status`.

Why `fcntl.flock`: the kernel releases the lock when the holding process dies, however it dies (SIGKILL,
OOM killer, power loss of the process), so a stale lock from a dead process is taken over simply by the
next process that asks; there is no pid-file guessing and no window where two processes both believe
they hold it. The lock file also holds a small JSON note (pid, host, command, since) that is only
informational: it says who holds the lock now, or who held it last if they died without releasing it.

A process may hand its lock to a child it starts (the scheduler does this for the jobs it runs): it passes
the locked file descriptor with `subprocess.Popen(pass_fds=...)` and names it in env `OWT_LOCK_FD`. The
child then shares the parent's lock instead of waiting for it, and the lock stays held until both exit.

Never delete a lock file while processes may use it: a process that locks a deleted file and one that
locks its replacement would both hold "the" lock. `acquire` checks for that and retries.
Works on local file systems; flock over NFS is not reliable.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import socket
import time
from pathlib import Path
from typing import Any

#: env var naming a file descriptor, inherited from the parent, that already holds the lock.
INHERITED_FD_ENV = "OWT_LOCK_FD"


class LockHeld(RuntimeError):
    """The lock is held by another live process; `holder` says which (may be empty if it wrote no note)."""

    def __init__(self, path: Path, holder: dict[str, Any]):
        self.path = path
        self.holder = holder
        super().__init__(
            f"another run holds {path}: {describe_holder(holder)}; try again once it has finished"
        )


def describe_holder(holder: dict[str, Any]) -> str:
    """One line about a lock holder, for messages and `status`."""
    if not holder:
        return "holder unknown"
    parts = [f"pid {holder.get('pid')} on {holder.get('host')}"]
    if holder.get("command"):
        parts.append(f"running {holder['command']!r}")
    if holder.get("since"):
        parts.append(f"since {holder['since']}")
    return ", ".join(parts)


def _read_note(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8").strip()
        return json.loads(text) if text else {}
    except (OSError, ValueError):
        return {}


def _same_file(fd: int, path: Path) -> bool:
    try:
        opened, named = os.fstat(fd), os.stat(path)
    except OSError:
        return False
    return (opened.st_dev, opened.st_ino) == (named.st_dev, named.st_ino)


def _inherited_fd(path: Path) -> int | None:
    """The descriptor handed down by a parent that holds this very lock, if any."""
    value = os.environ.get(INHERITED_FD_ENV, "")
    if not value.isdigit():
        return None
    fd = int(value)
    return fd if _same_file(fd, path) else None


#: How long `acquire` keeps trying while only `holder` probes (shared locks held for microseconds) block it.
PROBE_PATIENCE = 2.0


def _lock_exclusive(fd: int) -> bool:
    """Lock `fd` exclusively without waiting for a holder; False when another process holds the lock.

    A `holder` probe (say `status`, run at that moment) holds a shared lock for a few microseconds. That
    is not a holder, so while a shared lock can be had the exclusive one is tried again, for at most
    PROBE_PATIENCE seconds; a real holder (exclusive) refuses the shared lock too, and is reported at once.
    """
    deadline = time.monotonic() + PROBE_PATIENCE
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            pass
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(fd, fcntl.LOCK_UN)
        if time.monotonic() > deadline:
            return False
        time.sleep(0.001)


class FileLock:
    """An exclusive, non-blocking, crash-safe lock: `with FileLock(path, command="snapshot"): ...`.

    `acquire()` raises `LockHeld` at once if a live process holds it. After a successful acquire,
    `taken_over` is the note left by a previous holder that died without releasing (else None), so the
    caller can log that a stale lock was taken over.
    """

    def __init__(self, path: Path, *, command: str = ""):
        self.path = Path(path)
        self.command = command
        self.taken_over: dict[str, Any] | None = None
        self._fd: int | None = None
        self._owned = False  # False when sharing a lock inherited from the parent process

    @property
    def fd(self) -> int:
        """The locked descriptor (to hand to a child process); only valid while held."""
        if self._fd is None:
            raise RuntimeError(f"{self.path} is not locked by this process")
        return self._fd

    def acquire(self) -> FileLock:
        if self._fd is not None:
            raise RuntimeError(f"{self.path} is already locked by this object")
        inherited = _inherited_fd(self.path)
        if inherited is not None:
            self._fd, self._owned = inherited, False
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            if not _lock_exclusive(fd):
                os.close(fd)
                raise LockHeld(self.path, _read_note(self.path))
            if _same_file(fd, self.path):
                break
            os.close(fd)  # the file was replaced between open and flock: lock the current one
        previous = _read_note(self.path)
        self.taken_over = previous or None
        note = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "command": self.command,
            "since": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(note) + "\n").encode(), 0)
        self._fd, self._owned = fd, True
        return self

    def release(self) -> None:
        """Release the lock and clear the note (so the next holder knows nobody died holding it)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        if not self._owned:
            return
        try:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def __enter__(self) -> FileLock:
        return self.acquire()

    def __exit__(self, *exc_info: object) -> None:
        self.release()


def holder(path: Path) -> dict[str, Any] | None:
    """Who holds the lock at `path` right now (their note), or None when nobody does."""
    path = Path(path)
    if not path.exists():
        return None
    if _inherited_fd(path) is not None:
        return _read_note(path)
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _read_note(path)
    finally:
        os.close(fd)  # closing drops the probe's shared lock, if it got one
    return None
