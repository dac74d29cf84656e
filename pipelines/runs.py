"""Run history: every pipeline run, scheduled or manual, leaves a record in `<store>/runs.jsonl`.

Why a journal in the store: an operator (and `python -m pipelines status`) must be able to tell, years
later, which runs happened, which failed and why, without any other database. Each run appends a start
record and an end record with the same `run_id`; `read_runs` merges them. A run whose process died
without an end record (SIGKILL, power loss) shows as `crashed`.

Record fields: `run_id, command, trigger ("manual" | "schedule"), job, attempt, argv, pid, host, locked,
started_at, finished_at, seconds, outcome ("running" | "ok" | "skipped" | "failed" | "interrupted" |
"crashed"), counts, error`. No credential is ever written: every error text goes through `redact`.

Usage, around the body of a command::

    with record_run(store, "snapshot") as run:   # takes the store's run lock, writes the start record
        result = take_snapshot(...)
        run.counts.update(rows=result.rows)       # written in the end record
        run.outcome = "skipped"                   # optional; default "ok", or "failed" on an exception

Also here, because every ops command needs them: the UTC clock (with a fake clock for tests of the
scheduler, env `OWT_FAKE_CLOCK`) and the redaction of credentials.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import os
import re
import secrets
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from pipelines.lock import FileLock, holder
from pipelines.store import Store

RUNS_FILE = "runs.jsonl"
#: The store's run lock: held by whichever pipeline run is writing to the store.
RUN_LOCK_FILE = "run.lock"

#: Env vars a parent (the scheduler) sets so the child's record merges with its own.
RUN_ID_ENV = "OWT_RUN_ID"
TRIGGER_ENV = "OWT_RUN_TRIGGER"
JOB_ENV = "OWT_JOB"
ATTEMPT_ENV = "OWT_RUN_ATTEMPT"

#: `OWT_FAKE_CLOCK='{"start": "2026-01-01", "at": <unix seconds>, "day_seconds": 2}'`: for tests only, the
#: UTC clock reads `start` midnight at real time `at` and then runs one day every `day_seconds` seconds.
FAKE_CLOCK_ENV = "OWT_FAKE_CLOCK"

TOKEN_ENV_VARS = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")
#: Environment variables whose whole value is a credential: the Hub token, and any later API key or password
#: (`OWT_GITHUB_TOKEN`, `SOME_API_KEY`, `..._SECRET`, `..._PASSWORD`) without a change here.
_SECRET_NAME = re.compile(r"(?i)(TOKEN|_KEY|SECRET|PASSWORD|PASSWD|CREDENTIALS?)$")
_TOKEN_PATTERNS = (
    re.compile(r"\bhf_[A-Za-z0-9]{10,}"),  # the shape of Hugging Face user access tokens
    re.compile(r"(?i)(\bbearer\s+)[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://)[^/\s@'\"<>]+(?=@)"),  # a URL's userinfo: scheme://user:pw@
)
_MIN_SECRET = 4  # shorter values would redact ordinary words
#: A variable found by its name alone needs a longer value (`SORT_KEY=date` is no credential; keys are long).
_MIN_NAMED_SECRET = 8
REDACTED = "[redacted]"

log = logging.getLogger("owt.runs")


def _secrets_in_environment() -> list[str]:
    """Every credential the environment holds, in each form it may be printed in: values of credential
    variables; passwords of URLs in any variable (`HF_ENDPOINT=http://user:password@host`), as written,
    decoded, and as the `Basic` Authorization header made from them. Longest first."""
    found = []
    for name, value in os.environ.items():
        if name in TOKEN_ENV_VARS or (_SECRET_NAME.search(name) and len(value) >= _MIN_NAMED_SECRET):
            found.append(value)
        if "://" in value and "@" in value:
            try:
                parts = urlsplit(value)
                user, password = parts.username, parts.password
            except ValueError:
                continue
            if password:
                userinfo = f"{unquote(user or '')}:{unquote(password)}"
                basic = base64.b64encode(userinfo.encode()).decode()
                found += [password, unquote(password), parts.netloc.rsplit("@", 1)[0], basic]
    return sorted({v for v in found if len(v) >= _MIN_SECRET}, key=len, reverse=True)


def redact(text: str) -> str:
    """`text` without any credential (tokens, API keys, passwords in URLs), so it can be logged or stored.

    The one redaction of the project: run records, checkpoints, provenance, errors and logs all go through
    it (`python -m pipelines` wraps stdout and stderr in it)."""
    for secret in _secrets_in_environment():
        text = text.replace(secret, REDACTED)
    for pattern in _TOKEN_PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + REDACTED, text)
    return text


def utc_now() -> dt.datetime:
    """Now, in UTC (the fake clock when `OWT_FAKE_CLOCK` is set)."""
    real = dt.datetime.now(dt.UTC)
    spec = os.environ.get(FAKE_CLOCK_ENV)
    if not spec:
        return real
    try:
        clock = json.loads(spec)
        start = dt.datetime.combine(dt.date.fromisoformat(clock["start"]), dt.time(), dt.UTC)
        elapsed = real.timestamp() - float(clock["at"])
        return start + dt.timedelta(days=elapsed / float(clock["day_seconds"]))
    except (ValueError, KeyError, TypeError, ZeroDivisionError) as exc:
        raise ValueError(
            f"{FAKE_CLOCK_ENV} must be JSON like "
            '{"start": "2026-01-01", "at": 1764300000, "day_seconds": 2}, got ' + repr(spec) + f" ({exc})"
        ) from None


def utc_today() -> dt.date:
    return utc_now().date()


def _timestamp() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def new_run_id() -> str:
    """Sortable by start time, unique across processes and hosts."""
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def runs_path(store: Store) -> Path:
    return store.root / RUNS_FILE


def run_lock(store: Store, command: str = "") -> FileLock:
    return FileLock(store.root / RUN_LOCK_FILE, command=command)


_append_guard = threading.Lock()


def append_record(store: Store, record: dict[str, Any]) -> None:
    """Append one JSON line, durably. A line torn by an earlier crash is closed first so it can't swallow
    this one (readers skip the torn line)."""
    path = runs_path(store)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(record, sort_keys=True, default=str) + "\n").encode("utf-8")
    with _append_guard:
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                line = b"\n" + line
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_runs(store: Store) -> list[dict[str, Any]]:
    """All runs, oldest first, start and end records merged; dead unfinished runs marked `crashed`.

    Unreadable lines (torn by a crash mid-write) are skipped, never fatal: history is for reading.
    """
    path = runs_path(store)
    if not path.is_file():
        return []
    merged: dict[str, dict[str, Any]] = {}
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and record.get("run_id"):
                merged.setdefault(record["run_id"], {}).update(record)
    lock_free = holder(store.root / RUN_LOCK_FILE) is None
    here = socket.gethostname()
    for run in merged.values():
        if run.get("outcome") != "running":
            continue
        dead = run.get("host") == here and not _pid_alive(int(run.get("pid") or 0))
        if dead or (run.get("locked") and lock_free):
            run["outcome"] = "crashed"
            run.setdefault("error", "the process ended without recording an outcome (killed or crashed)")
    # A stable sort on the start time alone: runs started in the same millisecond keep journal order
    # (the order their start records were appended), not the order of their random run ids.
    return sorted(merged.values(), key=lambda run: run.get("started_at") or "")


class Interrupted(BaseException):
    """SIGTERM arrived during a run: unwinds the run like Ctrl-C so it ends cleanly and says so."""


@dataclass
class RunHandle:
    """The run in progress: commands fill `counts` and may set `outcome` (default "ok")."""

    run_id: str
    command: str
    counts: dict[str, Any] = field(default_factory=dict)
    outcome: str | None = None
    error: str | None = None


def _outcome_of(exc: BaseException) -> str:
    if isinstance(exc, KeyboardInterrupt | Interrupted):
        return "interrupted"
    if isinstance(exc, SystemExit) and exc.code in (0, None):
        return "ok"
    return "failed"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, Interrupted):
        return "stopped by SIGTERM; the checkpoint is kept and the next run resumes"
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted; the checkpoint is kept and the next run resumes"
    if isinstance(exc, SystemExit):
        return f"exit code {exc.code}"
    return f"{type(exc).__name__}: {exc}"


@contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    """Turn SIGTERM into `Interrupted` (main thread only): the run's own cleanup and its end record run."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _raise(signum: int, frame: object) -> None:
        raise Interrupted()

    previous = signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def record_run(store: Store, command: str, *, lock: bool = True) -> Iterator[RunHandle]:
    """Record a run of `command` in the store's history (see the module docstring).

    With `lock` (for anything that writes to the store) the store's run lock is taken first, so two
    runs never write at once; `LockHeld` is raised, before anything is recorded, if another run holds it.
    """
    with run_lock(store, command) if lock else nullcontext() as held:
        if held is not None and held.taken_over:
            log.warning("took over the run lock left by a dead process (%s)", held.taken_over)
        run = RunHandle(run_id=os.environ.get(RUN_ID_ENV) or new_run_id(), command=command)
        started = time.monotonic()
        start = {
            "run_id": run.run_id,
            "command": command,
            "trigger": os.environ.get(TRIGGER_ENV, "manual"),
            "job": os.environ.get(JOB_ENV),
            "attempt": int(os.environ.get(ATTEMPT_ENV) or 1),
            "argv": redact(" ".join(sys.argv[1:])),
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "locked": lock,
            "started_at": _timestamp(),
            "outcome": "running",
        }
        append_record(store, start)
        end: dict[str, Any] = {"run_id": run.run_id}
        try:
            with _sigterm_unwinds():
                yield run
        except BaseException as exc:
            end.update(outcome=_outcome_of(exc), error=redact(_describe(exc)))
            raise
        else:
            end.update(outcome=run.outcome or "ok", error=redact(run.error) if run.error else None)
        finally:
            end.update(
                finished_at=_timestamp(),
                seconds=round(time.monotonic() - started, 3),
                counts=json.loads(redact(json.dumps(run.counts, default=str))),
            )
            try:
                append_record(store, end)
            except OSError as exc:  # e.g. disk full: the run's own outcome matters more than its record
                log.error("could not record the end of run %s in %s: %s", run.run_id, runs_path(store), exc)


class RedactedOutput:
    """A text stream that redacts tokens from everything written to it: the commands' stdout and stderr.

    Installed by `python -m pipelines` so that no message (an error echoing a server's answer, a traceback)
    can print the token, whichever module prints it.
    """

    def __init__(self, stream: Any):
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(redact(text))
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)
