"""`python -m pipelines <command>`: the pipelines' command line.

Each command lives in its own module, which exposes `add_arguments(parser)` and `run(args) -> int`; the
first line of the module docstring is the command's one-line help, the rest its description.
"""

from __future__ import annotations

import argparse
import importlib
import sys

#: command name -> module implementing it, in the order `--help` lists them.
COMMANDS: dict[str, str] = {
    "snapshot": "pipelines.snapshot",
    "schedule": "pipelines.schedule",
    "status": "pipelines.status",
    "verify": "pipelines.verify",
    "orgs": "pipelines.orgs",
    "attribution": "pipelines.attribution_cli",
    "demo": "pipelines.demo",
    "warehouse": "pipelines.warehouse",
    "backfill": "pipelines.backfill",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pipelines",
        description="Open Weights Tracker pipelines: take Hub snapshots, attribute models to countries, "
        "and keep the store healthy.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        doc = (module.__doc__ or "").strip()
        summary = doc.partition("\n")[0]
        sub = subparsers.add_parser(
            name,
            help=summary,
            description=doc,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(sub)
        sub.set_defaults(handler=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    from pipelines.runs import RedactedOutput

    sys.stdout, sys.stderr = RedactedOutput(sys.stdout), RedactedOutput(sys.stderr)  # never print a token
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
