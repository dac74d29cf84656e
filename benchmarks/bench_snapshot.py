"""Benchmark `python -m pipelines snapshot` against a fake Hub serving synthetic models (1,000 per page).

For each size (default 50,000 and 200,000 models) and each run, measured in the same session:
  (a) a plain HTTP client (httpx2) GETs every page of the same crawl (same listings, following Link headers);
  (b) the full `python -m pipelines snapshot` in a subprocess (start-up, crawl, parse, stage, publish);
(a) first in odd runs, (b) first in even ones.
Prints medians: seconds of (a) and (b), the ratio (b)/(a) of each run's pair (target <= 1.5), peak RSS
of the snapshot process (target <= 400 MB, flat from 50k to 200k models), published bytes per model, the
snapshot's CPU seconds and the load average: on a busy machine (2 cores shared) wall times stretch, the CPU
does not.

    .venv/bin/python -m benchmarks.bench_snapshot --runs 5 --models 200000
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipelines.registry import load_registry  # noqa: E402
from pipelines.snapshot import Scope  # noqa: E402

DATE = "2026-11-28"
MIN_DOWNLOADS = 0  # the top listing then covers every model: the crawl is the whole fake Hub


def start_fake_hub(models: int) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.fakehub",
            "--models",
            str(models),
            "--seed",
            "1",
            "--page-size",
            "1000",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    url = process.stdout.readline().strip()
    if not url.startswith("http://"):
        raise RuntimeError(f"fake hub did not start: {url!r}")
    return process, url


def crawl_plain(url: str, scope: Scope) -> tuple[float, int]:
    """(a): GET every page of every listing of the snapshot's crawl with a bare httpx2 client."""
    started = time.perf_counter()
    pages = 0
    with httpx2.Client(timeout=60) as client:
        for phase in scope.phases():
            response = client.get(f"{url}/api/models", params=phase.params)
            while True:
                response.raise_for_status()
                pages += 1
                _ = response.content
                next_url = response.links.get("next", {}).get("url")
                if not next_url:
                    break
                response = client.get(next_url)
    return time.perf_counter() - started, pages


def run_snapshot(url: str, env: dict[str, str], store: Path) -> tuple[float, float, float, dict]:
    """(b): the real command in a subprocess; returns seconds, peak RSS in MB, CPU seconds, provenance."""
    command = [sys.executable, "-m", "pipelines", "snapshot", "--store", str(store), "--date", DATE]
    command += ["--min-downloads", str(MIN_DOWNLOADS), "--quiet"]
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env={**env, "HF_ENDPOINT": url}, stdout=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if status != 0:
        raise RuntimeError(f"snapshot failed with status {status}")
    provenance = json.loads((store / "snapshots" / f"date={DATE}" / "provenance.json").read_text())
    return seconds, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime, provenance


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", type=int, default=200_000, help="largest size (default 200000)")
    parser.add_argument(
        "--small", type=int, default=50_000, help="smaller size, for RSS flatness (default 50000)"
    )
    parser.add_argument("--runs", type=int, default=3, help="runs per size; medians are printed (default 3)")
    args = parser.parse_args()

    registry = load_registry()
    namespaces = tuple(sorted((org.namespace for org in registry.orgs.values()), key=str.lower))
    scope = Scope(namespaces=namespaces, min_downloads=MIN_DOWNLOADS)
    with tempfile.TemporaryDirectory(prefix="bench-snapshot-") as tmp:
        hf_home = Path(tmp) / "hf_home"
        hf_home.mkdir()
        (hf_home / ".agent_harnesses.json").write_text(json.dumps({"standardEnvVars": [], "harnesses": {}}))
        env = {**os.environ, "HF_HOME": str(hf_home), "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
        env.pop("HF_TOKEN", None)
        results = []
        for size in sorted({args.small, args.models}):
            fake, url = start_fake_hub(size)
            try:
                crawl_plain(url, scope)  # warm the fake's sort caches so neither side pays for them
                plain, snap, rss, cpus, loads = [], [], [], [], []
                for run in range(args.runs):
                    # Alternate which goes first: the fake Hub's speed drifts over a session, and a fixed
                    # order would hand that drift to one side.
                    store = Path(tmp) / f"s-{size}-{run}"
                    if run % 2:
                        snapshot, plain_crawl = run_snapshot(url, env, store), crawl_plain(url, scope)
                    else:
                        plain_crawl, snapshot = crawl_plain(url, scope), run_snapshot(url, env, store)
                    (plain_seconds, pages), (seconds, peak, cpu, provenance) = plain_crawl, snapshot
                    plain.append(plain_seconds)
                    snap.append(seconds)
                    rss.append(peak)
                    cpus.append(cpu)
                    loads.append(os.getloadavg()[0])
                    size_bytes = sum(f["bytes"] for f in provenance["files"])
                    print(
                        f"  {size} models run {run + 1}: plain {plain[-1]:.2f} s, snapshot {seconds:.2f} s "
                        f"(x{seconds / plain[-1]:.2f}, CPU {cpu:.2f} s), peak RSS {peak:.0f} MB, "
                        f"{provenance['rows']} rows, {provenance['pages']} pages; load {loads[-1]:.1f}",
                        flush=True,
                    )
                results.append(
                    (
                        size,
                        pages,
                        statistics.median(plain),
                        statistics.median(snap),
                        statistics.median(b / a for a, b in zip(plain, snap, strict=True)),
                        statistics.median(rss),
                        size_bytes / provenance["rows"],
                        statistics.median(cpus),
                        statistics.median(loads),
                    )
                )
            finally:
                fake.terminate()
                fake.wait(timeout=30)
    print(f"\nmedians of {args.runs} runs (1,000 models per page)")
    print(
        f"{'models':>8} {'pages':>6} {'(a) plain s':>12} {'(b) snapshot s':>15} {'(b)/(a)':>8} "
        f"{'peak RSS MB':>12} {'bytes/model':>12} {'(b) CPU s':>10} {'load avg':>9}"
    )
    for size, pages, plain_s, snap_s, ratio, rss_mb, per_model, cpu_s, load in results:
        print(
            f"{size:>8} {pages:>6} {plain_s:>12.2f} {snap_s:>15.2f} {ratio:>8.2f} {rss_mb:>12.0f} "
            f"{per_model:>12.1f} {cpu_s:>10.2f} {load:>9.1f}"
        )
    print("targets: (b)/(a) <= 1.5; peak RSS <= 400 MB and flat between sizes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
