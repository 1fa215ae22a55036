"""A seeded generator of small `.tlb` specs (text) covering the whole language.

Every statement kind, both options, several spaces sharing an ASID, global pages,
`switch`, handlers with page and integer (and unused) parameters, registers and
parameters named like pages, loops around awaits, `repeat`, `for c in cpu[*]`,
families with `self`, `irq off/on`, several `complete`s of one page, `/` and `%`,
declared ranges.  Specs are tiny (two or three cores, a few statements each) so the
oracle explores them in well under a second; some do not check (the caller skips
those: `gen_checked` retries).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from verifier.lang.checked import CheckedSpec
from verifier.lang.diagnostics import SpecError
from verifier.lang.frontend import load_text

PERMS = ("r", "rw", "rx", "w", "rwx")


@dataclass
class _Spec:
    frames: list[str]
    pages: list[str]
    spaces: list[str]  # empty: the default space
    family: bool  # a family `cpu` exists
    handlers: dict[str, list[str]] = field(default_factory=dict)  # name -> param kinds
    lines: list[str] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)  # two-level pages (ext only)
    slots: list[int] = field(default_factory=list)  # slot indices some page is declared at
    dirs: list[str] = field(default_factory=list)


class Gen:
    """``ext``: also the page-table additions of docs/page-tables.md (serializing flushes,
    two-level pages, PTE reads).  Without it the stream of specs is the one of before, so
    seeds named in tests keep their spec."""

    def __init__(self, seed: int, ext: bool = False) -> None:
        self.ext = ext
        self.r = random.Random(seed)
        self.depth = 0
        self.hparams: dict[str, str] = {}
        self.where = "core"
        self.used: set[str] = set()
        self.has_k = False

    def pick(self, *xs: str) -> str:
        return self.r.choice(xs)

    def chance(self, p: float) -> bool:
        return self.r.random() < p

    # ------------------------------------------------------------ declarations

    def spec(self) -> str:
        r = self.r
        frames = ["A", "B", "C"][: r.randint(2, 3)]
        pages = ["V", "W"][: r.randint(1, 2)]
        spaces = ["P", "Q"] if self.chance(0.3) else []
        self.s = _Spec(frames, pages, spaces, family=self.chance(0.4))
        out = self.s.lines
        out.append(f"model {self.pick('sc', 'tso', 'pso')}")
        if self.chance(0.5):
            out.append(f"option walker = {self.pick('speculative', 'on-miss')}")
        if self.chance(0.5):
            out.append(f"option ipi = {self.pick('unordered', 'ordered')}")
        if self.ext and self.chance(0.5):
            out.append(f"option flushes = {self.pick('serializing', 'plain')}")
        if self.ext and self.chance(0.5):
            out.append("option ad = hardware")
        if self.chance(0.3):
            out.append("param K = 1")
            self.has_k = True
        out.append(f"frame {', '.join(frames)}")
        if spaces:
            shared = self.chance(0.6)
            for n, sp in enumerate(spaces):
                asid = 1 if shared or n == 0 else 2
                body = "; ".join(f"page {p} -> {self.mapping()}" for p in pages)
                out.append(f"space {sp} asid {asid} {{ {body} }}")
        elif self.ext and self.chance(0.7):
            self.two_level()
        else:
            for p in pages:
                value = self.mapping() if self.chance(0.9) else None
                out.append(f"page {p} -> {value}" if value else f"page {p} invalid")
        out.append("var x : 0..3 = 0" if self.chance(0.3) else "var x = 0")
        out.append("var acks = 0")
        if self.s.family:
            out.append("var seen[cpu] = 0")
        self.handler_sigs()
        self.cores()
        self.handler_bodies()
        return "\n".join(out) + "\n"

    def two_level(self) -> None:
        """Table pages, dirs and pages at their slots (docs/page-tables.md)."""
        s, out = self.s, self.s.lines
        s.tables = ["T", "U"][: self.r.randint(1, 2)]
        s.dirs = ["D", "E"][: self.r.randint(1, 2)]
        out.append(f"table {', '.join(s.tables)}")
        init = {}
        for d in s.dirs:
            init[d] = self.pick(*s.tables) if d == "D" or self.chance(0.6) else None
            out.append(f"dir {d} -> {init[d]}" if init[d] else f"dir {d} invalid")
        for n, p in enumerate(s.pages):
            if self.chance(0.2):
                value = self.mapping() if self.chance(0.9) else None
                out.append(f"page {p} -> {value}" if value else f"page {p} invalid")
                continue
            d = self.pick(*s.dirs)
            value = self.mapping() if init[d] and self.chance(0.85) else None
            at = f"at {d}[{n}]"
            s.slots.append(n)
            out.append(f"page {p} {at} -> {value}" if value else f"page {p} {at} invalid")

    def mapping(self) -> str:
        g = " global" if self.chance(0.15) else ""
        return f"{self.pick(*self.s.frames)} {self.pick(*PERMS)}{g}"

    def handler_sigs(self) -> None:
        for name in ("h", "g")[: self.r.randint(0, 2)]:
            shape = self.r.randint(0, 3)
            self.s.handlers[name] = [[], ["page"], ["page", "int"], ["page", "unused"]][shape]

    def space_in(self) -> str:
        return f" in {self.pick(*self.s.spaces)}" if self.s.spaces else ""

    def cores(self) -> None:
        out = self.s.lines
        if self.s.family:
            n = self.r.randint(1, 2)
            if n == 2 or self.chance(0.5):
                out.append(f"core cpu[1..{n}]{self.space_in()} {{\n{self.body('family', 3)}}}")
                if n == 1:
                    out.append(f"core c0{self.space_in()} {{\n{self.body('core', 4)}}}")
            else:
                out.append(f"core c0{self.space_in()} {{\n{self.body('core', 4)}}}")
                out.append(f"core cpu[1..1]{self.space_in()} {{\n{self.body('family', 3)}}}")
        else:
            out.append(f"core c0{self.space_in()} {{\n{self.body('core', 4)}}}")
            out.append(f"core c1{self.space_in()} {{\n{self.body('core', 3)}}}")

    def handler_bodies(self) -> None:
        for name, kinds in self.s.handlers.items():
            params = ["p", "n", "q"][: len(kinds)]
            if kinds and self.chance(0.2):
                params[0] = self.s.pages[0]  # a page parameter named like a page
            self.hparams = dict(zip(params, kinds, strict=True))
            body = self.body("handler", 2)
            if kinds and self.chance(0.7):
                body = f"    invlpg {params[0]}\n" + body
            if self.chance(0.6):
                body += "    acks += 1\n"
            head = f"handler {name}({', '.join(params)})" if params else f"handler {name}"
            self.s.lines.append(f"{head} {{\n{body}}}")

    # ------------------------------------------------------------ statements

    def body(self, where: str, n: int) -> str:
        self.where, self.used = where, set()
        stmts = [self.stmt() for _ in range(self.r.randint(1, n))]
        inits = [f"{reg} := {self.r.randint(0, 2)}" for reg in sorted(self.used)]
        return "".join(f"    {s}\n" for s in inits + stmts)

    def page(self, qualified: bool = True) -> str:
        if self.where == "handler":
            pages = [p for p, k in self.hparams.items() if k == "page"]
            if pages and self.chance(0.7):
                return self.pick(*pages)
        p = self.pick(*self.s.pages)
        if qualified and self.s.spaces and self.chance(0.3):
            return f"{self.pick(*self.s.spaces)}.{p}"
        return p

    def reg(self) -> str:
        name = self.pick("r", "s")
        self.used.add(name)
        return name

    def word(self) -> str:
        if self.s.family and self.where in ("family", "handler") and self.chance(0.3):
            return "seen[self]"
        return self.pick("x", "acks")

    def expr(self, shared: bool = False) -> str:
        atoms = ["0", "1", "2", self.reg()]
        if self.s.family and self.where == "family":
            atoms.append("self")
        if self.where == "handler" and "int" in self.hparams.values():
            atoms.append("n")
        if shared:
            atoms.append(self.word())
        a = self.pick(*atoms)
        if self.chance(0.5):
            return a
        op = self.pick("+", "-", "*", "/", "%", "==", "!=", "<", ">=", "&&", "||")
        return f"{a} {op} {self.pick('0', '1', '2', self.reg())}"

    def cond(self) -> str:
        left = self.pick("x", "acks", self.reg())
        return f"{left} {self.pick('==', '!=', '<')} {self.pick('0', '1', '2')}"

    def stmt(self) -> str:
        self.depth += 1
        try:
            return self._stmt()
        finally:
            self.depth -= 1

    def block(self, n: int = 2) -> str:
        return "; ".join(self.stmt() for _ in range(self.r.randint(1, n)))

    def _stmt(self) -> str:
        r, s = self.r, self.s
        kinds = ["pte", "store", "load", "arith", "atomic", "fence", "invlpg", "flush", "free"]
        kinds += ["access", "access", "access", "complete", "await", "assert", "skip", "irq"]
        if s.handlers and self.where != "handler":
            kinds += ["ipi", "ipi", "ipi"]
        if s.spaces:
            kinds.append("switch")
        if self.depth < 2:
            kinds += ["if", "loop", "repeat", "while"]
            if s.family and self.where != "handler":
                kinds.append("for")
        if self.where != "handler":
            kinds.append("shadow")
        if self.ext:
            kinds += ["pteread", "pteread", "frames"] + ["dir", "dir", "free"] * bool(s.dirs)
            kinds += ["slot", "slotread", "dirread"] * bool(s.slots)
        k = self.pick(*kinds)
        if k == "pte":
            value = "invalid" if self.chance(0.2) else self.mapping()
            return f"pte {self.page()} := {value}"
        if k == "store":
            return f"{self.word()} := {self.expr()}"
        if k == "load":
            return f"{self.reg()} := {self.word()}"
        if k == "arith":
            return f"{self.reg()} := {self.expr()}"
        if k == "atomic":
            w = self.word()
            return self.pick(
                f"{self.reg()} := fetch_add({w}, 1)", f"{self.reg()} := swap({w}, 1)",
                f"{self.reg()} := cas({w}, 0, 1)", f"{w} += 1",
            )  # fmt: skip
        if k == "fence":
            return self.pick("fence", "fence", "fence release", "fence acquire")
        if k == "invlpg":
            return f"invlpg {self.page()}"
        if k == "flush":
            if s.spaces and self.chance(0.5):
                return f"flush asid {self.pick(*s.spaces)}"
            return "flush all"
        if k == "access":
            return f"{self.pick('read', 'write', 'exec', 'read', 'write')} {self.page(False)}"
        if k == "free":
            return f"free {self.pick(*s.frames, *s.tables)}"
        if k == "dir":
            return f"dir {self.pick(*s.dirs)} := {self.pick(*s.tables, 'invalid')}"
        if k == "frames":
            a, b = self.r.sample(s.frames, 2)
            return self.pick(f"copy {a} to {b}", f"zero {a}")
        if k == "pteread":
            field = self.pick("present", "read", "write", "exec", "global", "dirty", "young")
            read = f"pte({self.page()}).{field}"
            return self.pick(
                f"{self.reg()} := {read}", f"if {read} {{ {self.block()} }}",
                f"assert {read} == {self.pick('0', '1')}", f"await {read}",
            )  # fmt: skip
        if k == "slot":
            value = "invalid" if self.chance(0.3) else self.mapping()
            return f"pte {self.pick(*s.tables)}[{self.pick(*s.slots)}] := {value}"
        if k in ("slotread", "dirread"):
            field = self.pick("present", "present", "write", "read")
            slot = f"{self.pick(*s.tables)}[{self.pick(*s.slots)}]"
            read = f"pte({slot}).{field}" if k == "slotread" else f"dir({self.pick(*s.dirs)}).present"
            return self.pick(
                f"{self.reg()} := {read}", f"if {read} {{ {self.block()} }}", f"await {read}",
            )  # fmt: skip
        if k == "complete":
            return f"complete {self.page()}"
        if k == "await":
            return f"await {self.cond()}"
        if k == "assert":
            return f"assert {self.pick(self.cond(), self.expr(shared=True))}"
        if k == "skip":
            return "skip"
        if k == "irq":
            return self.pick("irq off", "irq on")
        if k == "switch":
            return f"switch {self.pick(*s.spaces)}"
        if k == "ipi":
            return self.ipi()
        if k == "if":
            tail = f" else {{ {self.block()} }}" if self.chance(0.5) else ""
            return f"if {self.pick(self.cond(), self.expr())} {{ {self.block()} }}{tail}"
        if k == "loop":
            inner = self.pick(f"await {self.cond()}", f"read {self.page(False)}", "skip")
            return f"loop {{ {inner} }}"
        if k == "repeat":
            return f"repeat {self.pick('2', 'K' if self.has_k else '2', '1')} {{ {self.block()} }}"
        if k == "while":
            return f"while {self.reg()} < {r.randint(1, 2)} {{ {self.reg()} := {self.reg()} + 1 }}"
        if k == "for":
            inner = self.pick("await seen[c] == 0", "seen[c] := 1", "skip")
            if s.handlers:
                inner = self.pick(inner, self.ipi("c"))
            return f"for c in cpu[*] {{ {inner} }}"
        # a register named like a page
        p = self.pick(*s.pages)
        return f"{p} := {r.randint(0, 3)}; {self.reg()} := {p}"

    def ipi(self, target: str | None = None) -> str:
        s = self.s
        h = self.pick(*s.handlers)
        if target is None:
            names = ["others", "all"] + (["cpu[*]", "cpu[1]"] if s.family else ["c1", "c0"])
            target = self.pick(*names)
        args = []
        for kind in s.handlers[h]:
            if kind == "page" or (kind == "unused" and self.chance(0.5)):
                args.append(self.page())
            else:
                args.append(self.pick("0", "1", "2", self.reg()))
        call = f"{h}({', '.join(args)})" if args else self.pick(h, f"{h}()")
        return f"ipi {target} {call}"


def gen_text(seed: int, ext: bool = False) -> str:
    return Gen(seed, ext).spec()


def gen_checked(seed: int, tries: int = 50, ext: bool = False) -> tuple[int, str, CheckedSpec]:
    """The first spec from `seed`, `seed`+1000003, ... that checks: (seed used, text, spec)."""
    for k in range(tries):
        s = seed + k * 1_000_003
        text = gen_text(s, ext)
        try:
            return s, text, load_text(text, f"gen{s}.tlb", [])
        except SpecError:
            continue
    raise RuntimeError(f"no checkable spec from seed {seed} in {tries} tries")
