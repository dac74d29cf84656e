"""Shared fixtures: the fake Hub and a clean huggingface_hub environment for every test that talks to it.

Use them together: `def test_x(fake_hub, hf_env, no_sleep): fake_hub.load(make_models(50))`.
Other helpers may append clearly separated fixture blocks at the end of this file.
"""

from __future__ import annotations

import json
import types
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from huggingface_hub import set_client_factory
from huggingface_hub.utils._http import default_client_factory  # not re-exported

from tests.fakehub import FakeHub

if TYPE_CHECKING:  # the app and the query layer are imported by the fixtures that need them
    from dash import Dash
    from flask.testing import FlaskClient

    from dashboards.query import Warehouse
    from pipelines.store import Store


@pytest.fixture
def fake_hub() -> Iterator[FakeHub]:
    """A running fake Hub, empty until `fake_hub.load(models)`; stopped after the test.

    Pages of 1000 like the real Hub; tests set `fake_hub.max_page_size` lower to get many pages cheaply.
    """
    hub = FakeHub()
    hub.start()
    try:
        yield hub
    finally:
        hub.stop()


@pytest.fixture
def hf_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_hub: FakeHub) -> dict[str, str]:
    """Environment for the real huggingface_hub client against the fake Hub; returns it for subprocesses.

    - `HF_ENDPOINT` = the fake Hub (read by `pipelines.hub` at client construction, and by children);
    - `HF_HOME` = a tmp dir with a pre-written agent-harness cache, so the client makes no hidden request;
    - `HF_HUB_OFFLINE` and tokens unset (a test sets `HF_TOKEN` itself when it needs one);
    - `NO_PROXY` for loopback, in case the machine has a proxy.
    """
    hf_home = tmp_path / "hf_home"
    hf_home.mkdir()
    (hf_home / ".agent_harnesses.json").write_text(json.dumps({"standardEnvVars": [], "harnesses": {}}))
    for name in (
        "HF_HUB_OFFLINE",
        "TRANSFORMERS_OFFLINE",
        "HF_TOKEN",
        "HUGGING_FACE_HUB_TOKEN",
        "HF_TOKEN_PATH",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_ENDPOINT", fake_hub.url)
    monkeypatch.setenv("HF_HOME", str(hf_home))
    monkeypatch.setenv("HF_TOKEN_PATH", str(hf_home / "token"))
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", fake_hub.url)
    # File URLs come from a template fixed at import time from HF_ENDPOINT; point it at the fake Hub too.
    monkeypatch.setattr(
        huggingface_hub.constants,
        "HUGGINGFACE_CO_URL_TEMPLATE",
        fake_hub.url + "/{repo_id}/resolve/{revision}/{filename}",
    )
    monkeypatch.setattr(huggingface_hub.constants, "HF_HOME", str(hf_home))
    monkeypatch.setattr(
        huggingface_hub.constants, "AGENT_HARNESSES_PATH", str(hf_home / ".agent_harnesses.json")
    )
    monkeypatch.setattr(huggingface_hub.constants, "HF_TOKEN_PATH", str(hf_home / "token"))
    monkeypatch.setattr(huggingface_hub.constants, "HF_STORED_TOKENS_PATH", str(hf_home / "stored_tokens"))
    return {
        "HF_ENDPOINT": fake_hub.url,
        "HF_HOME": str(hf_home),
        "HF_TOKEN_PATH": str(hf_home / "token"),
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
        "HF_HUB_DISABLE_TELEMETRY": "1",
    }


class SleepRecorder:
    """Stands in for `time` inside huggingface_hub's retry loop: records the waits instead of sleeping."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> SleepRecorder:
    """Retries without real waits (hf-hub-api.md §6): replaces the `time` module seen by huggingface_hub's
    `_http` only, so the fake server's own threads still sleep for real. `no_sleep.waits` lists the waits."""
    import huggingface_hub.utils._http as hf_http

    recorder = SleepRecorder()
    monkeypatch.setattr(hf_http, "time", types.SimpleNamespace(sleep=recorder.sleep))
    return recorder


@pytest.fixture(autouse=True)
def default_hub_session() -> Iterator[None]:
    """Each test starts from huggingface_hub's own session: a `HubClient` installs its client factory
    process-wide (timeout, hooks), and must not carry into the next test whatever order tests run in."""
    yield
    set_client_factory(default_client_factory)


# ------------------------------------------------------------------------------ registry (attribution helper)


@pytest.fixture(autouse=True)
def no_user_registry_override(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's own OWT_REGISTRY must not change what a test sees (tests that need one set it)."""
    monkeypatch.delenv("OWT_REGISTRY", raising=False)


# ------------------------------------------------------------------------------ charts and export (H4b)

@pytest.fixture(scope="session")
def chart_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic store (200 models, 75 daily snapshots to 2025-09-30, the demo's crossover year, so
    every chart has data) shared by the chart and export tests."""
    import datetime as dt

    from pipelines.demo import generate_demo_store
    from pipelines.store import Store

    root = tmp_path_factory.mktemp("charts") / "store"
    generate_demo_store(Store(root), models=200, days=75, seed=7, end=dt.date(2025, 9, 30))
    return root


@pytest.fixture(scope="session")
def chart_warehouse(chart_store: Path):
    """The query layer over `chart_store`, with the shipped registry."""
    from dashboards.query import open_warehouse
    from pipelines.registry import load_registry
    from pipelines.store import Store

    return open_warehouse(Store(chart_store), load_registry(override=None))


@pytest.fixture(scope="session")
def cjk_warehouse(chart_store: Path, tmp_path_factory: pytest.TempPathFactory):
    """A copy of `chart_store` read with a user registry that names Qwen's organisation in Chinese."""
    import shutil

    from dashboards.query import open_warehouse
    from pipelines.registry import COLUMNS, load_registry
    from pipelines.store import Store

    root = tmp_path_factory.mktemp("charts-cjk")
    shutil.copytree(chart_store / "snapshots", root / "store" / "snapshots")
    override = root / "orgs-override.csv"
    row = ["Qwen", "阿里云通义千问 (Qwen)", "CN", "china", "company", "https://huggingface.co/Qwen", ""]
    override.write_text(",".join(COLUMNS) + "\n" + ",".join(row) + "\n", encoding="utf-8")
    return open_warehouse(Store(root / "store"), load_registry(override=override))


# ------------------------------------------------------------------ scale-out servers (tests/services.py)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[object]:
    """A throwaway PostgreSQL cluster on 127.0.0.1 for the whole session (skips only without the binaries)."""
    from tests import services

    try:
        services.postgres_bin()
    except services.ServiceUnavailable as error:
        pytest.skip(str(error))
    with services.postgres() as server:
        yield server


@pytest.fixture(scope="session")
def s3_server() -> Iterator[object]:
    """A moto S3 server on 127.0.0.1 (in-process thread) with bucket `owt-test`, for the whole session."""
    from tests import services

    with services.moto_s3() as server:
        yield server


@pytest.fixture
def s3_env(s3_server, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The moto server's AWS_* settings, set in this test's environment (and returned for subprocesses)."""
    env = s3_server.env()
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """redis-server on 127.0.0.1, no persistence, for the whole session (skips only without the binary)."""
    from tests import services

    try:
        with services.redis(tmp_path_factory.mktemp("redis")) as server:
            yield server
    except services.ServiceUnavailable as error:
        pytest.skip(str(error))


# ---- the dashboard over a test module's `store` ----------------------------------------------------------
# A module defining a `store` fixture (a pipelines Store) gets these two views of it; a module that builds
# its warehouse or client differently defines its own fixture of the same name, which wins.


@pytest.fixture(scope="module")
def warehouse(store: Store) -> Warehouse:
    """The dashboard's query layer over the module's `store`, attributed by the shipped registry alone."""
    from dashboards.query import open_warehouse
    from pipelines.registry import load_registry

    return open_warehouse(store, load_registry(override=None))


@pytest.fixture(scope="module")
def client(store: Store) -> FlaskClient:
    """A Flask test client of the whole app over the module's `store`."""
    from app import create_app

    return create_app(store).server.test_client()


# ---- one small demo store and app for the modules that only read them -----------------------------------
# test_app, test_embed and test_compare_app each built a copy of the small demo store, an app and its
# warehouse (~3.5 s a module); they only read, so they share these.


@pytest.fixture(scope="session")
def shared_demo_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """The small demo store (tests/browser/support.py), read-only for every module that uses it."""
    from tests.browser.support import small_demo_store

    return small_demo_store(tmp_path_factory.mktemp("shared-demo-store"))


@pytest.fixture(scope="session")
def shared_demo_app(shared_demo_store: Store) -> Dash:
    """The whole app over `shared_demo_store`; tests using it must not change its state."""
    from app import create_app

    return create_app(shared_demo_store)
