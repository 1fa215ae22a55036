"""Hostile but valid specs under a small --timeout and --max-memory (issue 14).

Each spec is checked in its own process; the table gives the exit code, the wall
time, how far past the timeout it ended not counting the interpreter's startup
(measured once per table with `--version`; on a loaded machine that alone takes
seconds), the peak resident set size of that process (from wait4), and the
reason the run ended.  Every run must end within about 2 s of its timeout and
under its memory limit, with exit 3 (inconclusive) or a located exit 2.

    PYTHONPATH=$PWD python benchmarks/hostile_limits.py [--timeout S] [--max-memory MB]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAD = 'spec "{name}"\nframe A, B\npage V -> A rw\n'


def straight_core(n: int) -> str:
    body = "\n".join("    read V" if i % 2 == 0 else "    write V" for i in range(n))
    return HEAD.format(name="long core") + f"core c0 {{\n{body}\n}}\n"


def long_handler(n: int) -> str:
    reads = "\n".join("    read V" for _ in range(n))
    return HEAD.format(name="long handler") + (
        "core c0 {\n    pte V := B rw\n    ipi c1 h\n    invlpg V\n}\n"
        f"core c1 {{\n    read V\n}}\nhandler h {{\n{reads}\n}}\n"
    )


def nested_repeat() -> str:
    return HEAD.format(name="nested repeat") + (
        "core c0 {\n    repeat 1024 { repeat 1024 { repeat 1024 { read V } } }\n}\n"
    )


def nested_for() -> str:
    return HEAD.format(name="nested for") + (
        "core w[0..63] {\n    for a in w[*] { for b in w[*] { for c in w[*] { read V } } }\n}\n"
    )


def many_cores(n: int) -> str:
    cores = "".join(
        f"core c{i} {{\n    read V\n    write V\n    read V\n    write V\n}}\n" for i in range(n)
    )
    return HEAD.format(name="many cores") + cores


def many_words(n: int) -> str:
    words = "".join(f"var x{i} = 0\n" for i in range(n))
    body = "".join(f"    x{i} := 1\n" for i in range(n))
    return HEAD.format(name="many words") + words + f"core c0 {{\n{body}}}\ncore c1 {{\n{body}}}\n"


def many_spaces(n: int) -> str:
    spaces = "".join(f"space S{i} asid {i + 1} {{\n    page V -> A rw\n}}\n" for i in range(n))
    switches = "".join(f"    switch S{i}\n    read V\n" for i in range(n))
    return (
        'spec "many spaces"\nframe A, B\n'
        + spaces
        + f"core c0 in S0 {{\n{switches}}}\ncore c1 in S0 {{\n{switches}}}\n"
    )


SPECS = {
    "core of 10,000 read/write": lambda: straight_core(10_000),
    "handler of 2,000 reads": lambda: long_handler(2_000),
    "repeat 1024^3": nested_repeat,
    "3 nested for over 64 cores": nested_for,
    "12 cores": lambda: many_cores(12),
    "2 cores, 40 words": lambda: many_words(40),
    "2 cores, 12 spaces": lambda: many_spaces(12),
}


def run(spec: Path, timeout: float, memory: float) -> tuple[int, float, float, str]:
    cmd = [sys.executable, "-m", "verifier", "check", str(spec), "-q", "--no-color"]
    cmd += ["--timeout", str(timeout), "--max-memory", str(memory)]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    start = time.monotonic()
    with tempfile.TemporaryFile("w+") as out:
        p = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, text=True)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.monotonic() - start
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    m = re.search(r"\((timeout[^\n]*|memory[^\n]*|state limit[^\n]*)\)\s*$", text)
    located = re.search(r":\d+:\d+: error: ([^\n]*)", text)
    why = m.group(1) if m else located.group(1)[:60] if located else text.strip()[-60:]
    return p.returncode, wall, usage.ru_maxrss / 1024, why


def startup() -> float:
    """Wall time of starting tlbcheck and importing it (part of every run's wall time)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    start = time.monotonic()
    subprocess.run([sys.executable, "-m", "verifier", "--version"], env=env, capture_output=True)
    return time.monotonic() - start


def table(names: list[str], timeout: float, memory: float) -> bool:
    ok = True
    start = startup()
    print(f"\ntimeout {timeout:g} s, max memory {memory:g} MB; startup {start:.1f} s\n")
    print(f"| spec | exit | wall s | over s | peak RSS MB | ok | ended by |\n|{'---|' * 7}")
    with tempfile.TemporaryDirectory() as d:
        for name in names:
            spec = Path(d) / (re.sub(r"\W+", "_", name).strip("_") + ".tlb")
            spec.write_text(SPECS[name]())
            code, wall, rss, why = run(spec, timeout, memory)
            over = wall - start - timeout  # past the timeout, not counting Python's startup
            good = (code in (2, 3) and over <= 2 and rss <= memory) or (
                code in (0, 1) and rss <= memory  # finished: fine too
            )
            ok = ok and good
            verdict = "yes" if good else "NO"
            print(f"| {name} | {code} | {wall:.1f} | {over:+.1f} | {rss:.0f} | {verdict} | {why} |")
    return ok


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--timeout", type=float, default=5.0)
    ap.add_argument("--max-memory", type=float, default=1024.0)
    ap.add_argument(
        "--memory-pass",
        type=float,
        default=250.0,
        metavar="MB",
        help="then run the search-heavy specs with this memory limit and a long timeout (0: skip)",
    )
    args = ap.parse_args()
    ok = table(list(SPECS), args.timeout, args.max_memory)
    if args.memory_pass:
        heavy = ["12 cores", "2 cores, 40 words", "2 cores, 12 spaces"]
        ok = table(heavy, 120.0, args.memory_pass) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
