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


@dataclass(frozen=True)
class SuiteOptions:
    paths: tuple[str, ...] = ("specs/",)
    jobs: int = 1
    junit: str | None = None
    update_counterexamples: bool = False
    limits: Limits = field(default_factory=Limits)
    no_color: bool = False
    cluster: str | None = None  # a Ray address: each job a task there (`cluster.py`)
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
    planned = plan(specs, sweep=opts.sweep)
    progress = _progress(err) if err.isatty() else None
    try:
        outcomes = run_jobs(planned, opts.limits, opts.jobs, progress, _execute(opts))
    except Interrupted as stop:
        names = ", ".join(f"{j.path} ({j.model})" for j in stop.unfinished)
        err.write(f"\ntlbcheck: interrupted; not finished: {names}\n")
        return 130
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


def _progress(err: TextIO) -> Progress:
    def show(i: int, total: int, o: Outcome) -> None:
        end = "\n" if i == total else ""
        err.write(f"\r\x1b[K[{i}/{total}] {o.path} {o.model}: {o.status}{end}")
        err.flush()

    return show
