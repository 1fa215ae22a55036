"""Differential campaign: tlbcheck's verdict kinds against the oracle's on generated specs.

    PYTHONPATH=$PWD python -m tests.oracle.campaign --seeds 0:2000 [--out DIR] [--jobs 2] [--ext]

For each seed and each model (sc, tso, pso) the generated spec is checked by both
sides; a pair where either side is inconclusive is skipped (and counted).  Every
disagreement is printed and, with --out, saved as `DIR/seed<N>_<model>.tlb`.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing import Pool
from pathlib import Path

from verifier.api import check_spec
from verifier.lang.checked import MODELS, CheckedSpec

from .explore import run_oracle
from .gen import gen_checked

ORACLE_STATES = 4_000
TLBCHECK_STATES = 100_000


@dataclass(frozen=True)
class Pair:
    seed: int
    model: str
    text: str
    ours: tuple[str, ...] | None  # None: inconclusive
    theirs: tuple[str, ...] | None
    oracle_states: int

    @property
    def compared(self) -> bool:
        return self.ours is not None and self.theirs is not None

    @property
    def agree(self) -> bool:
        return not self.compared or self.ours == self.theirs

    @property
    def crashed(self) -> bool:
        return self.ours == ("crash",)


def compare(seed: int, model: str, ext: bool = False) -> Pair:
    used, text, checked = gen_checked(seed, ext=ext)
    o = run_oracle(checked, model, max_states=ORACLE_STATES)
    ours = tuple(sorted(o.kinds)) if o.complete else None
    if ours is None:  # skipped anyway: do not spend tlbcheck's time on it
        return Pair(used, model, text, None, None, o.states)
    r = check_spec(checked, model, max_states=TLBCHECK_STATES, timeout=60)
    theirs = None if r.verdict == "inconclusive" else tuple(sorted(r.kinds))
    return Pair(used, model, text, ours, theirs, o.states)


def differ(
    make: Callable[[int], tuple[object, str, CheckedSpec]], seed: int, model: str
) -> tuple[bool, object]:
    """For the spec ``make(seed)`` makes (a generator's ``*_checked``): (compared, (oracle
    kinds, tlbcheck kinds, text)); not compared when either side stops at its limit."""
    _, text, checked = make(seed)
    o = run_oracle(checked, model, max_states=20_000)
    if not o.complete:
        return False, None
    r = check_spec(checked, model, max_states=200_000, timeout=60)
    if r.verdict == "inconclusive":
        return False, None
    return True, (sorted(o.kinds), sorted(r.kinds), text)


def disagreements(
    make: Callable[[int], tuple[object, str, CheckedSpec]],
    seeds: range,
    models: tuple[str, ...],
) -> tuple[int, list[tuple[int, str, object, object]]]:
    """`differ` over ``seeds`` x ``models``: the pairs compared and those that differ."""
    bad, compared = [], 0
    for seed in seeds:
        for model in models:
            ok, got = differ(make, seed, model)
            if ok:
                compared += 1
                ours, theirs, _ = got  # type: ignore[misc]
                if ours != theirs:
                    bad.append((seed, model, ours, theirs))
    return compared, bad


def _one(job: tuple[int, str, bool]) -> Pair:
    try:
        return compare(*job)
    except Exception as exc:  # an oracle or tlbcheck crash is a disagreement too
        return Pair(job[0], job[1], f"// crash: {exc!r}\n", ("crash",), None, 0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seeds", default="0:100", help="START:STOP")
    ap.add_argument("--out", default=None, help="folder for disagreeing specs")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--only-with", default=None, help="only specs whose text contains this")
    ap.add_argument("--ext", action="store_true", help="generate the page-table additions too")
    a = ap.parse_args(argv)
    lo, hi = (int(x) for x in a.seeds.split(":"))
    seeds = [
        s
        for s in range(lo, hi)
        if a.only_with is None or a.only_with in gen_checked(s, ext=a.ext)[1]
    ]
    jobs = [(seed, m, a.ext) for seed in seeds for m in MODELS]
    start = time.monotonic()
    compared = skipped = 0
    bad: list[Pair] = []
    with Pool(a.jobs) as pool:
        for p in pool.imap(_one, jobs, chunksize=4):
            if not p.compared:
                skipped += 1
            else:
                compared += 1
            if not p.agree or p.crashed:
                bad.append(p)
                print(f"DISAGREE seed {p.seed} {p.model}: oracle {p.ours} tlbcheck {p.theirs}")
                if a.out:
                    Path(a.out).mkdir(parents=True, exist_ok=True)
                    f = Path(a.out) / f"seed{p.seed}_{p.model}.tlb"
                    f.write_text(
                        f"// oracle {p.ours}\n// tlbcheck {p.theirs}\n// model {p.model}\n" + p.text
                    )
            if (compared + skipped) % 150 == 0:
                print(f"progress: {compared + skipped} pairs, up to seed {p.seed % 1_000_003}")
            sys.stdout.flush()
    took = time.monotonic() - start
    print(
        f"pairs {len(jobs)}: compared {compared}, skipped (inconclusive) {skipped}, "
        f"disagreements {len(bad)}, {took:.0f} s"
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
