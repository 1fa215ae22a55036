"""Parse tree -> AST, statements: blocks, the `if / else if / else` chains, and every
instruction of a core's or handler's body."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lark import Token, v_args

from verifier.lang import ast
from verifier.lang.span import Span
from verifier.lang.to_ast import Problem, Spans
from verifier.lang.to_ast_exprs import index_node

ATOMIC_ARITY = {"fetch_add": 1, "swap": 1, "cas": 2, "fetch_set": 1, "fetch_clear": 1, "fetch_xor": 1}
ATOMIC_ARITY |= {"load_exclusive": 0, "store_exclusive": 1}  # on pte(V) (docs/arm64.md §1)
FIELD_OPS = ("fetch_set", "fetch_clear")  # on pte(V): the fields set or cleared, by name


@dataclass
class _Chain:
    """An `if / else if / else` chain still open to an `else` on the next line."""

    arms: list[tuple[ast.Expr, tuple[ast.Stmt, ...], Span]]
    orelse: tuple[ast.Stmt, ...] | None = None

    def add_else(self, clause: _Else) -> None:
        if self.orelse is not None:
            raise Problem(clause.span, "this 'if' already has an 'else'")
        if isinstance(clause.body, _Chain):
            self.arms += clause.body.arms
            self.orelse = clause.body.orelse
        else:
            self.orelse = clause.body

    def build(self) -> ast.If:
        orelse = self.orelse
        for cond, then, span in reversed(self.arms):
            node = ast.If(cond, then, orelse, span=span)
            orelse = (node,)
        return node


@dataclass(frozen=True)
class _Else:
    """An `else` clause not yet attached to its `if` (it may start a new line)."""

    body: tuple[ast.Stmt, ...] | _Chain
    span: Span


def _statements(items: list[Any]) -> tuple[ast.Stmt, ...]:
    """Fold each `else` into the `if` chain just before it; build the `if` nodes."""
    out: list[Any] = []
    for item in items:
        if isinstance(item, _Else):
            if not out or not isinstance(out[-1], _Chain):
                raise Problem(item.span, "'else' without an 'if' before it")
            out[-1].add_else(item)
        else:
            out.append(item)
    return tuple(s.build() if isinstance(s, _Chain) else s for s in out)


@v_args(meta=True)
class StmtRules(Spans):
    """Statements (the bodies of cores and handlers)."""

    def block(self, meta: Any, c: list[Any]) -> tuple[ast.Stmt, ...]:
        return _statements(c)

    def pte_stmt(self, meta: Any, c: list[Any]) -> ast.PteWrite:
        order = "release" if isinstance(c[0], Token) else ""
        return ast.PteWrite(c[-2], c[-1], order=order, span=self._span(meta))

    def slot_stmt(self, meta: Any, c: list[Any]) -> ast.SlotWrite:
        return ast.SlotWrite(c[0][0], c[0][1], c[1], span=self._span(meta))

    def pte_reg(self, meta: Any, c: list[Any]) -> ast.Name:
        return ast.Name(str(c[0]), span=self._span(meta))

    def dir_stmt(self, meta: Any, c: list[Any]) -> ast.DirWrite:
        table = str(c[1]) if isinstance(c[1], Token) else None
        return ast.DirWrite(str(c[0]), table, span=self._span(meta))

    def copy_stmt(self, meta: Any, c: list[Token]) -> ast.CopyFrame:
        return ast.CopyFrame(str(c[0]), str(c[1]), span=self._span(meta))

    def zero_stmt(self, meta: Any, c: list[Token]) -> ast.ZeroFrame:
        return ast.ZeroFrame(str(c[0]), span=self._span(meta))

    def page_ref(self, meta: Any, c: list[Token]) -> ast.PageRef:
        if len(c) == 2:
            return ast.PageRef(str(c[0]), str(c[1]), span=self._span(meta))
        return ast.PageRef(None, str(c[0]), span=self._span(meta))

    def page_name(self, meta: Any, c: list[Token]) -> ast.PageName:
        return ast.PageName(str(c[0]), str(c[1]), span=self._span(meta))

    def lvalue(self, meta: Any, c: list[Any]) -> ast.Name | ast.Index:
        if len(c) == 2:
            return index_node(self._span(meta), c)
        return ast.Name(str(c[0]), span=self._span(meta))

    def assign(self, meta: Any, c: list[Any]) -> ast.Assign:
        return ast.Assign(c[0], c[1], span=self._span(meta))

    def atomic_call(self, meta: Any, c: list[Any]) -> ast.Atomic:
        dest = None if isinstance(c[0], Token) else c[0]
        rest = c[1:] if dest is not None else c
        fn = rest[0]
        order = next((x for x in rest[1:] if isinstance(x, str) and not isinstance(x, Token)), "")
        via = next((x for x in rest[1:] if isinstance(x, tuple)), ())
        args = [x for x in rest[1:] if not isinstance(x, str | tuple)]
        span = self._span(meta)
        if str(fn) not in ATOMIC_ARITY:
            raise Problem(
                self._tok(fn),
                f"unknown operation '{fn}' "
                f"(expected {', '.join(ATOMIC_ARITY)})",
            )
        if dest is not None and not isinstance(dest, ast.Name):
            raise Problem(dest.span, f"the result of {fn} must go to a register")
        if not args or not isinstance(args[0], ast.Name | ast.Index | ast.PteRead):
            raise Problem(span, f"{fn} needs a shared word, a page or pte(V) as its first argument")
        if isinstance(args[0], ast.PteRead) and args[0].field:
            raise Problem(args[0].span, f"{fn} acts on a whole PTE: pte(V), not a field")
        name = dest.name if dest is not None else None
        if str(fn) in FIELD_OPS and isinstance(args[0], ast.PteRead):
            for a in args[1:]:
                if not isinstance(a, ast.Name):
                    raise Problem(a.span, f"{fn}(pte(V), ...) names PTE fields (present, young...)")
            names = tuple(a.name for a in args[1:])
            return ast.Atomic(name, str(fn), args[0], (), order, via, names, span=span)
        return ast.Atomic(name, str(fn), args[0], tuple(args[1:]), order, via, span=span)

    def atomic_order(self, meta: Any, c: list[Token]) -> str:
        return str(c[0])

    def atomic_add(self, meta: Any, c: list[Any]) -> ast.Atomic:
        return ast.Atomic(None, "+=", c[0], (c[1],), span=self._span(meta))

    def fence(self, meta: Any, c: list[Token]) -> ast.Fence:
        return ast.Fence(str(c[0]) if c else "full", span=self._span(meta))

    def ipi(self, meta: Any, c: list[Any]) -> ast.Ipi:
        has_args = isinstance(c[-1], list)
        args = tuple(c[-1]) if has_args else ()
        rest = c[:-1] if has_args else c
        targets, handler = tuple(rest[:-1]), str(rest[-1])
        return ast.Ipi(targets, handler, args, has_parens=has_args, span=self._span(meta))

    def ipi_args(self, meta: Any, c: list[Any]) -> list[Any]:
        return list(c)

    def invlpg(self, meta: Any, c: list[Any]) -> ast.Invlpg:
        return ast.Invlpg(c[0], span=self._span(meta))

    def flush_asid(self, meta: Any, c: list[Token]) -> ast.FlushAsid:
        return ast.FlushAsid(str(c[0]), span=self._span(meta))

    def flush_all(self, meta: Any, c: list[Any]) -> ast.FlushAll:
        return ast.FlushAll(span=self._span(meta))

    def access(self, meta: Any, c: list[Any]) -> ast.Access:
        return ast.Access(str(c[0]), c[1], span=self._span(meta))

    def barrier(self, meta: Any, c: list[Token]) -> ast.Barrier:
        return ast.Barrier(str(c[0]), str(c[1]) if len(c) > 1 else "full", span=self._span(meta))

    def tlbi_page(self, meta: Any, c: list[Any]) -> ast.Tlbi:
        leaf = any(isinstance(x, Token) and x.type == "LEAF" for x in c)
        refs = [x for x in c if isinstance(x, ast.PageRef)]
        broadcast = any(isinstance(x, Token) and x.type == "IS" for x in c)
        via = next((x for x in c if isinstance(x, tuple)), ())
        return ast.Tlbi("page", broadcast, refs[0], leaf=leaf, via=via, span=self._span(meta))

    def tlbi_asid(self, meta: Any, c: list[Token]) -> ast.Tlbi:
        return ast.Tlbi("asid", len(c) == 2, space=str(c[-1]), span=self._span(meta))

    def tlbi_all(self, meta: Any, c: list[Token]) -> ast.Tlbi:
        return ast.Tlbi("all", len(c) == 1, span=self._span(meta))

    def rv_fence(self, meta: Any, c: list[Token]) -> ast.RvFence:
        return ast.RvFence(str(c[0]), str(c[1]), span=self._span(meta))

    def fence_tso(self, meta: Any, c: list[Token]) -> ast.RvFence:
        return ast.RvFence("rw", "rw", tso=True, span=self._span(meta))

    def sfence_all(self, meta: Any, c: list[Token]) -> ast.Sfence:
        return ast.Sfence(span=self._span(meta))

    def sfence_page(self, meta: Any, c: list[Any]) -> ast.Sfence:
        return ast.Sfence(page=c[-1], span=self._span(meta))

    def sfence_asid(self, meta: Any, c: list[Token]) -> ast.Sfence:
        return ast.Sfence(space=str(c[-1]), span=self._span(meta))

    def data_read(self, meta: Any, c: list[Any]) -> ast.Access:
        dest = c[0]
        if not isinstance(dest, ast.Name):
            raise Problem(dest.span, "the value of `read` must go to a register")
        words = [str(x) for x in c[2:] if isinstance(x, Token)]
        order = next((w for w in words if w != "exclusive"), "")
        page = next(x for x in c[2:] if isinstance(x, ast.PageRef))
        via = next((x for x in c[2:] if isinstance(x, tuple)), ())
        return ast.Access(
            "read", page, dest=dest, order=order, via=via, exclusive="exclusive" in words,
            span=self._span(meta),
        )  # fmt: skip

    def excl_write(self, meta: Any, c: list[Any]) -> ast.Access:
        """`s := write [release] exclusive V := e`: ``s`` gets the store's status."""
        dest = c[0]
        if not isinstance(dest, ast.Name):
            raise Problem(dest.span, "the status of `write exclusive` must go to a register")
        words = [str(x) for x in c[2:-1] if isinstance(x, Token)]
        order = "release" if "release" in words else ""
        page = next(x for x in c[2:-1] if isinstance(x, ast.PageRef))
        via = next((x for x in c[2:-1] if isinstance(x, tuple)), ())
        return ast.Access(
            "write", page, dest=dest, value=c[-1], order=order, via=via, exclusive=True,
            span=self._span(meta),
        )  # fmt: skip

    def data_write(self, meta: Any, c: list[Any]) -> ast.Access:
        order = next((str(x) for x in c[1:-1] if isinstance(x, Token)), "")
        page = next(x for x in c[1:-1] if isinstance(x, ast.PageRef))
        via = next((x for x in c[1:-1] if isinstance(x, tuple)), ())
        return ast.Access(
            "write", page, value=c[-1], order=order, via=via, span=self._span(meta)
        )

    def via(self, meta: Any, c: list[Token]) -> tuple[ast.Name, ...]:
        return tuple(ast.Name(str(t), span=self._tok(t)) for t in c)

    def switch(self, meta: Any, c: list[Token]) -> ast.Switch:
        return ast.Switch(str(c[0]), span=self._span(meta))

    def free(self, meta: Any, c: list[Token]) -> ast.Free:
        return ast.Free(str(c[0]), span=self._span(meta))

    def complete(self, meta: Any, c: list[Any]) -> ast.Complete:
        return ast.Complete(c[0], span=self._span(meta))

    def await_stmt(self, meta: Any, c: list[Any]) -> ast.Await:
        return ast.Await(c[0], span=self._span(meta))

    def if_stmt(self, meta: Any, c: list[Any]) -> _Chain:
        chain = _Chain([(c[0], c[1], self._span(meta))])
        if len(c) == 3:
            chain.add_else(c[2])
        return chain

    def else_clause(self, meta: Any, c: list[Any]) -> _Else:
        return _Else(c[0], self._span(meta))

    def while_stmt(self, meta: Any, c: list[Any]) -> ast.While:
        return ast.While(c[0], c[1], span=self._span(meta))

    def loop_stmt(self, meta: Any, c: list[Any]) -> ast.Loop:
        return ast.Loop(c[0], span=self._span(meta))

    def repeat_stmt(self, meta: Any, c: list[Any]) -> ast.Repeat:
        return ast.Repeat(c[0], c[1], span=self._span(meta))

    def for_stmt(self, meta: Any, c: list[Any]) -> ast.For:
        return ast.For(str(c[0]), c[1], c[2], span=self._span(meta))

    def irq(self, meta: Any, c: list[Token]) -> ast.Irq:
        return ast.Irq(str(c[0]) == "on", span=self._span(meta))

    def assert_stmt(self, meta: Any, c: list[Any]) -> ast.Assert:
        return ast.Assert(c[0], span=self._span(meta))

    def skip(self, meta: Any, c: list[Any]) -> ast.Skip:
        return ast.Skip(span=self._span(meta))
