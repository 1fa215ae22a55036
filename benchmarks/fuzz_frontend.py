"""Fuzz the front end: grammar-based specs, mutated specs and random bytes through
parse + check, and `tlbcheck check` (in process, a tiny --max-states) on those that check;
fuzzed `-D` values on real specs, and fuzzed command lines (every command, option values
of every shape) through `tlbcheck` itself.

    PYTHONPATH=$PWD python benchmarks/fuzz_frontend.py --count 100000 --out /tmp/fuzz

A crash is any exception that is not a `SpecError` diagnostic (and any `tlbcheck check`
exit code 4, an internal error).  Each crashing input is saved in --out with its
traceback.  Crashes that go away once leading zeros are stripped from the integer
literals are counted apart (a known defect, issue 9 item 7).  Inputs slower than
--slow seconds are reported too (something growing faster than linear).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import multiprocessing
import os
import random
import re
import sys
import tempfile
import time
import traceback
from collections import Counter
from multiprocessing import Pool
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from oracle.gen import gen_text  # noqa: E402

from verifier.cli.main import main as tlbcheck  # noqa: E402
from verifier.lang.diagnostics import SpecError  # noqa: E402
from verifier.lang.frontend import load, load_text  # noqa: E402

TOKENS = [
    "{", "}", "(", ")", "[", "]", "[*]", ";", "\n", ",", ":=", "=", "+=", "->", "..", ".", "-",
    "!", "==", "&&", "||", "//", '"', "0x", "00", "07", "99999999999999999999", "else", "if",
    "self", "flush", "all", "others", "ipi", "page", "core", "var", "global", "invalid", "cpu",
    "space", "asid", "frame", "handler", "expect", "race", "hang", "safe", "under", "option",
    "param", "model", "loop", "repeat", "while", "for", "in", "await", "fence", "release",
    "complete", "free", "switch", "read", "write", "exec", "pte", "invlpg", "irq", "off", "on",
    "\x00", "\t", "é", "\r\n", "V", "A", "x", "1", " ", "N",
]  # fmt: skip
LEADING_ZERO = re.compile(r"(?<![0-9A-Za-z_])0+(?=[0-9])")


def seeds_corpus() -> list[str]:
    paths = sorted((ROOT / "specs").rglob("*.tlb")) + sorted((ROOT / "examples").glob("*.tlb"))
    return [p.read_text() for p in paths]


NUMBERS = [
    "0", "1", "3", "01", "007", "0x10", "0X1f", "-1", "-0", "+1", "1e3", "1.5", "nan", "inf",
    "-inf", "1e309", "", " ", " 2 ", "0b1", "0o7", "1_000", "\u0661", "\uff12", "9" * 30,
    "9" * 5000, "2147483647", "2147483648", "-2147483648", "0x7fffffff", "0x", "--1", "N", "=",
    "\x00",
]  # fmt: skip
OPTIONS = {
    "check": ["--timeout", "--max-states", "--max-memory", "--depth", "--max-input", "--model",
              "--engine", "--out", "--svg", "-D"],
    "suite": ["--jobs", "--timeout", "--max-states", "--max-memory", "--max-input", "--junit"],
    "parse": ["-D", "--max-input"],
    "cost": ["--cores", "-D", "--max-input"],
    "replay": ["-D", "--spec", "--max-input"],
    "show": ["--format", "-o", "--spec"],
}  # fmt: skip
FLAGS = ["-q", "--json", "--no-color", "--all-models", "--prove", "--no-por", "--no-symmetry",
         "--stop-at-first", "--cost", "--expected-models", "--", "-", "--bogus"]  # fmt: skip


def define(r: random.Random, names: list[str]) -> str:
    """A `-D` value: mostly NAME=NUMBER with a real param name, sometimes anything."""
    name = r.choice([*names, "N", "_", "x1", "1x", "", "N N", "é"]) if names else "N"
    k = r.randrange(6)
    if k == 0:
        return r.choice(TOKENS) + r.choice(["=", "==", ":", ""]) + r.choice(NUMBERS)
    sep = r.choice(["=", "=", "=", " = ", "==", ""])
    return f"{name}{sep}{r.choice(NUMBERS) if k < 4 else str(r.randint(-(2**40), 2**40))}"


def option_value(r: random.Random) -> str:
    words = ["sc", "tso", "pso", "arm", "smt", "explicit", "svg", "x.svg", "/dev/null",
             "/dev/full", "/nonexistent/dir/x", ".", "2,4", "1,,2"]  # fmt: skip
    return r.choice([*NUMBERS, *words])


def mutate(r: random.Random, text: str) -> str:
    for _ in range(r.randint(1, 6)):
        i = r.randint(0, len(text))
        j = r.randint(i, min(len(text), i + 16))
        op = r.choice(["delete", "insert", "duplicate", "swap", "digit", "repeat", "pad"])
        if op == "delete":
            text = text[:i] + text[j:]
        elif op == "insert":
            text = text[:i] + r.choice(TOKENS) + text[i:]
        elif op == "duplicate":
            text = text[:i] + text[i:j] + text[i:]
        elif op == "swap" and j > i + 1:
            text = text[:i] + text[j - 1] + text[i + 1 : j - 1] + text[i] + text[j:]
        elif op == "digit":
            text = text[:i] + str(r.choice([0, 1, 9, 15, 16, 64, 4096, 2**31])) + text[j:]
        elif op == "pad":  # a zero in front of some integer literal
            spots = [m.start() for m in re.finditer(r"(?<![0-9A-Za-z_])[0-9]", text)]
            if spots:
                k = r.choice(spots)
                text = text[:k] + "0" + text[k:]
        elif op == "repeat" and j > i:
            text = text[:i] + text[i:j] * r.randint(2, 40) + text[j:]
    return text


def token_soup(r: random.Random) -> str:
    return " ".join(r.choice(TOKENS) for _ in range(r.randint(0, 60)))


class Fuzz:
    def __init__(self, args: argparse.Namespace) -> None:
        self.a = args
        self.r = random.Random(args.seed)  # reseeded for each input: see `input`
        self.corpus = seeds_corpus()
        self.counts: Counter[str] = Counter()
        self.crash_kinds: Counter[str] = Counter()
        self.slowest = (0.0, "")
        self.out = Path(args.out)
        self.tmp = Path(tempfile.mkdtemp(prefix="fuzz_frontend_"))

    def input(self, n: int) -> tuple[str, bytes]:
        self.r = random.Random(f"{self.a.seed}:{n}")  # input n is the same whatever --jobs
        k = n % 7
        if k == 5:
            return "defines", self.r.choice(self.corpus).encode()
        if k == 6:
            return "argv", self.r.choice(self.corpus).encode()
        if k == 0:
            return "grammar", gen_text(self.r.randrange(10**9)).encode()
        if k == 1:
            return "soup", token_soup(self.r).encode()
        if k == 4:
            return "bytes", bytes(self.r.randrange(256) for _ in range(self.r.randint(0, 300)))
        base = self.r.choice(self.corpus) if k == 2 else gen_text(self.r.randrange(10**9))
        return "mutated", mutate(self.r, base).encode("utf-8", "surrogatepass")

    def run_one(self, n: int, kind: str, data: bytes) -> None:
        self.counts[kind] += 1
        path = self.tmp / "in.tlb"
        start = time.monotonic()
        if kind in ("defines", "argv"):
            path.write_bytes(data)
            argv = self.defines_argv(data) if kind == "defines" else self.fuzzed_argv(path)
            self.cli(n, data, argv)
            self.timed(start, data)
            return
        try:
            if kind == "bytes":  # through the file reader, which decodes and locates bad bytes
                path.write_bytes(data)
                checked = load(str(path), [])
            else:
                checked = load_text(data.decode(), "f.tlb", [])
        except SpecError as err:
            str(err)  # rendering a diagnostic must not fail either
            self.counts["diagnostic"] += 1
            self.timed(start, data)
            return
        except Exception as exc:
            self.crash(n, data, exc, traceback.format_exc())
            return
        self.counts["checked"] += 1
        if self.r.randrange(self.a.check_every) == 0:
            path.write_bytes(data)
            self.counts["tlbcheck check"] += 1
            model = self.r.choice(["sc", "tso", "pso"])
            argv = ["check", str(path), "--model", model, "--max-states", str(self.a.max_states)]
            sink = io.StringIO()
            with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                try:
                    rc = tlbcheck([*argv, "--timeout", "2"])
                except SystemExit as exc:  # argparse
                    rc = int(exc.code or 0)
            self.counts[f"exit {rc}"] += 1
            if rc == 4:
                self.crash(n, data, RuntimeError("exit 4"), sink.getvalue())
                return
        del checked
        self.timed(start, data)

    def defines_argv(self, data: bytes) -> list[str]:
        names = re.findall(r"^param\s+([A-Za-z_][A-Za-z0-9_]*)", data.decode(), re.M)
        argv = ["check", str(self.tmp / "in.tlb"), "--max-states", str(self.a.max_states)]
        argv += ["--timeout", "2"]
        for _ in range(self.r.randint(1, 3)):
            argv += ["-D", define(self.r, names)]
        return argv

    def fuzzed_argv(self, path: Path) -> list[str]:
        command = self.r.choice(list(OPTIONS))
        argv = [command, str(path)]
        if command in ("check", "suite"):  # before any `--`, and later ones win
            argv = [command, "--timeout", "2", "--max-states", str(self.a.max_states), str(path)]
        for _ in range(self.r.randint(1, 4)):
            if self.r.randrange(3) == 0:
                argv.append(self.r.choice(FLAGS))
            else:
                option = self.r.choice(OPTIONS[command])
                value = define(self.r, ["N"]) if option == "-D" else option_value(self.r)
                argv += [option, value] if self.r.randrange(4) else [f"{option}={value}"]
        return argv

    def cli(self, n: int, data: bytes, argv: list[str]) -> None:
        """``tlbcheck *argv`` in process: any exit but 4 is fine, any exception a crash."""
        sink = io.StringIO()
        cwd = os.getcwd()
        os.chdir(self.tmp)  # --out, --junit, -o land in the scratch folder
        try:
            with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                try:
                    rc = tlbcheck(argv)
                except SystemExit as exc:  # argparse
                    rc = exc.code if isinstance(exc.code, int) else 2
        except Exception as exc:
            self.crash(n, data, exc, f"argv: {argv}\n{traceback.format_exc()}")
            return
        finally:
            os.chdir(cwd)
        self.counts[f"exit {rc}"] += 1
        if rc == 4:
            self.crash(n, data, RuntimeError("exit 4"), f"argv: {argv}\n{sink.getvalue()}")

    def timed(self, start: float, data: bytes) -> None:
        took = time.monotonic() - start
        if took > self.slowest[0]:
            self.slowest = (took, f"{len(data)} bytes")
        self.counts["ms"] += int(took * 1000)
        if took > self.a.slow:
            self.counts["slow inputs"] += 1
            self.save("slow", data, f"took {took:.1f} s\n", 0)

    def crash(self, n: int, data: bytes, exc: Exception, detail: str) -> None:
        text = data.decode("utf-8", "replace")
        stripped = LEADING_ZERO.sub("", text)
        kind = "other"
        if "base 0" in detail and "-D" in detail:
            stripped = text  # `-D N=01`: issue 23's crash, counted apart
            kind = "-D leading zeros"
        if stripped != text and kind == "other":
            try:
                load_text(stripped, "f.tlb", [])
                kind = "leading zeros"
            except SpecError:
                kind = "leading zeros"
            except Exception:
                kind = "other"
        self.crash_kinds[kind] += 1
        self.counts["crashes"] += 1
        self.save(f"crash_{kind.replace(' ', '_')}", data, f"{exc!r}\n{detail}", n)

    def save(self, prefix: str, data: bytes, detail: str, n: int) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        k = self.counts[f"saved {prefix}"] = self.counts[f"saved {prefix}"] + 1
        if k <= self.a.keep:
            name = f"{prefix}_{n}_{k}" if n else f"{prefix}_{k}_{id(self)}"
            (self.out / f"{name}.tlb").write_bytes(data)
            (self.out / f"{name}.txt").write_text(detail)

    def run_slice(self, worker: int) -> tuple[Counter[str], Counter[str], tuple[float, str]]:
        for n in range(worker, self.a.count, self.a.jobs):
            kind, data = self.input(n)
            self.run_one(n, kind, data)
            if self.a.progress and worker == 0 and (n + 1) % self.a.progress < self.a.jobs:
                print(f"  ~{n + 1} inputs, {self.counts['crashes']} crashes (worker 0)", flush=True)
        return self.counts, self.crash_kinds, self.slowest


def _worker(
    job: tuple[argparse.Namespace, int],
) -> tuple[Counter[str], Counter[str], tuple[float, str]]:
    # `suite --jobs N` run in process starts workers: a pool's daemon may not
    multiprocessing.current_process().daemon = False
    return Fuzz(job[0]).run_slice(job[1])


def run(a: argparse.Namespace) -> int:
    start = time.monotonic()
    c: Counter[str] = Counter()
    crash_kinds: Counter[str] = Counter()
    slowest = (0.0, "")
    with Pool(a.jobs) as pool:
        for counts, kinds, slow in pool.map(_worker, [(a, w) for w in range(a.jobs)]):
            c.update(counts)
            crash_kinds.update(kinds)
            slowest = max(slowest, slow)
    took = time.monotonic() - start
    print(f"inputs tried: {a.count} in {took:.0f} s with {a.jobs} jobs "
          f"({c['ms'] / max(1, a.count):.1f} ms of one worker per input)")  # fmt: skip
    for k in ("grammar", "mutated", "soup", "bytes", "defines", "argv"):
        print(f"  {k:9} {c[k]}")
    print(f"loaded: {c['checked']}, diagnostics: {c['diagnostic']}")
    exits = ", ".join(f"{k}: {v}" for k, v in sorted(c.items()) if k.startswith("exit"))
    print(f"tlbcheck check runs: {c['tlbcheck check']} ({exits})")
    print(f"crashes: {c['crashes']} (leading zeros: {crash_kinds['leading zeros']}, "
          f"-D leading zeros: {crash_kinds['-D leading zeros']}, "
          f"other: {crash_kinds['other']}); saved in {a.out}")  # fmt: skip
    print(f"slowest input: {slowest[0]:.2f} s ({slowest[1]}); "
          f"inputs over {a.slow} s: {c['slow inputs']}")  # fmt: skip
    return 1 if c["crashes"] else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="fuzz_crashes", help="folder for crashing and slow inputs")
    ap.add_argument("--keep", type=int, default=50, help="inputs kept per kind")
    ap.add_argument("--check-every", type=int, default=1, help="run `check` on every Nth")
    ap.add_argument("--max-states", type=int, default=50)
    ap.add_argument("--slow", type=float, default=2.0, help="report inputs slower than this")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--progress", type=int, default=0, help="print a line every N inputs")
    return run(ap.parse_args())


if __name__ == "__main__":
    sys.exit(main())
