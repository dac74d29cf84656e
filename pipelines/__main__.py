"""`python -m pipelines <command>`: the pipelines' command line.

Each command lives in its own module, which exposes `add_arguments(parser)` and `run(args) -> int`; the
first line of the module docstring is the command's one-line help, the rest its description.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import importlib.util
import sys
from pathlib import Path

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


def _docstring(module_name: str) -> str:
    """A command module's docstring, read without importing it (imports cost a second: pandas, pyarrow)."""
    spec = importlib.util.find_spec(module_name)
    source = Path(spec.origin).read_text(encoding="utf-8") if spec and spec.origin else ""
    return (ast.get_docstring(ast.parse(source)) or "").strip()


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; only `command`'s module is imported (every command's, when `command` is None)."""
    parser = argparse.ArgumentParser(
        prog="python -m pipelines",
        description="Open Weights Tracker pipelines: take Hub snapshots, attribute models to countries, "
        "and keep the store healthy.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module_name in COMMANDS.items():
        doc = _docstring(module_name)
        sub = subparsers.add_parser(
            name,
            help=doc.partition("\n")[0],
            description=doc,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        if command in (None, name):
            module = importlib.import_module(module_name)
            module.add_arguments(sub)
            sub.set_defaults(handler=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    from pipelines.runs import RedactedOutput

    sys.stdout, sys.stderr = RedactedOutput(sys.stdout), RedactedOutput(sys.stderr)  # never print a token
    argv = sys.argv[1:] if argv is None else argv
    command = next((arg for arg in argv if not arg.startswith("-")), None)
    args = build_parser(command if command in COMMANDS else None).parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
