"""Reliability: a crawl through the faults the real Hub throws loses nothing.

Each test takes a clean snapshot of the fake Hub first (the reference), then crawls again with faults
injected: recoverable ones must give exactly the reference rows; unrecoverable ones must fail with a clear
error, publish nothing, keep the checkpoint, and a re-run must resume from the failed page and give exactly
the reference rows. Retries run without real sleeps (`no_sleep` records the waits the client would take).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx2
import pandas as pd
import pytest
from huggingface_hub.errors import HfHubHTTPError

from pipelines.hub import HubPageError
from pipelines.snapshot import CHECKPOINT_FILE
from pipelines.store import Store
from pipelines.verify import verify_store
from tests.fakehub import FakeHub, Fault, make_models
from tests.ops_support import snapshot_frame, take_small_snapshot

DAY = dt.date(2026, 4, 1)


@pytest.fixture
def reference(tmp_path: Path, fake_hub: FakeHub, hf_env: dict[str, str], no_sleep: object) -> pd.DataFrame:
    """The fake Hub's models as an uninterrupted, fault-free crawl stores them."""
    fake_hub.load(make_models(200, seed=3))
    store = Store(tmp_path / "reference")
    take_small_snapshot(store, DAY, fake_hub.url)
    return snapshot_frame(store, DAY)


def test_recoverable_faults_on_many_pages_leave_the_snapshot_exactly_as_a_clean_crawl(
    tmp_path: Path, fake_hub: FakeHub, reference: pd.DataFrame, no_sleep
) -> None:
    storm = [Fault.rate_limited(reset=0)] * 5  # five 429s in a row: the client's whole retry budget
    faults = {
        1: storm,
        2: [Fault.status(503), Fault.status(502), Fault.status(500), Fault.status(504), Fault.status(408)],
        3: [Fault.stall(30), Fault.stall(30)],  # longer than the 1 s timeout: timed out, retried
        4: [Fault.short_body(), Fault.short_body(), Fault.short_body()],  # connection dropped mid-body
        5: [Fault.rate_limited(ratelimit=False, retry_after=True, reset=0), Fault.status(503)],
    }
    for page, queued in faults.items():
        fake_hub.inject("list", queued, page=page)
    store = Store(tmp_path / "store")

    result = take_small_snapshot(store, DAY, fake_hub.url, timeout=1.0)

    injected = sum(len(queued) for queued in faults.values())
    assert fake_hub.pending_faults() == 0, "every fault was served"
    pd.testing.assert_frame_equal(snapshot_frame(store, DAY), reference)
    provenance = store.provenance(DAY)
    assert provenance["retries"] == injected == result.stats.retries
    assert provenance["rate_limited"] == 6
    assert no_sleep.waits.count(1) >= 6, "429 with RateLimit t=0 or Retry-After: 0 waits t+1 = 1 s"
    assert verify_store(store).problems == []


@pytest.mark.parametrize(
    ("faults", "error"),
    [
        pytest.param([Fault.broken_json()], HubPageError, id="invalid-json"),
        pytest.param([Fault.html()], HubPageError, id="html-error-page"),
        pytest.param([Fault.status(500)] * 6, HfHubHTTPError, id="5xx-beyond-retries"),
        pytest.param([Fault.rate_limited()] * 6, HfHubHTTPError, id="429-beyond-retries"),
        pytest.param([Fault.stall(30)] * 6, httpx2.TimeoutException, id="stalls-beyond-retries"),
    ],
)
def test_an_unrecoverable_page_fails_cleanly_and_a_rerun_resumes_from_it(
    tmp_path: Path, fake_hub: FakeHub, reference: pd.DataFrame, faults: list[Fault], error: type
) -> None:
    fake_hub.inject("list", faults, page=3, author="Qwen")
    store = Store(tmp_path / "store")

    with pytest.raises(error):
        take_small_snapshot(store, DAY, fake_hub.url, timeout=1.0)

    assert store.dates() == [], "nothing is published"
    checkpoint = json.loads((store.staging_dir(DAY) / CHECKPOINT_FILE).read_text())
    next_query = parse_qs(urlsplit(checkpoint["next_url"]).query)
    assert next_query["author"] == ["Qwen"] and next_query["cursor"], "the failed page is next"
    assert checkpoint["rows"] > 0, "pages before the failure are kept"
    served = len(fake_hub.requests)

    take_small_snapshot(store, DAY, fake_hub.url, timeout=1.0)

    first_resumed = fake_hub.requests[served]
    assert first_resumed.param("cursor") == next_query["cursor"][0], "resumed at the failed page, not page 1"
    pd.testing.assert_frame_equal(snapshot_frame(store, DAY), reference)
    assert not store.staging_dir(DAY).exists(), "the staging area is cleaned up after publishing"


def test_a_malformed_item_on_every_page_is_skipped_or_nulled_counted_and_nothing_else_is_lost(
    tmp_path: Path, fake_hub: FakeHub, reference: pd.DataFrame
) -> None:
    kinds = [Fault.missing_id(3), Fault.safetensors_without_parameters(6), Fault.bad_date(8)]
    fake_hub.inject("list", [kinds[i % 3] for i in range(10)], page=None)  # the next 10 pages, any listing
    store = Store(tmp_path / "store")

    take_small_snapshot(store, DAY, fake_hub.url)

    served = 10 - fake_hub.pending_faults()
    assert served > 5
    by_kind = [sum(1 for i in range(served) if i % 3 == k) for k in range(3)]  # faults served of each kind
    provenance = store.provenance(DAY)
    assert provenance["skipped"] == by_kind[0], "only an item without an id is skipped, each counted"
    assert len(provenance["skipped_examples"]) == by_kind[0]
    assert provenance["nulled_fields"] == {"safetensors": by_kind[1], "createdAt": by_kind[2]}, (
        "an odd safetensors block or date nulls that field only, each counted"
    )
    got = snapshot_frame(store, DAY)
    lost = set(reference["model_id"]) - set(got["model_id"])
    assert len(lost) <= by_kind[0], "every model that is missing was an item without an id"
    kept = reference[reference["model_id"].isin(got["model_id"])].reset_index(drop=True)
    nulled = ["params_total", "created_at"]
    pd.testing.assert_frame_equal(got.drop(columns=nulled), kept.drop(columns=nulled))
    for column in nulled:  # where a value differs from the clean crawl's, it is null
        differs = got[column].ne(kept[column]) & kept[column].notna()
        assert got.loc[differs, column].isna().all()
