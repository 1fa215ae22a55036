"""The reference's whole PTE values (docs/arm64.md §1), written from the document: a
register may hold a PTE value (`r := pte(V)`), a `pte V := r` stores it, `(A rw)`,
`(invalid)` and `(invalid A rw)` are PTE values in expressions, and two values are
equal when they agree on validity, frame, permissions, the global bit and, for an
invalid value, the frame and permissions it keeps.

A value in a register is ``("pte", pte, kept)``: ``pte`` as the oracle's memory holds it
(None: invalid, else (frame, perms, global)), ``kept`` None or (frame, perms).  Memory
keeps ``(pte, wid)`` as before; what an invalid value keeps is noted beside it, under
``("kept", address, wid)`` (declarations have wid 0, each write a fresh one).

Readings:
  P1  A register holding no PTE value where one is stored (never loaded) is a `range`
      problem (the checker rejects every other mix of numbers and PTE values).
  P3  `pte_set(v, F...)` of a register holding no PTE value, or `present` set on a plain
      `invalid`, is no PTE value (0): a `range` problem only where it is stored.
  P2  The frames a page may map (which accesses may alias) are the frames of every
      mapping the spec writes anywhere (declarations, `pte` statements, literals) when
      some `pte V := r` stores a register.
"""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from typing import Any

from verifier.lang import ast

from .machine import Ctx, Fatal, _pte
from .state import State, Work


def lit(v: ast.Mapping | ast.Invalid) -> tuple[Any, ...]:
    """A PTE value written in the spec, as a register holds it."""
    if isinstance(v, ast.Invalid):
        kept = None if v.kept is None else _kept(v.kept)
        return ("pte", None, kept)
    return ("pte", _pte(v), None)


def _nodes(x: Any) -> list[Any]:
    out = [x]
    if is_dataclass(x):
        for f in fields(x):
            out += _nodes(getattr(x, f.name))
    elif isinstance(x, tuple):
        for y in x:
            out += _nodes(y)
    return out


class PteValues:
    """A mixin over the oracle's machines (it calls their `value`, `step`, `effects`)."""

    def _frames_of_pages(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = super()._frames_of_pages()  # type: ignore[misc]
        every = [n for c in self.c.cores for n in _nodes(c.body)]  # type: ignore[attr-defined]
        if any(isinstance(n, ast.PteWrite) and isinstance(n.value, ast.Name) for n in every):
            frames = {n.frame for n in every if isinstance(n, ast.Mapping)}
            for sp in self.c.spaces:  # type: ignore[attr-defined]
                frames |= {v.frame for _, v in sp.entries if isinstance(v, ast.Mapping)}
            for page in out:
                out[page] |= frames
        return out

    def initial(self) -> State:
        s = super().initial()  # type: ignore[misc]
        w = Work(s)
        for sp in self.c.spaces:  # type: ignore[attr-defined]
            for page, v in sp.entries:
                if isinstance(v, ast.Invalid) and v.kept is not None:
                    w.mem[("kept", ("p", sp.name, page), 0)] = _kept(v.kept)
        return w.freeze()

    def whole(self, w: Work, ctx: Ctx, ref: ast.PageRef) -> tuple[Any, ...]:
        """`pte(V)`: V's PTE value as this core sees it."""
        addr = self.entry_addr(w, ctx, self.pte_addr(w.core(ctx.i), ctx, ref))  # type: ignore[attr-defined]
        if addr is None:
            return ("pte", None, None)
        pte, wid = self.view(w, ctx.i, addr)  # type: ignore[attr-defined]
        return ("pte", pte, w.mem.get(("kept", addr, wid)))

    def value(self, w: Work, ctx: Ctx, e: ast.Expr) -> Any:
        match e:
            case ast.Name(name=n) if isinstance(ctx.regs.get(n), tuple):
                return ctx.regs[n]
            case ast.PteRead(page=ref, field=""):
                return self.whole(w, ctx, ref)
            case ast.PteLit(value=v):
                return lit(v)
            case ast.PteFields(value=v, op=o, fields=fs):  # `pte_set(v, F...)`
                held = self.value(w, ctx, v)  # P3: no PTE value in, or none made: 0
                new = changed(held, o, fs) if isinstance(held, tuple) else None
                return 0 if new is None else new
        return super().value(w, ctx, e)  # type: ignore[misc]

    def reg_checked(self, v: Any) -> Any:
        return v if isinstance(v, tuple) else super().reg_checked(v)  # type: ignore[misc]

    def step(self, s: State, ctx: Ctx, ins: Any, loc: tuple[Any, ...]) -> list[Any]:
        st = ins.node
        if not isinstance(st, ast.PteWrite):
            return super().step(s, ctx, ins, loc)  # type: ignore[misc]
        value = st.value
        if isinstance(value, ast.Name):
            held = ctx.regs.get(value.name, 0)
            if not isinstance(held, tuple):
                raise Fatal("range")  # P1
            value = as_node(held)
            st = ast.PteWrite(st.page, value, st.order, span=st.span)
            ins = type(ins)(ins.op, st, ins.env, ins.target)
        out = super().step(s, ctx, ins, loc)  # type: ignore[misc]
        if isinstance(value, ast.Invalid) and value.kept is not None:
            for w, *_ in out:
                addr = self.entry_addr(w, ctx, self.pte_addr(w.core(ctx.i), ctx, st.page))  # type: ignore[attr-defined]
                wid = w.last[addr][1]
                w.mem[("kept", addr, wid)] = _kept(value.kept)
        return out

    def effects(self, st: Any) -> dict[str, set[Any]]:
        out: dict[str, set[Any]] = super().effects(st)  # type: ignore[misc]
        if isinstance(st, ast.PteWrite) and isinstance(st.value, ast.Name):
            out["rregs"].add(st.value.name)
        for n in _nodes(st):
            if isinstance(n, ast.PteRead):
                out["reads"].add(("pte", n.page.page))
        return out


def _kept(m: ast.Mapping) -> tuple[str, str]:
    """What an invalid entry keeps: its frame, permissions and flags (as `_pte` writes
    them: `o` old, `d` dbm, `u` user)."""
    return (m.frame, m.perms + "o" * m.old + "d" * m.dbm + "u" * m.user)


def mapping(frame: str, perms: str, glob: bool = False) -> ast.Mapping:
    """A mapping from a frame and permissions as `_pte` writes them (flags as letters)."""
    rwx = "".join(x for x in "rwx" if x in perms)
    return ast.Mapping(frame, rwx, glob, "o" in perms, "d" in perms, "u" in perms)


def as_node(held: tuple[Any, ...]) -> ast.Mapping | ast.Invalid:
    """A PTE value as a register holds it, as the spec would write it."""
    _, pte, kept = held
    if pte is not None:
        return mapping(*pte)
    return ast.Invalid(None if kept is None else mapping(*kept))


_LETTER = {"write": "w", "exec": "x", "user": "u", "dbm": "d"}


def changed(held: tuple[Any, ...], op: str, names: tuple[str, ...]) -> tuple[Any, ...] | None:
    """What `fetch_set(pte(V), names...)` (``op``; or `fetch_clear`) stores when the entry
    holds ``held``: the fields set (cleared); `present` makes an invalid value valid with
    what it keeps, or invalid keeping the frame, permissions and flags (not `global`); a
    plain `invalid` keeps nothing and stays (None: made present, no frame to map)."""
    _, pte, kept = held
    on = op == "fetch_set"
    if pte is None and kept is None:
        return None if on and "present" in names else held
    frame, perms, glob = pte if pte is not None else (*kept, False)
    valid, letters = pte is not None, set(perms)
    for name in names:
        if name == "present":
            valid = on
            continue
        letter = "o" if name == "young" else _LETTER[name]
        if on != (name == "young"):  # set a field, or clear young (set `o`)
            letters.add(letter)
        else:
            letters.discard(letter)
    text = "".join(x for x in "rwxodu" if x in letters)
    return ("pte", (frame, text, glob), None) if valid else ("pte", None, (frame, text))
