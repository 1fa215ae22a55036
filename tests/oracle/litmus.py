"""The reference's reading of a `.litmus` test's own rules (docs/arm64.md §3-4), written
from the document: faults are fatal, and the final condition is judged on final states.

- A fault stops its core: nothing of the core after the faulting access happens. A
  store, `pte` store or `tlbi` after an access waits until that access's translation
  read is held and allows it; a load may go earlier, and if the core then stops at an
  earlier fault the load never happened (its register keeps its earlier value). A
  fault needs no earlier access to be performed first: it may be taken before them
  (the core then goes on with the earlier ones and stops when it reaches the fault;
  an earlier access that faults stops it first).
- An access faults when its held value is invalid, lacks the permission (user-mode
  code: the `user` permission too) or is `old` (access flag clear, no HA).
- The fault is recorded with its type: translation (the entry used is invalid) or
  permission (valid, without the permission).
- A *final* state is one where every core has reached the end of its code (having
  run it all, or stopped at a fault) and no walker update is still pending
  (docs/arm64.md section 7: the updates are done before a final state). There the condition's proposition is judged:
  ``positive`` where it holds, ``negative`` where it does not, and the path ends.

- Retried faults (`Variant=imprecise`/`Handled`, ``litmus.retry``), for a core without
  `on fault` code: the core's first fault does not stop it. It is taken as a fatal one
  is (recorded, its read and marks dropped) but the access stays unperformed. Then the
  exception entry, once no pending earlier statement is a `dsb` or a control dependency
  and every pending earlier access holds a translation read that allows it: the access
  and everything after it is as if never started (loads performed early undone,
  translation reads, marks and walker updates dropped) and the access runs again. A
  second fault has no step: the core never ends, no final state.

Readings:
  L1  Translation reads of accesses after a fault taken early are not made (the core
      will stop before them; with retried faults, until the exception entry).
  L2  A core whose `on fault` handler returns (`resume`, the oracle's R19) does not stop
      at a fault: it runs its block (A4, A7), and it is at its end when it is at the end
      of its program.
  L3  Registers range over 0..15 and every number the test moves into a register
      (docs/arm64.md §4), on every core alike (tlbcheck: per core).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from verifier.lang import ast
from verifier.lang import final as F

from .atomics import Atomics
from .code import Instr
from .machine import Machine, Out, _walk, grants
from .ptevalues import PteValues, lit
from .riscv import RiscvMachine, RvArm, RvExt
from .state import State, Work

TYPES = {"Translation": 1, "Permission": 2}


@dataclass(frozen=True)
class CtrlDep:
    """A control dependency (a `CBZ`/`CBNZ` to the next instruction): it reads
    ``regs``; every later store, `pte` store, `tlbi` and barrier waits for it."""

    regs: frozenset[str]


class LitmusRules:
    """A mixin over the oracle's `arm` machine, active when the spec came from a
    `.litmus` test (``checked.litmus``)."""

    def __init__(self, checked: Any, model: str) -> None:
        super().__init__(checked, model)  # type: ignore[call-arg]
        lit_ = checked.litmus
        ctrl = dict(lit_.ctrl) if lit_ is not None else {}
        for code in self.code:  # type: ignore[attr-defined]
            for k, ins in enumerate(code):
                span = getattr(ins.node, "span", None)
                if ins.op == "br" and ins.target == k + 1 and span in ctrl:
                    code[k] = Instr("stmt", CtrlDep(frozenset(ctrl[span])), ins.env)  # type: ignore[arg-type]
        # L3: registers hold every number the test moves into one (`MOV X8,#1024`)
        moved = [n.value.value for c in checked.cores for n in _walk(c.body + (c.fault or ()))
                 if isinstance(n, ast.Assign) and isinstance(n.value, ast.Num)]  # fmt: skip
        self.reg_hi = max([15, *moved]) if lit_ is not None else 15

    def reg_checked(self, v: Any) -> Any:
        if isinstance(v, int) and 15 < v <= self.reg_hi:
            return v
        return super().reg_checked(v)  # type: ignore[misc]

    def step(self, s: State, ctx: Any, ins: Any, loc: tuple[Any, ...]) -> list[Any]:
        if isinstance(ins.node, CtrlDep):
            return [(Work(s), set(), loc[-1] + 1, None)]
        return super().step(s, ctx, ins, loc)  # type: ignore[misc, no-any-return]

    def effects(self, st: Any) -> dict[str, set[Any]]:
        if isinstance(st, CtrlDep):
            return {"rregs": set(st.regs), "wregs": set(), "reads": set(), "writes": set(),
                    "tlbi": set()}  # fmt: skip
        return super().effects(st)  # type: ignore[misc, no-any-return]

    def fatal(self, i: int) -> bool:
        lit_ = self.c.litmus  # type: ignore[attr-defined]
        if lit_ is not None and self.retries(i):
            return False  # a retried fault's exception entry waits for the branches (A6)
        return lit_ is not None or super().fatal(i)  # type: ignore[misc, no-any-return]

    def recorded_fault(self, s: State, i: int) -> int | None:
        if self.c.litmus is None:  # type: ignore[attr-defined]
            return super().recorded_fault(s, i)  # type: ignore[misc, no-any-return]
        f = self.fault_of(s, i)
        return None if f is None else f[0]

    def forget_fault(self, w: Work, i: int) -> None:
        if self.c.litmus is None:  # type: ignore[attr-defined]
            super().forget_fault(w, i)  # type: ignore[misc]
        else:
            w.mem.pop(("fault", self.names[i]), None)  # type: ignore[attr-defined]

    def fault_of(self, s: State, i: int) -> tuple[int, int] | None:
        return dict(s.mem).get(("fault", self.names[i]))  # type: ignore[attr-defined, no-any-return]

    def successors(self, s: State) -> list[Out]:
        out: list[Out] = super().successors(s)  # type: ignore[misc]
        lit_ = self.c.litmus  # type: ignore[attr-defined]
        ended = all(self.ended(i, c.pc) for i, c in enumerate(s.cores))
        updated = not any(k[0] == "hu" for k, _ in s.mem)  # the walkers' updates are done
        if lit_ is not None and ended and updated:
            kind = "positive" if self.judge(s, lit_.final.prop) else "negative"
            out.append(Out("final", None, frozenset({kind}), 0))
        return out

    def arm_steps(self, s: State, i: int) -> list[Out]:
        if self.c.litmus is None:  # type: ignore[attr-defined]
            return super().arm_steps(s, i)  # type: ignore[misc, no-any-return]
        cs = s.cores[i]
        f = self.fault_of(s, i)
        if self.ended(i, cs.pc):
            return []
        if f is not None and f[0] == cs.pc and not self.retries(i):
            w = Work(s)
            self.stop(w, i, f[0])
            return [Out(f"{self.names[i]} stops", w.freeze(), frozenset(), i)]  # type: ignore[attr-defined]
        entry = dict(s.mem).get(("entry", self.names[i]))
        out = [] if entry is None else self.entry(s, i, entry)
        for o in super().arm_steps(s, i):  # type: ignore[misc]
            translates = o.label.startswith(f"{self.names[i]} translates ")  # type: ignore[attr-defined]
            if f is not None and (entry is not None or not self.retries(i)) and translates:  # noqa: SIM102
                if int(o.label.rsplit(" ", 1)[1]) >= f[0]:
                    continue  # L1
            out.append(self.noted(s, o, i))
        return out

    def ended(self, i: int, pc: int) -> bool:
        """Is core ``i`` at the end of its code (L2: with a handler that returns, the end
        of its program, which every block's jump leads back to)?"""
        if self.insts[self.names[i]].resume:  # type: ignore[attr-defined]
            return pc == self.main_end[i]  # type: ignore[attr-defined, no-any-return]
        return pc >= len(self.code[i])  # type: ignore[attr-defined]

    def noted(self, s: State, o: Out, i: int) -> Out:
        """Registers an instruction performed early changed: their earlier values, kept
        until ``pc`` passes it (``("undo", core)``: (pc, register, old value) entries)."""
        if o.state is None or o.core != i:
            return o
        before, after = dict(s.cores[i].regs), dict(o.state.cores[i].regs)
        pc = o.state.cores[i].pc
        w = Work(o.state)
        undo = [u for u in w.mem.get(("undo", self.names[i]), ()) if u[0] >= pc]  # type: ignore[attr-defined]
        if s.cores[i].pc == pc:  # an early step: ``pc`` did not move
            k = _early_pc(o.label)
            for r in sorted(set(before) | set(after)):
                if k is not None and before.get(r, 0) != after.get(r, 0):
                    undo.append((k, r, before.get(r, 0)))
        if undo:
            w.mem[("undo", self.names[i])] = tuple(sorted(undo, key=repr))  # type: ignore[attr-defined]
        else:
            w.mem.pop(("undo", self.names[i]), None)  # type: ignore[attr-defined]
        return Out(o.label, w.freeze(), o.kinds, o.core, o.passed)

    def holds(self, s: State, i: int, j: int, k: int, memory: bool) -> bool:
        if super().holds(s, i, j, k, memory):  # type: ignore[misc]
            return True
        code = self.code_of(s, i)  # type: ignore[attr-defined]
        a = code[j].node
        if not memory and (  # a fault waits for an earlier dmb (herd7's bob)
            (isinstance(a, ast.Barrier) and a.kind == "dmb")
            or (isinstance(a, ast.Fence) and a.kind in ("full", "acquire"))
        ):
            return True
        eb = self.effects(code[k].node)
        if isinstance(code[j].node, CtrlDep) and (
            eb["writes"] or eb["tlbi"] or isinstance(code[k].node, ast.Barrier)
        ):
            return True
        if self.c.litmus is None or not memory:  # type: ignore[attr-defined]
            return False
        if not (eb["writes"] or eb["tlbi"]) or not isinstance(code[j].node, ast.Access):
            return False
        held = {h[0]: h for h in s.cores[i].arm[1]}
        if j not in held:
            return True
        return not self.allows(held[j][1][0], code[j].node.kind, i, j)

    def allows(self, pte: Any, kind: str, i: int, k: int) -> bool:
        """Does held value ``pte`` allow access ``k`` of core ``i`` (of ``kind``)? Not when
        invalid, without the permission (user-mode code: without `u` too), or `old`
        (access flag clear: a walk with HA holds the updated value)."""
        letter = {"read": "r", "write": "w", "exec": "x"}[kind]
        user = self.in_user(i, k)  # type: ignore[attr-defined]
        return pte is not None and grants(pte[1], letter, user) and "o" not in pte[1]

    def use(self, s: State, i: int, k: int, st: Any, h: Any, pending: list[int]) -> list[Out]:
        pte = h[1][0]
        ok = self.allows(pte, st.kind, i, k)
        resumes = self.insts[self.names[i]].resume  # type: ignore[attr-defined]
        if ok or self.c.litmus is None or resumes:
            return super().use(s, i, k, st, h, pending)  # type: ignore[misc, no-any-return]
        if any(self.holds(s, i, j, k, memory=False) for j in pending):
            return []
        if self.retries(i):
            return self.retry(s, i, k, 1 if pte is None else 2)
        w = Work(s)
        w.mem[("fault", self.names[i])] = (k, 1 if pte is None else 2)  # type: ignore[attr-defined]
        c = w.core(i)
        if k == c.pc:
            self.stop(w, i, k)
        else:
            held = tuple(x for x in c.arm[1] if x[0] != k)
            marks = frozenset(m for m in c.arm[2] if m[0] != k)
            w.set_core(i, arm=(c.arm[0], held, marks, *c.arm[3:]))
        return [Out(f"{self.names[i]} faults {k}", w.freeze(), frozenset(), i)]  # type: ignore[attr-defined]

    def retries(self, i: int) -> bool:
        lit_ = self.c.litmus  # type: ignore[attr-defined]
        return lit_ is not None and lit_.retry and self.fault_at[i] < 0  # type: ignore[attr-defined]

    def retry(self, s: State, i: int, k: int, ftype: int) -> list[Out]:
        """Core ``i`` takes its first fault, at ``k``: recorded, the read and its marks
        dropped; ``k`` waits for the exception entry (`entry`)."""
        if self.fault_of(s, i) is not None:
            return []  # a second fault: the execution is dropped
        w = Work(s)
        w.mem[("fault", self.names[i])] = (k, ftype)  # type: ignore[attr-defined]
        w.mem[("entry", self.names[i])] = k  # type: ignore[attr-defined]
        c = w.core(i)
        tr = tuple(h for h in c.arm[1] if h[0] != k)
        marks = frozenset(m for m in c.arm[2] if m[0] != k)
        w.set_core(i, arm=(c.arm[0], tr, marks, *c.arm[3:]))
        return [Out(f"{self.names[i]} faults {k}", w.freeze(), frozenset(), i)]  # type: ignore[attr-defined]

    def entry(self, s: State, i: int, k: int) -> list[Out]:
        """The exception entry after the fault at ``k``, once no pending earlier statement
        is a `dsb` or a control dependency and every pending earlier access holds a read
        that allows it: what the core did from ``k`` on is undone, ``k`` runs again."""
        c = s.cores[i]
        held = {h[0]: h[1][0] for h in c.arm[1]}
        for j in range(c.pc, k):
            st = self.code[i][j].node  # type: ignore[attr-defined]
            if j in c.arm[0]:
                continue
            if isinstance(st, CtrlDep) or (isinstance(st, ast.Barrier) and st.kind == "dsb"):
                return []  # the exception entry waits for them, as an `isb` does
            if isinstance(st, ast.Access) and not (
                j in held and self.allows(held[j], st.kind, i, j)
            ):
                return []  # none held yet, or it faults first
        w = Work(s)
        del w.mem[("entry", self.names[i])]  # type: ignore[attr-defined]
        regs = self.undone(w, i, k, keep=True)
        for a in [a for a in w.mem if a[:2] == ("hu", i) and a[2] > k]:
            w.mem.pop(a)
        done = frozenset(j for j in c.arm[0] if j < k)
        tr = tuple(h for h in c.arm[1] if h[0] < k)
        marks = frozenset(m for m in c.arm[2] if m[0] < k)
        w.set_core(i, regs=tuple(sorted(regs.items())), arm=(done, tr, marks, *c.arm[3:]))
        return [Out(f"{self.names[i]} enters the exception", w.freeze(), frozenset(), i)]  # type: ignore[attr-defined]

    def stop(self, w: Work, i: int, at: int) -> None:
        """The core stops at the fault of ``at``: loads after it performed early never
        happened, nothing is held, and it is at the end of its code."""
        regs = self.undone(w, i, at, keep=False)
        w.set_core(
            i, pc=len(self.code[i]), regs=tuple(sorted(regs.items())),  # type: ignore[attr-defined]
            arm=(frozenset(), (), frozenset(), None),
        )  # fmt: skip

    def undone(self, w: Work, i: int, at: int, keep: bool) -> dict[str, Any]:
        """Core ``i``'s registers with the loads after ``at`` performed early undone (their
        earlier values back); ``keep``: the undo entries up to ``at`` stay."""
        regs = dict(w.core(i).regs)
        undo = w.mem.pop(("undo", self.names[i]), ())  # type: ignore[attr-defined]
        for k, r, old in sorted(undo, key=lambda u: -u[0]):
            if k > at:
                regs[r] = old
        kept = tuple(u for u in undo if u[0] <= at)
        if keep and kept:
            w.mem[("undo", self.names[i])] = kept  # type: ignore[attr-defined]
        return regs

    def judge(self, s: State, p: Any) -> bool:
        mem = dict(s.mem)
        match p:
            case F.FCmp(op=op, left=a, right=b):
                return (self.term(s, mem, a) == self.term(s, mem, b)) == (op == "==")
            case F.FFault(core=name, at=spans, ftype=ftype):
                rec = mem.get(("fault", name))
                if rec is None:
                    return False
                node = self.code[self.names.index(name)][rec[0]].node  # type: ignore[attr-defined]
                return (not spans or node.span in spans) and (not ftype or rec[1] == TYPES[ftype])
            case F.FNot(arg=a):
                return not self.judge(s, a)
            case F.FAnd(args=args):
                return all(self.judge(s, a) for a in args)
            case F.FOr(args=args):
                return any(self.judge(s, a) for a in args)
        return bool(p.value)

    def term(self, s: State, mem: dict[Any, Any], t: Any) -> Any:
        match t:
            case F.FReg(core=name, reg=r):
                return dict(s.cores[self.names.index(name)].regs).get(r, 0)  # type: ignore[attr-defined]
            case F.FData(frame=f):
                return mem.get(("f", f, ""), 0)
            case F.FPte(value=v):
                return lit(v)
            case F.FPteMem(page=page):  # the entry in memory, in the one space of a test
                addr = ("p", self.c.spaces[0].name, page)  # type: ignore[attr-defined]
                pte, wid = mem[addr]
                return ("pte", pte, mem.get(("kept", addr, wid)))
        return t.value


def _early_pc(label: str) -> int | None:
    """The pc an early step's label names (``P0 early 3``, ``P0 uses 3``)."""
    parts = label.split()
    if len(parts) == 3 and parts[1] in ("early", "uses") and parts[2].isdigit():
        return int(parts[2])
    return None


class OracleArm(Atomics, LitmusRules, PteValues, RvArm):
    """The `arm` model with whole PTE values and the `.litmus` rules."""


class OracleExt(Atomics, PteValues, RvExt):
    """sc, tso and pso with whole PTE values."""


class OracleRiscv(Atomics, PteValues, RiscvMachine):
    """The `riscv` model with whole PTE values."""


def machine_for(checked: Any, model: str) -> Machine:
    if model == "riscv":
        return OracleRiscv(checked, model)
    return OracleArm(checked, model) if model == "arm" else OracleExt(checked, model)
