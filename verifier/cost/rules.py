"""The machine rules as a timed run takes them: System commands built on demand.

A timed run (`cost.py`) needs, for each core, the commands of the pcs it
reaches, its IPI deliveries and its store-buffer drains: a few per core.  They
come from the machine's own rule functions (`machine/rules_*`), built one (core,
pc) at a time;
family members whose code is identical share the commands built for the first
of them, relocated to their own fields and per-core words (the machine does not
change when cores are renamed).  `tests/test_cost.py` checks that a run with shared commands is
the run with every command built.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields, is_dataclass, replace
from typing import Any

from verifier.ir import program as P
from verifier.ir.system import Command, Expr, evaluate, fields_of
from verifier.lang import ast
from verifier.lang.checked import CheckedSpec
from verifier.lang.symbols import MAX_INT
from verifier.machine.context import Ctx
from verifier.machine.rules_buffer import drains
from verifier.machine.rules_instr import instruction
from verifier.machine.rules_ipi import deliveries, held_ipis_leave


def widen(prog: P.Program, checked: CheckedSpec) -> P.Program:
    """Lift the default 0..15 range of undeclared words and of registers: it only keeps
    the explored state space finite, and a counter of acknowledgements must count every
    core.  Ranges the spec declares stay, and leaving one stops the run."""
    declared = {
        d.name for d in checked.spec.decls if isinstance(d, ast.VarDecl) and d.lo is not None
    }
    words = tuple(
        w if w.name.split("[")[0] in declared else replace(w, lo=-MAX_INT, hi=MAX_INT)
        for w in prog.words
    )
    cores = tuple(replace(c, reg_range=(-MAX_INT, MAX_INT)) for c in prog.cores)
    return replace(prog, words=words, cores=cores)


def initiator_of(prog: P.Program) -> int:
    """The core that starts the shootdown: the first whose program sends an IPI; else the
    first that completes an update; else the first that writes a PTE; else the first."""
    for kind in (P.IIpi, P.IComplete, P.IPte):
        for c, core in enumerate(prog.cores):
            if any(isinstance(i, kind) for i in core.code[: core.program_end]):
                return c
    return 0


def final_completes(core: P.Core) -> frozenset[int]:
    """The pcs of the program's `complete`s after which no `complete` can follow: the
    update is finished there even when the core then loops forever."""
    code = core.code

    def successors(pc: int) -> list[int]:
        ins = code[pc]
        if isinstance(ins, P.IEnd) or pc >= core.program_end:
            return []
        out = [core.next[pc]]
        if isinstance(ins, P.IBranch | P.IJump):
            out.append(ins.target)
        return out

    out = set()
    for pc in range(core.program_end):
        if not isinstance(code[pc], P.IComplete):
            continue
        seen, todo = set(), successors(pc)
        while todo:
            q = todo.pop()
            if q not in seen:
                seen.add(q)
                todo += successors(q)
        if not any(isinstance(code[q], P.IComplete) for q in seen):
            out.add(pc)
    return frozenset(out)


def own_words(prog: P.Program, checked: CheckedSpec) -> list[tuple[int, ...]]:
    """Per core, the addresses of its own per-core words (`seen[self]`), in declaration order."""
    addr = {w.name: a for a, w in enumerate(prog.words)}
    out = []
    for inst in checked.cores:
        mine = [
            addr[f"{v.name}[{inst.index}]"]
            for v in checked.vars
            if v.family is not None and v.family == inst.family
        ]
        out.append(tuple(mine))
    return out


class View:
    """The state as a relocated command sees it: the template core's fields read as
    another core's (``off`` further on, and its per-core words through ``words``);
    shared fields read as they are."""

    def __init__(self, s: list[int], x: Cmd) -> None:
        self.s, self.lo, self.hi, self.off, self.words = s, x.lo, x.hi, x.off, x.words

    def __getitem__(self, i: int) -> int:
        if self.lo <= i < self.hi:
            return self.s[i + self.off]
        return self.s[self.words.get(i, i)]


@dataclass(frozen=True)
class Cmd:
    """A System command as core ``core`` takes it.  Family members whose code is the same
    up to their own per-core words share one built command: the machine is the same
    under renaming of cores, so core c's command is the template core's with the
    template's fields (``lo``..``hi``) read and written ``off`` further on and the
    template's per-core words (fields ``words``, addresses ``addrs``) replaced by c's.
    ``off`` 0 and no words: the command as built for this core."""

    cmd: Command
    core: int
    lo: int = 0
    hi: int = 0
    off: int = 0
    words: dict[int, int] = field(default_factory=dict)
    addrs: dict[int, int] = field(default_factory=dict)

    @property
    def action(self) -> str:
        return self.cmd.action

    def get(self, name: str) -> Any:
        value = self.cmd.get(name)
        return self.addrs.get(value, value) if name == "addr" else value

    def view(self, s: list[int]) -> list[int] | View:
        return s if self.off == 0 and not self.words else View(s, self)

    def at(self, f: int) -> int:
        return f + self.off if self.lo <= f < self.hi else self.words.get(f, f)

    def holds(self, e: Expr, s: list[int]) -> bool:
        return bool(evaluate(e, self.view(s)))  # type: ignore[arg-type]

    def updates(self, s: list[int]) -> list[tuple[int, int]]:
        v = self.view(s)
        return [(self.at(f), evaluate(e, v)) for f, e in self.cmd.updates]  # type: ignore[arg-type]


# instructions whose commands touch other cores' fields (every TLB, the targets' queues)
_NONLOCAL = (P.IPte, P.IComplete, P.IIpi)


def renamed(x: Any, addrs: dict[int, int]) -> Any:
    """Lowered code with the word addresses in ``addrs`` replaced."""
    if isinstance(x, tuple):
        return tuple(renamed(y, addrs) for y in x)
    if not is_dataclass(x) or isinstance(x, type):
        return x
    changes = {}
    for f in fields(x):
        v = getattr(x, f.name)
        new = addrs.get(v, v) if f.name == "addr" and isinstance(v, int) else renamed(v, addrs)
        if new is not v:
            changes[f.name] = new
    return replace(x, **changes) if changes else x


class Rules:
    """The System's commands of one core and pc, built on first use by the engines'
    rules (building all of them at 256 cores takes seconds; a run needs few), and
    built once for the family members whose code is the same.  ``own_words[c]``: the
    addresses of core c's per-core words (`var seen[cpu]`), in declaration order."""

    def __init__(
        self, prog: P.Program, model: str, own_words: list[tuple[int, ...]], share: bool = True
    ) -> None:
        self.ctx = Ctx(prog, model)
        self.lay = lay = self.ctx.lay
        bases = [cf.pc for cf in lay.cores]
        shared = min([len(lay.fields), *lay.mem, *lay.last, *lay.rec, *lay.freed])
        self.span = [(b, e) for b, e in zip(bases, [*bases[1:], shared], strict=True)]
        self.template: list[int] = []
        first: dict[object, int] = {}
        for c, core in enumerate(prog.cores):
            local = not any(isinstance(i, _NONLOCAL) for i in core.code)
            placeholders = {a: -1 - j for j, a in enumerate(own_words[c])}
            key = (
                renamed(core.code, placeholders) if placeholders else core.code,
                core.next,
                core.handler_entry,
                core.program_end,
                core.regs,
                core.hregs,
                core.reg_range,
                core.space,
                self.span[c][1] - self.span[c][0],
            )
            self.template.append(first.setdefault(key, c) if share and local else c)
        self.addrs = [
            dict(zip(own_words[self.template[c]], own_words[c], strict=True))
            for c in range(len(prog.cores))
        ]
        self._built: dict[tuple[int, int], tuple[Command, ...]] = {}
        self._reads: dict[tuple[int, int, bool], set[int]] = {}
        self._cmds: dict[tuple[int, int], tuple[Cmd, ...]] = {}

    def _new(self, key: tuple[int, int], make: Callable[[], object]) -> tuple[Command, ...]:
        if key not in self._built:
            n = len(self.ctx.commands)
            make()
            self._built[key] = tuple(self.ctx.commands[n:])
        return self._built[key]

    def _site(self, c: int, pc: int) -> tuple[Command, ...]:
        core = self.ctx.prog.cores[c]
        return self._new(
            (c, pc), lambda: instruction(self.ctx, c, pc, core.code[pc], core.next[pc])
        )

    def _machine(self, c: int) -> tuple[Command, ...]:
        """Deliveries and drains (walker fills are not part of the intended schedule)."""

        def make() -> None:
            deliveries(self.ctx, c)
            if self.ctx.model != "sc":
                drains(self.ctx, c)

        return self._new((c, -1), make)

    def held(self, c: int) -> tuple[Cmd, ...]:
        """How IPIs held in core ``c``'s store buffer leave it (cores that send IPIs are
        never relocated)."""
        return tuple(
            Cmd(cmd, c) for cmd in self._new((c, -4), lambda: held_ipis_leave(self.ctx, c))
        )

    def _relocate(self, c: int, get: Callable[[int], tuple[Command, ...]]) -> tuple[Cmd, ...]:
        t = self.template[c]
        if t == c:
            return tuple(Cmd(cmd, c) for cmd in get(c))
        lo, hi = self.span[t]
        addrs = self.addrs[c]
        words = {self.lay.mem[a]: self.lay.mem[b] for a, b in addrs.items()}
        return tuple(Cmd(cmd, c, lo, hi, self.span[c][0] - lo, words, addrs) for cmd in get(t))

    def word(self, c: int, addr: int) -> int:
        """The address core ``c``'s relocated commands mean by ``addr``."""
        return self.addrs[c].get(addr, addr)

    def site(self, c: int, pc: int) -> tuple[Cmd, ...]:
        key = (c, pc)
        if key not in self._cmds:
            self._cmds[key] = self._relocate(c, lambda k: self._site(k, pc))
        return self._cmds[key]

    def machine(self, c: int) -> tuple[Cmd, ...]:
        key = (c, -1)
        if key not in self._cmds:
            self._cmds[key] = self._relocate(c, self._machine)
        return self._cmds[key]

    def deliveries(self, c: int) -> tuple[Cmd, ...]:
        key = (c, -2)
        if key not in self._cmds:
            self._cmds[key] = tuple(m for m in self.machine(c) if m.action == "handler-entered")
        return self._cmds[key]

    def retirements(self, c: int, ipi: bool) -> tuple[Cmd, ...]:
        """What retires the oldest store-buffer entry — a held IPI (``ipi``), else a drain
        or a release barrier: entries leave in order in the intended schedule."""
        key = (c, -3 - ipi)
        if key not in self._cmds:
            cmds = self.held(c) if ipi else self.machine(c)
            self._cmds[key] = tuple(
                m
                for m in cmds
                if m.action == "barrier" or (m.get("slot") == 0 and m.action != "handler-entered")
            )
        return self._cmds[key]

    def reads(self, x: Cmd, updates: bool) -> set[int]:
        key = (x.cmd.id, x.core, updates)
        if key not in self._reads:
            out = fields_of(x.cmd.guard, set())
            for _, e in x.cmd.updates if updates else ():
                fields_of(e, out)
            self._reads[key] = {x.at(f) for f in out}
        return self._reads[key]
