"""tlbcheck against herd7 on herdtools7's AArch64 VMSA catalogue (docs/arm64.md §4).

    python3 benchmarks/herd_compare.py CATALOGUE [--herd HERD7] [--classes abc] [--timeout S]

CATALOGUE is `catalogue/aarch64-VMSA/tests` of a herdtools7 clone (the repository keeps
no test of it).  herd7's verdicts come from running HERD7 (`herd7 -variant vmsa,fatal`)
when given or on PATH, else from `benchmarks/herd_verdicts.tsv` (written by
`--write-table` from a live run).  Each test falls in one class:

  (a) PTE stores, TLBI, DSB, ISB and faults only;
  (b) also DMB, dependencies, acquire/release, atomics, fault handlers;
  (c) hardware access/dirty flag management (TTHM, af, dbm).

Printed: one line per test that disagrees or that tlbcheck cannot state (with the
reason), then agree / disagree / cannot state / no herd verdict, per class.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from verifier.lang.diagnostics import SpecError  # noqa: E402
from verifier.lang.litmus_classify import classify  # noqa: E402
from verifier.lang.litmus_parse import parse_litmus  # noqa: E402
from verifier.litmus import check_litmus  # noqa: E402
from verifier.run.budget import Budget  # noqa: E402

TABLE = HERE / "herd_verdicts.tsv"
CLASS_B = re.compile(
    r"\b(DMB|LDAR|LDAPR|STLR|SWP\w*|CAS\w*|LD(ADD|SET|CLR|EOR)\w*|ST(ADD|SET|CLR|EOR)\w*|"
    r"LDXR|STXR|LDAXR|STLXR|EOR|ADD|AND|ORR|CMP|CSEL|CSET|B\.\w+|CBN?Z|SXTW|LSL|ERET|MSR)\b"
)


def tests_of(catalogue: Path) -> list[Path]:
    return sorted(catalogue.rglob("*.litmus"))


def test_class(text: str, path: Path) -> str:
    """The class `verifier.lang.litmus_classify` gives; a test it cannot read, by its text."""
    try:
        return classify(parse_litmus(text, str(path)))[0]
    except SpecError:
        pass
    body = text.partition("}")[2]
    if re.search(r"TTHM|\baf\s*:|\bdbm\s*:", text):
        return "c"
    if CLASS_B.search(body) or re.search(r"P\d+\.F|\[X\d+,\s*[XW]\d+", body):
        return "b"
    return "a"


def herd_live(herd: str, path: Path, timeout: float) -> tuple[str, int, int] | None:
    """(Never|Sometimes|Always, positive, negative) from herd7, or None."""
    cmd = [herd, "-variant", "vmsa,fatal", str(path)]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout).stdout
    except subprocess.TimeoutExpired:
        return None
    m = re.search(r"^Observation \S+ (Never|Sometimes|Always) (\d+) (\d+)", out, re.M)
    return (m.group(1), int(m.group(2)), int(m.group(3))) if m else None


def read_table() -> dict[str, tuple[str, int, int]]:
    out = {}
    if TABLE.exists():
        for line in TABLE.read_text().splitlines():
            if line and not line.startswith("#"):
                rel, obs, pos, neg = line.split("\t")
                out[rel] = (obs, int(pos), int(neg))
    return out


def read_kinds(catalogue: Path) -> dict[str, tuple[str, int, int]]:
    """The catalogue's own expected results (kinds.txt) as observations: Forbidden ->
    Never, Required -> Always, Allowed -> Sometimes (read as "not Never")."""
    out = {}
    obs = {"Forbidden": "Never", "Forbid": "Never", "Required": "Always"}
    for kinds in catalogue.rglob("kinds.txt"):
        for line in kinds.read_text().splitlines():
            parts = line.split()
            if len(parts) == 2:
                out[parts[0]] = (obs.get(parts[1], "Sometimes"), -1, -1)
    return out


def agrees(got: str, ref: tuple[str, int, int]) -> bool:
    if ref[1] < 0 and ref[0] == "Sometimes":  # kinds.txt's Allowed: reachable
        return got != "Never"
    return got == ref[0]


def ours(path: Path, states: int, timeout: float) -> tuple[str, str]:
    """(Never|Sometimes|Always, '') or ('', why it cannot be stated or decided)."""
    try:
        r = check_litmus(str(path), Budget(states, timeout, 1500))
    except SpecError as err:
        return "", err.diagnostics[0].message.replace("tlbcheck cannot state this test: ", "")
    except Exception as exc:
        return "", f"internal error: {type(exc).__name__}: {exc}"
    if not r.complete:
        return "", f"inconclusive: {r.reason}"
    return r.observation, ""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("catalogue", type=Path)
    ap.add_argument("--herd", help="herd7 binary (default: herd7 on PATH, else the table)")
    ap.add_argument("--classes", default="abc")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds per test and tool")
    ap.add_argument("--max-states", type=int, default=500_000)
    ap.add_argument("--only", help="a regular expression on test names")
    ap.add_argument("--write-table", action="store_true", help="save herd7's live verdicts")
    args = ap.parse_args()
    herd = args.herd or shutil.which("herd7")
    table = {} if herd else read_table()
    kinds = {} if herd or table else read_kinds(args.catalogue)
    live: dict[str, tuple[str, int, int]] = {}
    counts = {
        c: {"agree": 0, "disagree": 0, "cannot state": 0, "no herd verdict": 0} for c in "abc"
    }
    started = time.monotonic()
    for path in tests_of(args.catalogue):
        rel = str(path.relative_to(args.catalogue))
        if args.only and not re.search(args.only, rel):
            continue
        cls = test_class(path.read_text(errors="replace"), path)
        if cls not in args.classes:
            continue
        text = path.read_text()
        name = text.split(None, 2)[1] if len(text.split(None, 2)) > 1 else path.stem
        ref = herd_live(herd, path, args.timeout) if herd else table.get(rel) or kinds.get(name)
        if ref is not None:
            live[rel] = ref
        got, why = ours(path, args.max_states, args.timeout)
        if ref is None:
            counts[cls]["no herd verdict"] += 1
            print(f"({cls}) {rel}: no herd7 verdict")
        elif not got:
            counts[cls]["cannot state"] += 1
            print(f"({cls}) {rel}: cannot state: {why}")
        elif agrees(got, ref):
            counts[cls]["agree"] += 1
        else:
            counts[cls]["disagree"] += 1
            print(f"({cls}) {rel}: DISAGREE tlbcheck {got}, herd7 {ref[0]} {ref[1]} {ref[2]}")
        sys.stdout.flush()
    if args.write_table and herd:
        rows = [f"{rel}\t{o}\t{p}\t{n}" for rel, (o, p, n) in sorted(live.items())]
        TABLE.write_text("# herd7 -variant vmsa,fatal: test, observation, positive, negative\n"
                         + "\n".join(rows) + "\n")  # fmt: skip
    source = (
        f"herd7 live ({herd})" if herd else f"the table {TABLE.name}" if table
        else "the catalogue's kinds.txt (no herd7, no table)"
    )  # fmt: skip
    print(f"\nherd7 verdicts from {source}; {time.monotonic() - started:.0f} s")
    print(
        f"{'class':6} {'tests':>6} {'agree':>6} {'disagree':>9} {'cannot state':>13} {'no herd':>8}"
    )
    for c in args.classes:
        k = counts[c]
        total = sum(k.values())
        print(f"({c})    {total:6} {k['agree']:6} {k['disagree']:9} {k['cannot state']:13} "
              f"{k['no herd verdict']:8}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
