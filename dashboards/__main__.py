"""`python -m dashboards export`: charts and reports from the command line, for scheduled reports.

Examples::

    python -m dashboards export --list
    python -m dashboards export --chart share-by-country --format png --out share.png --from 2025-01-01
    python -m dashboards export --chart all --format pdf --out report.pdf --countries CN,US,FR --period week
    python -m dashboards export --chart all --format csv --out charts/          # one <id>.zip per chart
    python -m dashboards export --chart share-by-country --format csv --out share.csv   # the bare CSV
    python -m dashboards export --chart downloads-by-country --format png --out d.png --events   # + events
    python -m dashboards export --chart downloads-by-country --format csv --out d.csv --wide    # by country

A chart's CSV comes as a package, `<chart-id>.zip`: the tidy CSV, metadata.json (definitions, source,
filters, snapshot dates, synthetic flag, version, licence) and a README; an --out ending in .csv gets the
bare CSV alone. `--wide` writes time series by country with one column per country (metadata.json says
which layout each CSV has). `--events` marks dated releases and policy events (data/events.csv, or env
OWT_EVENTS) on time charts; off unless asked.

The store is the dashboard's: --store, else env OWT_STORE, else data/store; while it has no snapshot, the
synthetic demo store stands in (said on the command line and in every file). A --store that does not exist
is an error.

Filter values go through the same parser as the dashboard's URL parameters (`Filters.from_params`), so a
view exported here is the view `?from=...&countries=...` shows in the browser; here an invalid value is an
error (exit status 2) rather than a note.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from tqdm import tqdm

from dashboards.export import CHART_FORMATS, REPORT_FORMATS
from dashboards.filters import (
    ATTRIBUTIONS,
    FLOW_CELLS,
    FLOW_MEASURES,
    INDIVIDUAL_GROUPINGS,
    LEADER_NEXT_DEFAULT,
    MAX_COMPARED,
    PARAM_NAMES,
    PERIODS,
    SCOPES,
    SIZE_CLASSES,
    Filters,
    check_task,
    parse_params,
)
from pipelines.definitions import DATE_PRESETS, ROLLING_WINDOWS

#: Filters field (also the argparse dest) -> command-line option, for the options that are filter values.
_FILTER_FIELDS: dict[str, str] = {
    "start": "--from",
    "end": "--to",
    "period": "--period",
    "countries": "--countries",
    "attribution": "--attribution",
    "scope": "--scope",
    "task": "--task",
    "size_class": "--size-class",
    "channel": "--channel",
    "events": "--events",
    "orgs": "--orgs",
    "leader_next": "--next",
    "individuals": "--individuals",
    "pair": "--pair",
    "flow_measure": "--measure",
    "flow_cells": "--cells",
    "preset": "--range",
    "rolling": "--rolling",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m dashboards", description="Open Weights Tracker dashboards."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    export = commands.add_parser(
        "export",
        help="write charts (PNG/SVG/PDF/CSV/HTML) or a report (PDF/HTML) for a view",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    export.add_argument("--list", action="store_true", help="list the chart ids with a description and exit")
    export.add_argument(
        "--chart",
        metavar="ID[,ID...]|all",
        help="chart id(s) from --list, comma-separated, or 'all'. One chart -> one file; several with "
        "--format pdf|html -> one report; several with png|svg|csv -> one file per chart in --out (a folder)",
    )
    export.add_argument(
        "--format",
        choices=CHART_FORMATS,
        help="file format; csv writes a package <chart-id>.zip (CSV, metadata.json, README), or the bare CSV "
        "for an --out ending in .csv",
    )
    export.add_argument(
        "--out",
        type=Path,
        help="output file, or a directory (files named <chart-id>.<format>, a report report.<format>)",
    )
    export.add_argument(
        "--store",
        help="snapshot store (default: env OWT_STORE, else data/store; an empty store: the demo store)",
    )
    view = export.add_argument_group(
        "view (same values as the dashboard's URL parameters; defaults: all dates)"
    )
    view.add_argument("--from", dest="start", metavar="YYYY-MM-DD", help="first date shown")
    view.add_argument("--to", dest="end", metavar="YYYY-MM-DD", help="last date shown")
    view.add_argument("--period", metavar="|".join(PERIODS), help="time period of series (default: month)")
    view.add_argument("--countries", metavar="CN,US", help="ISO countries shown separately (default: CN,US)")
    view.add_argument(
        "--attribution", metavar="|".join(ATTRIBUTIONS), help="country rule (default: publisher)"
    )
    view.add_argument("--scope", metavar="|".join(SCOPES), help="models counted (default: all)")
    view.add_argument("--task", metavar="TASK", help="Hub pipeline tag, e.g. text-generation (default: all)")
    view.add_argument(
        "--size-class",
        dest="size_class",
        metavar="CLASS",
        help=f"one of {', '.join(SIZE_CLASSES)} (default: all)",
    )
    view.add_argument("--log", action="store_true", help="logarithmic value axis")
    view.add_argument(
        "--channel",
        metavar="hf|modelscope|all",
        help="channels the channel charts show: the Hub, ModelScope, or both side by side (default: hf)",
    )
    view.add_argument(
        "--events",
        nargs="?",
        const="all",
        metavar="KINDS",
        help="mark events on time charts: all kinds, or some (release,policy); from data/events.csv or env "
        "OWT_EVENTS (default: none)",
    )
    export.add_argument(
        "--wide",
        action="store_true",
        help="csv: time series by country with one column per country (default: long, one row a point)",
    )
    view.add_argument(
        "--orgs",
        metavar="NS[,NS...]",
        help=f"organisations compared by the organisations-compare-* charts: Hub namespaces as in "
        f"/organisations/<namespace>, up to {MAX_COMPARED}, e.g. Qwen,meta-llama",
    )
    view.add_argument(
        "--next",
        dest="leader_next",
        metavar="N",
        help="leader-vs-next: how many organisations after the leader are summed "
        f"(default: {LEADER_NEXT_DEFAULT})",
    )
    view.add_argument(
        "--individuals",
        metavar="|".join(INDIVIDUAL_GROUPINGS),
        help="where individuals and international organisations go on country charts: unattributed "
        "(default; international organisations in Rest of world) or international-online (one "
        "International/Online group, as Economies of Open Intelligence)",
    )
    view.add_argument(
        "--pair", metavar="CN,US", help="cross-border charts: the two countries followed (default: CN,US)"
    )
    view.add_argument(
        "--measure",
        dest="flow_measure",
        metavar="|".join(FLOW_MEASURES),
        help="cross-border charts: new derivatives (count) or their downloads (default: count)",
    )
    view.add_argument(
        "--cells",
        dest="flow_cells",
        metavar="|".join(FLOW_CELLS),
        help="flow matrix cells: counts or row shares (default: count)",
    )
    view.add_argument(
        "--range",
        dest="preset",
        metavar="|".join(DATE_PRESETS),
        help="date preset ending on the store's last counted day, instead of --from/--to (URL: range=)",
    )
    view.add_argument(
        "--rolling",
        metavar="|".join(map(str, ROLLING_WINDOWS)),
        help="with --period day: daily downloads as a rolling average over this many days (URL: rolling=)",
    )
    export.set_defaults(handler=run_export, command_parser=export)
    return parser


def filters_from_args(args: argparse.Namespace) -> tuple[Filters, list[str]]:
    """The view the options ask for, through the URL parser (so both accept exactly the same values), and
    one error message per invalid value, naming the option."""
    params = {PARAM_NAMES[field]: getattr(args, field) for field in _FILTER_FIELDS if getattr(args, field)}
    if args.log:
        params[PARAM_NAMES["log_scale"]] = "1"
    filters, problems = parse_params(params)
    option_of = {PARAM_NAMES[field]: option for field, option in _FILTER_FIELDS.items()}
    return filters, [f"{option_of[p.param]} {p.value!r}: {p.message}" for p in problems]


def _list_charts() -> int:
    from dashboards.charts import list_charts

    width = max(len(spec.chart_id) for spec in list_charts())
    for spec in list_charts():
        print(f"{spec.chart_id:<{width}}  {spec.description}")
    return 0


def _chosen_charts(parser: argparse.ArgumentParser, value: str) -> list[str]:
    from dashboards.charts import chart_ids

    if value == "all":
        return chart_ids()
    chosen = list(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))
    unknown = [chart for chart in chosen if chart not in chart_ids()]
    if unknown or not chosen:
        parser.error(
            f"--chart: unknown chart id(s) {', '.join(unknown) or repr(value)}; "
            f"known: {', '.join(chart_ids())} (or 'all'; see --list)"
        )
    return chosen


def _file_suffix(fmt: str, bare_csv: bool) -> str:
    """The file a format makes: a chart's CSV is a zip package unless the bare CSV was asked for."""
    return "zip" if fmt == "csv" and not bare_csv else fmt


def run_export(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.list:
        return _list_charts()
    missing = [option for option in ("chart", "format", "out") if getattr(args, option) is None]
    if missing:
        parser.error(f"missing {', '.join('--' + option for option in missing)} (or use --list)")
    chosen = _chosen_charts(parser, args.chart)
    one_file_each = len(chosen) > 1 and args.format not in REPORT_FORMATS
    if one_file_each and args.out.suffix.lower() in (f".{args.format}", ".zip"):
        parser.error(f"--out {args.out}: several {args.format} charts need a directory, e.g. --out charts/")
    filters, notes = filters_from_args(args)
    if notes:
        parser.error("; ".join(notes))
    if args.wide and args.format != "csv":
        parser.error(f"--wide: a table layout, for --format csv (not {args.format})")
    layout = "wide" if args.wide else "long"

    from dashboards.charts import describe_view, no_data_text, render_chart, source_info
    from dashboards.export import (
        ExportError,
        bare_csv,
        chart_package,
        export_chart,
        export_report,
        wide_data,
    )
    from dashboards.query import open_warehouse
    from dashboards.serving import serving_store
    from pipelines.store import StoreError, write_bytes_atomic
    from pipelines.warehouse import WarehouseError

    try:
        chosen_store = serving_store(args.store)
    except StoreError as error:
        parser.error(str(error))
    demo_note = (
        f"The store {chosen_store.configured.root} has no snapshot, so these files come from the synthetic "
        f"demo store {chosen_store.store.root}."
        if chosen_store.demo
        else ""
    )
    if demo_note:
        print(f"note: {demo_note}", file=sys.stderr)
    started = time.monotonic()
    report = len(chosen) > 1 and not one_file_each
    target_dir = args.out if (args.out.is_dir() or one_file_each) else None
    bare = args.format == "csv" and target_dir is None and args.out.suffix.lower() == ".csv"
    try:
        warehouse = open_warehouse(chosen_store.store)  # the last version built when a refresh fails
    except WarehouseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    from dashboards.timeview import last_counted, resolve_preset

    filters = resolve_preset(filters, last_counted(warehouse))
    _, task_problems = check_task(filters, warehouse.tasks())
    if task_problems:
        parser.error(f"--task {task_problems[0].value!r}: {task_problems[0].message}")
    from dashboards.comparison import check_orgs

    for problem in check_orgs(warehouse, filters):
        parser.error(f"--orgs {problem.value!r}: {problem.message}")
    source = source_info(warehouse, filters)
    if source.first is None:
        print(f"error: {no_data_text(warehouse, source)}", file=sys.stderr)
        return 2
    results = []
    for chart_id in tqdm(chosen, desc="charts", unit="chart", disable=not sys.stderr.isatty()):
        results.append(render_chart(chart_id, warehouse, filters, source=source))
    # A chart the store cannot give is an error when asked for by id; `all` means every chart it can give.
    for result in (r for r in results if r.unavailable):
        label = "skipped" if args.chart == "all" else "error"
        print(f"{label}: {result.chart_id}: {result.unavailable}", file=sys.stderr)
    if any(r.unavailable for r in results) and args.chart != "all":
        return 1
    results = [r for r in results if not r.unavailable]
    if not results:
        print(f"error: this store can give none of the charts asked for ({args.chart})", file=sys.stderr)
        return 1
    try:
        if report:
            payloads = {"report": export_report(results, args.format, view=describe_view(filters))}
        elif args.format == "csv":
            payloads = {
                result.chart_id: bare_csv(result, filters, layout)
                if bare
                else chart_package([result], filters, source, demo_note=demo_note, layout=layout)
                for result in results
            }
        else:
            payloads = {result.chart_id: export_chart(result, args.format) for result in results}
    except ExportError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    suffix = _file_suffix(args.format, bare)
    written = []
    for name, payload in payloads.items():
        path = target_dir / f"{name}.{suffix}" if target_dir else args.out
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_bytes_atomic(path, payload)  # a full disk leaves no truncated export behind
        except OSError as error:
            done = f" ({len(written)} of {len(payloads)} files were written)" if written else ""
            print(f"error: writing {path} failed: {error}{done}; free some space, run again", file=sys.stderr)
            return 1
        written.append(path)
    what = f"a {args.format.upper()} report of {len(results)} charts" if report else f"{len(written)} file(s)"
    where = target_dir if target_dir and len(written) > 1 else written[0]
    print(f"wrote {what} to {where} in {time.monotonic() - started:.1f} s ({describe_view(filters)})")
    long_only = [r.chart_id for r in results if args.wide and wide_data(r, filters) is None]
    if long_only:
        print(f"note: --wide: {', '.join(long_only)} are not time series by country, written in long form")
    if bare:
        print(
            "bare CSV: no definitions, source or synthetic flag travel with it; for the package (CSV, "
            "metadata.json, README) give --out a directory or a .zip file"
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return args.handler(args, args.command_parser)


if __name__ == "__main__":
    sys.exit(main())
