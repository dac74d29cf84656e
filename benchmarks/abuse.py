"""Abuse the dashboard the way issue 11's probes did, on loopback only, and report how it held.

Starts `gunicorn app:server` (2 workers, `--timeout 20` as in the issue's probe) on 127.0.0.1 and a free port
over a small store (a fresh synthetic one unless --store), then:

1. probes: out-of-span and extreme dates on every download route and on the page callbacks, a 100-chart
   report URL, a 30 MB callback body, a 2 MB unknown output id and malformed callback bodies (a fixed list);
2. a 15-client export load for 60 s: each client loops over chart PNG/SVG/PDF/CSV, reports and data
   downloads of random views;

and prints requests, status counts, p50/p99/max latency and the server's RSS growth (master and workers,
from /proc). Fixed request counts and a fixed duration: it stops by itself and stops gunicorn.

    .venv/bin/python -m benchmarks.abuse                      # ~2 min including the store
    .venv/bin/python -m benchmarks.abuse --store /tmp/owt-store --clients 15 --seconds 60
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import http.client
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

HOST = "127.0.0.1"  # never anything else: this script sends abusive traffic
PROJECT_DIR = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).with_name("gunicorn")
CHARTS = (
    "cumulative-by-country", "downloads-by-country", "share-by-country", "top-organisations",
    "derivatives-by-country", "derivatives-by-relation", "size-by-country", "task-by-country",
    "library-by-country", "top-base-models", "concentration",
)
REQUEST_TIMEOUT_S = 120
Result = tuple[str, int, float]  # (kind, HTTP status or 0 for a dropped connection, seconds)


def _request(port: int, method: str, path: str, body: bytes | None = None) -> tuple[int, float]:
    """One request on a fresh connection; status 0 when the server closed it before answering."""
    began = time.perf_counter()
    connection = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT_S)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        # The server may answer (413) and close before the whole body is sent: then read that answer.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        status = response.status
    except (ConnectionError, http.client.HTTPException, TimeoutError, OSError):
        status = 0
    finally:
        connection.close()
    return status, time.perf_counter() - began


def _dates(first: str, last: str) -> dict[str, dict[str, str]]:
    return {
        "after the latest": {"from": _shift(last, 16)},
        "before the first": {"to": _shift(first, -183)},
        "to 9999-12-31": {"to": "9999-12-31"},
        "from 1000-01-01": {"from": "1000-01-01"},
        "from 20250101": {"from": "20250101"},
        "from 2025-W01-1": {"from": "2025-W01-1"},
        "from after to": {"from": last, "to": first},
    }


def _shift(day: str, days: int) -> str:
    import datetime as dt

    return (dt.date.fromisoformat(day) + dt.timedelta(days=days)).isoformat()


def _probes(port: int, first: str, last: str) -> list[Result]:
    """The fixed probe list: every route under each odd date, then the size and shape probes."""
    results: list[Result] = []

    def get(kind: str, path: str, query: dict[str, str]) -> None:
        results.append((kind, *_request(port, "GET", f"{path}?{urlencode(query)}")))

    for query in _dates(first, last).values():
        for chart in CHARTS:
            get("dates", f"/download/chart/{chart}.csv", query)
        for fmt in ("png", "svg", "pdf", "html"):
            get("dates", f"/download/chart/top-organisations.{fmt}", query)
        get("dates", "/download/data.csv", query)
        get("dates", "/download/report.html", {**query, "charts": ",".join(CHARTS)})
        for page in ("/", "/organisations", "/segments"):
            get("dates", page, query)
        body = _callback("organisations-grid.rowData", [("filters", "data", query)])
        posted = _request(port, "POST", "/_dash-update-component", json.dumps(body).encode())
        results.append(("dates", *posted))
    get("100-chart report", "/download/report.pdf", {"charts": ",".join(["share-by-country"] * 100)})
    results.append(("30 MB body", *_request(port, "POST", "/_dash-update-component", b"x" * (30 << 20))))
    for size, name in ((2 << 20, "2 MB output id"), (900 << 10, "900 KB output id")):
        unknown = json.dumps({**_callback("organisations-grid.rowData", []), "output": "x" * size})
        results.append((name, *_request(port, "POST", "/_dash-update-component", unknown.encode())))
    for body in _malformed(port):
        results.append(("malformed callback", *_request(port, "POST", "/_dash-update-component", body)))
    return results


def _callback(output: str, inputs: list[tuple[object, str, object]], state: list | None = None) -> dict:
    component, prop = output.rsplit(".", 1)
    return {
        "output": output,
        "outputs": {"id": component, "property": prop},
        "inputs": [{"id": i, "property": p, "value": v} for i, p, v in inputs],
        "state": state or [],
        "changedPropIds": [f"{i}.{p}" for i, p, _ in inputs[:1]],
    }


def _malformed(port: int) -> list[bytes]:
    """Callback bodies the pages never send: broken JSON, wrong shapes and types, unknown outputs, charts."""
    good = _callback("organisations-grid.rowData", [("filters", "data", {})])
    connection = http.client.HTTPConnection(HOST, port, timeout=60)
    connection.request("GET", "/_dash-dependencies")
    dependencies = json.loads(connection.getresponse().read())
    connection.close()
    spec_output = next(d["output"] for d in dependencies if '"type":"chart-title"' in d["output"])
    outputs = []
    for part in spec_output.strip(".").split("..."):
        component, prop = part.rsplit(".", 1)
        outputs.append({"id": {**json.loads(component), "card": "x"}, "property": prop})
    card = {"type": "chart-spec", "card": "x"}
    filters = {"id": "filters", "property": "data"}
    shapes: list[object] = [
        {**good, "output": "no-such.children"},
        {**good, "output": 7},
        {**good, "inputs": "filters"},
        {**good, "inputs": []},
        {**good, "inputs": ["filters.data"]},
        {**good, "outputs": "x"},
        {**good, "changedPropIds": "filters.data"},
        {**good, "inputs": [{**filters, "value": 5}]},
        {**good, "inputs": [{**filters, "value": json.loads("[" * 60 + "]" * 60)}]},
    ]
    for spec in ({"chart": "no-such-chart", "params": {}}, "share-by-country", {"params": {}}, {"chart": 1}):
        shapes.append({
            "output": spec_output,
            "outputs": outputs,
            "changedPropIds": ["filters.data"],
            "inputs": [{**filters, "value": {}}],
            "state": [{"id": card, "property": "data", "value": spec}],
        })
    raw = [b"{", b"", b"null", b"[]", b"5", b'"x"', b"[" * 100_000 + b"]" * 100_000, b"\xff\xfe"]
    return raw + [json.dumps(shape).encode() for shape in shapes]


def _load(port: int, clients: int, seconds: float, first: str, last: str, seed: int) -> list[Result]:
    """`clients` threads requesting random exports back to back for `seconds`."""
    results: list[Result] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client(number: int) -> None:
        rng = random.Random(seed + number)
        while time.monotonic() < stop_at:
            view = {"from": _shift(first, rng.randint(0, 30)), "period": rng.choice(["day", "week", "month"])}
            view["countries"] = rng.choice(["CN,US", "CN,US,FR", "US,DE"])
            kind = rng.choice(["png", "svg", "pdf", "csv", "report.pdf", "report.html", "data.csv"])
            if kind.startswith("report"):
                charts = rng.sample(CHARTS, rng.randint(1, 4))
                path = f"/download/{kind}?{urlencode({**view, 'charts': ','.join(charts)})}"
            elif kind == "data.csv":
                path = f"/download/data.csv?{urlencode(view)}"
            else:
                path = f"/download/chart/{rng.choice(CHARTS)}.{kind}?{urlencode(view)}"
            status, took = _request(port, "GET", path)
            with lock:
                results.append((kind, status, took))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def _tree_rss_mb(root: int) -> float:
    """Resident memory of a process and its children (gunicorn's master and workers)."""
    total = 0
    pids = [root]
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        if re.search(rf"^PPid:\s+{root}$", text, re.MULTILINE):
            pids.append(int(status.parent.name))
    for pid in pids:
        try:
            found = re.search(r"^VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text(), re.MULTILINE)
        except OSError:
            continue
        total += int(found.group(1)) if found else 0
    return total / 1024


def _summary(title: str, results: list[Result]) -> None:
    times = sorted(took for _, _, took in results)
    counts = collections.Counter(status for _, status, _ in results)
    shown = ", ".join(f"{status or 'dropped'}: {count}" for status, count in sorted(counts.items()))
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    print(f"{title}: {len(results)} requests; status {shown}")
    print(f"  latency p50 {statistics.median(times):.3f} s, p99 {p99:.3f} s, max {times[-1]:.3f} s")
    by_kind: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    kind_times: dict[str, list[float]] = collections.defaultdict(list)
    for kind, status, took in results:
        by_kind[kind][status or "dropped"] += 1
        kind_times[kind].append(took)
    for kind, kind_counts in by_kind.items():
        shown = ", ".join(f"{status}: {n}" for status, n in sorted(kind_counts.items(), key=str))
        took = kind_times[kind]
        print(f"  {kind:<20} {shown}; p50 {statistics.median(took):.2f} s, max {max(took):.2f} s")


#: The longest line gunicorn (and the app) wrote to its log.
_longest_log_line = [0]


def _drain(stream) -> None:
    for line in stream:
        _longest_log_line[0] = max(_longest_log_line[0], len(line))


def _start_gunicorn(store: Path, workers: int, threads: int, timeout: int) -> tuple[subprocess.Popen, int]:
    command = [str(GUNICORN), "app:server", "--bind", f"{HOST}:0", "--workers", str(workers),
               "--timeout", str(timeout), "--threads", str(threads)]
    process = subprocess.Popen(command, cwd=PROJECT_DIR, env={**os.environ, "OWT_STORE": str(store)},
                               stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    while True:
        line = process.stderr.readline()
        if not line and process.poll() is not None:
            raise SystemExit(f"gunicorn exited with {process.returncode}")
        found = re.search(rf"Listening at: http://{re.escape(HOST)}:(\d+)", line)
        if found:
            threading.Thread(target=_drain, args=(process.stderr,), daemon=True).start()
            return process, int(found.group(1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--store", type=Path, help="store to serve (default: a fresh synthetic one)")
    parser.add_argument("--clients", type=int, default=15, help="concurrent export clients (default 15)")
    parser.add_argument("--seconds", type=float, default=60, help="length of the export load (default 60)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--threads", type=int, default=8, help="threads per worker (gthread; default 8)")
    parser.add_argument("--timeout", type=int, default=20, help="gunicorn worker timeout (default 20)")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args(argv)

    from pipelines.store import Store

    with tempfile.TemporaryDirectory(prefix="owt-abuse-") as scratch:
        store = Store(args.store or Path(scratch) / "store")
        if not store.dates():
            from pipelines.demo import generate_demo_store

            print("generating a synthetic store (300 models, 420 days)...", file=sys.stderr)
            generate_demo_store(store, models=300, days=420)
        dates = store.dates()
        first, last = dates[0].isoformat(), dates[-1].isoformat()
        process, port = _start_gunicorn(store.root, args.workers, args.threads, args.timeout)
        try:
            for _ in range(args.workers * 3):  # every worker builds its app before the measurement
                _request(port, "GET", "/download/chart/share-by-country.png")
            rss_before = _tree_rss_mb(process.pid)
            probes = _probes(port, first, last)
            _summary("probes", probes)
            load = _load(port, args.clients, args.seconds, first, last, args.seed)
            _summary(f"export load ({args.clients} clients, {args.seconds:.0f} s)", load)
            rss_after = _tree_rss_mb(process.pid)
            print(f"server RSS {rss_before:.0f} MB -> {rss_after:.0f} MB (+{rss_after - rss_before:.0f} MB), "
                  f"{args.workers} workers, store {first} to {last}")
            worst = [r for r in probes + load if r[1] >= 500 and r[1] != 503]
            longest = _longest_log_line[0]
            print(f"5xx other than 503: {len(worst)}; longest server log line: {longest} characters")
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
    return 0


if __name__ == "__main__":
    sys.exit(main())
