"""The reference deployment in deploy/ stays in step with the code: its units are valid systemd units, and
every process gets the environment variables and commands that tests/test_replicas.py runs."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dashboards import cluster

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
#: What a replica, a worker and the scheduler read (dashboards.cluster, pipelines.store).
SHARED_SETTINGS = {"OWT_STORE", cluster.REDIS_URL_ENV, cluster.SECRET_KEY_ENV}


def test_systemd_units_are_valid(tmp_path: Path) -> None:
    """`systemd-analyze verify` accepts every unit once its paths point at this checkout."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    project = DEPLOY.parent
    for unit in sorted((DEPLOY / "systemd").glob("*.service")):
        text = unit.read_text().replace("/srv/owt/app/.venv/bin", str(Path(sys.executable).parent))
        name = unit.name.replace("@.", "@8051.")  # a template is verified as one of its instances
        (tmp_path / name).write_text(text.replace("/srv/owt/app", str(project)))
    units = sorted(str(p) for p in tmp_path.glob("*.service"))
    assert len(units) == 3
    checked = subprocess.run([analyze, "verify", *units], capture_output=True, text=True, timeout=120)
    assert checked.returncode == 0, checked.stderr


def test_every_process_gets_the_shared_settings() -> None:
    example = (DEPLOY / "owt.env.example").read_text()
    assert set(re.findall(r"^(OWT_[A-Z_]+)=", example, re.M)) >= SHARED_SETTINGS
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    for service in ("scheduler", "worker", "app"):
        assert set(compose["services"][service]["environment"]) >= SHARED_SETTINGS, service
    for unit in (DEPLOY / "systemd").glob("*.service"):
        assert "EnvironmentFile=/etc/owt/owt.env" in unit.read_text(), unit.name


def test_processes_run_the_commands_the_tests_run() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    assert compose["services"]["worker"]["command"][:4] == ["celery", "-A", "dashboards.jobs", "worker"]
    assert compose["services"]["scheduler"]["command"][:4] == ["python", "-m", "pipelines", "schedule"]
    units = {u.name: u.read_text() for u in (DEPLOY / "systemd").glob("*.service")}
    assert "gunicorn app:server" in units["owt-app@.service"]
    assert "celery -A dashboards.jobs worker" in units["owt-worker.service"]
    assert "-m pipelines schedule" in units["owt-scheduler.service"]
