"""tlbcheck against SPIN on the same nine shootdown protocols, N = 2, 3, ... in one run.

    python benchmarks/spin/run.py [--budget 120] [--memory 8192] [--max-n 16]
        [--only eager] [--spin-bfs] [--min-n 5] [--tools tlbcheck] [--cpus 1]

Each protocol has a Promela model (`*.pml`, written by us) beside the repository's
example of the same name (`examples/*.tlb`), equal to it as far as the language
allows (README.md says what differs).  For
N = 2, 3, ... both tools run until each exceeds the budget (CPU seconds, enforced
with RLIMIT_CPU) or memory (MB, RLIMIT_AS); one table is printed: N, tool,
states, transitions, seconds, peak MB, verdict, trace length, then tlbcheck/SPIN
ratios for each N both finished.

SPIN: `spin -DN=n -a`, `gcc -O2 -DSAFETY -DMEMLIM=...`, `./pan -c1 -m1000000`
(depth-first with partial-order reduction, stops at the first assertion failure;
its trail is not a shortest one unless `--spin-bfs`).  tlbcheck: `check_spec` with
its default reductions; on an unsafe protocol with `stop_at_first` (as `pan -c1`),
its trace is a shortest one.  Neither tool's compiling is timed (tlbcheck's native
search is compiled and cached first; `--compile-timed` counts it).  tlbcheck runs on one
CPU as pan does (`--cpus 2`: its native search's two threads).  Seconds are CPU
seconds of the child process (the
machine may be shared); peak MB is pan's "total actual memory usage" and
tlbcheck's peak RSS.  `spin` is installed with apt-get when absent.  Not part of CI.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent

# name, memory model of the .tlb spec, expected verdict
PROTOCOLS = [
    ("eager_fenced", "tso", "safe"),
    ("eager_missing_fence", "tso", "unsafe"),
    ("invalidate_before_update", "tso", "unsafe"),
    ("lazy_generation", "pso", "safe"),
    ("lazy_missing_fence", "pso", "unsafe"),
    ("eager_fenced_loop", "tso", "safe"),  # the IPIs sent by `for c in cpu[*]`
    ("eager_missing_fence_loop", "tso", "unsafe"),
    ("invalidate_before_update_loop", "tso", "unsafe"),
    ("lazy_publish_early", "pso", "unsafe"),
]

WORKER = r"""
import json, resource, sys
from verifier.api import check_spec
from verifier.lang.frontend import load
path, n, model, stop = sys.argv[1:5]
r = check_spec(load(path, [f"N={n}"]), model, max_states=10**9, stop_at_first=stop == "1")
rss = max(resource.getrusage(w).ru_maxrss for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
print(json.dumps({"states": r.states, "transitions": r.transitions, "verdict": r.verdict,
                  "kinds": list(r.kinds), "reason": r.reason, "engine": r.engine,
                  "trace": min((len(t.steps) for t in r.traces), default=None),
                  "mb": rss / 1024}))
"""

# compiles (and caches) the native search of the spec at N, searching one state: run
# before the timed run unless --compile-timed, as SPIN's gcc step is not timed either
WARM = r"""
import sys
from verifier.api import check_spec
from verifier.lang.frontend import load
path, n, model = sys.argv[1:4]
check_spec(load(path, [f"N={n}"]), model, max_states=1, engine="native")
"""


def ensure_spin() -> None:
    if shutil.which("spin"):
        return
    print("installing spin with apt-get ...", file=sys.stderr)
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "spin"], check=True)


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _limits(budget: float, mb: int, cpus: int | None = None) -> None:
    """CPU seconds and address space of a child: a shared, busy machine slows wall
    time, not CPU time; with ``cpus``, the first that many CPUs it may use (the native
    search runs one thread per CPU it may use)."""
    cpu = int(budget) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    resource.setrlimit(resource.RLIMIT_AS, (mb << 20, mb << 20))
    if cpus is not None:
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:cpus])


def _over(returncode: int, budget: float) -> str | None:
    if returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        return f"over {budget:g} CPU s"
    return None


def run_spin(name: str, n: int, budget: float, mb: int, bfs: bool) -> dict:
    work = Path(tempfile.mkdtemp(prefix="tlbcheck-spin-"))
    try:
        subprocess.run(
            ["spin", f"-DN={n}", "-a", str(HERE / f"{name}.pml")],
            cwd=work,
            check=True,
            capture_output=True,
        )
        flags = ["-O2", "-DSAFETY", f"-DMEMLIM={mb}"] + (["-DBFS"] if bfs else [])
        subprocess.run(
            ["gcc", *flags, "-o", "pan", "pan.c"], cwd=work, check=True, capture_output=True
        )
        before = _cpu()
        p = subprocess.run(
            ["./pan", "-c1", "-m1000000"],
            cwd=work,
            capture_output=True,
            text=True,
            preexec_fn=lambda: _limits(budget, mb + 512),
        )
        secs = _cpu() - before
        over = _over(p.returncode, budget)
        if over:
            return {"verdict": over, "seconds": secs}
        out = p.stdout

        def num(pattern: str) -> float | None:
            m = re.search(pattern, out)
            return float(m.group(1)) if m else None

        errors = num(r"errors: (\d+)")
        if "max search depth too small" in out:
            return {"verdict": "depth limit (-m)", "seconds": secs}
        if "out of memory" in out or errors is None:
            return {"verdict": "out of memory" if "memory" in out else "failed", "seconds": secs}
        depth = num(r"violated.*\(at depth (\d+)\)")
        return {
            "states": int(num(r"(\d+) states, stored") or 0),
            "transitions": int(num(r"(\d+) transitions") or 0),
            "seconds": secs,
            "mb": num(r"([\d.]+)\s+total actual memory usage"),
            "verdict": "unsafe" if errors else "safe",
            "trace": int(depth) if depth is not None else None,
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_tlbcheck(
    name: str,
    n: int,
    model: str,
    stop: bool,
    budget: float,
    mb: int,
    compile_timed: bool,
    cpus: int = 1,
) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    spec = HERE / f"{name}.tlb"  # a variant of this directory, else the example
    spec = spec if spec.exists() else ROOT / "examples" / f"{name}.tlb"
    args = [str(spec), str(n), model, "1" if stop else "0"]
    if not compile_timed:  # (an N the Python search decides alone never compiles: no matter)
        subprocess.run([sys.executable, "-c", WARM, *args[:3]], env=env, capture_output=True)
    before = _cpu()
    p = subprocess.run(
        [sys.executable, "-c", WORKER, *args],
        env=env,
        capture_output=True,
        text=True,
        preexec_fn=lambda: _limits(budget, mb, cpus),
    )
    secs = _cpu() - before
    over = _over(p.returncode, budget) or (f"over {budget:g} CPU s" if secs > budget else None)
    if over:  # (the native search is a child of the worker, with its own CPU limit)
        return {"verdict": over, "seconds": secs}
    if p.returncode != 0:
        return {"verdict": "out of memory" if "MemoryError" in p.stderr else "failed"}
    r = json.loads(p.stdout)
    r["seconds"] = secs
    if r["verdict"] == "inconclusive":
        r["verdict"] = f"inconclusive ({r['reason']})"
    return r


def _conditions(args: argparse.Namespace) -> str:
    """When and how loaded: CPU seconds do not depend on the load, wall time does."""
    import datetime

    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"run of {when}: {os.cpu_count()} CPUs, load average {load} (1, 5, 15 min), "
        f"nice {args.nice}; budget {args.budget:g} CPU s and {args.memory} MB per run, "
        f"N = {args.min_n}..{args.max_n}; tlbcheck on {args.cpus} CPU(s), pan on one; compiling "
        + ("timed" if args.compile_timed else "not timed (tlbcheck's native search, SPIN's pan.c)")
    )


def _fmt(x: object, spec: str = "") -> str:
    return "-" if x is None else format(x, spec)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--budget", type=float, default=120.0, help="CPU seconds per run")
    ap.add_argument("--memory", type=int, default=8192, help="MB per run")
    ap.add_argument("--min-n", type=int, default=2)
    ap.add_argument("--max-n", type=int, default=16)
    ap.add_argument("--only", default="", help="protocols whose name this regex matches")
    ap.add_argument("--spin-bfs", action="store_true", help="breadth-first pan (shortest trails)")
    ap.add_argument(
        "--tools", default="tlbcheck,spin", help="which to run (e.g. tlbcheck alone on a rerun)"
    )
    ap.add_argument("--nice", type=int, default=10, help="niceness of this run and its children")
    ap.add_argument(
        "--cpus",
        type=int,
        default=1,
        help="CPUs tlbcheck may use, one native-search thread each (default 1, as pan; "
        "seconds are CPU seconds of every thread)",
    )
    ap.add_argument(
        "--compile-timed",
        action="store_true",
        help="count compiling tlbcheck's native search (by default it is compiled before "
        "the timed run, as SPIN's pan.c is)",
    )
    args = ap.parse_args()
    os.nice(args.nice)
    print(_conditions(args))
    print()
    tools = tuple(t for t in ("tlbcheck", "spin") if t in args.tools.split(","))
    if "spin" in tools:
        ensure_spin()
    cols = (
        "protocol",
        "N",
        "tool",
        "states",
        "transitions",
        "seconds",
        "peak MB",
        "states/s",
        "bytes/state",
        "verdict",
        "trace",
    )
    print(" | ".join(cols))
    print(" | ".join("---" for _ in cols))
    ratios: list[str] = []
    largest: dict[tuple[str, str], int] = {}
    sizes: dict[tuple[str, str], list[int]] = {}
    at: dict[tuple[str, str], tuple] = {}  # CPU s, states/s, bytes/state at the largest N
    for name, model, expected in PROTOCOLS:
        if not re.search(args.only, name):
            continue
        alive = {t: t in tools for t in ("tlbcheck", "spin")}
        for n in range(args.min_n, args.max_n + 1):
            if not any(alive.values()):
                break
            got: dict[str, dict] = {}
            for tool in ("tlbcheck", "spin"):
                if not alive[tool]:
                    continue
                if tool == "spin":
                    r = run_spin(name, n, args.budget, args.memory, args.spin_bfs)
                else:
                    r = run_tlbcheck(
                        name,
                        n,
                        model,
                        expected == "unsafe",
                        args.budget,
                        args.memory,
                        args.compile_timed,
                        args.cpus,
                    )
                got[tool] = r
                ok = r["verdict"] in ("safe", "unsafe")
                alive[tool] = ok and r.get("seconds", 0) <= args.budget
                rate = r["states"] / r["seconds"] if r.get("states") and r.get("seconds") else None
                per = r["mb"] * 2**20 / r["states"] if r.get("states") and r.get("mb") else None
                if alive[tool]:
                    largest[(name, tool)] = n
                    sizes.setdefault((name, tool), []).append(r.get("states") or 0)
                    at[(name, tool)] = (r.get("seconds"), rate, per)
                label = f"{tool} ({r['engine']})" if r.get("engine") else tool
                print(
                    f"{name} ({model}) | {n} | {label} | {_fmt(r.get('states'), ',')} | "
                    f"{_fmt(r.get('transitions'), ',')} | {_fmt(r.get('seconds'), '.2f')} | "
                    f"{_fmt(r.get('mb'), ',.0f')} | {_fmt(rate, ',.0f')} | {_fmt(per, ',.0f')} | "
                    f"{r['verdict']} | {_fmt(r.get('trace'))}"
                )
                sys.stdout.flush()
            t, s = got.get("tlbcheck", {}), got.get("spin", {})
            if t.get("states") and s.get("states") and t.get("seconds") and s.get("seconds"):
                ratios.append(
                    f"{name} N={n}: states {t['states'] / s['states']:.3g}x, "
                    f"seconds {t['seconds'] / s['seconds']:.3g}x, "
                    f"peak MB {t['mb'] / s['mb']:.3g}x (tlbcheck/SPIN)"
                )
    print()
    print(f"largest N within {args.budget:g} CPU s, side by side (at that N: CPU s, states per")
    print("CPU s, bytes per state at the peak RSS, and states growth per responder):")
    print()
    half = "N | CPU s | states/s | bytes/state | growth"
    print(f"protocol | tlbcheck {half} | SPIN {half}")
    print("--- | --- | --- | --- | --- | --- | --- | --- | --- | --- | ---")
    for name, model, _ in PROTOCOLS:
        if not re.search(args.only, name):
            continue
        parts = []
        for tool in ("tlbcheck", "spin"):
            s = sizes.get((name, tool), [])
            growth = f"x{s[-1] / s[-2]:.2g}" if len(s) > 1 and s[-2] else "-"
            secs, rate, per = at.get((name, tool), (None, None, None))
            parts += [
                str(largest.get((name, tool), "-")),
                _fmt(secs, ".2f"),
                _fmt(rate, ",.0f"),
                _fmt(per, ",.0f"),
                growth,
            ]
        print(f"{name} ({model}) | " + " | ".join(parts))
    print()
    print("ratios measured in this run:")
    for line in ratios:
        print("  " + line)
    print()
    print(_conditions(args).replace("run of", "ended", 1))


if __name__ == "__main__":
    main()
