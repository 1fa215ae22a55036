"""The checker's second half: the statements of core and handler bodies.

`check.py` builds the symbol tables; this module enforces the per-statement rules
(at most one shared word, registers vs shared words, handler arguments) and
`check_names.py` resolves every name a statement uses.
"""

from __future__ import annotations

from verifier.lang import ast
from verifier.lang.check_names import SET_FIELDS, Ctx, Names
from verifier.lang.check_ptevalues import check_pte_values, pte_registers
from verifier.lang.checked import Ref
from verifier.lang.diagnostics import Note
from verifier.lang.kinds import walk
from verifier.lang.parse_hints import did_you_mean
from verifier.lang.symbols import Symbols

MAX_REPEAT = 1024
ATOMIC_ARGS = {"fetch_add": 1, "swap": 1, "cas": 2, "+=": 1, "fetch_set": 1, "fetch_clear": 1}
ON_PTE = ("swap", "cas", "fetch_set", "fetch_clear", "load_exclusive", "store_exclusive")
ATOMIC_ARGS |= {"fetch_xor": 1, "load_exclusive": 0, "store_exclusive": 1}  # arm64.md §1


def check_body(checker: Symbols, body: tuple[ast.Stmt, ...], ctx: Ctx) -> None:
    """Check one core or handler body, collecting its registers first.

    A register may not be named like a page (a located error): `read V` and `ipi c h(V)`
    would otherwise depend on which reading wins. A handler parameter named like a page
    is no register of that kind: inside its handler it shadows the page (scoping)."""
    b = _Body(checker, ctx)
    for s in walk(body):
        name = None
        if isinstance(s, ast.Assign) and isinstance(s.target, ast.Name):
            name = s.target.name
        elif isinstance(s, ast.Atomic):
            name = s.dest
        elif isinstance(s, ast.Access) and s.dest is not None:
            name = s.dest.name
        if name is None or not b.is_register(name) or name in ctx.regs:
            continue
        ctx.regs.add(name)
        if name in checker.pages and name not in ctx.params:
            note = Note(checker.pages[name].span, f"page '{name}' declared here")
            b.err(s, f"register '{name}' is named like a page: rename one of them", note)
    b.stmts(body)
    stmts = list(walk(body))
    check_pte_values(stmts, pte_registers(stmts, b.is_register), b.err)


class _Body(Names):
    """The statements of one body."""

    # ------------------------------------------------------------ statements

    def stmts(self, body: tuple[ast.Stmt, ...]) -> None:
        for s in body:
            self.stmt(s)

    def stmt(self, s: ast.Stmt) -> None:
        match s:
            case ast.PteWrite(page=page, value=ast.Name() as value):
                self.page(page)
                if self.expr(value):
                    self.err(value, f"'{value.name}' is a shared word: `pte V := r` stores the "
                             "PTE value a register holds")  # fmt: skip
            case ast.PteWrite(page=page, value=value):
                self.page(page)
                self.c.pte_value(value)
            case ast.Assign():
                self.assign(s)
            case ast.Atomic():
                self.atomic(s)
            case ast.Ipi():
                self.ipi(s)
            case ast.Access(page=p, dest=d, value=v, via=via) if d is not None or v is not None:
                self.page(p)
                for n in via:
                    self.via_register(n)
                if d is not None:
                    self.register_target(d)
                if v is not None:
                    self.one_word(s, self.expr(v) + 1)
            case ast.Invlpg(page=p) | ast.Access(page=p) | ast.Complete(page=p):
                self.page(p)
            case ast.Tlbi(page=p) | ast.Sfence(page=p) if p is not None:
                self.page(p)
                for n in getattr(s, "via", ()):
                    self.via_register(n)
            case ast.Tlbi(space=sp) | ast.Sfence(space=sp) if sp is not None:
                if sp not in self.c.space_pages:
                    self.err(s, f"unknown space '{sp}'")
            case ast.FlushAsid(space=sp) | ast.Switch(space=sp):
                if sp not in self.c.space_pages:
                    self.err(s, f"unknown space '{sp}'" + did_you_mean(sp, self.c.space_pages))
            case ast.Free(frame=f):
                if f not in self.c.frames:
                    self.err(s, f"unknown frame '{f}'" + did_you_mean(f, self.c.frames))
            case ast.CopyFrame(src=a, dst=b):
                self.data_frame(s, a)
                self.data_frame(s, b)
                if a == b:
                    self.err(s, f"copy {a} to itself")
            case ast.ZeroFrame(frame=f):
                self.data_frame(s, f)
            case ast.SlotWrite(table=t, index=i, value=value):
                self.c.table_slot(s, t, i)
                self.c.pte_value(value)
            case ast.DirWrite(dir=d, table=t):
                if d not in self.c.dirs:
                    self.err(s, f"unknown dir '{d}'" + did_you_mean(d, self.c.dirs))
                self.c.dir_target(s, t)
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

    def data_frame(self, s: ast.Stmt, f: str) -> None:
        if f in self.c.tables:
            self.err(s, f"'{f}' is a page table: copy and zero take data frames")
        elif f not in self.c.frames:
            self.err(s, f"unknown frame '{f}'" + did_you_mean(f, self.c.frames))

    def assign(self, s: ast.Assign) -> None:
        t = s.target
        count = self.expr(s.value)
        if isinstance(t, ast.Index):
            count += self.index(t)
        elif not self.assignable(t):
            pass
        elif t.name in self.c.vars:
            count += self.scalar_word(t)
        else:
            self.c.resolve(t, Ref("reg", t.name))
        self.one_word(s, count)

    def assignable(self, t: ast.Name) -> bool:
        """Report (and say False) when ``t`` names a param, a core or a page parameter."""
        if t.name in self.c.param_decls:
            self.err(t, f"cannot assign to param '{t.name}'")
        elif t.name in self.ctx.loopvars:
            self.err(t, f"cannot assign to '{t.name}': it names a core")
        elif self.ctx.params.get(t.name) == "page":
            self.err(t, f"cannot assign to '{t.name}': it is a page parameter")
        else:
            return True
        return False

    def register_target(self, t: ast.Name) -> None:
        """``t`` receives a value in a register (created by this assignment)."""
        if not self.assignable(t):
            return
        if t.name in self.c.vars:
            self.err(t, f"'{t.name}' is a shared word: `read V` loads into a register")
        else:
            self.c.resolve(t, Ref("reg", t.name))

    def via_register(self, n: ast.Name) -> None:
        """``n`` in `via n`: a register the access's address is computed from."""
        if not self.is_register(n.name) or n.name not in self.ctx.regs:
            self.err(n, f"'{n.name}' after `via` must be a register this core sets")
            return
        self.expr(n)

    def atomic(self, s: ast.Atomic) -> None:
        c, op = self.c, s.op
        want = ATOMIC_ARGS[op]
        t = s.target
        if isinstance(t, ast.PteRead) and op in ("fetch_set", "fetch_clear"):
            self.pte_fields(s)
        elif len(s.args) != want:
            self.err(s, f"{op} takes {want + 1} arguments, got {len(s.args) + 1}")
        if isinstance(t, ast.PteRead):  # on a PTE (docs/arm64.md §1, atomics)
            self.page(t.page)
            if op not in ON_PTE:
                self.err(s, f"{op} on pte(V): only {', '.join(ON_PTE)} act on a PTE")
            exclusive = {"load_exclusive": "acquire", "store_exclusive": "release"}.get(op)
            if exclusive and s.order not in ("", "relaxed", exclusive):
                self.err(s, f"{op} is relaxed or {exclusive}")
        elif op in ("load_exclusive", "store_exclusive"):
            self.err(s, f"{op} acts on pte(V) (on data: `read exclusive V`, `write exclusive`)")
        elif isinstance(t, ast.Index):
            self.index(t)
        elif t.name in c.vars:
            self.scalar_word(t)
        elif self.names_page(t.name):  # through translation, on the frame's data word
            kind = self.ctx.params.get(t.name)
            c.resolve(t, Ref("reg", t.name) if kind is not None else Ref("page", t.name))
        else:
            what = "x += e" if op == "+=" else op
            self.err(
                t,
                f"{what} needs a shared word, a page or pte(V): '{t.name}' is not a var or a page"
                + did_you_mean(t.name, [*c.vars, *c.pages]),
            )
        through = isinstance(t, ast.PteRead) or (isinstance(t, ast.Name) and self.names_page(t.name))
        if s.via and not through:
            self.err(s.via[0], "`via` names the registers of a page's address: not for a word")
        for n in s.via:
            self.via_register(n)
        if s.dest is not None and s.dest in c.vars:
            note = Note(c.vars[s.dest].span, f"'{s.dest}' declared here")
            self.err(s, f"'{s.dest}' is a shared word: the result of {op} goes to a register", note)
        elif s.dest is not None and s.dest in c.param_decls:
            self.err(s, f"cannot assign to param '{s.dest}'")
        words = sum(self.expr(a) for a in s.args)
        if words > 0:
            self.err(
                s, "more than one shared word in one statement (load it into a register first)"
            )

    def pte_fields(self, s: ast.Atomic) -> None:
        """`fetch_set(pte(V), F, ...)`: at least one field, each settable, once."""
        if not s.fields:
            self.err(s, f"{s.op}(pte(V), ...) names the fields it changes: "
                     f"{', '.join(SET_FIELDS)}")  # fmt: skip
        for k, f in enumerate(s.fields):
            if f not in SET_FIELDS:
                self.err(s, f"{s.op} cannot change PTE field '{f}' (expected "
                         f"{', '.join(SET_FIELDS)})" + did_you_mean(f, SET_FIELDS))  # fmt: skip
            elif f in s.fields[:k]:
                self.err(s, f"{s.op} names field '{f}' twice")

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
            self.page_in(arg, arg.space, arg.page)
            return 0
        if isinstance(arg, ast.Name) and is_page:
            if arg.name in self.ctx.params:  # forwarding this handler's page parameter
                self.c.resolve(arg, Ref("reg", arg.name))
            else:
                self.c.resolve(arg, Ref("page", arg.name))
            return 0
        return self.expr(arg)

    def for_(self, s: ast.For) -> None:
        fam = self.target(s.over)
        saved = dict(self.ctx.loopvars)
        self.ctx.loopvars[s.var] = fam
        self.stmts(s.body)
        self.ctx.loopvars = saved
