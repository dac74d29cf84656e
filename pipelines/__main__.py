"""`python -m pipelines <command>`: the pipelines' command line.

Each command lives in its own module, which exposes `add_arguments(parser)` and `run(args) -> int`; its
module docstring is the command's description in `python -m pipelines COMMAND --help`.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import sys

#: command name -> (module implementing it, one-line help), in the order `--help` lists them. The help
#: lines live here so that only the command being run is imported (imports cost a second: pandas, pyarrow).
COMMANDS: dict[str, tuple[str, str]] = {
    "snapshot": (
        "pipelines.snapshot_command",
        "Take a dated snapshot of Hub download statistics into the store.",
    ),
    "schedule": ("pipelines.schedule", "Run the pipelines unattended: daily snapshot, configured jobs."),
    "status": ("pipelines.status", "Show the store's health: last runs, coverage, gaps, size, freshness."),
    "verify": ("pipelines.verify", "Check every data file against its snapshot's recorded checksum."),
    "orgs": ("pipelines.orgs", "Curate the org registry: `orgs check` validates, `orgs audit` advises."),
    "events": ("pipelines.events", "Check the dated events file (releases, policy) charts can annotate."),
    "attribution": ("pipelines.attribution_cli", "Write the per-model attribution of one snapshot to CSV."),
    "demo": ("pipelines.demo", "Write a synthetic demo store, every snapshot marked synthetic."),
    "warehouse": ("pipelines.warehouse", "Build the warehouse: compact facts, dimensions and rollups."),
    "backfill": ("pipelines.backfill", "Import historical Hub dumps as ordinary dated snapshots."),
    "migrate": ("pipelines.migrate", "Copy a folder store into an Iceberg store, or back, day by day."),
    "maintain": ("pipelines.maintain", "Iceberg upkeep: expire old commits, merge manifests, drop orphans."),
}


#: errno values of a write that found no room (a full disk, a quota, a file-size limit).
_NO_ROOM = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def _requested_command(argv: list[str]) -> str | None:
    """The command `argv` runs, or None when the top-level help is asked for (it lists every command)."""
    for arg in argv:
        if arg in ("-h", "--help"):
            return None
        if not arg.startswith("-"):
            return arg if arg in COMMANDS else None
    return None


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; only `command`'s module is imported (none, when `command` is None)."""
    parser = argparse.ArgumentParser(
        prog="python -m pipelines",
        description="Open Weights Tracker pipelines: take Hub snapshots, attribute models to countries, "
        "and keep the store healthy.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, help_line) in COMMANDS.items():
        if name != command:
            subparsers.add_parser(name, help=help_line)
            continue
        module = importlib.import_module(module_name)
        sub = subparsers.add_parser(
            name,
            help=help_line,
            description=(module.__doc__ or help_line).strip(),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(sub)
        sub.set_defaults(handler=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    from pipelines.runs import RedactedOutput

    sys.stdout, sys.stderr = RedactedOutput(sys.stdout), RedactedOutput(sys.stderr)  # never print a token
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(_requested_command(argv)).parse_args(argv)
    try:
        return args.handler(args)
    except OSError as error:  # a full disk in a command without a message of its own: an error line, no
        # traceback (each writer has removed what it half-wrote)
        hint = "free some space and " if error.errno in _NO_ROOM else ""
        print(f"error: {args.command}: {error}; {hint}run the same command again", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
