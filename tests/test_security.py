"""Security: HF_TOKEN never leaks, and the pipelines' inputs are validated, never interpreted.

The token is set to a recognisable fake value; every byte the runs wrote (the whole store, logs, captured
stdout/stderr) is searched for it, including after a failure whose server message echoes the request's
Authorization header back (a misbehaving proxy would), so every error path is covered. The dashboard's URL
parameters and export endpoint are fuzzed by the dashboard's own tests.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import random
import signal
import string
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipelines.runs import read_runs
from pipelines.store import Store, parse_date
from tests.fakehub import FakeHub, FakeRequest, FakeResponse, make_models
from tests.ops_support import PROJECT_ROOT, run_cli

TOKEN = "hf_OwtFakeTokenForSecurityTests0123456789"


def files_containing(root: Path, secret: str) -> list[Path]:
    needle = secret.encode()
    return [path for path in root.rglob("*") if path.is_file() and needle in path.read_bytes()]


@pytest.fixture
def token_env(fake_hub: FakeHub, hf_env: dict[str, str]) -> dict[str, str]:
    fake_hub.load(make_models(120, seed=2))
    fake_hub.max_page_size = 50
    return {**hf_env, "HF_TOKEN": TOKEN}


def echo_authorization(fake_hub: FakeHub) -> None:
    """From now on the listing answers 400 with the request's Authorization header in its error message."""

    def handler(request: FakeRequest) -> FakeResponse:
        return FakeResponse.error(400, f"bad request from {request.headers.get('authorization')}")

    fake_hub.add_route("GET", r"^/api/models$", handler, name="echo")


def test_the_token_is_sent_to_the_hub_but_written_nowhere(
    tmp_path: Path, fake_hub: FakeHub, token_env: dict[str, str]
) -> None:
    store = Store(tmp_path / "store")
    outputs = []
    taken = run_cli("snapshot", "--store", str(store.root), "--date", "2026-08-01", env=token_env)
    outputs.append(taken.stdout + taken.stderr)
    assert taken.returncode == 0, taken.stderr
    assert fake_hub.requests[-1].headers.get("authorization") == f"Bearer {TOKEN}", "the token is used"

    echo_authorization(fake_hub)
    failed = run_cli("snapshot", "--store", str(store.root), "--date", "2026-08-02", env=token_env)
    outputs.append(failed.stdout + failed.stderr)
    assert failed.returncode == 1 and "bad request from" in failed.stderr

    for command in (["status", "--json"], ["verify"]):
        result = run_cli(*command, "--store", str(store.root), env=token_env)
        outputs.append(result.stdout + result.stderr)

    assert [TOKEN in output for output in outputs] == [False] * len(outputs)
    assert files_containing(store.root, TOKEN) == []
    assert "[redacted]" in read_runs(store)[1]["error"], "the failure is recorded, without the token"
    assert store.provenance(dt.date(2026, 8, 1))["rows"] > 0


def test_the_scheduler_logs_never_show_the_token(
    tmp_path: Path, fake_hub: FakeHub, token_env: dict[str, str]
) -> None:
    echo_authorization(fake_hub)
    store = Store(tmp_path / "store")
    log = tmp_path / "schedule.log"
    with open(log, "wb") as log_file:
        scheduler = subprocess.Popen(
            [
                *(sys.executable, "-m", "pipelines", "schedule", "--store", str(store.root)),
                *("--retries", "1", "--retry-delay", "0.1", "--log-format", "json"),
            ],
            cwd=PROJECT_ROOT,
            env={**os.environ, **token_env},
            stderr=log_file,
        )
    try:
        deadline = time.monotonic() + 60
        while (
            len([r for r in read_runs(store) if r.get("finished_at")]) < 2
        ):  # the catch-up run and its retry
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
    finally:
        scheduler.send_signal(signal.SIGTERM)
        scheduler.wait(timeout=60)
    logged = log.read_text()
    assert "bad request from" in logged and "[redacted]" in logged
    assert TOKEN not in logged
    assert files_containing(store.root, TOKEN) == []


def test_dates_from_the_command_line_are_dates_or_a_clear_error(tmp_path: Path) -> None:
    rng = random.Random(7)
    hostile = ["../../etc", "2026-01-01/../../x", "2026-13-01", "", "2026-01-01; rm -rf /", "%2e%2e", "\x00"]
    hostile += ["".join(rng.choice(string.printable) for _ in range(rng.randint(1, 20))) for _ in range(200)]
    for text in hostile:
        try:
            parsed = parse_date(text)
        except ValueError as error:
            assert "YYYY-MM-DD" in str(error)
        else:
            assert isinstance(parsed, dt.date) and parsed.isoformat() == text
    store = tmp_path / "store"
    result = run_cli("snapshot", "--store", str(store), "--date", "../../outside")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "YYYY-MM-DD" in result.stderr
    assert not (tmp_path / "outside").exists() and not list(tmp_path.glob("**/outside*"))


def test_scheduled_job_arguments_are_passed_as_arguments_never_to_a_shell(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    config = tmp_path / "schedule.toml"
    config.write_text(
        '[[job]]\nname = "odd"\ncommand = "verify"\ncron = "0 5 * * *"\n'
        f'args = ["--date", "2026-01-01; touch {marker}", "$(touch {marker})"]\n'
    )
    from pipelines.schedule import Scheduler, load_jobs

    store = Store(tmp_path / "store")
    job = next(job for job in load_jobs(config, "30 2 * * *") if job.name == "odd")
    assert Scheduler(store, [job], retries=0).run_job(job) == "failed"
    assert not marker.exists()
    assert "YYYY-MM-DD" in read_runs(store)[-1]["error"]


def test_run_history_lines_are_json_whatever_the_error_text(tmp_path: Path) -> None:
    from pipelines.runs import record_run

    store = Store(tmp_path)
    nasty = 'quote " newline \n tab \t brace } unicode 中文 nul \x00'
    with pytest.raises(RuntimeError), record_run(store, "snapshot"):
        raise RuntimeError(nasty)
    lines = (tmp_path / "runs.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2 and all(json.loads(line) for line in lines)
    assert read_runs(store)[0]["error"] == f"RuntimeError: {nasty}"


PASSWORD = "OwtProxyPa55word-7f3a9c"


def test_a_password_in_the_endpoint_url_is_used_but_written_and_printed_nowhere(
    tmp_path: Path, fake_hub: FakeHub, hf_env: dict[str, str]
) -> None:
    """`HF_ENDPOINT=http://user:password@host` (a proxy that wants basic auth): the real huggingface_hub
    client sends the credentials, every page is fetched, and no file of the store and no output holds the
    password, its URL-encoded form or the Authorization header made from it, even when a server echoes it."""
    fake_hub.load(make_models(120, seed=2))
    fake_hub.max_page_size = 50
    env = {**hf_env, "HF_ENDPOINT": fake_hub.url.replace("://", f"://owt-user:{PASSWORD}@")}
    basic = base64.b64encode(f"owt-user:{PASSWORD}".encode()).decode()
    store = Store(tmp_path / "store")
    outputs = []

    taken = run_cli("snapshot", "--store", str(store.root), "--date", "2026-08-01", env=env)
    outputs.append(taken.stdout + taken.stderr)
    assert taken.returncode == 0, taken.stderr
    listing = [r for r in fake_hub.requests if r.path == "/api/models"]
    assert len(listing) > 3 and all(r.headers.get("authorization") == f"Basic {basic}" for r in listing)

    echo_authorization(fake_hub)
    failed = run_cli("snapshot", "--store", str(store.root), "--date", "2026-08-02", env=env)
    outputs.append(failed.stdout + failed.stderr)
    assert failed.returncode == 1 and "bad request from" in failed.stderr
    assert (store.staging_dir(dt.date(2026, 8, 2)) / "checkpoint.json").is_file(), "a checkpoint to search"
    # One retry (OWT_HUB_RETRIES) keeps the retry path and its log line, without the default 23 s of waits.
    unreachable = {**env, "HF_ENDPOINT": f"http://owt-user:{PASSWORD}@127.0.0.1:9", "OWT_HUB_RETRIES": "1"}
    refused = run_cli("snapshot", "--store", str(store.root), "--date", "2026-08-03", env=unreachable)
    outputs.append(refused.stdout + refused.stderr)
    assert refused.returncode == 1
    for command in (["status", "--json"], ["verify"], ["warehouse"]):
        result = run_cli(*command, "--store", str(store.root), env=env)
        outputs.append(result.stdout + result.stderr)

    for secret in (PASSWORD, basic):
        assert [secret in output for output in outputs] == [False] * len(outputs)
        assert files_containing(store.root, secret) == []
    assert store.provenance(dt.date(2026, 8, 1))["source"]["endpoint"] == fake_hub.url
    assert "[redacted]" in read_runs(store)[1]["error"]
