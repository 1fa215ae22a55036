"""The reference's RISC-V additions (docs/riscv.md), written from the document and not
from verifier/machine: `fence PRED, SUCC`, `fence.tso`, `sfence.vma` in every model, and
the `riscv` model.

`RvStatements` adds the statements to any machine: under sc/tso/pso a fence with a store
kind before and a load kind after waits for an empty buffer, one with a store kind
before only leaves a release marker, the others do nothing; `sfence.vma` waits for an
empty buffer and drops the entries it names.  Under `arm`/`riscv` the ordering is read
*pairwise* (not as an instruction that must itself be performed): a later access waits
for an earlier pending access when some fence between them orders the pair, `sfence.vma`
waits for every earlier pending store, and a pending `sfence.vma` holds later stores and
later translation reads back.  `RiscvMachine` is the `arm` machine with invalid entries
cached by the walker and no break-before-make.  Readings:
  V1  As for `arm` (reading A1): handlers run in the window, an IPI is taken only with
      nothing performed early and no translation read held (docs/riscv.md §2).
"""

from __future__ import annotations

from typing import Any

from verifier.lang import ast
from verifier.lang.checked import CheckedSpec

from .arm import ArmMachine, ExtMachine
from .code import Instr
from .machine import Ctx, Machine, Out
from .state import State, Work

BUFFERED = ("sc", "tso", "pso")


def _pairs(f: ast.RvFence) -> set[tuple[str, str]]:
    if f.tso:
        return {("r", "r"), ("r", "w"), ("w", "w")}
    return {(a, b) for a in f.pred for b in f.succ}


def named_page(ctx: Ctx, ref: ast.PageRef) -> tuple[str | None, str]:
    """(space or None, page) an `sfence.vma` names: a handler's page parameter carries
    the space of the IPI's argument (None for a bare `V`: every ASID)."""
    if ref.space is None and ref.page in ctx.hparams:
        _, space, page = ctx.regs[ref.page]
        return space, page
    return ref.space, ref.page


class RvStatements(Machine):
    def step(self, s: State, ctx: Ctx, ins: Instr, loc: tuple[Any, ...]) -> list[Any]:
        st = ins.node
        pc = loc[-1]
        if isinstance(st, ast.RvFence):
            w = Work(s)
            buf = w.core(ctx.i).buf
            if self.model in BUFFERED:
                pairs = _pairs(st)
                if ("w", "r") in pairs and buf:
                    return []
                if ("w", "w") in pairs and any(e[0] == "st" for e in buf):
                    w.set_core(ctx.i, buf=(*buf, ("rel",)))
            return [(w, set(), pc + 1, None)]
        if isinstance(st, ast.Sfence):
            w = Work(s)
            if self.model in BUFFERED and w.core(ctx.i).buf:
                return []
            self.sfence(w, ctx, st)
            return [(w, set(), pc + 1, None)]
        return super().step(s, ctx, ins, loc)  # type: ignore[no-any-return]

    def sfence(self, w: Work, ctx: Ctx, st: ast.Sfence) -> None:
        cs = w.core(ctx.i)
        if st.page is not None:
            space, page = named_page(ctx, st.page)
            if space is None:  # every ASID, global entries too
                gone = lambda e: e[1] == page  # noqa: E731
            else:
                tag = self.asid[space]
                gone = lambda e: e[1] == page and e[0] == tag  # noqa: E731
            w.set_core(ctx.i, tlb=frozenset(e for e in cs.tlb if not gone(e)))
            return  # a leaf fence: paging-structure entries stay
        if st.space is not None:
            tag = self.asid[st.space]
            psc = frozenset(x for x in cs.psc if self.asid[self.dirs[x[0]].space] != tag)
            w.set_core(ctx.i, tlb=frozenset(e for e in cs.tlb if e[0] != tag), psc=psc)
            return
        w.set_core(ctx.i, tlb=frozenset(), psc=frozenset())


class RvExt(RvStatements, ExtMachine):
    pass


def _kinds(eff: dict[str, set[Any]]) -> set[str]:
    return ({"r"} if eff["reads"] else set()) | ({"w"} if eff["writes"] else set())


class RvArm(RvStatements, ArmMachine):
    def tr_barrier(self, ins: Instr) -> bool:
        return super().tr_barrier(ins) or isinstance(ins.node, ast.Sfence)

    def holds(self, s: State, i: int, j: int, k: int, memory: bool) -> bool:
        if super().holds(s, i, j, k, memory):
            return True
        code = self.code_of(s, i)
        a, b = code[j].node, code[k].node
        ea = self.effects(a)
        eb = self.effects(b)
        if isinstance(b, ast.Sfence):
            return bool(ea["writes"])
        if isinstance(a, ast.Sfence):
            return bool(eb["writes"])
        ka, kb = _kinds(ea), _kinds(eb)
        for f in range(j + 1, k):
            node = code[f].node
            if isinstance(node, ast.RvFence) and any(
                (x, y) in _pairs(node) for x in ka for y in kb
            ):
                return True
        return False


class RiscvMachine(RvArm):
    def break_before_make(self, w: Work, sp: str, page: str, value: Any) -> set[str]:
        return set()  # not judged under riscv

    def walks(self, s: State, i: int) -> list[Out]:
        out = super().walks(s, i)
        if self.c.walker != "speculative":
            return out
        cs = s.cores[i]
        tag = self.asid[cs.space]
        mem = dict(s.mem)
        for page in self.c.pages:
            if (cs.space, page) in self.at:
                continue  # two-level pages: no invalid entry cached
            if any(e[1] == page and e[0] in ("G", tag) for e in cs.tlb):
                continue
            src = ("p", cs.space, page)
            pte, wid = mem[src]
            if pte is not None:
                continue
            w = Work(s)
            w.set_core(i, tlb=cs.tlb | {(tag, page, None, "", cs.space, wid, src, 0)})
            out.append(
                Out(f"{self.names[i]} walker caches {page} invalid", w.freeze(), frozenset(), i)
            )
        return out


def machine_for(checked: CheckedSpec, model: str) -> Machine:
    if model == "riscv":
        return RiscvMachine(checked, model)
    return RvArm(checked, model) if model == "arm" else RvExt(checked, model)
