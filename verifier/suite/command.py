"""`tlbcheck suite` as a function: find, run, print the table, write JUnit and
counterexamples, and the exit code."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from verifier.report import terminal
from verifier.report.files import OutputError, check_target, write_atomic
from verifier.suite.junit import junit_xml
from verifier.suite.parallel import Interrupted
from verifier.suite.runner import (
    ERROR,
    FAIL,
    INCONCLUSIVE,
    Execute,
    Limits,
    Outcome,
    Progress,
    Sweep,
    find_specs,
    plan,
    render,
    run_jobs,
)

UNFINISHED = "tlbcheck-unfinished.txt"


@dataclass(frozen=True)
class SuiteOptions:
    paths: tuple[str, ...] = ("specs/",)
    jobs: int = 1
    junit: str | None = None
    update_counterexamples: bool = False
    limits: Limits = field(default_factory=Limits)
    no_color: bool = False
    cluster: str | None = None  # a Ray address: each job a task there (`cluster.py`)
    unfinished: str = UNFINISHED  # where an interrupted run lists the runs it did not finish
    sweep: tuple[Sweep, ...] = ()  # -D NAME=LO..HI: each value a job (`sweep.py`)


def exit_status(outcomes: Sequence[Outcome]) -> int:
    """The exit code of a suite run, as README's table has it, the first that applies:
    4 an internal error, 1 a mismatch, 2 bad input, 3 an inconclusive run, else 0."""
    statuses = {(o.status, o.bad_input) for o in outcomes}
    for status, code in (
        ((ERROR, False), 4),
        ((FAIL, False), 1),
        ((ERROR, True), 2),
        ((INCONCLUSIVE, False), 3),
    ):
        if status in statuses:
            return code
    return 0


def main(opts: SuiteOptions, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """`tlbcheck suite`: the exit codes of `exit_status`; 2 when a PATH does not exist."""
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        specs = find_specs(opts.paths)
        if opts.junit:
            check_target(opts.junit)  # before anything runs
    except FileNotFoundError as exc:
        err.write(f"tlbcheck: error: no such file or directory: {exc.args[0]}\n")
        return 2
    except OutputError as exc:
        err.write(f"tlbcheck: error: {exc}\n")
        return 2
    start = time.monotonic()
    planned = plan(specs, sweep=opts.sweep, limits=opts.limits)
    # on a terminal a progress line on stderr; into a file or a pipe (a CI log) one
    # flushed line per finished run on stdout, as it finishes
    progress = _progress(err) if err.isatty() else None if _is_tty(out) else _log(out)
    try:
        outcomes = run_jobs(planned, opts.limits, opts.jobs, progress, _execute(opts))
    except Interrupted as stop:
        return _interrupted(opts, stop, out, err, time.monotonic() - start)
    seconds = time.monotonic() - start
    text = render(outcomes, terminal.use_color(out, opts.no_color))
    if opts.update_counterexamples:
        text = _update_counterexamples(outcomes, specs, text)
    out.write(text)
    if opts.junit:
        write_atomic(opts.junit, junit_xml(outcomes, seconds))
    return exit_status(outcomes)


def _execute(opts: SuiteOptions) -> Execute | None:
    """Where the jobs run: here (None), or as tasks on a Ray cluster."""
    if opts.cluster is None:
        return None
    from verifier.suite.cluster import on_cluster

    return on_cluster(opts.cluster)


def _update_counterexamples(outcomes: Sequence[Outcome], specs: Sequence[Path], text: str) -> str:
    from verifier.suite import counterexamples as cx

    root = cx.find_root()
    runs = [cx.Run(Path(o.path), o.model, o.result) for o in outcomes if o.model != "-"]
    loaded = {Path(o.path) for o in outcomes if o.model != "-"}
    report = cx.sync(root, runs, sorted(loaded))
    body, last = text.rstrip("\n").rsplit("\n", 1)
    return f"{body}\n{report.summary()}\n{last}\n"


def _interrupted(
    opts: SuiteOptions, stop: Interrupted, out: TextIO, err: TextIO, seconds: float
) -> int:
    """Ctrl-C: the table and JUnit file of the runs that finished, the unfinished ones
    counted on stderr and listed one per line in ``opts.unfinished``; exit 130."""
    finished: list[Outcome] = list(stop.finished)
    total = len(finished) + len(stop.unfinished)
    out.write(f"\ninterrupted: the {len(finished)} runs that finished\n\n")
    if finished:
        out.write(render(finished, terminal.use_color(out, opts.no_color)))
    out.flush()
    if opts.junit:
        write_atomic(opts.junit, junit_xml(finished, seconds))
    listing = "".join(
        " ".join([j.path, j.model, *(f"-D {d}" for d in j.defines)]) + "\n" for j in stop.unfinished
    )
    where = f", listed in {opts.unfinished}"
    try:
        write_atomic(opts.unfinished, listing)
    except OutputError as exc:
        where = f" ({exc})"
    err.write(
        f"\ntlbcheck: interrupted: {len(stop.unfinished)} of {total} runs not finished{where}\n"
    )
    return 128 + stop.signum


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _log(out: TextIO) -> Progress:
    """One line per finished run, flushed at once: `[3/40] ok  spec  model  got  time`."""

    def line(i: int, total: int, o: Outcome) -> None:
        r = o.result
        size = f"  {r.states} states  {r.seconds:.2f}s" if r is not None else ""
        out.write(f"[{i}/{total}] {o.status}  {o.spec}  {o.model}  {o.got}{size}\n")
        out.flush()

    return line


def _progress(err: TextIO) -> Progress:
    def show(i: int, total: int, o: Outcome) -> None:
        end = "\n" if i == total else ""
        err.write(f"\r\x1b[K[{i}/{total}] {o.path} {o.model}: {o.status}{end}")
        err.flush()

    return show
