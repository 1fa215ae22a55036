"""Faults taken past branches not yet taken, under `arm` (docs/arm64.md §3): herd7
orders no fault after a control dependency, so a core whose faults are fatal may take
the fault of an access its `pc` has not reached across branches, once the access's
translation read is held.  A branch that then goes where the access is no longer ahead
drops the fault (and the translation read).

`Paths` holds the static facts (decided from the Program): from which ``pc`` an access
lies ahead across branches, and which instructions may run in between; `Speculative` is
the site of such a fault; `drop_behind` is what a branch or jump drops."""

from __future__ import annotations

from functools import cache, cached_property

from verifier.ir import program as P
from verifier.ir.system import FALSE, Expr, Field, conj, disj, eq, ite, op
from verifier.lang.checked import WEAK_MODELS
from verifier.machine.context import Ctx, Rule, Site
from verifier.machine.layout import C
from verifier.machine.rules_arm import arm, performed, relief, window
from verifier.machine.window import STOPS

# (a pc p, the instructions that may run from p before the access, those of them on a cycle)
Ahead = tuple[int, tuple[int, ...], frozenset[int]]


class Paths:
    """Control flow of one program's cores, for speculation past branches."""

    def __init__(self, prog: P.Program) -> None:
        self.prog = prog

    def succs(self, c: int, k: int) -> tuple[int, ...]:
        core = self.prog.cores[c]
        ins = core.code[k]
        match ins:
            case P.IBranch(target=t):
                return (core.next[k], t)
            case P.IJump(target=t):
                return (t,)
            case P.IEnd() | P.IReturn() | P.IFail():
                return ()
        return (core.next[k],)

    def reach(self, c: int, start: int, avoid: int = -1) -> frozenset[int]:
        """Every instruction reachable from ``start`` (itself included), not going on
        from ``avoid``."""
        seen, todo = {start}, [start]
        while todo:
            k = todo.pop()
            if k == avoid:
                continue
            for n in self.succs(c, k):
                if n not in seen and n < len(self.prog.cores[c].code):
                    seen.add(n)
                    todo.append(n)
        return frozenset(seen)

    @cached_property
    def _preds(self) -> list[dict[int, set[int]]]:
        out: list[dict[int, set[int]]] = []
        for c, core in enumerate(self.prog.cores):
            pre: dict[int, set[int]] = {k: set() for k in range(len(core.code))}
            for k in range(len(core.code)):
                for n in self.succs(c, k):
                    if n < len(core.code):
                        pre[n].add(k)
            out.append(pre)
        return out

    def behind(self, c: int, i: int) -> frozenset[int]:
        """Every instruction from which ``i`` is reachable."""
        pre = self._preds[c]
        seen, todo = {i}, [i]
        while todo:
            for n in pre[todo.pop()]:
                if n not in seen:
                    seen.add(n)
                    todo.append(n)
        return frozenset(seen)

    @cache  # noqa: B019 (one Paths per program, kept by `paths`)
    def ahead(self, c: int, i: int) -> tuple[Ahead, ...]:
        """The ``pc`` values from which access ``i`` of a core whose faults are fatal lies
        ahead across at least one branch (its run starts after them), with no other stop
        on the way, each with the instructions that may run in between (those on a cycle
        may run again: none is performed for good)."""
        win = window(self.prog)
        core = self.prog.cores[c]
        if not (win.fatal(c) and i < core.program_end and isinstance(core.code[i], P.IAccess)):
            return ()
        if win.retries(c):  # a retried fault's exception entry waits for the branches
            return ()
        out = []
        back = self.behind(c, i)
        for p in range(win.tr_start(c, i), win.run_start(c, i)):
            fwd = self.reach(c, p, avoid=i)
            if i not in fwd:
                continue
            between = sorted((fwd & back) - {i})
            code = core.code
            if any(isinstance(code[k], STOPS) and not isinstance(code[k], P.IBranch | P.IJump)
                   for k in between):  # fmt: skip
                continue
            cyc = frozenset(k for k in between if k in self._around(c, k, set(between)))
            out.append((p, tuple(between), cyc))
        return tuple(out)

    def _around(self, c: int, k: int, within: set[int]) -> set[int]:
        """The instructions of ``within`` reachable from ``k``'s successors inside it."""
        seen: set[int] = set()
        todo = [n for n in self.succs(c, k) if n in within]
        while todo:
            n = todo.pop()
            if n not in seen:
                seen.add(n)
                todo += [m for m in self.succs(c, n) if m in within]
        return seen


@cache
def paths(prog: P.Program) -> Paths:
    return Paths(prog)


class Speculative(Site):
    """The fault of an access taken while ``pc`` is behind a branch not yet taken: every
    instruction that may run in between is performed (and not on a cycle) or does not
    order the fault."""

    def rule(self, **info: object) -> Rule:
        ctx, c, i = self.ctx, self.c, self.pc
        pc = Field(ctx.lay.cores[c].pc)
        ways = []
        for p, between, cyc in paths(ctx.prog).ahead(c, i):
            done = {k: FALSE if k in cyc else performed(ctx, c, k) for k in between}
            free = [disj(relief(ctx, c, k, i, located=False), done[k]) for k in between]
            ways.append(conj(eq(pc, p), *free))
        fault = arm(ctx, c).fault
        assert fault is not None
        first = disj(eq(Field(fault), 0), op("gt", Field(fault), C(i + 1)))  # none before it
        r = Rule([disj(*ways), first])
        r.info.update(info, at=i, speculative=1)
        return r

    def emit(self, rule: Rule, action: str, variant: str = "") -> None:
        name = self.ctx.prog.cores[self.c].name
        key = f"{name}@{self.pc}:speculated" + (f".{variant}" if variant else "")
        self.ctx.emit(self.c, None, rule, action, key, self.ins.text, self.ins.span)


def speculative(ctx: Ctx, c: int, i: int, nxt: int, ins: P.IAccess) -> Speculative | None:
    """The site of access ``i``'s fault taken past branches, where there is one."""
    if arm(ctx, c).fault is None or not paths(ctx.prog).ahead(c, i):
        return None
    return Speculative(ctx, c, i, nxt, ins)


def drop_behind(ctx: Ctx, c: int, r: Rule, at: int, succ: list[tuple[Expr, int]]) -> None:
    """A branch or jump of the body at ``at`` going to ``succ`` (a condition and a pc
    each): every translation read held for an access no longer ahead goes (with its
    marks; a walker update left pending by an access already performed stays), and so
    does a fault taken past it at such an access."""
    core = ctx.prog.cores[c]
    if ctx.model not in WEAK_MODELS or at >= core.program_end:
        return
    a = arm(ctx, c)
    ps = paths(ctx.prog)

    def lost(j: int) -> Expr:
        return disj(*(when for when, to in succ if j not in ps.reach(c, to)))

    for j in (j for j in sorted(a.ts) if j < core.program_end and lost(j) != FALSE):
        marks = (f for (p, _), f in a.mark.items() if p == j)
        for f in (a.tr[j], a.ts[j], a.tv[j], *marks):
            r.upd.modify(f, lambda old, j=j: ite(lost(j), C(0), old))  # type: ignore[misc]
    if a.fault is None:
        return
    spec = [j for j in range(core.program_end) if ps.ahead(c, j) and lost(j) != FALSE]
    drop = disj(*(conj(eq(Field(a.fault), j + 1), lost(j)) for j in spec))
    if drop == FALSE:
        return
    r.upd.set(a.fault, ite(drop, C(0), Field(a.fault)))
    if a.ftype is not None:
        r.upd.set(a.ftype, ite(drop, C(0), Field(a.ftype)))
