"""The crash-safe file lock: exclusive while held, taken over at once when its holder dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.lock import INHERITED_FD_ENV, FileLock, LockHeld, holder
from tests.ops_support import PROJECT_ROOT

HOLD_LOCK = """
import sys, time
from pathlib import Path
from pipelines.lock import FileLock
FileLock(Path(sys.argv[1]), command="holder-child").acquire()
print("locked", flush=True)
time.sleep(60)
"""


def start_holder(lock_path: Path) -> subprocess.Popen:
    child = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(lock_path)], cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "locked"
    return child


def test_a_second_holder_is_refused_with_who_holds_it(tmp_path: Path) -> None:
    lock_path = tmp_path / "run.lock"
    with FileLock(lock_path, command="snapshot"):
        with pytest.raises(LockHeld) as refused:
            FileLock(lock_path, command="other").acquire()
        assert refused.value.holder["pid"] == os.getpid()
        assert "snapshot" in str(refused.value)
        assert holder(lock_path)["command"] == "snapshot"
    assert holder(lock_path) is None
    with FileLock(lock_path) as again:
        assert again.taken_over is None, "a cleanly released lock is not reported as taken over"


def test_a_lock_left_by_a_killed_process_is_taken_over(tmp_path: Path) -> None:
    lock_path = tmp_path / "run.lock"
    child = start_holder(lock_path)
    try:
        assert holder(lock_path)["pid"] == child.pid
        with pytest.raises(LockHeld):
            FileLock(lock_path).acquire()
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    with FileLock(lock_path, command="successor") as lock:
        assert lock.taken_over is not None and lock.taken_over["pid"] == child.pid
        assert holder(lock_path)["command"] == "successor"


def test_a_child_handed_the_lock_shares_it_instead_of_waiting(tmp_path: Path) -> None:
    lock_path = tmp_path / "run.lock"
    with FileLock(lock_path, command="schedule") as parent_lock:
        child = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; from pathlib import Path; from pipelines.lock import FileLock;"
                "FileLock(Path(sys.argv[1])).acquire(); print('shared')",
                str(lock_path),
            ],
            cwd=PROJECT_ROOT,
            env={**os.environ, INHERITED_FD_ENV: str(parent_lock.fd)},
            pass_fds=[parent_lock.fd],
            capture_output=True,
            text=True,
            check=True,
        )
        assert child.stdout.strip() == "shared"
        assert holder(lock_path)["command"] == "schedule", (
            "the child's exit keeps it held"
        )


PROBE_FOREVER = """
import sys
from pathlib import Path
from pipelines.lock import holder
print("probing", flush=True)
while True:
    holder(Path(sys.argv[1]))
"""


def test_someone_asking_who_holds_the_lock_never_makes_taking_it_fail(tmp_path: Path) -> None:
    """`status` probes the run lock; a run starting at that very moment must still get it."""
    lock_path = tmp_path / "run.lock"
    FileLock(lock_path).acquire().release()
    probe = [sys.executable, "-c", PROBE_FOREVER, str(lock_path)]
    prober = subprocess.Popen(probe, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert prober.stdout is not None and prober.stdout.readline().strip() == "probing"
        for _ in range(300):
            with FileLock(lock_path, command="snapshot"):
                pass
    finally:
        prober.kill()
        prober.wait()
