"""What every subcommand shares: exit codes and the `-D` option."""

from __future__ import annotations

import argparse
import math

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
    add_input_option(p)


def add_input_option(p: argparse.ArgumentParser) -> None:
    """--max-input: the largest spec or trace file read, in MB."""
    from verifier.lang.frontend import MAX_INPUT_MB

    p.add_argument(
        "--max-input",
        type=amount,
        default=MAX_INPUT_MB,
        metavar="MB",
        help=f"refuse spec and trace files larger than MB megabytes (default {MAX_INPUT_MB:g})",
    )


def _whole(text: str, lo: int) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if n < lo:
        raise argparse.ArgumentTypeError(f"must be at least {lo}, not {n}")
    return n


def count(text: str) -> int:
    """A whole number of at least 1 (argparse type: anything else is a usage error)."""
    return _whole(text, 1)


def natural(text: str) -> int:
    """A whole number of at least 0."""
    return _whole(text, 0)


def amount(text: str) -> float:
    """A finite number above 0 (argparse type for seconds and megabytes)."""
    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(x) or x <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number above 0, not {text}")
    return x


def add_reduction_options(p: argparse.ArgumentParser) -> None:
    """--no-symmetry and --no-por: both reductions are on by default."""
    p.add_argument(
        "--no-symmetry",
        action="store_true",
        help="store every permutation of a core family's states (no symmetry reduction)",
    )
    p.add_argument(
        "--no-por",
        action="store_true",
        help="explore every interleaving of independent steps (no partial-order reduction)",
    )


def add_cluster_option(p: argparse.ArgumentParser, what: str) -> None:
    """--cluster ADDRESS (and --workers N): run on a Ray cluster (the extra tlbcheck[ray])."""
    p.add_argument(
        "--cluster",
        metavar="ADDRESS",
        help=f"{what} on a Ray cluster: auto (the Ray started here by `ray start`), "
        "HOST:PORT (a head's address) or ray://HOST:PORT (its Ray Client server); "
        "needs the extra tlbcheck[ray]",
    )
    p.add_argument(
        "--workers",
        type=count,
        default=None,
        metavar="N",
        help="with --cluster: how many Ray workers (default: one per CPU of the cluster)",
    )


def add_limit_options(p: argparse.ArgumentParser) -> None:
    """--max-states, --timeout and --max-memory, validated the same for every command."""
    from verifier.run.budget import NATIVE_MAX_STATES, PYTHON_MAX_STATES, default_max_memory_mb

    p.add_argument(
        "--max-states",
        type=count,
        default=None,
        metavar="N",
        help=f"stop with `inconclusive` after N states, whatever the search (default: "
        f"{NATIVE_MAX_STATES:,} for the native search, {PYTHON_MAX_STATES:,} for the "
        "Python one: --engine explicit, --cluster, the smt engine's proof, or no C compiler)",
    )
    p.add_argument(
        "--timeout",
        type=amount,
        default=None,
        metavar="S",
        help="stop with `inconclusive` after S seconds per spec and model, in any phase",
    )
    p.add_argument(
        "--max-memory",
        type=amount,
        default=None,
        metavar="MB",
        help="stop with `inconclusive` when the process uses more than MB megabytes "
        f"(default: half of this machine's memory, {default_max_memory_mb():,} MB here; "
        "`suite --jobs N` shares it among its N workers)",
    )


def max_memory(args: argparse.Namespace, workers: int = 1) -> float:
    """The memory limit of one process: --max-memory as given, else its default (half
    the machine) shared among ``workers`` processes running at once."""
    from verifier.run.budget import default_max_memory_mb

    if args.max_memory is not None:
        return float(args.max_memory)
    return float(default_max_memory_mb()) / max(1, workers)
