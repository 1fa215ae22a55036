"""`tlbcheck check FILE...`: explore each spec under each model and report what it reaches."""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

from verifier.api import (
    check_spec,
    expected_models,
    load_within,
    strict,
    unloaded,
)
from verifier.cli import common as cli
from verifier.cli.cost import cost_line
from verifier.engine import ENGINES, RETRACED
from verifier.lang.checked import ALL_MODELS, MODELS, CheckedSpec
from verifier.lang.diagnostics import SpecError
from verifier.report import files
from verifier.report.render_text import render_text
from verifier.report.terminal import Progress, paint, use_color
from verifier.run.budget import LimitReached
from verifier.run.litmus import LitmusAnswer
from verifier.run.litmus import answer as litmus_answer
from verifier.run.result import Result, Trace
from verifier.search.cluster.runtime import ClusterError


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "check",
        help="explore a spec and report the races it can reach",
        description="Explore every behaviour of each spec under the memory "
        "model and report the problems it can reach, each with a shortest trace.",
    )
    p.add_argument("files", nargs="+", metavar="FILE")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--model", choices=ALL_MODELS, help="memory model (default: the spec's `model`)")
    g.add_argument("--all-models", action="store_true", help="check under sc, tso and pso")
    g.add_argument(
        "--expected-models",
        action="store_true",
        help="check under every model the spec's `expect` lines name",
    )
    cli.add_define_option(p)
    p.add_argument("--json", action="store_true", help="print one JSON list of results")
    cli.add_limit_options(p)
    p.add_argument(
        "--out", metavar="DIR", help="write each trace as DIR/<spec>.<model>.<kind>.json and .txt"
    )
    p.add_argument("--svg", metavar="DIR", help="write each trace's swimlane picture to DIR")
    p.add_argument(
        "--engine",
        choices=ENGINES,
        default="auto",
        help="native: the state search compiled to C; explicit: the Python state search; "
        "auto (default): explicit for a small state space, native beyond it; "
        "smt: z3 bounded model checking",
    )
    _add_storage_options(p)
    p.add_argument(
        "--depth",
        type=cli.natural,
        default=None,
        metavar="K",
        help="smt engine: deepest bound to try",
    )
    p.add_argument(
        "--prove",
        action="store_true",
        help=(
            "smt engine: decide every kind at every depth (inductive invariants, "
            "k-induction; random walks for problems deeper than the bounded search)"
        ),
    )
    p.add_argument(
        "--cost", action="store_true", help="print a timed run's cost beside each verdict"
    )
    cli.add_reduction_options(p)
    cli.add_cluster_option(p, "spread the state table over the workers")
    p.add_argument(
        "--stop-at-first",
        action="store_true",
        help="end the search at the first problem found (default: find every kind)",
    )
    p.add_argument(
        "--strict",
        action="store_true",
        help="a safe verdict that is vacuous for a kind (nothing could be judged) fails",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="print verdict lines only")
    p.add_argument("--no-color", action="store_true", help="never colour the output")
    p.set_defaults(func=run)


def _add_storage_options(p: argparse.ArgumentParser) -> None:
    """How the native search keeps its states: exactly, as hashes, or as bits."""
    p.add_argument(
        "--hash-compact",
        action="store_true",
        help="native search: keep each state as a 64-bit hash (8 bytes); `safe` then holds "
        "up to the omission probability the result states",
    )
    p.add_argument(
        "--bitstate",
        action="store_true",
        help="native search: SPIN's supertrace, no state table, only a bit array (3 bits "
        "per state); `safe` then holds up to the omission probability the result states, "
        "and hangs are not looked for",
    )
    p.add_argument(
        "--bitstate-mb",
        type=cli.amount,
        metavar="MB",
        help="size of --bitstate's bit array (implies --bitstate; default: half of "
        "--max-memory, or of the default memory limit)",
    )


def _models(args: argparse.Namespace, checked_model: str, expected: list[str]) -> list[str]:
    if args.all_models:
        return list(MODELS)
    if args.expected_models:
        return expected
    return [args.model or checked_model]


def verdict_line(r: Result, color: bool) -> str:
    style = {"safe": "safe", "unsafe": "unsafe"}.get(r.verdict, r.verdict)
    kinds = ", ".join(r.kinds) if r.kinds else "-"
    if r.verdict == "inconclusive":
        met = paint("not decided", "inconclusive", color)
    elif r.expectation_met:
        met = paint("ok", "safe", color)
    else:
        met = paint("EXPECTATION NOT MET", "mismatch", color)
    expected = f"expected {r.expected or 'safe'}"
    extra = f"  ({r.reason})" if r.reason else ""
    reduced = [x.removeprefix("symmetry over ") for x in r.reductions if x.startswith("sym")]
    if reduced:
        extra += f"  [symmetry: {', '.join(reduced)}]"
    if any(x.startswith("partial-order") for x in r.reductions):
        again = [x.removeprefix(RETRACED) for x in r.reductions if x.startswith(RETRACED)]
        extra += f"  [por; shortest traces: {again[0]}]" if again else "  [por]"
    if r.is_vacuous:
        kinds_vacuous = ", ".join(v.split(":")[0] for v in r.vacuous)
        extra += "  " + paint(f"[vacuous: {kinds_vacuous}]", "inconclusive", color)
    extra += "".join(f"  [{x}]" for x in r.reductions if x.startswith("cluster:"))
    if r.engine == "native":  # the search compiled to C (`--engine auto` beyond a small space)
        extra += "  [native]"
    extra += "".join(f"  [{x}]" for x in r.reductions if x.startswith("native search not"))
    size = f"{r.states} states  {r.transitions} transitions"
    if r.engine == "smt":  # a proof holds at every depth: no bound to print beside it
        size = "every depth" if "proved" in r.reason else f"depth {r.states}"
    return (
        f"{r.file}  {r.model}  {paint(r.verdict, style, color)}  {kinds}  "
        f"{size}  {r.seconds:.2f}s  {expected}  {met}{extra}"
    )


def coverage_lines(r: Result) -> list[str]:
    """The vacuity warnings of a safe verdict, then the statements no explored state
    reached (SPIN's "unreached in proctype"), one line each."""
    out = [f"  warning: safe says nothing of {v}" for v in r.vacuous]
    if r.coverage and (r.unreached or r.engine != "explicit"):
        out.append(f"  ({r.coverage})")
    out += [f"  unreached: {u.who}: {u.where}  {u.text}" for u in r.unreached]
    return out


def write_traces(r: Result, name: str, out: Path | None, svg: Path | None) -> list[Path]:
    """Write each trace of ``r`` as ``<name>.<model>.<kind>`` files; return their paths."""
    written = []
    for t in r.traces:
        base = f"{name}.{r.model}.{t.kind}"
        if out is not None:
            path = files.ensure_dir((out / base).parent) / f"{Path(base).name}.json"
            files.write_atomic(path, json.dumps(t.to_json(), indent=1, sort_keys=True) + "\n")
            files.write_atomic(path.with_suffix(".txt"), render_text(t) + "\n")
            written.append(path)
        if svg is not None:
            from verifier.report.render_svg import render_svg

            path = files.ensure_dir((svg / base).parent) / f"{Path(base).name}.svg"
            source = Path(r.file).read_text() if Path(r.file).is_file() else None
            files.write_atomic(path, render_svg(t, source))
            written.append(path)
    return written


def exit_code(results: list[Result], bad_input: bool) -> int:
    if bad_input:
        return cli.EXIT_BAD_INPUT
    if any(r.verdict != "inconclusive" and not r.expectation_met for r in results):
        return cli.EXIT_MISMATCH
    if any(r.verdict == "inconclusive" for r in results):
        return cli.EXIT_INCONCLUSIVE
    return cli.EXIT_OK


def run(args: argparse.Namespace) -> int:
    if args.cluster is not None and args.engine not in ("explicit", "auto"):
        sys.stderr.write("tlbcheck check: error: --cluster runs the explicit search only\n")
        return cli.EXIT_BAD_INPUT
    try:
        return _run(args)
    except ClusterError as err:
        sys.stderr.write(f"tlbcheck check: error: {err}\n")
        return cli.EXIT_BAD_INPUT


def _check_one(
    args: argparse.Namespace,
    checked: CheckedSpec,
    model: str,
    started: float | None,
    before: list[Result],
) -> Result:
    """One spec under one model, with a progress line. Ctrl-C (or another signal that
    stops tlbcheck) ends the line, says on stdout how far this run got and what the
    runs ``before`` it decided, and goes on to the caller."""
    progress = Progress(sys.stderr, enabled=not args.json)
    try:
        r = check_spec(
            checked,
            model,
            max_states=args.max_states,
            timeout=args.timeout,
            engine=args.engine,
            progress=progress.update,
            phase=progress.phase,
            stage=progress.stage,
            depth=args.depth,
            prove=args.prove,
            max_memory=cli.max_memory(args),
            started=started,
            symmetry=not args.no_symmetry,
            por=not args.no_por,
            stop_at_first=args.stop_at_first,
            cluster=args.cluster,
            workers=args.workers,
            hash_compact=args.hash_compact,
            bitstate=args.bitstate_mb or (0.0 if args.bitstate else None),
        )
    except KeyboardInterrupt:
        progress.done()
        decided = ", ".join(f"{x.file} {x.model} {x.verdict}" for x in before) or "nothing"
        sys.stdout.write(
            f"\ninterrupted: {checked.file} under {model} after {progress.so_far()}; "
            f"not decided\ndecided before: {decided}\n"
        )
        sys.stdout.flush()
        raise
    progress.done()
    return r


def _print_result(
    r: Result, answer: LitmusAnswer | None, cost: str, quiet: bool, color: bool
) -> None:
    """The verdict line (a litmus test's answer for one), the cost line, then (unless
    ``quiet``) what coverage says and each trace (a litmus test's witness)."""
    print(verdict_line(r, color) if answer is None else litmus_line(r, answer))
    if cost:
        print(cost)
    if quiet:
        return
    if answer is None:
        for text in coverage_lines(r):
            print(text)
    for t in r.traces if answer is None else witness(r, answer):
        print()
        print(render_text(t))
        print()


def litmus_line(r: Result, a: LitmusAnswer) -> str:
    """A litmus test's answer as herd7 words it: outcome, observation, whether the
    condition is validated (``Ok``/``No``), and herd7's flags."""
    if a.validated is None:
        return f"{r.file}  {r.model}  inconclusive  ({r.reason})"
    other = f"  (also reached: {', '.join(a.other)})" if a.other else ""
    other += "".join(f"  Flag {f}" for f in a.flags)
    return (
        f"{r.file}  {r.model}  Test {a.test} {a.outcome}  Observation {a.observation}  "
        f"{a.condition}: {'Ok' if a.validated else 'No'}  "
        f"{r.states} states  {r.seconds:.2f}s{other}"
    )


def witness(r: Result, a: LitmusAnswer) -> list[Trace]:
    """The trace worth showing: a final state satisfying the condition's proposition
    (when the outcome is allowed), else one that does not (a `forall` that fails)."""
    t = r.trace("positive") or (r.trace("negative") if a.condition.startswith("forall") else None)
    return [t] if t is not None else []


def _run(args: argparse.Namespace) -> int:
    color = use_color(sys.stdout, args.no_color) and not args.json
    results: list[Result] = []
    costs: list[dict[str, object] | None] = []
    answers: list[LitmusAnswer | None] = []
    bad_input = False
    errors: list[dict[str, object]] = []
    out = files.ensure_dir(args.out) if args.out else None  # a bad place fails before any run
    svg = files.ensure_dir(args.svg) if args.svg else None
    names = files.trace_names(args.files)
    limits = {"timeout": args.timeout, "max_memory": cli.max_memory(args)}
    for n, f in enumerate(args.files):
        # reading counts against the first model; the first file's clock starts with the
        # process when tlbcheck is the program (not a call of `main` in a longer one)
        started: float = args.started if n == 0 else time.monotonic()
        try:
            checked = load_within(f, args.define, limits, started)
        except LimitReached as limit:
            r = unloaded(f, args.model or "-", limit.reason, started, args.engine)
            results.append(r)
            costs.append(None)
            answers.append(None)
            if not args.json:
                print(verdict_line(r, color))
            continue
        except SpecError as err:
            bad_input = True
            sys.stderr.write(str(err) + "\n")
            errors.append(
                {
                    "spec": None,
                    "file": f,
                    "verdict": "error",
                    "diagnostics": [d.to_json() for d in err.diagnostics],
                }
            )
            continue
        models = _models(args, checked.model, expected_models(checked))
        if checked.litmus is not None and models != ["arm"]:
            bad_input = True
            sys.stderr.write(f"{f}: error: a litmus test is checked under arm only\n")
            continue
        for i, model in enumerate(models):
            r = _check_one(args, checked, model, started if i == 0 else None, results)
            if args.strict:
                r = strict(r)
            answer = litmus_answer(checked, r) if checked.litmus is not None else None
            if answer is not None:  # a litmus test states no expectation to meet
                r = replace(r, expectation_met=True)
            results.append(r)
            answers.append(answer)
            line, run_cost = cost_line(checked, model) if args.cost else ("", None)
            costs.append(run_cost.to_json() if run_cost else None)
            for path in write_traces(r, names[n], out, svg):
                sys.stderr.write(f"trace written to {path}\n")
            if not args.json:
                _print_result(r, answer, line, args.quiet, color)
            sys.stdout.flush()
    if args.json:
        out_json = [
            {
                **r.to_json(),
                **({"cost": c} if c is not None else {}),
                **({"litmus": a.to_json()} if a is not None else {}),
            }
            for r, c, a in zip(results, costs, answers, strict=True)
        ]
        print(json.dumps(out_json + errors, indent=1))
    return exit_code(results, bad_input)
