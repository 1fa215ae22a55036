"""Generated specs whose non-family core loops over a symmetric family (`for c in
cpu[*]`), the shape symmetry reduction through loops is for (search/symmetry_loops.py).

The family `cpu[1..N]` (N = 2 or 3) runs code that names only its own words
(`seen[self]`) and no `await`, so it stays symmetric; the core `c0` runs a few
statements, one `for c in cpu[*]` loop whose body awaits, stores, loads or sends an
IPI through `c`, and a few statements after it.  Some specs break the symmetry on
purpose (a fixed member named in the body, `c` used as a value, the loop inside a
`loop`, a second loop), so the fall-back is exercised too.
"""

from __future__ import annotations

from verifier.lang.checked import CheckedSpec
from verifier.lang.diagnostics import SpecError
from verifier.lang.frontend import load_text

from .gen import Gen


class LoopGen(Gen):
    def spec(self) -> str:
        r = self.r
        n = r.randint(2, 3)
        lines = [f"model {self.pick('sc', 'tso', 'pso')}"]
        if self.chance(0.5):
            lines.append(f"option walker = {self.pick('speculative', 'on-miss')}")
        if self.chance(0.3):
            lines.append(f"option ipi = {self.pick('unordered', 'ordered')}")
        lines += [
            f"param N = {n}",
            "frame A, B",
            f"page V -> A {self.pick('rw', 'r')}",
            "var x = 0",
            "var acks = 0",
        ]
        lines += [f"var seen[cpu] = {self.pick('0', '0', '1')}"]
        handler = self.chance(0.6)
        lines.append(f"core c0 {{\n{self.initiator(handler)}}}")
        lines.append(f"core cpu[1..N] {{\n{self.member()}}}")
        if handler:
            body = "".join(f"    {s}\n" for s in self.sample(self.HANDLER, 1, 3))
            lines.append(f"handler h(p) {{\n{body}}}")
        return "\n".join(lines) + "\n"

    HANDLER = ("invlpg p", "acks += 1", "seen[self] := 1", "flush all", "read V", "skip")
    MEMBER = (
        "read V", "write V", "seen[self] := 1", "r := x", "acks += 1", "fence", "flush all",
        "invlpg V", "if x == 1 { seen[self] := 1 }", "loop { read V }", "r := seen[self]",
    )  # fmt: skip
    BEFORE = ("pte V := B rw", "fence", "x := 1", "invlpg V", "skip", "read V")
    AFTER = ("complete V", "free A", "await acks == N", "x := 2", "r := acks", "read V")

    def sample(self, pool: tuple[str, ...], lo: int, hi: int) -> list[str]:
        return [self.pick(*pool) for _ in range(self.r.randint(lo, hi))]

    def member(self) -> str:
        return "".join(f"    {s}\n" for s in self.sample(self.MEMBER, 1, 3))

    def initiator(self, handler: bool) -> str:
        body = ["await seen[c] == 1", "seen[c] := 1", "r := seen[c]", "x := r", "read V"]
        body += ["if r == 1 { x := 1 }", "await seen[c] == 0"]
        if handler:
            body += ["ipi c h(V)", "ipi c h(V)", "ipi cpu[*] h(V)"]
        inner = "; ".join(self.sample(tuple(body), 1, 3))
        loop = f"for c in cpu[*] {{ {inner} }}"
        odd = self.r.random()
        if odd < 0.05:
            loop = f"for c in cpu[*] {{ {inner}; x := c }}"  # `c` as a value
        elif odd < 0.1:
            loop = f"for c in cpu[*] {{ {inner}; await seen[cpu[1]] == 1 }}"  # a fixed member
        elif odd < 0.15:
            loop = f"{loop}\n    for d in cpu[*] {{ r := seen[d] }}"  # two loops
        elif odd < 0.2:
            loop = f"repeat 2 {{ {loop} }}"
        stmts = [*self.sample(self.BEFORE, 0, 3), loop, *self.sample(self.AFTER, 0, 3)]
        return "    r := 0\n" + "".join(f"    {s}\n" for s in stmts)


def gen_loop_checked(seed: int, tries: int = 50) -> tuple[int, str, CheckedSpec]:
    """The first loop spec from `seed`, `seed`+1000003, ... that checks."""
    for k in range(tries):
        s = seed + k * 1_000_003
        text = LoopGen(s).spec()
        try:
            return s, text, load_text(text, f"loops{s}.tlb", [])
        except SpecError:
            continue
    raise RuntimeError(f"no checkable loop spec from seed {seed} in {tries} tries")
