"""What every subcommand shares: exit codes and the `-D` option."""

from __future__ import annotations

import argparse

EXIT_OK = 0
EXIT_MISMATCH = 1
EXIT_BAD_INPUT = 2
EXIT_INCONCLUSIVE = 3
EXIT_INTERNAL = 4


def add_define_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-D",
        dest="define",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a param of the spec (repeatable)",
    )
