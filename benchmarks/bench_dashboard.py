"""Dashboard latency on a given store: server-side callback time per page, time to first chart in headless
chromium, and the app's memory.

How: the app is served on a loopback port; chromium opens every page `--runs` times, timing navigation to the
first drawn chart (or table), and records the callback requests the page makes. Those requests are then
replayed `--repeat` times each through the app in-process (Flask test client: Dash routing, the queries,
figure building and JSON), which gives the server-side latency per page without browser or network noise.
Baseline: the URL -> view callback (no query), timed the same way in the same run.

    .venv/bin/python benchmarks/bench_dashboard.py --store /path/to/large-store
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import statistics
import sys
import threading
import time
from pathlib import Path

import psutil
from playwright.sync_api import Page, sync_playwright
from werkzeug.serving import make_server

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import create_app
from dashboards.state import state_of
from pipelines.store import resolve_store

CHROMIUM = "/usr/bin/chromium"
#: Pages and what marks them as usable: a drawn chart trace, else a filled table row.
PAGES: dict[str, str] = {
    "/": ".chart-card .js-plotly-plot g.trace",
    "/organisations": ".chart-card .js-plotly-plot g.trace",
    "/models": "#models-grid .ag-center-cols-container .ag-row",
    "/derivatives": ".chart-card .js-plotly-plot g.trace",
    "/derivatives?measure=downloads&cells=share": ".chart-card .js-plotly-plot g.trace",
    "/segments": ".chart-card .js-plotly-plot g.trace",
    "/methodology": "#snapshot-grid .ag-center-cols-container .ag-row",
    "/organisations/Qwen": ".chart-card .js-plotly-plot g.trace",
    "/?events=release,policy": ".chart-card .js-plotly-plot g.trace",
    # No Dash app, so no callbacks: the whole page comes with its first request.
    "/embed/chart/downloads-by-country": ".js-plotly-plot g.trace",
}
CHART_READY = ".chart-card .js-plotly-plot g.trace"
SYNC_OUTPUT_PREFIX = "..url.search..."


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def browse(
    base: str, pages: dict[str, str], runs: int
) -> tuple[dict[str, list[float]], dict[str, list[str]]]:
    """Time to first chart per page (seconds, each run) and the callback request bodies each page sent."""
    first_chart: dict[str, list[float]] = {path: [] for path in pages}
    bodies: dict[str, list[str]] = {path: [] for path in pages}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        context = browser.new_context(viewport={"width": 1366, "height": 900})
        warm = context.new_page()  # fill the HTTP cache, as for a returning visitor
        warm.goto(base + "/")
        warm.wait_for_selector(PAGES["/"], state="attached", timeout=120_000)
        warm.close()
        for run in range(runs):
            for path, ready in pages.items():
                page: Page = context.new_page()
                if run == 0:
                    page.on(
                        "request",
                        lambda request, path=path: (
                            bodies[path].append(request.post_data or "")
                            if "/_dash-update-component" in request.url
                            else None
                        ),
                    )
                started = time.perf_counter()
                page.goto(base + path)
                page.wait_for_selector(ready, state="attached", timeout=120_000)
                first_chart[path].append(time.perf_counter() - started)
                page.wait_for_load_state("networkidle", timeout=120_000)
                page.close()
        browser.close()
    return first_chart, bodies


def replay(server, bodies: dict[str, list[str]], repeat: int) -> tuple[dict[str, list[float]], list[float]]:
    """Server-side seconds per callback request, per page; and the URL-sync callback alone (baseline)."""
    client = server.test_client()
    per_page: dict[str, list[float]] = {}
    baseline: list[float] = []
    for path, requests in bodies.items():
        per_page[path] = []
        for body in requests:
            for _ in range(repeat):
                started = time.perf_counter()
                response = client.post("/_dash-update-component", data=body, content_type="application/json")
                elapsed = time.perf_counter() - started
                if response.status_code not in (200, 204):
                    raise RuntimeError(f"{path}: callback answered {response.status_code}")
                per_page[path].append(elapsed)
                if SYNC_OUTPUT_PREFIX in body[:200]:
                    baseline.append(elapsed)
    return per_page, baseline


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--store", default=None, help="store to serve (default: env OWT_STORE, else data/store)"
    )
    parser.add_argument("--runs", type=int, default=3, help="browser loads per page (median reported)")
    parser.add_argument("--repeat", type=int, default=10, help="replays of each recorded callback request")
    args = parser.parse_args(argv)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    started = time.perf_counter()
    app = create_app(resolve_store(args.store))
    startup = time.perf_counter() - started
    top_model = state_of(app.server).warehouse.model_search("", limit=1)["model_id"].iloc[0]
    pages = {**PAGES, f"/models/{top_model}": CHART_READY}
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        first_chart, bodies = browse(f"http://127.0.0.1:{server.server_port}", pages, args.runs)
    finally:
        server.shutdown()
        thread.join(5)
    per_page, baseline = replay(app.server, bodies, args.repeat)
    rss = psutil.Process(os.getpid()).memory_info().rss
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    base_median = statistics.median(baseline) if baseline else float("nan")
    print(f"store: {resolve_store(args.store).root}   app start (warehouse open/refresh): {startup:.2f} s")
    print(f"baseline (URL -> view callback, no query): median {base_median * 1000:.1f} ms")
    print(f"{'page':<34}{'callbacks':>10}{'median ms':>11}{'p95 ms':>9}{'x base':>8}{'first chart s':>15}")
    for path in pages:
        times = per_page[path] or [float("nan")]  # a page without callbacks (the embed page)
        median, p95 = statistics.median(times), percentile(times, 0.95)
        print(
            f"{path[:33]:<34}{len(bodies[path]):>10}{median * 1000:>11.1f}{p95 * 1000:>9.1f}"
            f"{median / base_median:>8.1f}{statistics.median(first_chart[path]):>15.2f}"
        )
    every = [t for times in per_page.values() for t in times]
    overall = f"median {statistics.median(every) * 1000:.1f} ms, p95 {percentile(every, 0.95) * 1000:.1f} ms"
    print(f"all callbacks: {overall}; app RSS {rss / 2**20:.0f} MiB (peak {peak / 2**20:.0f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
