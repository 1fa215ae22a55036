"""`tlbcheck suite [PATH...]`: run a folder of specs against their `expect` lines.

Exit codes (README's table; the first that applies): 4 an internal error, 1 a
run did not meet its expectation, 2 bad input (a spec's diagnostic, a PATH
that does not exist, an output place that cannot be written), 3 an
inconclusive run, 0 every run met its expectation; 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys

from verifier.cli import common as cli
from verifier.suite.command import UNFINISHED


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "suite",
        help="run every spec under the models its `expect` lines name",
        description="Run every spec under every model its `expect` lines name (a spec "
        "without one: its declared model, expecting safe) and compare the verdicts. "
        "Exit 0 all passed; else the first that applies: 4 internal error, "
        "1 a mismatch, 2 bad input, a missing PATH or an output place that cannot be "
        "written, 3 an inconclusive run.",
    )
    p.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        default=["specs/"],
        help="spec files or folders searched recursively for *.tlb (default specs/)",
    )
    p.add_argument(
        "--jobs",
        "-j",
        type=cli.count,
        default=1,
        metavar="N",
        help="run N (spec, model) jobs in parallel processes",
    )
    p.add_argument("--junit", metavar="FILE", help="also write the results as JUnit XML")
    p.add_argument(
        "--unfinished",
        metavar="FILE",
        default=UNFINISHED,
        help=f"where Ctrl-C lists the runs it left unfinished (default {UNFINISHED})",
    )
    p.add_argument(
        "--update-counterexamples",
        action="store_true",
        help="rewrite counterexamples/ from this run and delete stale traces",
    )
    cli.add_limit_options(p)
    cli.add_input_option(p)
    cli.add_reduction_options(p)
    p.add_argument(
        "--strict",
        action="store_true",
        help="a safe verdict that is vacuous for a kind (nothing could be judged) fails",
    )
    p.add_argument(
        "-D",
        dest="define",
        action="append",
        default=[],
        metavar="NAME=VALUES",
        help="set or sweep a param of every spec declaring it: N=3, N=2..8 or N=2,4,8 "
        "(repeatable; each value, or combination, is a job of its own)",
    )
    cli.add_cluster_option(p, "run each job as a task")
    p.add_argument("--no-color", action="store_true", help="plain output")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from verifier.search.cluster.runtime import ClusterError
    from verifier.suite import command as suite
    from verifier.suite.sweep import SweepError, parse

    try:
        sweep = tuple(parse(args.define))
    except SweepError as err:
        sys.stderr.write(f"tlbcheck suite: error: {err}\n")
        return cli.EXIT_BAD_INPUT
    if sweep and args.update_counterexamples:
        sys.stderr.write(
            "tlbcheck suite: error: --update-counterexamples keeps the traces of the specs "
            "as written; run it without -D\n"
        )
        return cli.EXIT_BAD_INPUT

    opts = suite.SuiteOptions(
        paths=tuple(args.paths),
        jobs=args.jobs,
        junit=args.junit,
        unfinished=args.unfinished,
        update_counterexamples=args.update_counterexamples,
        limits=suite.Limits(
            args.max_states,
            args.timeout,
            cli.max_memory(args, args.jobs),
            symmetry=not args.no_symmetry,
            por=not args.no_por,
            strict=args.strict,
        ),
        no_color=args.no_color,
        cluster=args.cluster,
        sweep=sweep,
    )
    try:
        return suite.main(opts)
    except ClusterError as err:
        sys.stderr.write(f"tlbcheck suite: error: {err}\n")
        return cli.EXIT_BAD_INPUT
