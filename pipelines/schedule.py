"""Run the pipelines unattended: the daily snapshot at --cron (UTC) and any jobs configured in --config.

A long-running process (APScheduler) meant for a small server, started by systemd or a container. It
- runs the default jobs: "snapshot", the Hub snapshot at --cron (default "30 2 * * *": 02:30 UTC);
  "snapshot-modelscope" (`snapshot --channel modelscope`) at the same time, after it; "openrouter"
  (`snapshot --channel openrouter`) at 03:00 UTC, skipped with a log line when OPENROUTER_API_KEY is not set;
  and, for an Iceberg store only, "warehouse" at --cron after the snapshots (built and published in the store
  for the replicas) and "maintain" (table maintenance) on Sundays at 04:00 UTC. A [[job]] of the
  same name in --config replaces one; `--skip-job NAME` leaves one out;
- runs the jobs of --config, a TOML file of [[job]] tables (name, command, args, cron), e.g. a weekly
  backfill catch-up:
      [[job]]
      name = "backfill"
      command = "backfill"
      args = ["--source", "hfmlsoc/hub_weekly_snapshots"]
      cron = "0 4 * * sun"
  "{date}" in args becomes the UTC date label of the run;
- runs each job as `python -m pipelines <command> <args>` in a child process with OWT_STORE set, one at a
  time: it holds the store's run lock (`<store>/run.lock`) and hands it to the child, so a manual run
  cannot overlap; one scheduler per store (`<store>/schedule.lock`); a lock left by a killed process is
  taken over at once (flock, released by the kernel);
- at start, runs at once every job whose last scheduled time passed since its last successful run
  (catch-up after downtime; also the first run on a new store), unless --no-catch-up;
- retries a failed run --retries times, after --retry-delay seconds doubling up to --retry-max-delay,
  each wait jittered by +-50% (so many servers don't retry in step);
- on SIGTERM/SIGINT: passes SIGTERM to the running child, which stops after its current page with its
  checkpoint kept (the next run resumes), waits up to --grace seconds (then SIGKILL: still safe, the
  snapshot is crash-safe), and exits 0;
- logs one structured line per event (text, or JSON with --log-format json): run id, job, attempt,
  outcome, seconds, counts, and the children's output; HF_TOKEN is never logged.
Every run is recorded in `<store>/runs.jsonl`; see them with `python -m pipelines status`.

Cron expressions have 5 fields (minute hour day month day-of-week; 0 or 7 = Sunday) or 6 with seconds
first (for tests). The same daily job works from cron or a systemd timer without this process, since
`python -m pipelines snapshot` is idempotent per date (see README, "Scheduling and operations").
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import json
import logging
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from pipelines.lock import INHERITED_FD_ENV, FileLock, LockHeld
from pipelines.runs import (
    ATTEMPT_ENV,
    JOB_ENV,
    RUN_ID_ENV,
    TRIGGER_ENV,
    append_record,
    new_run_id,
    read_runs,
    redact,
    run_lock,
    utc_today,
)
from pipelines.status import SCHEDULER_LOCK_FILE
from pipelines.store import Store, resolve_store, store_location

DEFAULT_CRON = "30 2 * * *"
OPENROUTER_CRON = "0 3 * * *"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
SUCCESS = ("ok", "skipped")
_OUTPUT_TAIL = 20  # lines of a failed child's output kept as its error message

log = logging.getLogger("owt.schedule")


class ConfigError(ValueError):
    """The schedule or its config file is wrong; the message says where and what to do."""


@dataclass(frozen=True)
class Job:
    name: str
    command: str
    args: tuple[str, ...]
    cron: str
    #: An environment variable the job cannot run without (an API key): unset, the job is skipped, logged.
    needs_env: str | None = None


_CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _crontab_weekdays(field: str) -> str:
    """Crontab day-of-week numbers (0/7 = Sunday) as names: APScheduler 3 counts 0 as Monday."""

    def one(part: str) -> str:
        base, slash, step = part.partition("/")
        if base.startswith("0-") and slash:
            raise ConfigError(f"day-of-week {field!r}: write a stepped range from Sunday with day names")
        if re.fullmatch(r"0-[1-7]", base):  # Sunday is last in APScheduler's week: split the range
            return f"sun,mon-{_CRON_DAYS[int(base[2])]}"
        named = re.sub(
            r"\d+", lambda m: _CRON_DAYS[int(m.group())] if int(m.group()) < 8 else m.group(), base
        )
        return named + slash + step

    return ",".join(one(part) for part in field.split(","))


def cron_trigger(expression: str) -> CronTrigger:
    """A UTC trigger from a 5-field crontab expression, or 6 fields with seconds first."""
    fields = expression.split()
    if len(fields) not in (5, 6):
        raise ConfigError(f"cron expression {expression!r} must have 5 fields (or 6 with seconds first)")
    second = fields.pop(0) if len(fields) == 6 else "0"
    minute, hour, day, month, weekday = fields
    try:
        return CronTrigger(
            second=second,
            minute=minute,
            hour=hour,
            day=day,
            month=month,
            day_of_week=_crontab_weekdays(weekday),
            timezone=dt.UTC,
        )
    except ValueError as exc:
        raise ConfigError(f"cron expression {expression!r}: {exc}") from None


def load_jobs(config: Path | None, snapshot_cron: str) -> list[Job]:
    """The daily snapshot at `snapshot_cron`, plus (or replaced by) the [[job]] tables of `config`."""
    from pipelines.__main__ import COMMANDS  # the command names only; no command module is imported

    jobs = {
        "snapshot": Job("snapshot", "snapshot", ("--date", "{date}"), snapshot_cron),
        # the ModelScope channel, daily, after the Hub's (jobs run one at a time)
        "snapshot-modelscope": Job(
            "snapshot-modelscope", "snapshot", ("--channel", "modelscope", "--date", "{date}"), snapshot_cron
        ),
    }
    jobs["openrouter"] = Job(  # OpenRouter's day is complete at ~02:00 UTC
        "openrouter", "snapshot", ("--channel", "openrouter", "--date", "{date}"), OPENROUTER_CRON,
        needs_env="OPENROUTER_API_KEY",
    )
    if config is not None:
        try:
            tables = tomllib.loads(config.read_text(encoding="utf-8")).get("job", [])
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{config}: cannot read the schedule config: {exc}") from None
        for number, table in enumerate(tables, start=1):
            where = f"{config}: [[job]] number {number}"
            unknown = set(table) - {"name", "command", "args", "cron"}
            if unknown or not {"name", "command", "cron"} <= set(table):
                raise ConfigError(
                    f"{where}: needs name, command, cron (and optional args); got {sorted(table)}"
                )
            if table["command"] not in COMMANDS or table["command"] == "schedule":
                raise ConfigError(f"{where}: unknown command {table['command']!r}; one of {sorted(COMMANDS)}")
            args = table.get("args", [])
            if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
                raise ConfigError(f"{where}: args must be a list of strings")
            jobs[table["name"]] = Job(table["name"], table["command"], tuple(args), table["cron"])
    for job in jobs.values():
        try:
            cron_trigger(job.cron)
        except ConfigError as exc:
            raise ConfigError(f"job {job.name!r}: {exc}") from None
    return list(jobs.values())


#: An Iceberg store's weekly upkeep (pipelines/maintain.py): Sundays 04:00 UTC, after the daily snapshot.
MAINTAIN_CRON = "0 4 * * sun"


def with_maintenance(jobs: list[Job], store: Store) -> list[Job]:
    """`jobs`, plus the weekly `maintain` job for an Iceberg store unless the config names one already."""
    from pipelines.iceberg_store import IcebergStore

    if not isinstance(store, IcebergStore) or any(job.name == "maintain" for job in jobs):
        return jobs
    return [*jobs, Job("maintain", "maintain", (), MAINTAIN_CRON)]


def with_warehouse(jobs: list[Job], store: Store, snapshot_cron: str) -> list[Job]:
    """`jobs`, plus a `warehouse` job right after the daily snapshot for an Iceberg store unless the config
    names one already: it builds the warehouse and publishes it in the store, so replicas need no build."""
    from pipelines.iceberg_store import IcebergStore

    if not isinstance(store, IcebergStore) or any(job.name == "warehouse" for job in jobs):
        return jobs
    return [*jobs, Job("warehouse", "warehouse", (), snapshot_cron)]


class _Formatter(logging.Formatter):
    """One line per event: `ts level message k=v ...`, or a JSON object; tokens redacted either way."""

    def __init__(self, as_json: bool):
        super().__init__()
        self.as_json = as_json

    def format(self, record: logging.LogRecord) -> str:
        ts = dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds")
        fields: dict[str, Any] = dict(getattr(record, "fields", {}))
        message = record.getMessage()
        if record.exc_info:
            message += " | " + self.formatException(record.exc_info).replace("\n", " | ")
        if self.as_json:
            payload = {
                "ts": ts,
                "level": record.levelname.lower(),
                "logger": record.name,
                "msg": message,
                **fields,
            }
            return redact(json.dumps(payload, default=str))
        pairs = " ".join(
            f"{k}={json.dumps(v, default=str) if not isinstance(v, int | float) else v}"
            for k, v in fields.items()
        )
        return redact(f"{ts} {record.levelname:<7} {message} {pairs}".rstrip())


def configure_logging(log_format: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter(as_json=log_format == "json"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


def _emit(level: int, message: str, **fields: Any) -> None:
    log.log(level, message, extra={"fields": fields})


class Scheduler:
    """The jobs of one store, run one at a time, with retries, catch-up and a graceful stop."""

    def __init__(
        self,
        store: Store,
        jobs: list[Job],
        *,
        retries: int = 3,
        retry_delay: float = 300,
        retry_max_delay: float = 3600,
        grace: float = 120,
        job_timeout: float = 12 * 3600,
        catch_up: bool = True,
    ):
        self.store = store
        self.jobs = jobs
        self.retries = retries
        self.retry_delay = retry_delay
        self.retry_max_delay = retry_max_delay
        self.grace = grace
        self.job_timeout = job_timeout
        self.catch_up = catch_up
        self.stopping = threading.Event()
        self._child: subprocess.Popen[str] | None = None
        self._child_guard = threading.Lock()

    # -- one run ---------------------------------------------------------------------------------

    def retry_wait(self, attempt: int) -> float:
        """Seconds before retry number `attempt` (1-based): doubling from retry_delay, capped, jittered."""
        base = min(self.retry_max_delay, self.retry_delay * 2 ** (attempt - 1))
        return base * random.uniform(0.5, 1.5)

    def run_job(self, job: Job) -> str:
        """Run `job` until it succeeds, the retries are used up, or the scheduler stops; its last outcome."""
        outcome = "failed"
        if job.needs_env and not os.environ.get(job.needs_env):
            _emit(logging.WARNING, f"skipped: {job.needs_env} is not set: the job needs it", job=job.name)
            return "skipped"
        for attempt in range(1, self.retries + 2):
            if self.stopping.is_set():
                break
            outcome = self.attempt(job, attempt)
            if outcome in SUCCESS or self.stopping.is_set():
                break
            if attempt > self.retries:
                _emit(
                    logging.ERROR, "giving up until the next scheduled time", job=job.name, attempts=attempt
                )
                break
            wait = self.retry_wait(attempt)
            _emit(logging.WARNING, "retrying", job=job.name, attempt=attempt + 1, wait_seconds=round(wait, 1))
            if self.stopping.wait(wait):
                break
        return outcome

    def attempt(self, job: Job, attempt: int) -> str:
        """One run of `job` in a child process, recorded in the run history whatever happens to the child."""
        run_id = new_run_id()
        date = utc_today().isoformat()
        argv = [
            sys.executable,
            "-m",
            "pipelines",
            job.command,
            *(a.replace("{date}", date) for a in job.args),
        ]
        start = {
            "run_id": run_id,
            "command": job.command,
            "trigger": "schedule",
            "job": job.name,
            "attempt": attempt,
            "argv": redact(" ".join(argv[3:])),
            "pid": os.getpid(),
            "host": os.uname().nodename,
            "locked": True,
            "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
            "outcome": "running",
        }
        started = time.monotonic()
        try:
            lock = run_lock(self.store, f"schedule: {job.name}").acquire()
        except LockHeld as exc:
            append_record(self.store, {**start, "locked": False})
            return self._finish(job, run_id, started, "failed", str(exc))
        try:
            if lock.taken_over:
                _emit(
                    logging.WARNING, "took over a run lock left by a dead process", previous=lock.taken_over
                )
            append_record(self.store, start)
            _emit(logging.INFO, "run started", job=job.name, run_id=run_id, attempt=attempt, date=date)
            returncode, tail = self._run_child(job, argv, run_id, attempt, lock)
        finally:
            lock.release()
        recorded = self._recorded(run_id)
        if recorded.get("finished_at"):  # the command recorded its own outcome and counts
            return self._finish(
                job, run_id, started, recorded["outcome"], recorded.get("error"), logged_only=True
            )
        if returncode == 0:
            return self._finish(job, run_id, started, "ok", None)
        if returncode < 0:
            reason = f"killed by signal {signal.Signals(-returncode).name}"
            outcome = "interrupted" if self.stopping.is_set() else "failed"
        else:
            reason, outcome = f"exit code {returncode}", "failed"
        error = f"{reason}: {' | '.join(tail)}" if tail else reason
        return self._finish(job, run_id, started, outcome, error)

    def _run_child(
        self, job: Job, argv: list[str], run_id: str, attempt: int, lock: FileLock
    ) -> tuple[int, list[str]]:
        env = {
            **os.environ,
            "OWT_STORE": store_location(self.store),
            RUN_ID_ENV: run_id,
            TRIGGER_ENV: "schedule",
            JOB_ENV: job.name,
            ATTEMPT_ENV: str(attempt),
            INHERITED_FD_ENV: str(lock.fd),
            "PYTHONUNBUFFERED": "1",
        }
        with self._child_guard:
            if self.stopping.is_set():
                return -signal.SIGTERM, ["not started: the scheduler is stopping"]
            child = subprocess.Popen(
                argv,
                cwd=PROJECT_ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
                pass_fds=[lock.fd],
            )
            self._child = child
        watchdog = threading.Timer(self.job_timeout, self._timed_out, args=(child, job))
        watchdog.daemon = True
        watchdog.start()
        tail: collections.deque[str] = collections.deque(maxlen=_OUTPUT_TAIL)
        try:
            assert child.stdout is not None
            for line in child.stdout:
                line = redact(line.rstrip())
                if line:
                    tail.append(line)
                    _emit(logging.INFO, "output", job=job.name, run_id=run_id, line=line)
            returncode = child.wait()
        finally:
            watchdog.cancel()
            with self._child_guard:
                self._child = None
        return returncode, list(tail)

    def _timed_out(self, child: subprocess.Popen[str], job: Job) -> None:
        _emit(logging.ERROR, "run exceeded --job-timeout; killing it", job=job.name, pid=child.pid)
        child.kill()

    def _recorded(self, run_id: str) -> dict[str, Any]:
        return next((r for r in read_runs(self.store) if r["run_id"] == run_id), {})

    def _finish(
        self,
        job: Job,
        run_id: str,
        started: float,
        outcome: str,
        error: str | None,
        logged_only: bool = False,
    ) -> str:
        seconds = round(time.monotonic() - started, 3)
        if not logged_only:
            append_record(
                self.store,
                {
                    "run_id": run_id,
                    "outcome": outcome,
                    "error": redact(error) if error else None,
                    "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
                    "seconds": seconds,
                },
            )
        counts = self._recorded(run_id).get("counts") or {}
        level = logging.INFO if outcome in SUCCESS else logging.ERROR
        _emit(
            level,
            "run finished",
            job=job.name,
            run_id=run_id,
            outcome=outcome,
            seconds=seconds,
            **counts,
            **({"error": error} if error else {}),
        )
        return outcome

    # -- the schedule ------------------------------------------------------------------------------

    def missed(self, job: Job, now: dt.datetime) -> bool:
        """Whether a scheduled time of `job` passed since its last successful run (or it never ran)."""
        successes = [
            r for r in read_runs(self.store) if r.get("job") == job.name and r.get("outcome") in SUCCESS
        ]
        if not successes:
            return True
        last = dt.datetime.fromisoformat(successes[-1]["started_at"])
        due = cron_trigger(job.cron).get_next_fire_time(None, last + dt.timedelta(seconds=1))
        return due is not None and due <= now

    def stop(self, signum: int | None = None) -> None:
        """Stop scheduling; ask the running child (if any) to checkpoint and stop."""
        if self.stopping.is_set():
            return
        self.stopping.set()
        with self._child_guard:
            child = self._child
        if child is not None and child.poll() is None:
            _emit(logging.INFO, "stopping: asking the running job to checkpoint and stop", pid=child.pid)
            child.send_signal(signal.SIGTERM)
            threading.Thread(target=self._kill_after_grace, args=(child,), daemon=True).start()

    def _kill_after_grace(self, child: subprocess.Popen[str]) -> None:
        try:
            child.wait(self.grace)
        except subprocess.TimeoutExpired:
            _emit(logging.WARNING, "job still running after --grace; killing it", pid=child.pid)
            child.kill()

    def serve(self) -> int:
        """Run until SIGTERM/SIGINT. Exit code 0 after a clean stop, 75 when another scheduler runs."""
        try:
            scheduler_lock = FileLock(self.store.root / SCHEDULER_LOCK_FILE, command="schedule").acquire()
        except LockHeld as exc:
            _emit(logging.ERROR, str(exc))
            return 75
        if scheduler_lock.taken_over:
            _emit(
                logging.WARNING,
                "took over the scheduler lock of a dead scheduler",
                previous=scheduler_lock.taken_over,
            )
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda s, f: self.stop(s))
        scheduler = BackgroundScheduler(
            timezone=dt.UTC,
            executors={"default": ThreadPoolExecutor(1)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        now = dt.datetime.now(dt.UTC)
        for job in self.jobs:
            catch_up = self.catch_up and self.missed(job, now)
            scheduled = scheduler.add_job(
                self.run_job,
                cron_trigger(job.cron),
                args=(job,),
                id=job.name,
                name=job.name,
                **({"next_run_time": now} if catch_up else {}),
            )
            _emit(
                logging.INFO,
                "job scheduled",
                job=job.name,
                command=job.command,
                cron=job.cron,
                catch_up=catch_up,
                next_run=scheduled.next_run_time,
            )
        scheduler.start()
        _emit(logging.INFO, "scheduler started", store=str(self.store.root), pid=os.getpid())
        try:
            while not self.stopping.wait(1.0):
                pass
        finally:
            scheduler.shutdown(wait=True)
            scheduler_lock.release()
        _emit(logging.INFO, "scheduler stopped")
        return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", help="store dir or iceberg+ URL (default: env OWT_STORE, else data/store)")
    parser.add_argument(
        "--cron",
        default=DEFAULT_CRON,
        help=f'UTC time of the daily snapshot, crontab syntax (default "{DEFAULT_CRON}")',
    )
    parser.add_argument("--config", type=Path, help="TOML file of more [[job]] tables (see above)")
    parser.add_argument("--retries", type=int, default=3, help="retries of a failed run (default 3)")
    parser.add_argument(
        "--retry-delay",
        type=float,
        default=300,
        metavar="SECONDS",
        help="first retry wait, doubling (default 300)",
    )
    parser.add_argument(
        "--retry-max-delay",
        type=float,
        default=3600,
        metavar="SECONDS",
        help="cap of a retry wait (default 3600)",
    )
    parser.add_argument(
        "--grace",
        type=float,
        default=120,
        metavar="SECONDS",
        help="on SIGTERM, how long a running job may take to checkpoint before it is killed (default 120)",
    )
    parser.add_argument(
        "--job-timeout",
        type=float,
        default=12 * 3600,
        metavar="SECONDS",
        help="kill a run that takes longer than this (default 43200: 12 h)",
    )
    parser.add_argument("--no-catch-up", action="store_true", help="don't run missed jobs at start")
    parser.add_argument(
        "--skip-job",
        action="append",
        default=[],
        metavar="NAME",
        help="leave out the job NAME, e.g. snapshot-modelscope (repeatable)",
    )
    parser.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="log line format on stderr (default text)",
    )


def run(args: argparse.Namespace) -> int:
    configure_logging(args.log_format)
    try:
        jobs = [job for job in load_jobs(args.config, args.cron) if job.name not in args.skip_job]
    except ConfigError as exc:
        _emit(logging.ERROR, str(exc))
        return 2
    store = resolve_store(args.store)
    scheduler = Scheduler(
        store,
        with_maintenance(with_warehouse(jobs, store, args.cron), store),
        retries=args.retries,
        retry_delay=args.retry_delay,
        retry_max_delay=args.retry_max_delay,
        grace=args.grace,
        job_timeout=args.job_timeout,
        catch_up=not args.no_catch_up,
    )
    return scheduler.serve()
