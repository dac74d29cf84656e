"""Kill soak: the long variant of tests/test_reliability_kills.py (default 1,000 SIGKILL points).

Snapshot runs against the fake Hub are killed with SIGKILL at random points (seeded), re-run until each date
completes, and every completed snapshot is compared row for row with an uninterrupted run; a reader thread
reads every published snapshot the whole time, and the store is verified after every kill. Prints the kill
points survived (by phase), runs, snapshots, reads, problems found, files verified, and the seconds taken.
Exit code 1 if anything was lost or partial. Ctrl-C (SIGINT) stops early and reports what was done.

    .venv/bin/python -m benchmarks.kill_soak --kills 1000 --seed 1
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import json
import random
import sys
import tempfile
import time
from pathlib import Path

from pipelines.store import Store
from pipelines.verify import verify_store
from tests.fakehub import FakeHub, make_models
from tests.ops_support import SnapshotProcesses, kill_until_done, snapshot_frame
from tests.test_reliability_kills import FIRST_DAY, SnapshotReader, uninterrupted_run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.kill_soak", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--kills", type=int, default=1000, help="SIGKILL points to survive (default 1000)")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the kill points (default 1)")
    parser.add_argument("--models", type=int, default=200, help="models on the fake Hub (default 200)")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="owt-kill-soak-"))
    hf_home = work / "hf_home"
    hf_home.mkdir()
    (hf_home / ".agent_harnesses.json").write_text(json.dumps({"standardEnvVars": [], "harnesses": {}}))
    started = time.monotonic()
    # Killed clients make the fake Hub's server threads print "connection reset" tracebacks: expected noise.
    with FakeHub(make_models(args.models, seed=3)) as fake_hub, contextlib.redirect_stderr(io.StringIO()):
        processes = SnapshotProcesses()
        reference, pages, finalize_seconds = uninterrupted_run(
            processes, fake_hub, Store(work / "ref"), hf_home
        )
        store = Store(work / "store")
        reader = SnapshotReader(store, reference)
        reader.start()
        rng = random.Random(args.seed)
        kills, problems, verified_files, chain = [], [], 0, 0

        def check() -> None:
            nonlocal verified_files
            report = verify_store(store)
            verified_files += report.files
            problems.extend(str(p) for p in report.problems)

        try:
            while len(kills) < args.kills:
                date = FIRST_DAY + dt.timedelta(days=chain)
                kills += kill_until_done(
                    processes,
                    fake_hub,
                    store,
                    date,
                    hf_home,
                    rng,
                    pages=pages,
                    finalize_seconds=finalize_seconds,
                    chain=chain,
                    after_kill=check,
                )
                if not snapshot_frame(store, date).equals(reference):
                    problems.append(f"{date}: differs from the uninterrupted run")
                if store.staging_dir(date).exists():
                    problems.append(f"{date}: staging left behind")
                chain += 1
                if chain % 10 == 0:
                    print(
                        f"  {len(kills)} kills, {chain} snapshots, {time.monotonic() - started:.0f} s",
                        flush=True,
                    )
        except KeyboardInterrupt:  # Ctrl-C: report what was done so far
            print("  interrupted: reporting the completed snapshots only", flush=True)
        finally:
            reader.stopping.set()
            reader.join()
    problems += reader.problems
    in_finalize = sum(k.in_finalize for k in kills)
    print(
        f"kill soak: {len(kills)} SIGKILLs survived ({len(kills) - in_finalize} while crawling, "
        f"{in_finalize} while deduplicating/publishing), {len(kills) + chain} runs, "
        f"{chain} snapshots equal to the uninterrupted one, "
        f"{reader.reads} concurrent reads, {verified_files} files verified, {len(problems)} problems, "
        f"{time.monotonic() - started:.0f} s (store: {store.root})"
    )
    for problem in problems[:20]:
        print("  PROBLEM", problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
