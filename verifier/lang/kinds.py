"""What each handler parameter holds: a page, an integer, or either.

The reference: "parameters may be pages or integers". A parameter's kind comes
from its uses in the body and from the handlers it is forwarded to: `invlpg p`
makes `p` a page, `acks += p` an integer, `ipi others g(p)` whatever `g`'s
parameter is. A parameter the body never uses accepts either (`any`); the call
sites then decide each argument by what it names.
"""

from __future__ import annotations

from collections.abc import Iterator

from verifier.lang import ast

PAGE_STMTS = (ast.PteWrite, ast.Invlpg, ast.Access, ast.Complete)


def walk(stmts: tuple[ast.Stmt, ...]) -> Iterator[ast.Stmt]:
    """Every statement of a body, nested ones included, in source order."""
    for s in stmts:
        yield s
        if isinstance(s, ast.If):
            yield from walk(s.then)
            yield from walk(s.orelse or ())
        elif isinstance(s, ast.While | ast.Loop | ast.Repeat | ast.For):
            yield from walk(s.body)


def nodes_in(e: ast.Expr | ast.Target) -> Iterator[ast.Expr | ast.Target]:
    """An expression and every expression inside it (per-core indices included)."""
    yield e
    match e:
        case ast.Index(index=i) | ast.TargetIndex(index=i):
            yield from nodes_in(i)
        case ast.Unary(operand=a) | ast.PteFields(value=a):
            yield from nodes_in(a)
        case ast.Binary(left=a, right=b):
            yield from nodes_in(a)
            yield from nodes_in(b)


def names_in(e: ast.Expr | ast.Target) -> Iterator[str]:
    """Every bare name an expression reads (per-core indices included)."""
    return (n.name for n in nodes_in(e) if isinstance(n, ast.Name))


def pte_reads_in(e: ast.Expr | ast.Target) -> Iterator[ast.PteRead]:
    """Every `pte(V).field` an expression reads."""
    return (n for n in nodes_in(e) if isinstance(n, ast.PteRead))


def value_exprs(s: ast.Stmt) -> Iterator[ast.Expr | ast.Target]:
    """The expressions a statement evaluates as values (IPI arguments apart)."""
    match s:
        case ast.Assign(target=t, value=v):
            yield t
            yield v
        case ast.Atomic(target=t, args=args):
            yield t
            yield from args
        case ast.Await(cond=e) | ast.Assert(cond=e) | ast.If(cond=e) | ast.While(cond=e):
            yield e
        case ast.Repeat(count=e):
            yield e
        case ast.Access(dest=d, value=v, via=via):
            if d is not None:
                yield d
            if v is not None:
                yield v
            yield from via
        case ast.Tlbi(via=via):
            yield from via
        case ast.Ipi(targets=ts):
            yield from ts
    if isinstance(s, ast.Atomic) and s.dest is not None:
        yield ast.Name(s.dest, span=s.span)


def infer(handlers: dict[str, ast.HandlerDecl]) -> dict[str, dict[str, str]]:
    """handler -> parameter -> 'page' | 'int' | 'any', up to a fixpoint over forwarding."""
    kinds = {h.name: {p.name: "any" for p in h.params} for h in handlers.values()}
    changed = True
    while changed:
        changed = False
        for h in handlers.values():
            mine = kinds[h.name]
            for param, kind in _uses(h, kinds):
                if param in mine and mine[param] != "page" and mine[param] != kind:
                    mine[param], changed = kind, True
    return kinds


def _uses(h: ast.HandlerDecl, kinds: dict[str, dict[str, str]]) -> Iterator[tuple[str, str]]:
    """(name, kind) for every use of a bare name in `h` that decides a kind. A page use
    wins over a value use (the checker then reports the value use)."""
    for s in walk(h.body):
        page = (
            getattr(s, "page", None) if isinstance(s, (*PAGE_STMTS, ast.Tlbi, ast.Sfence)) else None
        )
        if page is not None and page.space is None:
            yield page.page, "page"
        for e in value_exprs(s):
            for r in pte_reads_in(e):
                if r.page.space is None:
                    yield r.page.page, "page"
            for n in names_in(e):
                yield n, "int"
        if isinstance(s, ast.Ipi):
            callee = kinds.get(s.handler, {})
            for kind, arg in zip(callee.values(), s.args, strict=False):
                if isinstance(arg, ast.Name) and kind != "any":
                    yield arg.name, kind
                elif not isinstance(arg, ast.Name | ast.PageName):
                    for n in names_in(arg):
                        yield n, "int"
