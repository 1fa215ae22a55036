"""The reference's atomics and exclusives (docs/arm64.md §1, "Atomics and exclusives"),
written from the document: an atomic through a page is a write access that reads the
frame's word and writes the new value at once; an atomic on `pte(V)` reads the entry
and stores the new value at once (memory, never a store buffer); a load-exclusive sets
the core's reservation to the frame it read, a store to that frame by another core
clears it, and a store-exclusive stores only while the reservation is the frame it
writes, else fails (status 1), and may fail anyway.

Readings:
  X1  Under sc/tso/pso a store-exclusive's failure "whatever the reservation" is a step
      of its own that translates nothing; under `arm` it is the access step (it uses
      the held translation read; a translation that does not allow the write faults).
  X2  The reservation is kept in memory under ("res", core, "") (None: none): a frame's
      name, or ("pte", entry address) for a load-exclusive of a PTE.
  X3  `load_exclusive(pte(V))` / `store_exclusive(pte(V), v)`: as atomics on the entry
      (they wait for the store buffer); the store's failure whatever the reservation is a
      step of its own (under `arm` also when performed early).
  X4  Every write to a PTE entry clears the other cores' reservations on it; the
      walker's and the spontaneous updates of the access flag clear every core's (they
      are no explicit store of any core, herd7's `atomic` axiom).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from verifier.lang import ast

from .atomic_nodes import PteRmw, RmwAccess, XFail, failing
from .code import Instr
from .machine import BITS, Ctx, Fatal, Out, bits
from .ptevalues import _nodes, as_node, changed
from .state import State, Work


def _names(e: Any) -> set[str]:
    match e:
        case ast.Name(name=n):
            return {n}
        case ast.Unary(operand=a) | ast.PteFields(value=a):
            return _names(a)
        case ast.Binary(left=a, right=b):
            return _names(a) | _names(b)
    return set()


class Atomics:
    """A mixin over the oracle's machines (before `PteValues` and the model's machine)."""

    def _frames_of_pages(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = super()._frames_of_pages()  # type: ignore[misc]
        bodies = [c.body for c in self.c.cores]  # type: ignore[attr-defined]
        every = [n for b in bodies for n in _all(b)]
        everything = {v.frame for n in every if isinstance(n, ast.Mapping) for v in (n,)}
        for s in every:
            if isinstance(s, ast.Atomic) and s.op == "fetch_set" and "present" in s.fields:
                # made valid: the frame an invalid value written to the page keeps
                page = s.target.page.page  # type: ignore[union-attr]
                written = [n.value for n in every if isinstance(n, ast.PteWrite)
                           and n.page.page == page]  # fmt: skip
                written += [v for sp in self.c.spaces for p, v in sp.entries if p == page]  # type: ignore[attr-defined]
                written += [n.args[-1].value for n in every if isinstance(n, ast.Atomic)
                            and n.args and isinstance(n.args[-1], ast.PteLit)
                            and n.target.page.page == page]  # type: ignore[union-attr]  # fmt: skip
                out[page] |= {v.kept.frame for v in written
                              if isinstance(v, ast.Invalid) and v.kept is not None}  # fmt: skip
            if isinstance(s, ast.Atomic) and isinstance(s.target, ast.PteRead) and s.args:
                new = s.args[-1]
                page = s.target.page.page
                if isinstance(new, ast.PteLit) and isinstance(new.value, ast.Mapping):
                    out[page].add(new.value.frame)
                elif isinstance(new, ast.Name):  # any value a register may hold
                    for p in out:
                        out[p] |= everything
        return out

    def effects(self, st: Any) -> dict[str, set[Any]]:
        out: dict[str, set[Any]] = super().effects(st)  # type: ignore[misc]
        if isinstance(st, RmwAccess):
            out["reads"] |= out["writes"]
            for a in st.args:
                out["rregs"] |= {n for n in _names(a) if n not in self.vars}  # type: ignore[attr-defined]
        if isinstance(st, PteRmw):
            out["reads"] |= out["writes"]
            if st.op == "load_exclusive":  # a load of the entry only
                out["writes"] = set()
            out["rregs"] |= _names(st.expect) - set(self.vars)  # type: ignore[attr-defined]
            if st.dest is not None:
                out["wregs"].add(st.dest)
        return out

    def step(self, s: State, ctx: Ctx, ins: Instr, loc: tuple[Any, ...]) -> list[Any]:
        st = ins.node
        pc = loc[-1]
        if isinstance(st, XFail):  # X1: sc/tso/pso
            w = Work(s)
            self.xfail(w, ctx, st)
            return [(w, set(), pc + 1, None)]
        if isinstance(st, RmwAccess) and self.model not in ("arm", "riscv"):  # type: ignore[attr-defined]
            if s.cores[ctx.i].buf:
                return []  # an atomic waits for the store buffer
            out = self.data_access(s, ctx, st)  # type: ignore[attr-defined]
            return [(w, k, self.after_access(ctx.i, pc, f), None) for w, k, f in out]  # type: ignore[attr-defined]
        if isinstance(st, PteRmw):
            return self.pte_rmw(s, ctx, ins, loc)
        return super().step(s, ctx, ins, loc)  # type: ignore[misc]

    def pte_rmw(self, s: State, ctx: Ctx, ins: Instr, loc: tuple[Any, ...]) -> list[Any]:
        st = ins.node
        assert isinstance(st, PteRmw)
        if s.cores[ctx.i].buf:
            return []
        w0 = Work(s)
        old = self.whole(w0, ctx, st.page)  # type: ignore[attr-defined]
        stores = st.op != "cas" or old == self.value(w0, ctx, st.expect)  # type: ignore[attr-defined, arg-type]
        if st.op in ("load_exclusive", "store_exclusive", "xfail"):  # X3
            cs = w0.core(ctx.i)
            addr = self.entry_addr(w0, ctx, self.pte_addr(cs, ctx, st.page))  # type: ignore[attr-defined]
            mine = ("res", str(ctx.i), "")
            if st.op != "store_exclusive" or w0.mem.get(mine) != ("pte", addr):
                w0.mem[mine] = ("pte", addr) if st.op == "load_exclusive" else None
                assert st.dest is not None
                ctx.regs[st.dest] = old if st.op == "load_exclusive" else 1
                return [(w0, set(), loc[-1] + 1, None)]
            stores, old = True, 0  # stores: status 0
        value = st.value
        if st.fields:  # fetch_set / fetch_clear: from the value read
            new = changed(old, st.op, st.fields)
            if new is None:
                raise Fatal("range")
            value = as_node(new)
        if stores:
            plain = ast.PteWrite(st.page, value, span=st.span)
            out = super().step(s, ctx, Instr(ins.op, plain, ins.env, ins.target), loc)  # type: ignore[misc]
            for w, *_ in out:
                c = w.core(ctx.i)
                for e in c.buf:  # the store goes to memory at once
                    self.to_memory(w, e[1], e[2])  # type: ignore[attr-defined]
                w.set_core(ctx.i, buf=())
                self.unreserve(w, s, ctx.i)
                if st.op == "store_exclusive":
                    w.mem[("res", str(ctx.i), "")] = None
        else:
            out = [(w0, set(), loc[-1] + 1, None)]
        if st.dest is not None:
            ctx.regs[st.dest] = old
        return out

    def execute(self, s: State, ctx: Ctx, ins: Instr, loc: tuple[Any, ...]) -> list[Any]:
        out: list[Any] = super().execute(s, ctx, ins, loc)  # type: ignore[misc]
        st = ins.node
        if isinstance(st, PteRmw) and st.op == "store_exclusive":  # it may fail anyway
            fresh = Ctx(ctx.i, ctx.me, ctx.env, dict(s.cores[ctx.i].regs), ctx.hparams,
                        ctx.body_regs)  # fmt: skip
            fail = Instr(ins.op, replace(st, op="xfail"), ins.env, ins.target)
            out += super().execute(s, fresh, fail, loc)  # type: ignore[misc]
        spurious = isinstance(st, ast.Access) and st.exclusive and st.kind == "write"
        if spurious and not isinstance(st, XFail) and self.model not in ("arm", "riscv"):  # type: ignore[attr-defined]
            fresh = Ctx(ctx.i, ctx.me, ctx.env, dict(s.cores[ctx.i].regs), ctx.hparams,
                        ctx.body_regs)  # fmt: skip
            out += super().execute(s, fresh, Instr(ins.op, failing(st), ins.env, ins.target), loc)  # type: ignore[misc]
        return out

    def perform(self, s: State, i: int, k: int) -> list[Any]:
        """`arm`: a store-exclusive of a PTE performed early may fail anyway too."""
        out: list[Any] = super().perform(s, i, k)  # type: ignore[misc]
        st = self.code_of(s, i)[k].node  # type: ignore[attr-defined]
        if not (isinstance(st, PteRmw) and st.op == "store_exclusive") or not out:
            return out
        if k == s.cores[i].pc:  # at pc: `execute` gave both
            return out
        ctx = self.ctx(s, i)  # type: ignore[attr-defined]
        w = Work(s)
        assert st.dest is not None
        ctx.regs[st.dest] = 1
        w.mem[("res", str(i), "")] = None
        c = w.core(i)
        self.set_regs(w, i, ctx.regs)  # type: ignore[attr-defined]
        w.set_core(i, arm=(c.arm[0] | {k}, *c.arm[1:]))
        return [*out, Out(f"{self.names[i]} early {k} fails", w.freeze(), frozenset(), i)]  # type: ignore[attr-defined]

    def unreserve(self, w: Work, s: State, keep: int | None) -> None:
        """X4: a write to a PTE entry clears the reservations on it (but core ``keep``'s,
        whose explicit store it is): entries whose value differs from state ``s``."""
        before = dict(s.mem)
        for addr, v in list(w.mem.items()):
            if addr[0] in ("p", "l") and before.get(addr) != v:
                for j in range(len(w.cores)):
                    if j != keep and w.mem.get(("res", str(j), "")) == ("pte", addr):
                        w.mem[("res", str(j), "")] = None

    def _unreserved(self, s: State, outs: list[Out], keep: int | None) -> list[Out]:
        out = []
        for o in outs:
            if o.state is None:
                out.append(o)
                continue
            w = Work(o.state)
            self.unreserve(w, s, keep)
            out.append(replace(o, state=w.freeze()))
        return out

    def drains(self, s: State, i: int) -> list[Out]:
        return self._unreserved(s, super().drains(s, i), i)  # type: ignore[misc]

    def updates(self, s: State, i: int) -> list[Out]:  # the walker's: no explicit store
        return self._unreserved(s, super().updates(s, i), None)  # type: ignore[misc]

    def spontaneous(self, s: State) -> list[Out]:
        return self._unreserved(s, super().spontaneous(s), None)  # type: ignore[misc]

    def store(self, w: Work, i: int, addr: tuple[Any, ...], v: Any) -> None:
        old = w.mem.get(addr)
        super().store(w, i, addr, v)  # type: ignore[misc]
        if addr[0] in ("p", "l") and w.mem.get(addr) != old:  # written now (not buffered)
            for j in range(len(w.cores)):
                if j != i and w.mem.get(("res", str(j), "")) == ("pte", addr):
                    w.mem[("res", str(j), "")] = None

    def use(self, s: State, i: int, k: int, st: ast.Access, h: Any, pending: list[int]) -> list[Any]:
        out: list[Any] = super().use(s, i, k, st, h, pending)  # type: ignore[misc]
        if st.exclusive and st.kind == "write" and not isinstance(st, XFail):
            out += super().use(s, i, k, failing(st), h, pending)  # type: ignore[misc]
        return out

    def xfail(self, w: Work, ctx: Ctx, st: ast.Access) -> None:
        assert st.dest is not None
        ctx.regs[st.dest.name] = 1
        w.mem[("res", str(ctx.i), "")] = None

    def move(self, w: Work, ctx: Ctx, st: ast.Access, frame: str) -> None:
        key = ("f", frame, "")
        mine = ("res", str(ctx.i), "")
        if isinstance(st, XFail):
            self.xfail(w, ctx, st)
            return
        if st.exclusive and st.kind == "read":
            super().move(w, ctx, st, frame)  # type: ignore[misc]
            w.mem[mine] = frame
            return
        if st.exclusive:
            assert st.dest is not None and st.value is not None
            ok = w.mem.get(mine) == frame
            if ok:
                self._store(w, ctx.i, key, self.value(w, ctx, st.value))  # type: ignore[attr-defined]
            ctx.regs[st.dest.name] = 0 if ok else 1
            w.mem[mine] = None
            return
        if isinstance(st, RmwAccess):
            old = int(w.mem[key])
            xs = [self.value(w, ctx, a) for a in st.args]  # type: ignore[attr-defined]
            new = {"fetch_add": lambda: old + xs[0], "swap": lambda: xs[0],
                   "cas": lambda: xs[1] if old == xs[0] else old,
                   **{b: lambda b=b: bits(b, old, xs[0]) for b in BITS}}[st.op]()  # fmt: skip
            if st.dest is not None:
                ctx.regs[st.dest.name] = self.reg_checked(old)  # type: ignore[attr-defined]
            self._store(w, ctx.i, key, new)
            return
        super().move(w, ctx, st, frame)  # type: ignore[misc]
        if st.value is not None:
            self._store(w, ctx.i, key, w.mem[key])

    def _store(self, w: Work, i: int, key: tuple[Any, ...], v: Any) -> None:
        """The frame's word gets ``v``; other cores' reservations on the frame go."""
        w.mem[key] = v
        for j in range(len(w.cores)):
            if j != i and w.mem.get(("res", str(j), "")) == key[1]:
                w.mem[("res", str(j), "")] = None


def _all(body: tuple[ast.Stmt, ...]) -> list[Any]:
    return [n for s in body for n in _nodes(s)]
