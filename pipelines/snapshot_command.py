"""Take a dated snapshot of Hub download statistics (one row per model) into the store.

Scope (union, de-duplicated by model id):
  1. every model of every namespace in the org registry (data/orgs.csv, plus --registry / OWT_REGISTRY);
  2. the hub-wide top models by 30-day downloads, down to --min-downloads;
  3. with --full, every model on the Hub (sorted by creation date, an immutable key, so the cursor is stable).

The run streams pages into <store>/staging/date=D/ and checkpoints the next-page URL as it goes: if it is
killed, running the same command again resumes where it stopped and produces the same rows. Readers see
the snapshot only once it is complete (atomic rename to <store>/snapshots/date=D/). A date that already has a
snapshot is left alone unless --force, which replaces it only once the new one is complete.

Talks to HF_ENDPOINT (default https://huggingface.co) through huggingface_hub; uses HF_TOKEN when set (higher
rate limits), never stores or logs it.

With --channel modelscope: every model of the owners of data/modelscope_namespaces.csv through ModelScope's
OpenAPI (MODELSCOPE_ENDPOINT, default https://modelscope.cn; optional MODELSCOPE_API_TOKEN), into
<store>/channels/modelscope/, staged, resumable and published the same way (pipelines/channels/modelscope.py).

This module holds only the command line, so that the other channels' runs do not import huggingface_hub
(about half a second in every `snapshot --channel ...`); the Hub run is pipelines/snapshot.py.
"""

from __future__ import annotations

import argparse
import sys

from pipelines.store import date_argument

DEFAULT_MIN_DOWNLOADS = 100
DEFAULT_TIMEOUT = 60.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", help="store dir or iceberg+ URL (default: env OWT_STORE, else data/store)")
    parser.add_argument(
        "--channel",
        choices=("hf", "modelscope", "openrouter"),
        default="hf",
        help="where to count: hf (the Hub, default); modelscope (the owners of "
        "data/modelscope_namespaces.csv, into <store>/channels/modelscope/; env MODELSCOPE_ENDPOINT); "
        "openrouter (inference tokens into <store>/channels/openrouter/; needs OPENROUTER_API_KEY)",
    )
    parser.add_argument("--date", help="label of the snapshot, YYYY-MM-DD (default: today, UTC)")
    parser.add_argument(
        "--min-downloads",
        type=int,
        default=DEFAULT_MIN_DOWNLOADS,
        help=f"hub-wide top models down to this many 30-day downloads (default {DEFAULT_MIN_DOWNLOADS})",
    )
    parser.add_argument(
        "--full", action="store_true", help="also crawl every model on the Hub (slow: ~2,000 pages)"
    )
    parser.add_argument(
        "--registry",
        help="override file layered on data/orgs.csv, same columns (default: env OWT_REGISTRY, else none)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help=f"seconds per request (default {DEFAULT_TIMEOUT:.0f})",
    )
    parser.add_argument(
        "--quiet", action="store_true", help="no progress bar (the summary line is still printed)"
    )
    parser.add_argument(
        "--force", action="store_true", help="replace an existing snapshot of that date when done"
    )
    parser.add_argument(
        "--backfill-from",
        type=date_argument,
        metavar="YYYY-MM-DD",
        help="--channel openrouter: read every day from this date on (the dataset starts 2025-01-01) into "
        "the vintage, not only the days since the last one",
    )


def run(args: argparse.Namespace) -> int:
    """Run the channel asked for; only its own module is imported."""
    if args.channel == "modelscope":
        from pipelines.channels import modelscope

        if args.full or args.min_downloads != DEFAULT_MIN_DOWNLOADS:
            print("error: --full and --min-downloads apply to the Hub only (--channel hf)", file=sys.stderr)
            return 2
        return modelscope.run(args)
    if args.channel == "openrouter":
        from pipelines.channels import openrouter

        return openrouter.run(args)
    if args.backfill_from:
        print("error: --backfill-from is for --channel openrouter; the Hub's history: `pipelines backfill`",
              file=sys.stderr)  # fmt: skip
        return 2
    from pipelines.snapshot import run_hub

    return run_hub(args)
