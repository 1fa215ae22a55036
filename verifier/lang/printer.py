"""AST -> canonical text: one statement per line, 4-space indents, canonical
permissions and the fewest parentheses the precedence rules allow.

`parse_text(format_spec(s)) == s` for every spec the parser produces, and
formatting is idempotent.
"""

from __future__ import annotations

from verifier.lang import ast
from verifier.lang.checked import CheckedSpec

INDENT = "    "
PRECEDENCE = {
    "||": 1, "&&": 2, "==": 3, "!=": 3, "<": 3, "<=": 3, ">": 3, ">=": 3,
    "+": 4, "-": 4, "*": 5, "/": 5, "%": 5,
}  # fmt: skip
UNARY = 6


def format_checked(checked: CheckedSpec) -> str:
    """The canonical text of a checked spec, params showing their effective (-D) values."""
    values = dict(checked.params)
    decls = tuple(
        ast.ParamDecl(d.name, ast.Num(values[d.name]), span=d.span)
        if isinstance(d, ast.ParamDecl) and d.name in values
        else d
        for d in checked.spec.decls
    )
    return format_spec(ast.Spec(decls, file=checked.spec.file, span=checked.spec.span))


def format_spec(spec: ast.Spec) -> str:
    lines: list[str] = []
    prev: type | None = None
    for d in spec.decls:
        # A blank line between groups of declarations, and around every block.
        if lines and (
            type(d) is not prev or isinstance(d, ast.CoreDecl | ast.HandlerDecl | ast.SpaceDecl)
        ):
            lines.append("")
        lines += _decl(d)
        prev = type(d)
    return "".join(line + "\n" for line in lines)


def _decl(d: ast.Decl) -> list[str]:
    match d:
        case ast.SpecTitle(title=t):
            return [f'spec "{_escape(t)}"']
        case ast.ModelDecl(model=m):
            return [f"model {m}"]
        case ast.ParamDecl(name=n, value=v):
            return [f"param {n} = {expr(v)}"]
        case ast.OptionDecl(name=n, value=v, cores=cs):
            return [f"option {n} = {v}" + (f" for {', '.join(cs)}" if cs else "")]
        case ast.FrameDecl(names=names, data=data):
            inits = data or (None,) * len(names)
            items = (
                i.name + ("" if d is None else f" = {expr(d)}")
                for i, d in zip(names, inits, strict=True)
            )
            return ["frame " + ", ".join(items)]
        case ast.TableDecl(names=names):
            return ["table " + ", ".join(i.name for i in names)]
        case ast.DirDecl():
            return [_dir(d)]
        case ast.PageDecl():
            return [_page(d)]
        case ast.SpaceDecl(name=n, asid=a, pages=pages, dirs=dirs):
            head = f"space {n} asid {expr(a)}"
            items = [_dir(x) for x in dirs] + [_page(p) for p in pages]
            return [head + " {", *(INDENT + x for x in items), "}"]
        case ast.VarDecl(name=n, family=f, init=init, lo=lo, hi=hi):
            fam = f"[{f}]" if f is not None else ""
            rng = f" : {expr(lo)}..{expr(hi)}" if lo is not None and hi is not None else ""
            return [f"var {n}{fam}{rng} = {expr(init)}"]
        case ast.CoreDecl(name=n, lo=lo, hi=hi, space=sp, body=body, fault=fault, resume=res):
            rng = f"[{expr(lo)}..{expr(hi)}]" if lo is not None and hi is not None else ""
            where = f" in {sp}" if sp is not None else ""
            out = _block(f"core {n}{rng}{where}", body, 0)
            if fault is not None:
                out[-1:] = _block("} on fault" + " resume" * res, fault, 0)
            return out
        case ast.HandlerDecl(name=n, params=params, body=body):
            ps = "(" + ", ".join(p.name for p in params) + ")" if params else ""
            return _block(f"handler {n}{ps}", body, 0)
        case ast.ExpectDecl(verdict=v, kinds=kinds, models=models):
            text = f"expect {v}"
            if kinds:
                text += " " + ", ".join(kinds)
            if models is not None:
                text += " under " + ", ".join(models)
            return [text]
    raise AssertionError(f"unknown declaration {d!r}")  # pragma: no cover


def _escape(title: str) -> str:
    return title.replace("\\", "\\\\").replace('"', '\\"')


def _page(p: ast.PageDecl) -> str:
    at = f" at {p.at[0]}[{expr(p.at[1])}]" if p.at is not None else ""
    if isinstance(p.value, ast.Invalid):
        return f"page {p.name}{at} {_pte(p.value)}"
    return f"page {p.name}{at} -> {_pte(p.value)}"


def _dir(d: ast.DirDecl) -> str:
    return f"dir {d.name} invalid" if d.table is None else f"dir {d.name} -> {d.table}"


def _pte(v: ast.PteValue | ast.Name) -> str:
    if isinstance(v, ast.Name):
        return v.name
    if isinstance(v, ast.Invalid):
        return "invalid" if v.kept is None else f"invalid {_pte(v.kept)}"
    flags = " global" * v.global_ + " old" * v.old + " dbm" * v.dbm + " user" * v.user
    return f"{v.frame} {v.perms}{flags}"


def _block(head: str, body: tuple[ast.Stmt, ...], depth: int) -> list[str]:
    pad = INDENT * depth
    if not body:
        return [f"{pad}{head} {{", f"{pad}}}"]
    out = [f"{pad}{head} {{"]
    for s in body:
        out += _stmt(s, depth + 1)
    return [*out, f"{pad}}}"]


def _stmt(s: ast.Stmt, depth: int) -> list[str]:
    pad = INDENT * depth
    match s:
        case ast.If():
            return _if(s, depth)
        case ast.While(cond=c, body=body):
            return _block(f"while {expr(c)}", body, depth)
        case ast.Loop(body=body):
            return _block("loop", body, depth)
        case ast.Repeat(count=c, body=body):
            return _block(f"repeat {expr(c)}", body, depth)
        case ast.For(var=v, over=t, body=body):
            return _block(f"for {v} in {target(t)}", body, depth)
    return [pad + simple_stmt(s)]


def _if(s: ast.If, depth: int) -> list[str]:
    out = _block(f"if {expr(s.cond)}", s.then, depth)
    orelse = s.orelse
    while orelse is not None:
        out.pop()
        pad = INDENT * depth
        if len(orelse) == 1 and isinstance(orelse[0], ast.If):
            inner = orelse[0]
            more = _block(f"if {expr(inner.cond)}", inner.then, depth)
            out += [f"{pad}}} else {more[0].lstrip()}", *more[1:]]
            orelse = inner.orelse
        else:
            more = _block("", orelse, depth)
            out += [f"{pad}}} else {more[0].lstrip()}", *more[1:]]
            orelse = None
    return out


def simple_stmt(s: ast.Stmt) -> str:
    """One line of text for a statement without a body (also used by trace output)."""
    match s:
        case ast.PteWrite(page=p, value=v, order=o):
            return f"pte {o + ' ' if o else ''}{page_ref(p)} := {_pte(v)}"
        case ast.Assign(target=t, value=v):
            return f"{expr(t)} := {expr(v)}"
        case ast.Atomic(dest=d, op="+=", target=t, args=args):
            return f"{expr(t)} += {', '.join(expr(a) for a in args)}"
        case ast.Atomic(dest=d, op=op, target=t, args=args, order=o, via=via, fields=fs):
            call = f"{op}{' ' + o if o else ''}({', '.join([*(expr(a) for a in (t, *args)), *fs])})"
            call += " via " + ", ".join(n.name for n in via) if via else ""
            return call if d is None else f"{d} := {call}"
        case ast.Fence(kind=k):
            return "fence" if k == "full" else f"fence {k}"
        case ast.Ipi(targets=ts, handler=h, args=args, has_parens=parens):
            call = f"{h}({', '.join(expr(a) for a in args)})" if args or parens else h
            return f"ipi {', '.join(target(t) for t in ts)} {call}"
        case ast.Invlpg(page=p):
            return f"invlpg {page_ref(p)}"
        case ast.FlushAsid(space=sp):
            return f"flush asid {sp}"
        case ast.FlushAll():
            return "flush all"
        case ast.Access(kind=k, page=p, dest=d, value=v, order=o, via=via, exclusive=x):
            where = (f"{o} " if o else "") + ("exclusive " if x else "") + page_ref(p)
            where += " via " + ", ".join(n.name for n in via) if via else ""
            if d is not None and v is not None:
                return f"{d.name} := write {where} := {expr(v)}"
            if d is not None:
                return f"{d.name} := read {where}"
            if v is not None:
                return f"write {where} := {expr(v)}"
            return f"{k} {page_ref(p)}"
        case ast.Barrier(kind=k, which=w):
            return k if w == "full" else f"{k} {w}"
        case ast.Tlbi(scope=sc, broadcast=b, page=p, space=sp, leaf=leaf, via=via):
            what = {"page": page_ref(p) if p else "", "asid": f"asid {sp}", "all": "all"}[sc]
            what += (" leaf" if leaf else "") + (" via " + ", ".join(n.name for n in via) if via else "")
            return "tlbi " + ("is " if b else "") + what
        case ast.RvFence(pred=a, succ=b, tso=tso):
            return "fence.tso" if tso else f"fence {a},{b}"
        case ast.Sfence(page=p, space=sp):
            return "sfence.vma" + (f" {page_ref(p)}" if p else f" asid {sp}" if sp else "")
        case ast.Switch(space=sp):
            return f"switch {sp}"
        case ast.Free(frame=f):
            return f"free {f}"
        case ast.Complete(page=p):
            return f"complete {page_ref(p)}"
        case ast.Await(cond=c):
            return f"await {expr(c)}"
        case ast.Irq(on=on):
            return "irq on" if on else "irq off"
        case ast.Assert(cond=c):
            return f"assert {expr(c)}"
        case ast.Skip():
            return "skip"
        case ast.DirWrite(dir=d, table=t):
            return f"dir {d} := {t if t is not None else 'invalid'}"
        case ast.SlotWrite(table=t, index=i, value=v):
            return f"pte {t}[{expr(i)}] := {_pte(v)}"
        case ast.CopyFrame(src=a, dst=b):
            return f"copy {a} to {b}"
        case ast.ZeroFrame(frame=f):
            return f"zero {f}"
    return _stmt(s, 0)[0]  # a compound statement: its first line


def page_ref(p: ast.PageRef) -> str:
    return p.page if p.space is None else f"{p.space}.{p.page}"


def target(t: ast.Target) -> str:
    match t:
        case ast.TargetName(name=n):
            return n
        case ast.TargetIndex(family=f, index=i):
            return f"{f}[{expr(i)}]"
        case ast.TargetFamily(family=f):
            return f"{f}[*]"
        case ast.TargetOthers():
            return "others"
        case ast.TargetAll():
            return "all"
    raise AssertionError(f"unknown target {t!r}")  # pragma: no cover


def expr(e: ast.Expr | ast.Target, prec: int = 0) -> str:
    """Text of an expression inside a context of precedence `prec` (0: anywhere)."""
    match e:
        case ast.Num(value=v):
            return str(v) if v >= 0 or prec < UNARY else f"({v})"
        case ast.Name(name=n):
            return n
        case ast.SelfRef():
            return "self"
        case ast.Index(name=n, index=i):
            return f"{n}[{expr(i)}]"
        case ast.PageName(space=sp, page=pg):
            return f"{sp}.{pg}"
        case ast.PteRead(page=p, field=f):
            return f"pte({page_ref(p)})" + (f".{f}" if f else "")
        case ast.PteLit(value=v):
            return f"({_pte(v)})"
        case ast.PteFields(value=v, op=o, fields=fs):
            return f"pte_{o[6:]}({', '.join([expr(v), *fs])})"
        case ast.SlotRead(table=t, index=i, field=f):
            return f"pte({t}[{expr(i)}]).{f}"
        case ast.DirRead(dir=d, field=f):
            return f"dir({d}).{f}"
        case ast.Unary(op=op, operand=a):
            text = op + expr(a, UNARY)
            return f"({text})" if prec > UNARY else text
        case ast.Binary(op=op, left=a, right=b):
            level = PRECEDENCE[op]
            text = f"{expr(a, level)} {op} {expr(b, level + 1)}"
            return f"({text})" if level < prec else text
    return target(e)  # type: ignore[arg-type]
