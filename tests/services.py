"""Real servers on loopback for the scale-out tests: PostgreSQL (Debian's binaries, a throwaway cluster in a
temporary directory), a moto S3 server, and Redis. Never system services: each lives in its own directory,
listens on 127.0.0.1 only, and is stopped by its own pid.

In pytest, use the session fixtures at the end of tests/conftest.py (`postgres_server`, `s3_server`,
`redis_server`): they skip the tests that need a server only when its Debian binaries are absent. By hand
(or from CI scripts), `scripts/services.sh start DIR` / `stop DIR` run the same code:

    python -m tests.services start DIR    # writes DIR/env.sh (OWT_STORE, AWS_*, OWT_REDIS_URL, ...) and pids
    python -m tests.services stop DIR
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

S3_KEY, S3_SECRET, S3_REGION = "test", "test", "us-east-1"
S3_BUCKET = "owt-test"
_WAIT = 60.0  # seconds a server may take to come up on a busy 2-core machine


class ServiceUnavailable(RuntimeError):
    """The server's binaries are not installed here (the Makefile's DEBIAN_PACKAGES installs them)."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_port(port: int, what: str) -> None:
    deadline = time.monotonic() + _WAIT
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} within {_WAIT:.0f} s")


# ------------------------------------------------------------------------------------------------ PostgreSQL


def postgres_bin() -> Path:
    """Debian's PostgreSQL binaries directory (the newest version installed)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if not found:
        raise ServiceUnavailable("PostgreSQL is not installed (Debian postgresql: `make system-deps`)")
    return Path(found[-1]).parent


@dataclass(frozen=True)
class Postgres:
    directory: Path
    port: int
    database: str = "owt"
    user: str = "postgres"

    @property
    def url(self) -> str:
        """SQLAlchemy-style URL without driver (the store URL's catalog part)."""
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{self.database}"


def _as_postgres(command: list[str]) -> list[str]:
    """initdb and pg_ctl refuse to run as root: as root, run them as the `postgres` system user."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def postgres_directory() -> Path:
    """A new directory the `postgres` user can reach (pytest's tmp dirs are private to root)."""
    return Path(tempfile.mkdtemp(prefix="owt-pg-"))


def _run(command: list[str]) -> None:
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"{' '.join(command)} failed: {done.stderr.strip()}")


def start_postgres(directory: Path, port: int | None = None) -> Postgres:
    """A fresh cluster in `directory` (trust auth, loopback only, unix socket in `directory`) with database
    `owt`. As root, `directory` (see `postgres_directory`) is handed to the `postgres` user."""
    binaries = postgres_bin()
    directory.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(directory, user.pw_uid, user.pw_gid)
    port = port or free_port()
    data = directory / "data"
    _run(_as_postgres([str(binaries / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]))
    options = f"-p {port} -k {directory} -c listen_addresses=127.0.0.1 -c fsync=off"
    log = str(directory / "pg.log")
    _run(_as_postgres([str(binaries / "pg_ctl"), "-D", str(data), "-o", options, "-l", log, "-w", "start"]))
    server = Postgres(directory, port)
    import psycopg2

    connection = psycopg2.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres")
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {server.database}")
    connection.close()
    return server


def stop_postgres(directory: Path) -> None:
    data = directory / "data"
    if (data / "postmaster.pid").exists():
        subprocess.run(
            _as_postgres([str(postgres_bin() / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )


@contextlib.contextmanager
def postgres() -> Iterator[Postgres]:
    """A throwaway cluster, stopped and deleted afterwards."""
    directory = postgres_directory()
    try:
        server = start_postgres(directory)
        try:
            yield server
        finally:
            stop_postgres(directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


# ------------------------------------------------------------------------------------------------ moto S3


@dataclass(frozen=True)
class S3:
    endpoint: str
    bucket: str = S3_BUCKET

    def env(self) -> dict[str, str]:
        """The usual AWS variables that point every client (PyIceberg, boto3, s3fs) at this server."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": S3_KEY,
            "AWS_SECRET_ACCESS_KEY": S3_SECRET,
            "AWS_REGION": S3_REGION,
            "AWS_DEFAULT_REGION": S3_REGION,
        }

    def client(self) -> Any:
        """A boto3 S3 client for this server."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=S3_KEY,
            aws_secret_access_key=S3_SECRET,
            region_name=S3_REGION,
        )


def _create_bucket(server: S3) -> None:
    server.client().create_bucket(Bucket=server.bucket)  # boto3: s3fs's mkdir sends a bad location


def start_moto(*, detached: bool = False) -> tuple[S3, subprocess.Popen]:
    """A moto S3 server in its own process on loopback, with bucket `owt-test` (its own process: its request
    handling does not share the interpreter of the tests and clients that call it); `detached`: in a session
    of its own, to outlive the command that started it."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=detached,
    )
    _wait_for_port(port, "moto")
    s3 = S3(f"http://127.0.0.1:{port}")
    _create_bucket(s3)
    return s3, process


@contextlib.contextmanager
def moto_s3() -> Iterator[S3]:
    """A moto S3 server (start_moto) for as long as the context lasts."""
    s3, process = start_moto()
    try:
        yield s3
    finally:
        process.terminate()
        process.wait(timeout=30)


# ------------------------------------------------------------------------------------------------ Redis


@dataclass(frozen=True)
class Redis:
    port: int
    pid: int

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


def start_redis(directory: Path, port: int | None = None) -> Redis:
    """redis-server on 127.0.0.1 with its files in `directory`, no persistence (`--save ''`)."""
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(binary).is_file():
        raise ServiceUnavailable("redis-server is not installed (Debian redis-server: `make system-deps`)")
    directory.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    process = subprocess.Popen(
        [
            *(binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory), "--save", ""),
            *("--appendonly", "no", "--daemonize", "no", "--logfile", str(directory / "redis.log")),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    _wait_for_port(port, "redis-server")
    return Redis(port, process.pid)


#: Seconds a test's server gets to exit cleanly on SIGTERM before SIGKILL (gunicorn and Celery take seconds to
#: shut down gracefully, more on a loaded machine; nothing a test checks depends on that shutdown).
STOP_GRACE = 1.0


def stop_process(process: subprocess.Popen, grace: float = STOP_GRACE) -> None:
    """SIGTERM, up to `grace` seconds for a clean exit, then SIGKILL to its whole process group (so a gunicorn
    worker does not outlive its arbiter): start `process` with start_new_session=True."""
    process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    with contextlib.suppress(ProcessLookupError):  # a child that outlived a clean exit of its parent
        os.killpg(process.pid, signal.SIGKILL)


def stop_pid(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, 15)
    deadline = time.monotonic() + _WAIT
    while time.monotonic() < deadline:
        try:
            if os.waitpid(pid, os.WNOHANG)[0]:
                return
        except ChildProcessError:  # not our child (started by `start` in another process)
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, 9)


@contextlib.contextmanager
def redis(directory: Path) -> Iterator[Redis]:
    server = start_redis(directory)
    try:
        yield server
    finally:
        stop_pid(server.pid)


# ------------------------------------------------------------------------------------------------ CLI


def _start_all(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    pg_directory = postgres_directory()
    (directory / "pgdir").write_text(str(pg_directory))
    pg = start_postgres(pg_directory)
    s3, moto = start_moto(detached=True)
    cache = start_redis(directory / "redis")
    (directory / "pids").write_text(f"{moto.pid}\n{cache.pid}\n")
    env = {
        **s3.env(),
        "OWT_STORE": f"iceberg+{pg.url}?warehouse=s3://{s3.bucket}/owt&local={directory / 'local'}",
        "OWT_REDIS_URL": cache.url,
        "OWT_TEST_POSTGRES": pg.url,
    }
    (directory / "env.sh").write_text("".join(f"export {k}='{v}'\n" for k, v in env.items()))
    print(f"services up; `. {directory / 'env.sh'}` for OWT_STORE, AWS_*, OWT_REDIS_URL")


def _stop_all(directory: Path) -> None:
    pids = directory / "pids"
    if pids.exists():
        for pid in pids.read_text().split():
            stop_pid(int(pid))
        pids.unlink()
    pgdir = directory / "pgdir"
    if pgdir.exists():
        stop_postgres(Path(pgdir.read_text()))
        shutil.rmtree(pgdir.read_text(), ignore_errors=True)
        pgdir.unlink()
    print(f"services in {directory} stopped")


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("start", "stop"):
        print("usage: python -m tests.services start|stop DIR", file=sys.stderr)
        return 2
    directory = Path(argv[1]).resolve()
    try:
        (_start_all if argv[0] == "start" else _stop_all)(directory)
    except ServiceUnavailable as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
