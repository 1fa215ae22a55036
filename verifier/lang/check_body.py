"""The checker's second half: statements and expressions of core and handler bodies.

`check.py` builds the symbol tables; this module resolves every name used in a
body (register, shared word, param, page, core) and enforces the per-statement
rules (at most one shared word, registers vs shared words, handler arguments).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from verifier.lang import ast
from verifier.lang.diagnostics import Note
from verifier.lang.parse_hints import did_you_mean
from verifier.lang.symbols import Symbols

MAX_REPEAT = 1024
ATOMIC_ARGS = {"fetch_add": 1, "swap": 1, "cas": 2, "+=": 1}


@dataclass
class Ctx:
    """Where a body is being checked: a single core, a family core or a handler."""

    kind: str  # 'core' | 'family' | 'handler'
    name: str
    family: str | None = None
    regs: set[str] = field(default_factory=set)
    params: dict[str, str] = field(default_factory=dict)  # handler param -> 'page' | 'int'
    loopvars: dict[str, str | None] = field(default_factory=dict)  # for var -> its family

    @property
    def where(self) -> str:
        return f"handler {self.name}" if self.kind == "handler" else f"core {self.name}"


def walk(stmts: tuple[ast.Stmt, ...]) -> Iterator[ast.Stmt]:
    """Every statement of a body, nested ones included, in source order."""
    for s in stmts:
        yield s
        if isinstance(s, ast.If):
            yield from walk(s.then)
            yield from walk(s.orelse or ())
        elif isinstance(s, ast.While | ast.Loop | ast.Repeat | ast.For):
            yield from walk(s.body)


def check_body(checker: Symbols, body: tuple[ast.Stmt, ...], ctx: Ctx) -> None:
    """Check one core or handler body, collecting its registers first."""
    b = _Body(checker, ctx)
    for s in walk(body):
        if (
            isinstance(s, ast.Assign)
            and isinstance(s.target, ast.Name)
            and b.is_register(s.target.name)
        ):
            ctx.regs.add(s.target.name)
        elif isinstance(s, ast.Atomic) and s.dest is not None and b.is_register(s.dest):
            ctx.regs.add(s.dest)
    b.stmts(body)


class _Body:
    def __init__(self, checker: Symbols, ctx: Ctx) -> None:
        self.c, self.ctx = checker, ctx

    def is_register(self, name: str) -> bool:
        c = self.c
        return name not in c.vars and name not in c.params and name not in c.param_decls

    def err(self, node: ast.Node, message: str, *notes: Note) -> None:
        self.c.err(node.span, message, *notes)

    def one_word(self, node: ast.Node, count: int) -> None:
        if count > 1:
            self.err(
                node, "more than one shared word in one statement (load it into a register first)"
            )

    # ------------------------------------------------------------ statements

    def stmts(self, body: tuple[ast.Stmt, ...]) -> None:
        for s in body:
            self.stmt(s)

    def stmt(self, s: ast.Stmt) -> None:
        match s:
            case ast.PteWrite(page=page, value=value):
                self.page(page)
                self.c.pte_value(value)
            case ast.Assign():
                self.assign(s)
            case ast.Atomic():
                self.atomic(s)
            case ast.Ipi():
                self.ipi(s)
            case ast.Invlpg(page=p) | ast.Access(page=p) | ast.Complete(page=p):
                self.page(p)
            case ast.FlushAsid(space=sp) | ast.Switch(space=sp):
                if sp not in self.c.space_pages:
                    self.err(s, f"unknown space '{sp}'")
            case ast.Free(frame=f):
                if f not in self.c.frames:
                    self.err(s, f"unknown frame '{f}'")
            case ast.Await(cond=e) | ast.Assert(cond=e):
                self.one_word(s, self.expr(e))
            case ast.If(cond=e, then=then, orelse=orelse):
                self.one_word(e, self.expr(e))
                self.stmts(then)
                self.stmts(orelse or ())
            case ast.While(cond=e, body=body):
                self.one_word(e, self.expr(e))
                self.stmts(body)
            case ast.Loop(body=body):
                self.stmts(body)
            case ast.Repeat(count=count, body=body):
                self.c.bounded(count, "repeat count", 0, MAX_REPEAT)
                self.stmts(body)
            case ast.For():
                self.for_(s)

    def assign(self, s: ast.Assign) -> None:
        t, c = s.target, self.c
        count = self.expr(s.value)
        if isinstance(t, ast.Index):
            count += self.index(t)
        elif t.name in c.param_decls:
            self.err(t, f"cannot assign to param '{t.name}'")
        elif t.name in self.ctx.loopvars:
            self.err(t, f"cannot assign to '{t.name}': it names a core")
        elif t.name in c.vars:
            count += self.scalar_word(t)
        elif self.ctx.params.get(t.name) == "page":
            self.err(t, f"cannot assign to '{t.name}': it is a page parameter")
        self.one_word(s, count)

    def atomic(self, s: ast.Atomic) -> None:
        c, op = self.c, s.op
        want = ATOMIC_ARGS[op]
        if len(s.args) != want:
            self.err(s, f"{op} takes {want + 1} arguments, got {len(s.args) + 1}")
        t = s.target
        if isinstance(t, ast.Index):
            self.index(t)
        elif t.name in c.vars:
            self.scalar_word(t)
        else:
            what = "x += e" if op == "+=" else op
            self.err(
                t,
                f"{what} needs a shared word: '{t.name}' is not a var"
                + did_you_mean(t.name, c.vars),
            )
        if s.dest is not None and s.dest in c.vars:
            note = Note(c.vars[s.dest].span, f"'{s.dest}' declared here")
            self.err(s, f"'{s.dest}' is a shared word: the result of {op} goes to a register", note)
        elif s.dest is not None and s.dest in c.param_decls:
            self.err(s, f"cannot assign to param '{s.dest}'")
        if sum(self.expr(a) for a in s.args) > 0:
            self.err(
                s, "more than one shared word in one statement (load it into a register first)"
            )

    def ipi(self, s: ast.Ipi) -> None:
        for t in s.targets:
            self.target(t)
        h = self.c.handlers.get(s.handler)
        if h is None:
            self.err(s, f"unknown handler '{s.handler}'" + did_you_mean(s.handler, self.c.handlers))
            # its parameters are unknown: a page argument is no follow-on error
            count = sum(
                self.expr(a)
                for a in s.args
                if not isinstance(a, ast.PageName)
                and not (isinstance(a, ast.Name) and a.name in self.c.pages)
            )
            self.one_word(s, count)
            return
        if len(s.args) != len(h.params):
            note = Note(h.span, f"handler {h.name} declared here")
            n = len(h.params)
            self.err(
                s, f"handler {h.name} takes {n} argument{'s' * (n != 1)}, got {len(s.args)}", note
            )
        count = 0
        for param, arg in zip(h.params, s.args, strict=False):
            count += self.ipi_arg(h.name, param.name, self.c.kinds[h.name][param.name], arg)
        self.one_word(s, count)

    def ipi_arg(self, handler: str, param: str, kind: str, arg: ast.Expr) -> int:
        is_page = isinstance(arg, ast.PageName) or (
            isinstance(arg, ast.Name) and self.names_page(arg.name)
        )
        if kind == "page" and not is_page:
            self.err(arg, f"handler {handler} expects a page for parameter '{param}'")
        elif kind == "int" and is_page:
            self.err(
                arg, f"handler {handler} expects an integer for parameter '{param}', not a page"
            )
        if isinstance(arg, ast.PageName):
            self.page(ast.PageRef(arg.space, arg.page, span=arg.span))
            return 0
        if is_page:
            return 0
        return self.expr(arg)

    def names_page(self, name: str) -> bool:
        """Does `name`, as a value in this body, denote a page?"""
        if name in self.ctx.params:
            return self.ctx.params[name] == "page"
        c = self.c
        blocked = name in c.vars or name in c.param_decls or name in self.ctx.loopvars
        return name in c.pages and not blocked and name not in self.ctx.regs

    def for_(self, s: ast.For) -> None:
        fam = self.target(s.over)
        saved = dict(self.ctx.loopvars)
        self.ctx.loopvars[s.var] = fam
        self.stmts(s.body)
        self.ctx.loopvars = saved

    # ------------------------------------------------------------ names

    def page(self, ref: ast.PageRef) -> None:
        c = self.c
        if ref.space is not None:
            if ref.space not in c.spaces:
                self.err(ref, f"unknown space '{ref.space}'")
            elif ref.page not in c.space_pages[ref.space]:
                self.err(ref, f"space {ref.space} declares no page '{ref.page}'")
            return
        kind = self.ctx.params.get(ref.page)
        if kind == "int":
            self.err(ref, f"'{ref.page}' is an integer parameter, not a page")
        elif kind is None and ref.page not in c.pages:
            self.err(ref, f"unknown page '{ref.page}'")

    def target(self, t: ast.Target) -> str | None:
        """Check a core or core set; return its family when all its cores share one."""
        c = self.c
        match t:
            case ast.TargetName(name=n):
                if n in self.ctx.loopvars:
                    return self.ctx.loopvars[n]
                if n in c.families:
                    self.err(
                        t, f"'{n}' is a core family: write {n}[*] for all of it or {n}[K] for one"
                    )
                elif n in c.vars or n in c.param_decls:
                    self.err(t, f"'{n}' is not a core: a set of cores is expected here")
                elif n not in c.cores:
                    self.err(t, f"unknown core '{n}' (not a core, a core family or a for variable)")
                return None
            case ast.TargetIndex(family=f, index=e):
                if self.family(t, f):
                    lo, hi = c.families[f]
                    c.bounded(e, f"index of {f}", lo, hi)
                return f
            case ast.TargetFamily(family=f):
                self.family(t, f)
                return f
        fams = {core.name if core.lo is not None else None for core in c.cores.values()}
        return fams.pop() if len(fams) == 1 else None

    def family(self, node: ast.Node, f: str) -> bool:
        if f in self.c.families:
            return True
        if f in self.c.cores and self.c.cores[f].lo is None:
            self.err(node, f"'{f}' is a single core, not a core family")
        elif f not in self.c.cores:
            self.err(node, f"unknown core family '{f}'")
        return False

    def scalar_word(self, e: ast.Name) -> int:
        v = self.c.vars[e.name]
        if v.family is not None:
            note = Note(v.span, f"'{e.name}' declared here")
            self.err(
                e,
                f"'{e.name}' is a per-core variable: index it ({e.name}[self] or {e.name}[c])",
                note,
            )
        return 1

    def index(self, e: ast.Index) -> int:
        """Check one word of a per-core variable; returns 1 (a shared word)."""
        c = self.c
        v = c.vars.get(e.name)
        if v is None:
            self.err(e, f"unknown variable '{e.name}'")
            return 1
        if v.family is None:
            self.err(e, f"'{e.name}' is not a per-core variable; it takes no index")
            return 1
        fam = v.family
        sub = e.index
        match sub:
            case ast.SelfRef():
                self.self_in(sub, fam)
            case ast.Name(name=n) if n in self.ctx.loopvars:
                if self.ctx.loopvars[n] != fam:
                    self.err(sub, f"'{n}' may name a core outside family {fam}")
            case ast.Name(name=n) if n in c.cores:
                self.err(sub, f"'{n}' is not a core of family {fam}")
            case ast.TargetIndex(family=f) if f == fam:
                self.target(sub)
            case ast.TargetIndex(family=f):
                self.err(sub, f"{f}[...] is not a core of family {fam}")
            case _:
                self.err(
                    sub,
                    f"index {e.name} with a core of family {fam}: self, a for variable or {fam}[K]",
                )
        return 1

    def self_in(self, node: ast.Node, fam: str) -> None:
        ctx = self.ctx
        if ctx.kind == "core":
            self.err(node, f"'self' outside a core family: core {ctx.name} is a single core")
        elif ctx.kind == "family" and ctx.family != fam:
            self.err(node, f"'self' is a core of family {ctx.family}, not {fam}")
        # In a handler `self` is whichever core runs it: on a core outside the family the
        # access is a `range` problem at run time (see lower.py), not an error in the spec.

    def expr(self, e: ast.Expr) -> int:
        """Check an expression; return how many shared-word loads it makes."""
        match e:
            case ast.Num(value=v):
                self.c.literal(e, v)
                return 0
            case ast.Name():
                return self.name(e)
            case ast.SelfRef():
                if self.ctx.kind == "core":
                    self.err(
                        e, f"'self' outside a core family: core {self.ctx.name} is a single core"
                    )
                return 0
            case ast.Index():
                return self.index(e)
            case ast.PageName():
                self.err(e, "a page is not a value (pages are only IPI arguments)")
                return 0
            case ast.Unary(operand=a):
                return self.expr(a)
            case ast.Binary(left=a, right=b):
                return self.expr(a) + self.expr(b)
        return 0  # pragma: no cover

    def name(self, e: ast.Name) -> int:
        n, c, ctx = e.name, self.c, self.ctx
        if n in ctx.params:
            if ctx.params[n] == "page":
                self.err(e, f"'{n}' is a page parameter, not a value")
            return 0
        if n in ctx.loopvars or n in c.params or n in c.param_decls or n in ctx.regs:
            return 0
        if n in c.vars:
            return self.scalar_word(e)
        if n in c.pages:
            self.err(e, f"'{n}' is a page, not a value")
        elif n in c.cores:
            self.err(e, f"'{n}' is a core, not a value")
        else:
            known = [*c.vars, *ctx.params, *ctx.regs, *ctx.loopvars, *c.params, *c.param_decls]
            self.err(
                e,
                f"unknown name '{n}' (not a var, a param or a register assigned in {ctx.where})"
                + did_you_mean(n, known),
            )
        return 0
