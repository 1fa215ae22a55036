"""Does `tlbcheck repair` find the kernel's own fix?  For every racy/fixed pair of real
kernel bugs listed in specs/README.md, and every language example in examples/ that
races, `tlbcheck repair` runs as a user would run it (its own process, default
limits, `--json`), and the table says:

* result: how many fixes of how many edits it proposed, or why none;
* kernel's fix: `proposed (fix k)` when one proposal is the fixed spec of the pair
  (same declarations and statements; comments, layout, title and `expect` lines
  aside), `in reach` when the kernel's fix is a candidate of the edit space (one
  edit, or two structural ones) that the search did not get to propose, `outside`
  when it is not a candidate (a new variable, a new branch, a rewritten condition);
* equivalent: the best proposal has the fixed spec's verdict under every model
  either spec names (both checked here by the engines);
* re-check: `tlbcheck check --expected-models` on the best proposal, written to a
  file, exits 0 (its `expect` lines were rewritten by repair to `expect safe`);
* checks: candidates checked / engine runs; CPU and wall seconds of the process.

    python benchmarks/bench_repair.py [--only NAME] [--out FILE.md]

Figures from one run on a shared machine: compare runs on one machine.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from verifier import api  # noqa: E402
from verifier.lang import ast  # noqa: E402
from verifier.lang.frontend import load, load_text  # noqa: E402
from verifier.lang.parse import parse_text  # noqa: E402
from verifier.repair.edits import apply_ast  # noqa: E402
from verifier.repair.space import EDIT_KINDS, Context, candidates  # noqa: E402

PAIR_ROW = re.compile(
    r"^\| (?P<commit>(?:[^|\\]|\\.)+?) \| `(?P<racy>[^`]+)` \| `(?P<fixed>[^`]+)` \|$"
)


def pairs() -> list[tuple[str, str, str]]:
    """(commit, racy spec, fixed spec) from the real-bug table of specs/README.md."""
    text = (ROOT / "specs" / "README.md").read_text()
    table = text.split("## Real kernel bugs", 1)[1].split("\n\n", 2)[1]
    out = []
    for line in table.splitlines():
        m = PAIR_ROW.match(line.strip())
        if m:
            commit = m["commit"].split()[0]
            out.append((commit, f"specs/{m['racy']}.tlb", f"specs/{m['fixed']}.tlb"))
    return out


def racing_examples() -> list[str]:
    """The language examples of the repository that some model they name finds unsafe (a
    race, or another problem: an assertion, a hang, a range)."""
    out = []
    for p in sorted((ROOT / "examples").glob("*.tlb")):
        checked = load(str(p), [])
        if any(
            api.check_spec(checked, m).verdict == "unsafe" for m in api.expected_models(checked)
        ):
            out.append(str(p.relative_to(ROOT)))
    return out


def body(spec: ast.Spec) -> tuple[ast.Decl, ...]:
    """What a fix changes: every declaration but the title and the `expect` lines."""
    return tuple(d for d in spec.decls if not isinstance(d, ast.SpecTitle | ast.ExpectDecl))


def kernel_in_reach(racy: str, fixed: str) -> bool:
    """Is the fixed spec one edit of the racy one, or two structural (spread 0) edits?"""
    checked = load(str(ROOT / racy), [])
    want = body(load(str(ROOT / fixed), []).spec)
    edits = candidates(Context(checked))
    if any(body(apply_ast(checked.spec, e.ops)) == want for e in edits):
        return True
    few = {k.name for k in EDIT_KINDS if k.spread == 0}
    structural = [e for e in edits if e.kind in few]
    return any(
        body(apply_ast(checked.spec, [*a.ops, *b.ops])) == want
        for i, a in enumerate(structural)
        for b in structural[i + 1 :]
        if not {id(op) for op in a.ops} & {id(op) for op in b.ops}
    )


def run_repair(spec: str) -> tuple[dict, float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "verifier", "repair", spec, "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode not in (0, 1, 3):
        raise SystemExit(f"repair {spec} exited {proc.returncode}: {proc.stderr}")
    return json.loads(proc.stdout), cpu, wall


def recheck(spec: str, text: str) -> bool:
    """`tlbcheck check --expected-models` on the repaired text, in a file beside nothing."""
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / Path(spec).name
        p.write_text(text)
        proc = subprocess.run(
            [sys.executable, "-m", "verifier", "check", str(p), "--expected-models", "-q"],
            cwd=ROOT,
            capture_output=True,
            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        )
        return proc.returncode == 0


def equivalent(racy: str, fixed: str | None, text: str) -> bool:
    """The proposal has the fixed spec's verdict under every model either names (safe
    under every model the racy spec names when there is no fixed spec)."""
    proposal = load_text(text, racy, [])
    models = set(api.expected_models(load(str(ROOT / racy), [])))
    partner = load(str(ROOT / fixed), []) if fixed else None
    if partner is not None:
        models |= set(api.expected_models(partner))
    for m in sorted(models):
        want = api.check_spec(partner, m).verdict if partner is not None else "safe"
        if api.check_spec(proposal, m).verdict != want:
            return False
    return True


def row(commit: str, racy: str, fixed: str | None) -> dict:
    data, cpu, wall = run_repair(racy)
    fixes = data["fixes"]
    if fixes:
        n = len(fixes[0]["edits"])
        result = f"{len(fixes)} fix{'es' if len(fixes) > 1 else ''} of {n} edit{'s' * (n > 1)}"
    else:
        result = f"{data['status']}: {data['stopped'] or 'none within 2 edits'}"
    kernel = "-"
    if fixed is not None:
        want = body(load(str(ROOT / fixed), []).spec)
        hit = next((f["rank"] for f in fixes if body(parse_text(f["text"], racy)) == want), None)
        if hit is not None:
            kernel = f"proposed (fix {hit})"
        else:
            kernel = "in reach" if kernel_in_reach(racy, fixed) else "outside"
    best = fixes[0] if fixes else None
    return {
        "commit": commit,
        "racy": racy,
        "result": result,
        "kernel": kernel,
        "best": "; ".join(e["text"] for e in best["edits"]) if best else "-",
        "equivalent": bool(best) and equivalent(racy, fixed, best["text"]),
        "recheck": bool(best) and recheck(racy, best["text"]),
        "checks": f"{data['tried']} / {data['engine_runs']}",
        "cpu": cpu,
        "wall": wall,
        "found": bool(fixes),
    }


def table(rows: list[dict]) -> str:
    head = (
        "| bug | racy spec | result | kernel's fix | best proposal | equivalent | re-check "
        "| checked / runs | CPU s | wall s |\n|---|---|---|---|---|---|---|---:|---:|---:|"
    )
    lines = [head]
    for r in rows:
        lines.append(
            f"| {r['commit']} | `{r['racy']}` | {r['result']} | {r['kernel']} | {r['best']} "
            f"| {_yes(r['found'], r['equivalent'], 'yes', 'no')} "
            f"| {_yes(r['found'], r['recheck'], 'ok', 'FAIL')} "
            f"| {r['checks']} | {r['cpu']:.1f} | {r['wall']:.1f} |"
        )
    return "\n".join(lines)


def _yes(found: bool, ok: bool, yes: str, no: str) -> str:
    return "-" if not found else yes if ok else no


def summary(rows: list[dict], what: str) -> str:
    found = [r for r in rows if r["found"] and r["equivalent"] and r["recheck"]]
    kernel = [r for r in rows if r["kernel"].startswith("proposed")]
    slow = max((r["wall"] for r in rows), default=0.0)
    cpu = max((r["cpu"] for r in rows), default=0.0)
    own = f" (the kernel's own among the proposals for {len(kernel)})" if what == "bugs" else ""
    return (
        f"{what}: a verified fix for {len(found)} of {len(rows)}{own}; "
        f"slowest {cpu:.1f} CPU s, {slow:.1f} s wall"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", help="only specs whose path contains this")
    ap.add_argument("--out", help="also write the tables to this Markdown file")
    args = ap.parse_args()
    wanted = [p for p in pairs() if not args.only or args.only in p[1]]
    bugs = [row(c, r, f) for c, r, f in wanted]
    examples = [
        row("example", e, None) for e in racing_examples() if not args.only or args.only in e
    ]
    text = "\n\n".join(
        [
            "Real kernel bugs (specs/README.md):",
            table(bugs),
            summary(bugs, "bugs"),
            "Language examples that race (examples/):",
            table(examples) if examples else "(no example in examples/ races, or none is there)",
            *([summary(examples, "examples")] if examples else []),
        ]
    )
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
