"""tlbcheck against herd7 on herdtools7's AArch64 VMSA catalogue (issue 25, docs/arm64.md §4).

    python3 benchmarks/herd_compare.py --catalogue HERDTOOLS/catalogue/aarch64-VMSA
        [--herd PATH/herd7 [--record]] [--only a,b] [--match TEXT] [--jobs 2]
        [--timeout 60] [--max-states 2000000] [--verbose]

Every test listed by the catalogue's ``tests/@all`` is read by tlbcheck's litmus
reader, put in a class (verifier/lang/litmus_classify.py: a = page-table stores, TLBI,
DSB, ISB and faults only; b = also DMB, dependencies, acquire/release, atomics, fault
handlers; c = hardware access/dirty flags), checked under `arm`, and its observation
(Never/Sometimes/Always) compared with herd7's.

herd7's verdicts come from a live run when ``--herd`` names a herd7 binary (run as
``herd7 -variant vmsa,fatal``: without ``vmsa`` herd7 treats pte_x as an ordinary
variable and gives wrong verdicts silently), else from ``benchmarks/herd_verdicts.csv``,
which ``--record`` rewrites from the live run.  The catalogue's own expected results
(``tests/kinds.txt``, written by ``herd7 -variant vmsa,fatal -kinds`` according to the
catalogue's README) stand in for herd7 where herd7 gave no verdict here (it did not
finish within the time or memory given): such a test is compared by kind (Forbidden =
Never, Allowed = Sometimes or Always, Required = Always), counted in the ``by kind``
column, and the report prints how often kinds.txt agrees with the verdicts herd7 gave.
The repository holds no catalogue test, only the verdict table.

Printed: agree/disagree per class, every disagreement with its cause (the analysed
causes are in ``benchmarks/herd_causes.txt``: TEST: cause), and every test tlbcheck
cannot state or decide, with the reason.  Exit status 0; 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from multiprocessing import Pool
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from verifier.api import check_spec  # noqa: E402
from verifier.lang.diagnostics import SpecError  # noqa: E402
from verifier.lang.litmus_classify import classify  # noqa: E402
from verifier.lang.litmus_lower import load_litmus  # noqa: E402
from verifier.lang.litmus_parse import parse_litmus  # noqa: E402
from verifier.run.litmus import answer  # noqa: E402

TABLE = ROOT / "benchmarks" / "herd_verdicts.csv"
CAUSES = ROOT / "benchmarks" / "herd_causes.txt"
CLASSES = ("a", "b", "c")
_OBS = re.compile(r"^Observation\s+(\S+)\s+(Never|Sometimes|Always)\s+(\d+)\s+(\d+)", re.M)


@dataclass(frozen=True)
class Row:
    test: str  # path under tests/, e.g. MP+shoot+dsb-isb.litmus or newlob/X.litmus
    name: str
    cls: str
    why: str  # the class's reason
    herd: str  # Never | Sometimes | Always | error: ...
    ours: str  # Never | Sometimes | Always | cannot state: ... | inconclusive: ...
    seconds: float
    states: int


def tests_of(catalogue: Path) -> tuple[Path, list[str]]:
    """The tests directory and its tests (paths relative to it), as ``@all`` lists them."""
    base = catalogue / "tests" if (catalogue / "tests" / "@all").is_file() else catalogue
    if not (base / "@all").is_file():
        sys.exit(f"herd_compare: no tests/@all under {catalogue}")

    def expand(listing: Path) -> list[str]:
        out: list[str] = []
        for line in listing.read_text().splitlines():
            item = line.strip()
            if not item or item.startswith("#"):
                continue
            path = listing.parent / item
            if Path(item).name.startswith("@"):
                out += expand(path)
            else:
                out.append(os.path.relpath(path, base))
        return out

    return base, expand(base / "@all")


def classify_text(path: Path) -> tuple[str, str, str]:
    """Name, class and reason; a test the reader cannot parse is classed by its text."""
    text = path.read_text()
    try:
        t = parse_litmus(text, str(path))
    except SpecError:
        name = text.split(maxsplit=2)[1] if len(text.split()) > 1 else path.stem
        if re.search(r"dbm\s*:\s*1", text) or re.search(r"(exists|forall)[^\n]*pte", text):
            return name, "c", "hardware access/dirty flags (by its text: unreadable)"
        return name, "b", "outside the a-subset (by its text: unreadable)"
    cls, why = classify(t)
    return t.name, cls, why


def herd_run(herd: str, path: Path, timeout: float) -> str:
    cmd = [herd, "-variant", "vmsa,fatal", str(path)]
    if shutil.which("prlimit"):
        cmd = ["prlimit", "--as=3000000000", "--", *cmd]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return f"error: herd7 timed out after {timeout:.0f}s"
    m = _OBS.search(p.stdout)
    if m is None:
        err = (p.stderr.strip().splitlines() or ["no Observation line"])[-1]
        return f"error: {err[:200]}"
    return m.group(2)


def ours(path: Path, timeout: float, max_states: int) -> tuple[str, float, int]:
    start = time.monotonic()
    try:
        checked = load_litmus(str(path), path.read_text())
    except SpecError as err:
        return f"cannot state: {err.diagnostics[0].message}", time.monotonic() - start, 0
    r = check_spec(checked, "arm", max_states=max_states, timeout=timeout)
    a = answer(checked, r)
    if a.observation == "inconclusive":
        return f"inconclusive: {r.reason}", r.seconds, r.states
    if a.other:
        return f"cannot state: the run also reached {', '.join(a.other)}", r.seconds, r.states
    return a.observation, r.seconds, r.states


@dataclass(frozen=True)
class Job:
    base: Path
    test: str
    herd: str  # a verdict from the table, or "run:PATH" to run herd7 at PATH
    timeout: float
    max_states: int
    ours: bool  # run tlbcheck too
    cached: tuple[str, float, int] | None = None  # tlbcheck's answer from --cache


def _one(job: Job) -> Row:
    path = job.base / job.test
    name, cls, why = classify_text(path)
    herd = job.herd
    if herd.startswith("run:"):
        herd = herd_run(herd[4:], path, job.timeout)
    if job.cached is not None:
        got, secs, states = job.cached
    else:
        got, secs, states = ours(path, job.timeout, job.max_states) if job.ours else ("-", 0.0, 0)
    return Row(job.test, name, cls, why, herd, got, secs, states)


def read_table(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    with path.open() as fh:
        return {r["test"]: r["herd"] for r in csv.DictReader(fh)}


def write_table(path: Path, rows: list[Row]) -> None:
    """Rewrite the verdict table with ``rows``, keeping the other tests' lines."""
    old: dict[str, list[str]] = {}
    if path.is_file():
        with path.open() as fh:
            old = {
                r["test"]: [r["test"], r["name"], r["class"], r["herd"]] for r in csv.DictReader(fh)
            }
    for r in rows:
        old[r.test] = [r.test, r.name, r.cls, r.herd]
    with path.open("w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["test", "name", "class", "herd"])
        for key in sorted(old):
            w.writerow(old[key])


def read_cache(path: Path) -> dict[str, tuple[str, float, int]]:
    if not path.is_file():
        return {}
    with path.open() as fh:
        return {
            r["test"]: (r["ours"], float(r["seconds"]), int(r["states"]))
            for r in csv.DictReader(fh)
        }


def write_cache(path: Path, rows: list[Row]) -> None:
    old = read_cache(path)
    for r in rows:
        if r.ours != "-":
            old[r.test] = (r.ours, r.seconds, r.states)
    with path.open("w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["test", "ours", "seconds", "states"])
        for key in sorted(old):
            w.writerow([key, *old[key]])


def read_causes(path: Path) -> dict[str, str]:
    out = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            if line.strip() and not line.startswith("#") and ": " in line:
                k, v = line.split(": ", 1)
                out[k.strip()] = v.strip()
    return out


def kinds_expected(base: Path) -> dict[str, str]:
    path = base / "kinds.txt"
    out = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 2 and not line.startswith("#"):
                out[parts[0]] = parts[1]
    return out


def decided(v: str) -> bool:
    return v in ("Never", "Sometimes", "Always")


def kind_holds(kind: str, v: str) -> bool:
    """Whether observation ``v`` is what the catalogue's kind says."""
    if kind.startswith("Forbid"):
        return v == "Never"
    if kind.startswith("Allow"):
        return v in ("Sometimes", "Always")
    return kind == "Required" and v == "Always"


def reference(r: Row, kinds: dict[str, str]) -> str | None:
    """herd7's verdict, else the catalogue's kind where herd7 gave none ("kind:Allowed")."""
    if decided(r.herd):
        return r.herd
    kind = kinds.get(r.name)
    return f"kind:{kind}" if kind in KINDS else None


KINDS = ("Allow", "Allowed", "Forbid", "Forbidden", "Required")


def agrees(ref: str, ours: str) -> bool:
    return kind_holds(ref[5:], ours) if ref.startswith("kind:") else ref == ours


def report(rows: list[Row], kinds: dict[str, str], causes: dict[str, str], verbose: bool) -> None:
    print(
        f"{'class':5} {'tests':>5} {'compared':>8} {'by kind':>7} {'agree':>5} {'disagree':>8} "
        f"{'cannot state':>12} {'undecided':>9} {'herd7 n/a':>9}  agreement"
    )
    for cls in CLASSES:
        mine = [r for r in rows if r.cls == cls]
        if not mine:
            continue
        refd = [(r, ref) for r in mine if (ref := reference(r, kinds)) is not None]
        cmp_ = [(r, ref) for r, ref in refd if decided(r.ours)]
        by_kind = sum(ref.startswith("kind:") for _, ref in cmp_)
        agree = sum(agrees(ref, r.ours) for r, ref in cmp_)
        cannot = sum(r.ours.startswith("cannot state") for r, _ in refd)
        undecided = sum(r.ours.startswith("inconclusive") for r, _ in refd)
        pct = f"{100 * agree / len(mine):.0f}% of the class"
        print(
            f"{cls:5} {len(mine):>5} {len(cmp_):>8} {by_kind:>7} {agree:>5} "
            f"{len(cmp_) - agree:>8} {cannot:>12} {undecided:>9} {len(mine) - len(refd):>9}  {pct}"
        )
    print()
    bad = [
        (r, ref)
        for r in rows
        if (ref := reference(r, kinds)) and decided(r.ours) and not agrees(ref, r.ours)
    ]
    print(f"Disagreements ({len(bad)}):")
    for r, ref in sorted(bad, key=lambda x: (x[0].cls, x[0].test)):
        cause = causes.get(r.name, "not analysed yet")
        said = f"kinds.txt {ref[5:]}" if ref.startswith("kind:") else f"herd7 {ref}"
        print(f"  [{r.cls}] {r.name}: {said}, tlbcheck {r.ours} -- {cause}")
    print()
    reasons = Counter(_short(r.ours) for r in rows if not decided(r.ours))
    print(f"Not stated or not decided by tlbcheck ({sum(reasons.values())}), by reason:")
    for reason, n in reasons.most_common():
        print(f"  {n:4}  {reason}")
    if verbose:
        for r in sorted(rows, key=lambda r: (r.cls, r.test)):
            if not decided(r.ours):
                print(f"  [{r.cls}] {r.name}: {r.ours}")
    herd_bad = [r for r in rows if not decided(r.herd)]
    if herd_bad:
        print(f"\nherd7 gave no verdict ({len(herd_bad)}):")
        for r in herd_bad:
            kind = reference(r, kinds)
            stand_in = f"; kinds.txt: {kind[5:]}" if kind else "; not in kinds.txt"
            print(f"  [{r.cls}] {r.name}: {r.herd}{stand_in}")
    both = [r for r in rows if decided(r.herd) and kinds.get(r.name) in KINDS]
    wrong_kind = [r for r in both if not kind_holds(kinds[r.name], r.herd)]
    print(
        f"\nkinds.txt agrees with herd7's verdict on {len(both) - len(wrong_kind)} of the "
        f"{len(both)} tests both give."
    )
    for r in wrong_kind:
        print(f"  differs: {r.name}: herd7 {r.herd}, kinds.txt {kinds[r.name]}")


def _short(v: str) -> str:
    """A reason without the instruction text in parentheses, so reasons group."""
    return re.sub(r"\s*\([^()]*\)", "", v, count=1) if "outside" in v else v


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--catalogue", required=True, type=Path, help="catalogue/aarch64-VMSA")
    ap.add_argument("--herd", help="a herd7 binary to run live (default: the verdict table)")
    ap.add_argument("--record", action="store_true", help="rewrite the verdict table from --herd")
    ap.add_argument("--table", type=Path, default=TABLE)
    ap.add_argument("--only", default="a,b,c", help="classes to run (default a,b,c)")
    ap.add_argument("--match", default="", help="only tests whose path contains TEXT")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds per test and tool")
    ap.add_argument("--max-states", type=int, default=2_000_000)
    ap.add_argument("--verbose", action="store_true", help="list every test not stated")
    ap.add_argument("--fill", action="store_true", help="run herd7 where the table lacks a test")
    ap.add_argument("--herd-only", action="store_true", help="run herd7 only (with --record)")
    ap.add_argument("--cache", type=Path, help="tlbcheck's answers kept in FILE and reused")
    args = ap.parse_args()
    if args.record and not args.herd:
        ap.error("--record needs --herd")
    base, tests = tests_of(args.catalogue)
    tests = [t for t in tests if args.match in t]
    only = set(args.only.split(","))
    table = read_table(args.table)
    cache = read_cache(args.cache) if args.cache else {}
    jobs = []
    for test in tests:
        _, cls, _ = classify_text(base / test)
        if cls not in only:
            continue
        if args.herd and not (args.fill and test in table):
            herd = f"run:{args.herd}"
        else:
            herd = table.get(test, "error: not in the verdict table")
        jobs.append(
            Job(
                base, test, herd, args.timeout, args.max_states, not args.herd_only, cache.get(test)
            )
        )
    rows: list[Row] = []
    with Pool(max(1, args.jobs)) as pool:
        for row in pool.imap(_one, jobs, chunksize=1):
            rows.append(row)
            if len(rows) % 20 == 0 or len(rows) == len(jobs):  # kept as the run goes
                if args.record:
                    write_table(args.table, rows)
                if args.cache:
                    write_cache(args.cache, rows)
    if args.herd_only:
        for cls in CLASSES:
            got = Counter(r.herd if decided(r.herd) else "no verdict" for r in rows if r.cls == cls)
            print(f"{cls}: " + ", ".join(f"{k} {v}" for k, v in sorted(got.items())))
        return 0
    source = f"herd7 live ({args.herd})" if args.herd else f"verdict table {args.table.name}"
    print(f"{len(rows)} tests of {base}; herd7 verdicts: {source}\n")
    report(rows, kinds_expected(base), read_causes(CAUSES), args.verbose)
    return 0


if __name__ == "__main__":
    sys.exit(main())
