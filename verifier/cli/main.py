"""The `tlbcheck` command.

Exit codes (stable, documented in the README):
  0  every result meets its `expect` line (or is safe where there is none)
  1  a result does not meet its expectation (or `replay` did not reproduce)
  2  bad input: a diagnostic was printed
  3  inconclusive: a state or time limit ended a run before it finished
  4  internal error (a bug in tlbcheck; please report it)
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from verifier import __version__
from verifier.diagnostics import SpecError

EXIT_OK = 0
EXIT_MISMATCH = 1
EXIT_BAD_INPUT = 2
EXIT_INCONCLUSIVE = 3
EXIT_INTERNAL = 4

EPILOG = """\
examples:
  tlbcheck parse specs/eager/full_fence.tlb
  tlbcheck check specs/eager/missing_fence.tlb --all-models
  tlbcheck check spec.tlb --model tso -D N=3 --out traces/
  tlbcheck suite specs/ --jobs 2
  tlbcheck check specs/eager/missing_fence.tlb --model pso --out traces/
  tlbcheck show traces/missing_fence.pso.use-after-free.json -o race.svg
  tlbcheck replay traces/missing_fence.pso.use-after-free.json

exit codes: 0 ok, 1 expectation not met, 2 bad input, 3 inconclusive, 4 internal error
"""


def _parse_cmd(args: argparse.Namespace) -> int:
    from verifier.frontend import load
    from verifier.printer import format_checked

    checked = load(args.file, args.define)
    sys.stdout.write(format_checked(checked))
    return EXIT_OK


Command = Callable[[argparse.Namespace], int]
_COMMANDS: dict[str, Command] = {"parse": _parse_cmd}


def add_define_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-D",
        dest="define",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a param of the spec (repeatable)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tlbcheck",
        description="Verify TLB coherence protocols written in the .tlb spec language.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"tlbcheck {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("parse", help="check a spec and print it in canonical form")
    p.add_argument("file")
    add_define_option(p)

    for register in _REGISTRARS:
        register(sub)
    return parser


# Other modules add subcommands here: a function taking the subparsers object,
# which adds its parser and records its handler in _COMMANDS.
_REGISTRARS: list[Callable[[argparse._SubParsersAction], None]] = []  # type: ignore[type-arg]


def register_command(name: str, handler: Command) -> None:
    _COMMANDS[name] = handler


def main(argv: Sequence[str] | None = None) -> int:
    _load_subcommands()
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_BAD_INPUT
    try:
        return _COMMANDS[args.command](args)
    except SpecError as err:
        sys.stderr.write(str(err) + "\n")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        sys.stderr.write("tlbcheck: interrupted\n")
        return 130
    except RecursionError:
        sys.stderr.write("tlbcheck: error: input nested too deeply\n")
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # a bug in tlbcheck: say so plainly, keep the details on demand
        if os.environ.get("TLBCHECK_DEBUG"):
            raise
        sys.stderr.write(
            f"tlbcheck: internal error: {type(exc).__name__}: {exc}\n"
            "  this is a bug in tlbcheck; rerun with TLBCHECK_DEBUG=1 for the "
            "traceback and please report it\n"
        )
        return EXIT_INTERNAL


def _load_subcommands() -> None:
    """Import the modules that define the other subcommands; each registers itself."""
    import verifier.cmd_check
    import verifier.cmd_show
    import verifier.cmd_suite  # noqa: F401
