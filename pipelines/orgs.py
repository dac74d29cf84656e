"""Curate the org registry: `orgs check` validates it, `orgs audit` says what to register next.

`check` reads the shipped registry (data/orgs.csv) and the user's override file (`--registry FILE`, else env
OWT_REGISTRY) and prints every problem as `file:line: message`: wrong column count, bad or unknown country
code, region not matching the country, duplicate namespace (case-insensitive), missing source, empty
country without a reason, an empty (international) country on an organisation whose notes say its country
is not confirmed (write `unknown`), bad kind, text that is not UTF-8, missing header. Exit code 1 on any error
(warnings alone exit 0), so it can gate a commit or CI.

`audit` attributes one snapshot (default: the latest) and lists the namespaces with the most 30-day
downloads that the registry does not know, with their share of all 30-day downloads and the bucket they
fall into meanwhile (UNATTRIBUTED_ORG or INDIVIDUAL), then the coverage: the share of 30-day downloads
whose publisher country, and whose lineage country, is known. `--out FILE.csv` writes the full list.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

import pandas as pd

from pipelines.attribution import Coverage, attributed_table, coverage, unknown_relations
from pipelines.registry import (
    SHIPPED_REGISTRY,
    Registry,
    RegistryError,
    check_registry,
    load_registry,
    resolve_override,
)
from pipelines.store import Store, StoreError, date_argument, existing_store


def add_registry_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--registry",
        metavar="FILE",
        help="your override file, same columns as data/orgs.csv; its rows replace or add namespaces "
        "(default: env OWT_REGISTRY, else none)",
    )
    parser.add_argument(
        "--base-registry",
        metavar="FILE",
        type=Path,
        default=SHIPPED_REGISTRY,
        help="the registry the override is layered on (default: the shipped data/orgs.csv)",
    )


def add_snapshot_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", help="store directory (default: env OWT_STORE, else data/store)")
    parser.add_argument(
        "--date",
        type=date_argument,
        metavar="YYYY-MM-DD",
        help="snapshot date (default: the latest snapshot)",
    )


def positive_int(value: str) -> int:
    """argparse type: a whole number >= 1 (clear message otherwise)."""
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {value!r}")
    return number


def registry_from_args(args: argparse.Namespace) -> Registry:
    """The effective registry the arguments name; RegistryError lists every problem."""
    return load_registry(args.base_registry, resolve_override(args.registry))


def snapshot_date(store: Store, date: dt.date | None) -> dt.date:
    """The requested snapshot date, or the latest; StoreError with what exists otherwise."""
    dates = store.dates()
    if not dates:
        raise StoreError(
            f"no snapshot in {store.root}: take one with `python -m pipelines snapshot` "
            "(or point --store / OWT_STORE at a store that has one)"
        )
    if date is None:
        return dates[-1]
    if date not in dates:
        shown = ", ".join(d.isoformat() for d in dates[-5:])
        raise StoreError(f"no snapshot for {date.isoformat()} in {store.root} (latest: {shown})")
    return date


def add_arguments(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="orgs_command", metavar="{check,audit}", required=True)
    _, check_doc, audit_doc = __doc__.split("\n\n")  # the module docstring's paragraph on each subcommand
    check = commands.add_parser(
        "check", help="validate the registry; every problem with file:line", description=check_doc
    )
    add_registry_arguments(check)
    audit = commands.add_parser(
        "audit", help="top unregistered namespaces by 30-day downloads, and coverage", description=audit_doc
    )
    add_registry_arguments(audit)
    add_snapshot_arguments(audit)
    audit.add_argument("--top", type=positive_int, default=50, help="namespaces to list (default: 50)")
    audit.add_argument("--out", type=Path, metavar="FILE.csv", help="also write every unregistered namespace")


def run(args: argparse.Namespace) -> int:
    return run_check(args) if args.orgs_command == "check" else run_audit(args)


def run_check(args: argparse.Namespace) -> int:
    files = [args.base_registry]
    override = resolve_override(args.registry)
    if override:
        files.append(override)
    errors = warnings = 0
    for file in files:
        for problem in check_registry(file):
            print(problem)
            errors += problem.severity == "error"
            warnings += problem.severity == "warning"
    checked = " + ".join(str(f) for f in files)
    if errors:
        print(f"orgs check: {errors} error(s), {warnings} warning(s) in {checked}")
        return 1
    registry = load_registry(args.base_registry, override)
    with_source = sum(bool(org.source) for org in registry.orgs.values())
    print(
        f"orgs check: OK, {len(registry)} namespaces ({with_source} with a source), {warnings} warning(s) "
        f"in {checked}; digest {registry.digest[:12]}"
    )
    return 0


def unregistered(table: pd.DataFrame) -> pd.DataFrame:
    """Namespaces not in the registry, most 30-day downloads first, with their share of all of them."""
    total = table["downloads_30d"].fillna(0).sum()
    rows = table[table["organization"].isna()]
    grouped = rows.groupby("namespace", sort=False).agg(
        bucket=("publisher_country", "first"),
        models=("model_id", "size"),
        downloads_30d=("downloads_30d", "sum"),
    )
    grouped["share"] = grouped["downloads_30d"] / total if total else 0.0
    grouped = grouped.reset_index().sort_values(["downloads_30d", "namespace"], ascending=[False, True])
    return grouped.reset_index(drop=True)


def format_coverage(cover: Coverage) -> str:
    return (
        f"Coverage of {cover.downloads_30d:,} 30-day downloads ({cover.models:,} models):\n"
        f"  namespace registered     {cover.registered:6.1%}\n"
        f"  publisher country known  {cover.publisher_known:6.1%}\n"
        f"  lineage country known    {cover.lineage_known:6.1%}"
    )


def run_audit(args: argparse.Namespace) -> int:
    try:
        store = existing_store(args.store)
        registry = registry_from_args(args)
        date = snapshot_date(store, args.date)
    except (RegistryError, StoreError) as exc:
        print(exc, file=sys.stderr)
        return 1
    table = attributed_table(store, date, registry)
    missing = unregistered(table)
    top = missing.head(args.top)
    print(f"Top {len(top)} unregistered namespaces by 30-day downloads, snapshot {date.isoformat()}:")
    if len(top):
        shown = top.assign(share=top["share"].map("{:.2%}".format))
        print(shown.to_string(index=False, formatters={"downloads_30d": "{:,}".format}))
    cover = coverage(table)
    print(format_coverage(cover))
    strange = unknown_relations(table)
    if len(strange):
        print("Unknown relations (kept verbatim): " + ", ".join(f"{r} ({n})" for r, n in strange.items()))
    if args.out:
        missing.to_csv(args.out, index=False)
    print(
        f"orgs audit: {date.isoformat()}, {len(missing)} unregistered namespaces "
        f"({missing['share'].sum():.1%} of 30-day downloads); publisher known {cover.publisher_known:.1%}, "
        f"lineage known {cover.lineage_known:.1%}" + (f"; wrote {args.out}" if args.out else "")
    )
    return 0
