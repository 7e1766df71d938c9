"""The ``orders-lakehouse`` command: one entry point, one sub-command module per job.

Each sub-command lives in its own module exposing ``register(subparsers)``, which adds its parser
and sets ``handler`` (a function taking the parsed arguments and returning an exit code). Every
module is imported at start-up, so a broken one fails the command loudly.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

# sub-command name -> module with register(subparsers)
SUBCOMMANDS = {
    "simulate": "orders_lakehouse.simulator.cli",
    "serve": "orders_lakehouse.serving.cli",
    "pipeline": "orders_lakehouse.ops.cli",
}


def build_parser() -> argparse.ArgumentParser:
    """The parser with every sub-command registered."""
    parser = argparse.ArgumentParser(prog="orders-lakehouse", description=__doc__.split("\n\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in SUBCOMMANDS.values():
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the chosen sub-command."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
