"""The checker's name resolution inside core and handler bodies.

Every name a body uses (register, handler parameter, shared word, param, page,
core, `for` variable) is resolved here, innermost scope first, and the
resolution is recorded in `Symbols.refs` for lowering (which never looks a name
up again). `check_body.py` checks the statements around them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from verifier.lang import ast
from verifier.lang.checked import Ref
from verifier.lang.diagnostics import Note
from verifier.lang.parse_hints import did_you_mean
from verifier.lang.symbols import Symbols


@dataclass
class Ctx:
    """Where a body is being checked: a single core, a family core or a handler."""

    kind: str  # 'core' | 'family' | 'handler'
    name: str
    family: str | None = None
    regs: set[str] = field(default_factory=set)
    params: dict[str, str] = field(default_factory=dict)  # handler param -> page|int|any
    loopvars: dict[str, str | None] = field(default_factory=dict)  # for var -> its family

    @property
    def where(self) -> str:
        return f"handler {self.name}" if self.kind == "handler" else f"core {self.name}"


# `pte(V).FIELD` (docs/page-tables.md): each is 0 or 1
PTE_FIELDS = ("present", "read", "write", "exec", "user", "global", "young", "dirty")
# the fields `fetch_set`/`fetch_clear` on pte(V) and `pte_set`/`pte_clear` change (arm64.md §1)
SET_FIELDS = ("present", "write", "exec", "user", "young", "dbm")


class Names:
    """Resolving and checking the names of one body (see the module docstring)."""

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

    def names_page(self, name: str) -> bool:
        """Does `name`, as a value in this body, denote a page?"""
        if name in self.ctx.loopvars:
            return False
        if name in self.ctx.params:
            return self.ctx.params[name] == "page"
        c = self.c
        blocked = name in c.vars or name in c.param_decls or name in self.ctx.loopvars
        return name in c.pages and not blocked and name not in self.ctx.regs

    # ------------------------------------------------------------ names

    def page(self, ref: ast.PageRef) -> None:
        c = self.c
        if ref.space is not None:
            self.page_in(ref, ref.space, ref.page)
            return
        kind = self.ctx.params.get(ref.page)
        if kind == "int":
            self.err(ref, f"'{ref.page}' is an integer parameter, not a page")
        elif kind is not None:
            c.resolve(ref, Ref("reg", ref.page))
        elif ref.page not in c.pages:
            hint = did_you_mean(ref.page, [*c.pages, *self.ctx.params])
            self.err(ref, f"unknown page '{ref.page}'" + hint)
        else:
            c.resolve(ref, Ref("page", ref.page))

    def page_in(self, node: ast.Node, space: str, page: str) -> None:
        """A page named with its space: `P.V`."""
        c = self.c
        if space not in c.spaces:
            self.err(node, f"unknown space '{space}'" + did_you_mean(space, c.spaces))
        elif page not in c.space_pages[space]:
            self.err(
                node,
                f"space {space} declares no page '{page}'"
                + did_you_mean(page, c.space_pages[space]),
            )
        else:
            c.resolve(node, Ref("page", page, space))

    def target(self, t: ast.Target) -> str | None:
        """Check a core or core set; return its family when all its cores share one."""
        c = self.c
        match t:
            case ast.TargetName(name=n):
                if n in self.ctx.loopvars:
                    c.resolve(t, Ref("loopvar", n))
                    return self.ctx.loopvars[n]
                if n in c.families:
                    self.err(
                        t, f"'{n}' is a core family: write {n}[*] for all of it or {n}[K] for one"
                    )
                elif n in c.vars or n in c.param_decls:
                    self.err(t, f"'{n}' is not a core: a set of cores is expected here")
                elif n not in c.cores:
                    self.err(
                        t,
                        f"unknown core '{n}' (not a core, a core family or a for variable)"
                        + did_you_mean(n, [*c.cores, *c.families, *self.ctx.loopvars]),
                    )
                else:
                    c.resolve(t, Ref("core", n))
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
            self.err(node, f"unknown core family '{f}'" + did_you_mean(f, self.c.families))
        return False

    def scalar_word(self, e: ast.Name) -> int:
        self.c.resolve(e, Ref("word", e.name))
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
        c.resolve(e, Ref("word", e.name))
        fam = v.family
        sub = e.index
        match sub:
            case ast.SelfRef():
                self.self_in(sub, fam)
            case ast.Name(name=n) if n in self.ctx.loopvars:
                c.resolve(sub, Ref("loopvar", n))
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
            case ast.PteLit(value=v):
                self.c.pte_value(v)
                return 0
            case ast.PteRead(page=p, field=f):
                self.page(p)
                self.pte_field(e, f)
                return 1
            case ast.SlotRead(table=t, index=i, field=f):
                self.c.table_slot(e, t, i)
                self.pte_field(e, f)
                return 1
            case ast.DirRead(dir=d, field=f):
                if d not in self.c.dirs:
                    self.err(e, f"unknown dir '{d}'" + did_you_mean(d, self.c.dirs))
                if f != "present":
                    self.err(e, f"unknown dir field '{f}' (expected present)")
                return 1
            case ast.Unary(operand=a):
                return self.expr(a)
            case ast.Binary(left=a, right=b):
                return self.expr(a) + self.expr(b)
            case ast.PteFields(value=v, op=o, fields=fs):
                for f in sorted(set(fs) - set(SET_FIELDS)):
                    what = f"pte_{o[6:]} cannot change PTE field '{f}'"
                    self.err(e, f"{what} (expected {', '.join(SET_FIELDS)})")
                if len(set(fs)) < len(fs):
                    self.err(e, f"pte_{o[6:]} names a field twice")
                return self.expr(v)
        return 0  # pragma: no cover

    def pte_field(self, e: ast.Node, f: str) -> None:
        """A field of `pte(V).f` or `pte(T[i]).f` ("": the whole value, `pte(V)`)."""
        if f and f not in PTE_FIELDS:
            self.err(
                e, f"unknown PTE field '{f}' (expected {', '.join(PTE_FIELDS)})"
                + did_you_mean(f, PTE_FIELDS)
            )  # fmt: skip

    def name(self, e: ast.Name) -> int:
        """Resolve a name read as a value: innermost scope first (for variable, handler
        parameter, register), then the spec's params and shared words."""
        n, c, ctx = e.name, self.c, self.ctx
        if n in ctx.loopvars:
            c.resolve(e, Ref("loopvar", n))
            return 0
        if n in ctx.params:
            if ctx.params[n] == "page":
                self.err(e, f"'{n}' is a page parameter, not a value")
            c.resolve(e, Ref("reg", n))
            return 0
        if n in c.params or n in c.param_decls:
            c.resolve(e, Ref("param", n, value=c.params.get(n, 0)))
            return 0
        if n in ctx.regs:
            c.resolve(e, Ref("reg", n))
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
