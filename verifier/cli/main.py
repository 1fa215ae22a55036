"""The `tlbcheck` command.

Exit codes (stable, documented in the README):
  0  every result meets its `expect` line (or is safe where there is none)
  1  a result does not meet its expectation (or `replay` did not reproduce)
  2  bad input: a diagnostic was printed
  3  inconclusive: a state or time limit ended a run before it finished
  4  internal error (a bug in tlbcheck; please report it)
  128+n  stopped by signal n: 130 Ctrl-C (SIGINT), 143 SIGTERM, 129 SIGHUP
  141  stdout's reader went away (a broken pipe)
A stdout that cannot be written (full, closed) is exit 2 with one line on stderr;
a stderr that cannot be written loses its messages but not the exit code.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections.abc import Sequence
from typing import NoReturn

from verifier import __version__
from verifier.cli import check, cost, repair, show, streams, suite
from verifier.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_INCONCLUSIVE,
    EXIT_INTERNAL,
    EXIT_MISMATCH,
    EXIT_OK,
    add_define_option,
)
from verifier.lang.diagnostics import SpecError
from verifier.report.files import OutputError

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_INCONCLUSIVE",
    "EXIT_INTERNAL",
    "EXIT_MISMATCH",
    "EXIT_OK",
    "main",
]

EPILOG = """\
examples:
  tlbcheck parse specs/eager/full_fence.tlb
  tlbcheck check specs/eager/missing_fence.tlb --all-models
  tlbcheck check spec.tlb --model tso -D N=3 --out traces/
  tlbcheck suite specs/ --jobs 2
  tlbcheck check specs/eager/missing_fence.tlb --model pso --out traces/
  tlbcheck show traces/missing_fence.pso.use-after-free.json -o race.svg
  tlbcheck replay traces/missing_fence.pso.use-after-free.json
  tlbcheck repair specs/switch_mm/loaded_mm_no_smp_mb.tlb

exit codes: 0 ok, 1 expectation not met, 2 bad input, 3 inconclusive, 4 internal error,
  128+n stopped by signal n (130 Ctrl-C, 143 SIGTERM), 141 broken pipe
"""


def _parse_cmd(args: argparse.Namespace) -> int:
    from verifier.lang.frontend import load
    from verifier.lang.printer import format_checked

    checked = load(args.file, args.define)
    sys.stdout.write(format_checked(checked))
    return EXIT_OK


class _Parser(argparse.ArgumentParser):
    """argparse with "did you mean" for a misspelt command, choice or option."""

    def error(self, message: str) -> NoReturn:
        from verifier.lang.parse_hints import did_you_mean

        choice = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
        if choice:
            message += did_you_mean(choice.group(1), re.findall(r"'([^']*)'", choice.group(2)))
        unknown = re.search(r"unrecognized arguments: (.*)", message)
        if unknown:
            options = self._every_option()
            for word in unknown.group(1).split():
                if word.startswith("-"):
                    hint = did_you_mean(word.split("=")[0], options)
                    message += hint.replace("; did", f"; for {word}, did") if hint else ""
        super().error(message)

    def _every_option(self) -> set[str]:
        """Option strings of this parser and of every subcommand's."""
        out = set(self._option_string_actions)
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    out |= set(sub._option_string_actions)
        return out


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
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
    p.set_defaults(func=_parse_cmd)

    for command in (check, show, suite, cost, repair):
        command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """The command line (``argv``: the program's own arguments when None).  Limits count
    from the start of the process when it is tlbcheck's (``argv`` None), else from now."""
    from verifier.run.budget import process_started

    started = process_started() if argv is None else time.monotonic()
    parser = build_parser()
    args = parser.parse_args(argv)
    args.started = started
    if args.command is None:
        parser.print_help()
        return EXIT_BAD_INPUT
    if not streams.stdout_usable():
        if sys.stderr is not None:
            sys.stderr.write("tlbcheck: error: standard output is closed\n")
        return EXIT_BAD_INPUT
    if getattr(args, "max_input", None) is not None:
        from verifier.lang import frontend

        frontend.max_input_mb = args.max_input
    with streams.guarded():
        return streams.finish_stdout(_run(args))


def _run(args: argparse.Namespace) -> int:
    try:
        return int(args.func(args))
    except SpecError as err:
        sys.stderr.write(str(err) + "\n")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt as stop:  # Ctrl-C, SIGTERM, SIGHUP
        signum = streams.signum_of(stop)
        sys.stderr.write(f"tlbcheck: interrupted ({streams.signal_name(signum)})\n")
        return 128 + signum
    except OutputError as err:
        sys.stderr.write(f"tlbcheck: error: {err}\n")
        return EXIT_BAD_INPUT
    except streams.StdoutError as err:
        return streams.stdout_failed(err)
    except RecursionError:
        sys.stderr.write("tlbcheck: error: input nested too deeply\n")
        return EXIT_BAD_INPUT
    except BrokenPipeError:  # a pipe the command wrote to itself, not through sys.stdout
        return streams.stdout_failed(streams.StdoutError("broken pipe", broken=True))
    except Exception as exc:  # a bug in tlbcheck: say so plainly, keep the details on demand
        if os.environ.get("TLBCHECK_DEBUG"):
            raise
        sys.stderr.write(
            f"tlbcheck: internal error: {type(exc).__name__}: {exc}\n"
            "  this is a bug in tlbcheck; rerun with TLBCHECK_DEBUG=1 for the "
            "traceback and please report it\n"
        )
        return EXIT_INTERNAL
