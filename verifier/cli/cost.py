"""`tlbcheck cost SPEC...`: what one shootdown costs as the core count grows.

Each spec is run once per core count (`cost/timing.py`): the param named by
`--scale` (default N) is set so that the spec has that many cores, assuming
the core count is affine in it (as `core cpu[1..N]` is).  A spec without that
param, or given it with `-D` and no `--cores`, is run once at its own size.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from verifier.cli import common as cli
from verifier.cost.table import CostTable, load_table
from verifier.cost.timing import PHASES, CostRun, timed_run
from verifier.lang.checked import ALL_MODELS, CheckedSpec
from verifier.lang.diagnostics import SpecError
from verifier.lang.frontend import load
from verifier.report.cost_chart import Point, Series, render_cost_chart

DEFAULT_CORES = (2, 4, 8, 16, 64, 128, 256)
MAX_COST_CORES = 1024


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "cost",
        help="time one run of each spec: IPIs, invalidations, latency vs cores",
        description="Run each spec once along its intended, contention-free schedule with a "
        "cost table and report, per core count, the initiator's latency to `complete` "
        "(by phase) and the IPIs, interrupted cores, invalidations and fences. "
        "See docs/cost.md.",
    )
    p.add_argument("files", nargs="+", metavar="SPEC")
    cli.add_define_option(p)
    p.add_argument(
        "--cores",
        type=_core_list,
        default=None,
        metavar="LIST",
        help="core counts to run, e.g. 2,4,16,64 (default "
        f"{','.join(map(str, DEFAULT_CORES))} unless -D sets the scaled param)",
    )
    p.add_argument(
        "--scale",
        default="N",
        metavar="PARAM",
        help="the param that sets the core count (default N)",
    )
    p.add_argument("--costs", metavar="FILE", help="a TOML cost table replacing default figures")
    p.add_argument("--model", choices=ALL_MODELS, help="memory model (default: the spec's `model`)")
    p.add_argument("--plot", metavar="FILE.svg", help="write a latency-vs-cores chart")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.set_defaults(func=run)


def _core_list(text: str) -> tuple[int, ...]:
    try:
        values = tuple(sorted({int(x) for x in text.split(",") if x.strip()}))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a list of integers like 2,4,16"
        ) from None
    if not values or values[0] < 1 or values[-1] > MAX_COST_CORES:
        raise argparse.ArgumentTypeError(f"core counts go from 1 to {MAX_COST_CORES}")
    return values


@dataclass
class SpecCost:
    file: str
    checked: CheckedSpec
    runs: list[CostRun]
    scaled: bool
    skipped: list[str]  # core counts the spec cannot have, with why


def _defines(defines: list[str], name: str, value: int) -> list[str]:
    return [d for d in defines if d.split("=")[0].strip() != name] + [f"{name}={value}"]


def instances(
    file: str, defines: list[str], cores: tuple[int, ...] | None, scale: str
) -> tuple[list[CheckedSpec], list[str], bool]:
    """The spec instantiated at each core count (or once), the counts it cannot have, and
    whether it was scaled."""
    base = load(file, defines, max_cores=MAX_COST_CORES)
    given = any(d.split("=")[0].strip() == scale for d in defines)
    if scale not in dict(base.params) or (given and cores is None):
        return [base], [], False
    n0 = base.param(scale)
    other = load(file, _defines(defines, scale, n0 + 1), max_cores=MAX_COST_CORES)
    slope = len(other.cores) - len(base.cores)
    if slope <= 0:
        return [base], [], False
    out, skipped = [], []
    for k in cores or DEFAULT_CORES:
        n, rest = divmod(k - len(base.cores), slope)
        if rest:
            skipped.append(f"{k} cores: not reachable by {scale}")
            continue
        try:
            out.append(load(file, _defines(defines, scale, n0 + n), max_cores=MAX_COST_CORES))
        except SpecError:
            skipped.append(f"{k} cores: the spec rejects {scale}={n0 + n}")
    return out, skipped, True


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _us(ns: float) -> str:
    return f"{ns / 1000:.2f}"


def render_table(sc: SpecCost, table: CostTable, scale: str) -> str:
    first = sc.checked
    how = f"{scale} scaled to the core count" if sc.scaled else "at its own size"
    model = sc.runs[0].model if sc.runs else first.model
    lines = [f"{first.title}  ({sc.file}, {model}, costs: {table.source}; {how})"]
    head = [
        "cores",
        scale if sc.scaled else "",
        "latency µs",
        *PHASES,
        "IPIs",
        "interrupted",
        "invalidations",
        "fences",
        "atomics",
    ]
    rows = [head]
    for r in sc.runs:
        ph = dict(r.phases)
        n = str(dict(r.params).get(scale, "")) if sc.scaled else ""
        rows.append(
            [
                str(r.cores),
                n,
                _us(r.latency_ns) + ("" if r.finished else " (!)"),
                *(_us(ph[p]) for p in PHASES),
                str(r.ipis),
                str(r.interrupted),
                str(r.invalidations),
                str(r.fences),
                str(r.atomics),
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    for row in rows:
        lines.append("  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)))
    notes = sorted({r.note for r in sc.runs if r.note})
    lines += [f"  (!) {note}" for note in notes]
    lines += [f"  skipped {s}" for s in sc.skipped]
    return "\n".join(lines)


def series_of(sc: SpecCost) -> Series:
    pts = tuple(Point(r.cores, r.latency_ns, r.finished) for r in sc.runs)
    note = "" if sc.scaled else f"fixed at {sc.runs[0].cores} cores" if sc.runs else ""
    if any(not p.finished for p in pts):
        note = ", ".join(x for x in (note, "initiator never finishes (hollow)") if x)
    return Series(f"{sc.checked.title} ({Path(sc.file).name})", pts, note)


def run(args: argparse.Namespace) -> int:
    table = load_table(args.costs)
    results: list[SpecCost] = []
    bad = False
    for f in args.files:
        try:
            checked, skipped, scaled = instances(f, args.define, args.cores, args.scale)
        except SpecError as err:
            sys.stderr.write(str(err) + "\n")
            bad = True
            continue
        if not checked:  # every count asked for was skipped
            sys.stderr.write(f"tlbcheck: error: {f}: no run at {'; '.join(skipped)}\n")
            bad = True
            continue
        runs = [timed_run(c, table, args.model) for c in checked]
        results.append(SpecCost(f, checked[0], runs, scaled, skipped))
    if args.json:
        print(
            json.dumps(
                {
                    "costs": table.to_json(),
                    "specs": [
                        {
                            "file": sc.file,
                            "spec": sc.checked.title,
                            "scaled_by": args.scale if sc.scaled else None,
                            "runs": [r.to_json() for r in sc.runs],
                            "skipped": sc.skipped,
                        }
                        for sc in results
                    ],
                },
                indent=1,
            )
        )
    else:
        print("\n\n".join(render_table(sc, table, args.scale) for sc in results))
    if args.plot and results:
        title = "Shootdown latency vs cores" + (
            "" if table.source == "default" else f" ({table.source})"
        )
        Path(args.plot).write_text(render_cost_chart([series_of(sc) for sc in results], title))
        if not args.json:
            print(f"\nwrote {args.plot}")
    return cli.EXIT_BAD_INPUT if bad else cli.EXIT_OK


def cost_line(checked: CheckedSpec, model: str) -> tuple[str, CostRun]:
    """`check --cost`: one line of cost beside a verdict (default table, the spec's own size)."""
    r = timed_run(checked, load_table(None), model)
    ph = dict(r.phases)
    end = "complete" if r.finished else "stop"
    text = (
        f"  cost: {_us(r.latency_ns)} µs to {end} on {r.cores} cores "
        f"(send {_us(ph['send'])}, wait {_us(ph['wait'])}, flush {_us(ph['flush'])}); "
        f"{_n(r.ipis, 'IPI')}, {_n(r.interrupted, 'core')} interrupted, "
        f"{_n(r.invalidations, 'invalidation')}, {_n(r.fences, 'fence')}"
    )
    return text + (f"; {r.note}" if r.note else ""), r
