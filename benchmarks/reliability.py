"""Every limit in every phase, every input, every stream and signal (issue 24).

Each case runs `python -m verifier ...` in its own process and says whether it
held: the right exit code and message, no traceback and no internal error, an
end within its timeout + 2 s counted from the process's start (Python's
startup included) and a peak resident set size (from wait4) within its memory
limit + 100 MB, and whatever the case checks afterwards (a device or symlink
still there, no worker process left behind).  The table ends with the worst
overshoots.

    PYTHONPATH=$PWD python benchmarks/reliability.py [--timeout S] [--only WORD] [--jobs N]

`--timeout` is that of the limit cases (default 10 s, as in the issue); the
other cases have their own.  `tests/test_reliability.py` runs the cases marked
quick (a few seconds in all).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SLACK_S = 2.0  # past the timeout, from the process's start
SLACK_MB = 100.0  # past the memory limit
HEAD = 'spec "{name}"\nframe A, B\npage V -> A rw\n'
MB300 = ("--max-memory", "300")
ENGINES = {"explicit": [], "smt": ["--engine", "smt"], "prove": ["--engine", "smt", "--prove"]}


# ---------------------------------------------------------------- the inputs


def long_handler(n: int) -> str:
    reads = "".join("    read V\n" for _ in range(n))
    return HEAD.format(name="long handler") + (
        "core c0 {\n    pte V := B rw\n    ipi c1 h\n    invlpg V\n}\n"
        f"core c1 {{\n    read V\n}}\nhandler h {{\n{reads}}}\n"
    )


def ipi_storm(n: int) -> str:
    return HEAD.format(name="ipi storm") + (
        f"core c[0..{n - 1}] {{\n    ipi others h\n    read V\n}}\nhandler h {{\n    invlpg V\n}}\n"
    )


def arithmetic(cores: int, n: int) -> str:
    body = "".join(
        f"    r := (r * r + {i}) % 1000003\n" if i % 2 else f"    x := r * {i + 2}\n"
        for i in range(n)
    )
    return (
        HEAD.format(name="arithmetic")
        + f"var x = 0\ncore c[0..{cores - 1}] {{\n    r := x\n{body}}}\n"
    )


def wide_words(n: int) -> str:
    words = "".join(f"var w{i} = 0\n" for i in range(n))
    body = "".join(f"    w{i} := {0x7FFFFFFF - i}\n" for i in range(n))
    return HEAD.format(name="wide words") + words + f"core c0 {{\n{body}}}\ncore c1 {{\n{body}}}\n"


def many_cores(n: int) -> str:
    core = "    read V\n    write V\n    read V\n    write V\n"
    return HEAD.format(name="many cores") + "".join(f"core c{i} {{\n{core}}}\n" for i in range(n))


def write_huge(path: Path, mb: int) -> None:
    """A spec of ``mb`` MB, written a megabyte at a time: the peak RSS wait4 reports for
    a child counts this process's own from before the exec."""
    block = "    read V\n" * (2**20 // 11)
    with path.open("w") as f:
        f.write(HEAD.format(name="huge") + "core c0 {\n")
        for _ in range(mb):
            f.write(block)
        f.write("}\n")


RACY = (
    'spec "racy"\nframe A, B\npage V -> A rw\n'
    "core cpu0 {\n    pte V := B rw\n    free A\n}\n"
    "core cpu1 {\n    read V\n}\n"
    "expect race use-after-free\n"
)


def make_inputs(d: Path) -> None:
    """The files the cases name, in ``d``."""
    (d / "src").mkdir()
    for name in ("x.tlb", "x.spec"):
        (d / "src" / name).write_text(RACY)
    (d / "racy.tlb").write_text(RACY)
    (d / "handler.tlb").write_text(long_handler(2_000))
    (d / "ipi64.tlb").write_text(ipi_storm(64))
    (d / "ipi16.tlb").write_text(ipi_storm(16))
    (d / "arith.tlb").write_text(arithmetic(12, 300))
    (d / "wide.tlb").write_text(wide_words(500))
    (d / "long.tlb").write_text(many_cores(12))
    (d / "suite").mkdir()
    for i in range(4):
        (d / "suite" / f"m{i}.tlb").write_text(many_cores(10 + i))
    os.mkfifo(d / "fifo")
    (d / "target.txt").write_text("untouched\n")
    (d / "link.txt").symlink_to(d / "target.txt")
    _tampered_traces(d)


def make_huge(d: Path) -> None:
    if not (d / "huge.tlb").exists():
        write_huge(d / "huge.tlb", 50)


def _tampered_traces(d: Path) -> None:
    """``good.json``, a trace of racy.tlb, and copies each edited in one way."""
    sys.path.insert(0, str(ROOT))
    from verifier.api import check_file
    from verifier.run.result import source_hash

    (r,) = check_file(str(d / "racy.tlb"), ["sc"])
    good = r.traces[0].to_json()
    (d / "good.json").write_text(json.dumps(good))

    def edit(name: str, change: Callable[[dict], None]) -> None:  # type: ignore[type-arg]
        data = json.loads(json.dumps(good))
        change(data)
        (d / f"{name}.json").write_text(json.dumps(data))

    def spec_text(t: dict) -> None:  # type: ignore[type-arg]
        t["source"] = t["source"].replace("    free A\n", "    fence\n    free A\n")
        t["source_sha256"] = source_hash(t["source"])

    edit("spec_text", spec_text)
    edit("no_core", lambda t: t["steps"][0].update(core="cpu7"))
    edit("effect", lambda t: t["steps"][-1].update(effect="nothing at all"))
    edit("cores_cut", lambda t: t.update(cores=t["cores"][:1]))
    spanned = next(s for s in good["steps"] if s.get("span"))["index"] - 1
    edit("negative_line", lambda t: t["steps"][spanned]["span"].update(line=-4))
    edit("bad_params", lambda t: t.update(params={"N": 10**15}))


# ---------------------------------------------------------------- the cases


@dataclass
class Run:
    code: int
    wall: float
    rss: float  # MB
    out: str
    err: str
    orphans: list[int] = field(default_factory=list)


@dataclass
class Case:
    name: str
    argv: list[str]  # after `python -m verifier`, run in the inputs' folder
    codes: tuple[int, ...]  # right exit codes
    said: str = ""  # a regular expression the output must match
    timeout: float = 20.0  # the run must end within this + SLACK_S
    memory: float | None = None  # MB the run must stay under (+ SLACK_MB)
    stdout: str = "pipe"  # "pipe", "full" (/dev/full) or "closed"
    stderr: str = "pipe"  # "pipe" or "full"
    send: int | None = None  # a signal sent to tlbcheck once it runs (see `_ready`)
    after: Callable[[Path, Run], str] | None = None  # further check: '' when it held
    quick: bool = False  # in the default tests' sample
    needs: Callable[[Path], None] | None = None  # makes a costly input first


def _still(path: str, test: Callable[[int], bool], what: str) -> Callable[[Path, Run], str]:
    def check(d: Path, _run: Run) -> str:
        p = Path(path) if path.startswith("/") else d / path
        return "" if test(os.lstat(p).st_mode) else f"{p} is no longer {what}"

    return check


def _json_files(n: int, folder: str) -> Callable[[Path, Run], str]:
    def check(d: Path, run: Run) -> str:
        found = sorted(p.name for p in (d / folder).glob("*.json"))
        said = run.err.count("trace written to")
        if len(found) != n or said != n:
            return f"{said} traces said written, {len(found)} in {folder}: {found}"
        return ""

    return check


def _no_orphans(_d: Path, run: Run) -> str:
    return f"workers left alive: {run.orphans}" if run.orphans else ""


def _target_untouched(d: Path, run: Run) -> str:
    bad = _still("link.txt", stat.S_ISLNK, "a symbolic link")(d, run)
    if (d / "target.txt").read_text() != "untouched\n":
        bad += " the link's target was written"
    return bad.strip()


def limit_cases(timeout: float) -> list[Case]:
    """Every phase, both engines and --prove, under --timeout and --max-memory."""
    t = str(timeout)
    out: list[Case] = []
    limited = ("--timeout", t, "--max-memory", "1000")
    heavy = {
        "handler of 2,000 reads": "handler.tlb",
        "64 cores each IPI-ing all others": "ipi64.tlb",
        "12 cores x 300 arithmetic statements": "arith.tlb",
    }
    for what, spec in heavy.items():
        for engine, flags in ENGINES.items():
            out.append(
                Case(
                    f"{what} ({engine})",
                    ["check", spec, "-q", *limited, *flags],
                    (3,),
                    # whichever limit is reached first, named with its phase (the smt
                    # engine names it after what it did decide: `(not decided: ...; `)
                    rf"(\(|; )(timeout after {timeout:g} s|memory limit of 1000 MB reached) \(\w",
                    timeout,
                    1000,
                )
            )
    return [
        *out,
        Case(
            "16 cores each IPI-ing all others, --timeout 1 (explicit)",
            ["check", "ipi16.tlb", "-q", "--timeout", "1"],
            (3,),
            r"\(timeout after 1 s \(",
            1,
        ),
        Case(
            "500 wide words, --max-memory 500",
            ["check", "wide.tlb", "-q", "--max-memory", "500", "--timeout", "300"],
            (3,),
            r"memory limit of 500 MB reached \(",
            300,
            500,
        ),
        Case(
            "50 MB spec",
            ["check", "huge.tlb", "-q", "--timeout", t],
            (2,),
            r"over the input limit of 16 MB \(raise it with --max-input MB\)",
            5,
            needs=make_huge,
        ),
        Case(
            "50 MB spec, --max-input 100",
            ["check", "huge.tlb", "-q", "--timeout", t, "--max-input", "100"],
            (3,),
            rf"timeout after {timeout:g} s \((reading|parsing)\)",
            timeout,
            needs=make_huge,
        ),
        Case(
            "50 MB spec, --max-input 100 --max-memory 300",
            ["check", "huge.tlb", "-q", "--timeout", "300", *("--max-input", "100"), *MB300],
            (3,),
            r"memory limit of 300 MB reached \((reading|parsing|checking)\)",
            300,
            300,
            needs=make_huge,
        ),
    ]


def input_cases() -> list[Case]:
    """Inputs that are not files to read whole."""
    return [
        Case("check /dev/zero", ["check", "/dev/zero"], (2,), "character device", 5, 300),
        Case("replay /dev/zero", ["replay", "/dev/zero"], (2,), "character device", 5, 300),
        Case("check a FIFO", ["check", "fifo"], (2,), "is a FIFO", 5),
        Case("check ''", ["check", ""], (2,), "no file named", 5),
    ]


def output_cases() -> list[Case]:
    """Output files: never replace what is not a regular file, never one another."""
    return [
        Case(
            "--out D with src/x.tlb and src/x.spec",
            ["check", "src/x.tlb", "src/x.spec", "--model", "sc", "--out", "D1", "-q"],
            (0,),
            after=_json_files(2, "D1"),
        ),
        Case(
            "--out D with the same file twice",
            ["check", "racy.tlb", "racy.tlb", "--model", "sc", "--out", "D2", "-q"],
            (0,),
            after=_json_files(2, "D2"),
        ),
        Case(
            "suite --junit /dev/full",
            ["suite", "racy.tlb", "--junit", "/dev/full"],
            (2,),
            "cannot write '/dev/full'",
            after=_still("/dev/full", stat.S_ISCHR, "a character device"),
        ),
        Case(
            "show -o a FIFO nobody reads",
            ["show", "good.json", "-o", "fifo"],
            (2,),
            "a FIFO that nobody reads",
            5,
            after=_still("fifo", stat.S_ISFIFO, "a FIFO"),
        ),
        Case(
            "show -o a symbolic link",
            ["show", "good.json", "-o", "link.txt"],
            (2,),
            "is a symbolic link",
            after=_target_untouched,
        ),
        Case("show -o /dev/stdout", ["show", "good.json", "-o", "/dev/stdout"], (0,), "steps"),
    ]


def stream_and_signal_cases() -> list[Case]:
    """Full or closed standard streams; SIGTERM, SIGHUP, SIGKILL."""
    return [
        Case(
            "check > /dev/full",
            ["check", "racy.tlb", "-q"],
            (2,),
            "cannot write to standard output: no space left on device",
            stdout="full",
            quick=True,
        ),
        Case(
            "check with stdout closed",
            ["check", "racy.tlb", "-q"],
            (2,),
            "standard output is closed",
            stdout="closed",
        ),
        Case("check 2> /dev/full", ["check", "racy.tlb", "-q"], (0,), stderr="full"),
        # signals
        Case(
            "check, SIGTERM",
            ["check", "long.tlb", "-q"],
            (143,),
            r"interrupted \(SIGTERM\)",
            send=signal.SIGTERM,
            quick=True,
        ),
        Case(
            "check, SIGHUP",
            ["check", "long.tlb", "-q"],
            (129,),
            r"interrupted \(SIGHUP\)",
            send=signal.SIGHUP,
        ),
        Case(
            "suite --jobs 2, SIGTERM",
            ["suite", "suite", "--jobs", "2"],
            (143,),
            "interrupted",
            send=signal.SIGTERM,
            after=_no_orphans,
        ),
        Case(
            "suite --jobs 2, SIGKILL",
            ["suite", "suite", "--jobs", "2"],
            (-9,),
            send=signal.SIGKILL,
            after=_no_orphans,
            quick=True,
        ),
    ]


def replay_cases() -> list[Case]:
    """Traces edited after they were written."""
    tampered = {
        "spec_text": "edited spec text, hash recomputed",
        "no_core": "a step on a core that does not exist",
        "effect": "an edited effect",
        "cores_cut": "cores cut",
        "negative_line": "a negative line number",
        "bad_params": "params out of range",
    }
    return [
        Case(
            f"replay: {what}",
            ["replay", f"{name}.json"],
            (2,),
            r"trace's params|does not match|from 1 up",
            quick=name == "effect",
        )
        for name, what in tampered.items()
    ]


def cases(timeout: float) -> list[Case]:
    return [
        *limit_cases(timeout),
        *input_cases(),
        *output_cases(),
        *stream_and_signal_cases(),
        *replay_cases(),
    ]


# ---------------------------------------------------------------- running


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from /proc; empty where there is none)."""
    out = []
    for p in Path("/proc").glob("[0-9]*"):
        try:
            fields = (p / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(p.name))
    return out


def _ready(pid: int, cpu: float = 1.5, wait: float = 60.0) -> None:
    """Wait until tlbcheck works (past its imports, which ignore signals): it has worker
    processes, or has used ``cpu`` seconds of CPU (the imports take about half)."""
    end = time.monotonic() + wait
    ticks = os.sysconf("SC_CLK_TCK")
    while time.monotonic() < end:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return
        used = (int(fields[11]) + int(fields[12])) / ticks  # utime + stime
        if used >= cpu or _children(pid):
            time.sleep(0.5)  # the workers are under way
            return
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def run(case: Case, d: Path) -> Run:
    if case.needs is not None:
        case.needs(d)
    cmd = [sys.executable, "-m", "verifier", *case.argv]
    env = dict(os.environ, PYTHONPATH=str(ROOT), TLBCHECK_DEBUG="")
    env.pop("TLBCHECK_DEBUG")
    with (
        tempfile.TemporaryFile("w+") as out,
        tempfile.TemporaryFile("w+") as err,
        open("/dev/full", "w") as full,
    ):
        stdout = {"pipe": out, "full": full, "closed": subprocess.DEVNULL}
        stderr = {"pipe": err, "full": full}
        start = time.monotonic()
        p = subprocess.Popen(
            cmd,
            cwd=d,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=stdout[case.stdout],
            stderr=stderr[case.stderr],
            preexec_fn=(lambda: os.close(1)) if case.stdout == "closed" else None,
        )
        kids: list[int] = []
        if case.send is not None:
            _ready(p.pid)
            kids = _children(p.pid)
            p.send_signal(case.send)
        deadline = case.timeout + SLACK_S + 30
        while True:  # a run that never ends is killed: it did not hold
            pid, status, usage = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - start > deadline:
                p.kill()
            time.sleep(0.02)
        wall = time.monotonic() - start
        code = os.waitstatus_to_exitcode(status)
        p.returncode = code
        out.seek(0)
        err.seek(0)
        settle = time.monotonic() + 2.0
        while any(_alive(k) for k in kids) and time.monotonic() < settle:
            time.sleep(0.05)
        return Run(code, wall, usage.ru_maxrss / 1024, out.read(), err.read(),
                   [k for k in kids if _alive(k)])  # fmt: skip


def judge(case: Case, d: Path, r: Run, slack: float = SLACK_S) -> list[str]:
    """What did not hold (empty: it held); ``slack``: seconds past the case's timeout."""
    text = r.out + r.err
    bad = []
    if r.code not in case.codes:
        bad.append(f"exit {r.code}, not {'/'.join(map(str, case.codes))}")
    if case.said and not re.search(case.said, text):
        bad.append(f"no /{case.said}/ in: {text.strip()[-160:]!r}")
    if "Traceback" in text or "internal error" in text:
        bad.append("a traceback or internal error: " + text.strip()[-160:])
    if r.wall > case.timeout + slack:
        bad.append(f"{r.wall:.1f} s, over {case.timeout:g} + {slack:g} s")
    if case.memory is not None and r.rss > case.memory + SLACK_MB:
        bad.append(f"{r.rss:.0f} MB, over {case.memory:g} + {SLACK_MB:g} MB")
    if case.after is not None:
        bad += [x for x in [case.after(d, r)] if x]
    return bad


def startup() -> float:
    """Wall seconds to start Python and import tlbcheck now (`--version`, best of 3)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    best = math.inf
    for _ in range(3):
        start = time.monotonic()
        cmd = [sys.executable, "-m", "verifier", "--version"]
        subprocess.run(cmd, env=env, capture_output=True, check=False)
        best = min(best, time.monotonic() - start)
    return best


def table(chosen: list[Case], d: Path, jobs: int, start_s: float = 0.0) -> bool:
    """Run and judge ``chosen``; ``start_s``: the startup time not counted against the
    limits (the load of a shared machine: 0 to count everything)."""
    print(f"| case | exit | wall s | over s | peak MB | over MB | held |\n|{'---|' * 7}")
    worst_s, worst_mb, broken = -math.inf, -math.inf, 0

    def one(case: Case) -> tuple[Case, Run]:
        return case, run(case, d)

    with ThreadPoolExecutor(jobs) as pool:
        for case, r in pool.map(one, chosen):
            # the clock starts with the process: a startup longer than the timeout is the
            # most a run can be held to
            bad = judge(case, d, r, SLACK_S + max(0.0, start_s - case.timeout))
            over_s = r.wall - max(case.timeout, start_s)
            over_mb = r.rss - case.memory if case.memory is not None else None
            worst_s = max(worst_s, over_s) if case.send is None else worst_s
            worst_mb = max(worst_mb, over_mb) if over_mb is not None else worst_mb
            broken += bool(bad)
            mb = f"{over_mb:+.0f}" if over_mb is not None else ""
            held = "held" if not bad else "BROKEN: " + "; ".join(bad)
            print(
                f"| {case.name} | {r.code} | {r.wall:.1f} | {over_s:+.1f} | {r.rss:.0f} | "
                f"{mb} | {held} |",
                flush=True,
            )
    mb = f"{worst_mb:+.0f} MB past a memory limit" if worst_mb > -math.inf else "no memory case"
    since = "the process's start" + (
        f", or the {start_s:.1f} s startup if longer" if start_s else ""
    )
    print(
        f"\n{len(chosen) - broken} held, {broken} broken; worst overshoot {worst_s:+.1f} s "
        f"past a timeout (from {since}), {mb}"
    )
    return broken == 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--timeout", type=float, default=10.0, help="of the limit cases (s)")
    ap.add_argument("--only", default="", help="the cases whose name holds this text")
    ap.add_argument("--quick", action="store_true", help="the default tests' sample only")
    ap.add_argument("--jobs", type=int, default=1, help="cases run at once (timing suffers)")
    ap.add_argument(
        "--less-startup",
        action="store_true",
        help="hold a run to its timeout or the time to start Python and import tlbcheck "
        "(measured first), whichever is longer: on a loaded machine startup alone can "
        "pass a small timeout",
    )
    args = ap.parse_args()
    chosen = [c for c in cases(args.timeout) if args.only in c.name and (c.quick or not args.quick)]
    print(f"{len(chosen)} cases, python {sys.version.split()[0]}, {os.cpu_count()} cpus\n")
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        make_inputs(d)
        start_s = startup()
        print(f"starting Python and importing tlbcheck: {start_s:.1f} s (best of 3), ", end="")
        print("not counted\n" if args.less_startup else "counted\n")
        return 0 if table(chosen, d, args.jobs, start_s if args.less_startup else 0.0) else 1


if __name__ == "__main__":
    sys.exit(main())
