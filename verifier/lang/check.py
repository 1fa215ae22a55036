"""AST -> CheckedSpec: resolve every name, evaluate constants, report every error.

The checker walks the whole spec before it stops, so one run reports all the
problems it can find, sorted by position, each with notes pointing at the
related declarations.
"""

from __future__ import annotations

from typing import Any

from verifier.lang import ast, check_header, kinds
from verifier.lang.check_body import check_body
from verifier.lang.check_names import Ctx
from verifier.lang.check_user import check_user_mode
from verifier.lang.checked import (
    DEFAULT_RANGE,
    DEFAULT_SPACE,
    CheckedSpec,
    CoreInstance,
    DirInfo,
    HandlerInfo,
    SpaceInfo,
    VarInfo,
)  # fmt: skip
from verifier.lang.diagnostics import Diagnostic, Note, SpecError
from verifier.lang.parse_hints import did_you_mean
from verifier.lang.span import NOSPAN, Span
from verifier.lang.symbols import MAX_INT, Symbols, first_declared

MAX_ASID = 4095
MAX_CORES = 64
MAX_SLOT = 7  # slots of a table page (docs/page-tables.md)


def check(
    spec: ast.Spec, source: str, defines: dict[str, int], *, max_cores: int = MAX_CORES
) -> CheckedSpec:
    """Validate `spec`; raise SpecError carrying every diagnostic found.  ``max_cores``
    bounds the number of cores (`tlbcheck cost` allows more than the explorer)."""
    checker = _Checker(spec, source, defines)
    checker.max_cores = max_cores
    return checker.run()


class _Checker(Symbols):
    """The declaration passes: fill the symbol tables, then check each body."""

    max_cores = MAX_CORES

    def run(self) -> CheckedSpec:
        self.declare_params()
        data: dict[str, int] = {}
        for d in self.decls(ast.FrameDecl):
            for ident, init in zip(d.names, d.data or [None] * len(d.names), strict=True):
                self.declare(self.frames, ident.name, ident, "frame")
                if init is not None:
                    data[ident.name] = self.bounded(init, "a frame's data word", -(2**15), 2**15)
        for d in self.decls(ast.TableDecl):
            for ident in d.names:
                if self.declare(self.frames, ident.name, ident, "frame"):
                    self.tables[ident.name] = ident
        self.declare_spaces()
        self.declare_cores()
        self.declare_vars()
        self.declare_handlers()
        self.kinds = kinds.infer(self.handlers)
        header = check_header.header(self)
        check_user_mode(self, header)
        expects = check_header.check_expects(self)
        cores = self.check_cores()
        handlers = self.check_handlers()
        if not self.cores and not self.diags:  # (a spec with other errors is unfinished)
            self.err(Span(self.spec.file, 1, 1, 1, 1), "the spec declares no cores")
        if self.diags:
            raise SpecError(sorted(self.diags, key=_position), {self.spec.file: self.source})
        families = tuple((f, lo, hi) for f, (lo, hi) in self.families.items())
        return CheckedSpec(
            spec=self.spec, file=self.spec.file, source=self.source, title=str(header["title"]),
            model=str(header["model"]), params=tuple(self.params.items()),
            walker=str(header["walker"]), ipi=str(header["ipi"]), buffer=int(header["buffer"]),
            frames=tuple(self.frames), pages=tuple(self.pages), spaces=self.space_infos(),
            vars=self.var_infos(), families=families,
            cores=cores, handlers=handlers, expects=expects, flushes=str(header["flushes"]),
            ad=str(header["ad"]), ad_cores=_per_core(header, "ad"),
            mode=str(header["mode"]), mode_cores=_per_core(header, "mode"),
            tables=tuple(self.tables), dirs=self.dir_infos(), refs=dict(self.refs),
            frame_data=self.frame_data(data),
        )  # fmt: skip

    def frame_data(self, data: dict[str, int | None]) -> tuple[int, ...]:
        """Each frame's initial data word when the spec declares one or moves data through
        a page (`r := read V`, `write V := e`); else () and no data words exist."""
        moves = any(
            isinstance(s, ast.Access) and (s.dest is not None or s.value is not None)
            for d in self.spec.decls
            if isinstance(d, ast.CoreDecl | ast.HandlerDecl)
            for s in kinds.walk(d.body)
        )
        if not data and not moves:
            return ()
        return tuple(data.get(f) or 0 for f in self.frames)

    def declare_params(self) -> None:
        for d in self.decls(ast.ParamDecl):
            if not self.declare(self.param_decls, d.name, d, "param"):
                continue
            v = self.const(d.value, f"param {d.name}")
            if d.name in self.defines:
                v = self.defines[d.name]
                if abs(v) > MAX_INT:
                    self.err(NOSPAN, f"-D {d.name}={v}: value out of range (at most {MAX_INT})")
                    continue
            if v is not None:
                self.params[d.name] = v
        for name, value in self.defines.items():
            if name not in self.param_decls:
                self.err(
                    NOSPAN,
                    f"-D {name}={value}: the spec declares no param '{name}'"
                    + did_you_mean(name, self.param_decls),
                )

    def declare_spaces(self) -> None:
        spaces = self.decls(ast.SpaceDecl)
        for top in self.decls(ast.PageDecl) + self.decls(ast.DirDecl):
            if spaces:
                note = Note(spaces[0].span, "spaces are declared here")
                what = "page" if isinstance(top, ast.PageDecl) else "dir"
                self.err(top.span, f"{what} '{top.name}' is outside every space", note)
        for s in spaces:
            self.declare(self.spaces, s.name, s, "space")
            self.bounded(s.asid, f"asid of space {s.name}", 0, MAX_ASID)
        groups = [(s.name, s.pages, s.dirs) for s in spaces] or [
            (DEFAULT_SPACE, tuple(self.decls(ast.PageDecl)), tuple(self.decls(ast.DirDecl)))
        ]
        for space, _, dirs in groups:
            for d in dirs:
                if self.declare(self.dirs, d.name, d, "dir"):
                    self.dir_space[d.name] = space
                self.dir_target(d, d.table)
        for space, pages, _ in groups:
            table = self.space_pages.setdefault(space, {})
            where = f" in space {space}" if spaces else ""
            for p in pages:
                if self.declare(table, p.name, p, "page", where):
                    self.pages.setdefault(p.name, p)
                self.pte_value(p.value)
                if p.at is not None:
                    self.page_slot(space, p)
        self.initial_slots()

    def page_slot(self, space: str, p: ast.PageDecl) -> None:
        assert p.at is not None
        d = p.at[0]
        if d not in self.dirs:
            self.err(p.span, f"unknown dir '{d}'" + did_you_mean(d, self.dirs))
        elif self.dir_space[d] != space:
            note = Note(self.dirs[d].span, f"dir '{d}' declared here")
            self.err(p.span, f"dir '{d}' is not in the space of page '{p.name}'", note)
        self.bounded(p.at[1], f"slot of page {p.name}", 0, MAX_SLOT)

    def table_slot(self, node: ast.Node, table: str, index: ast.Expr) -> None:
        """`T[i]` in `pte T[i] := ...` and `pte(T[i]).f`: a table page and a slot some page
        is declared at (a table has one slot per index used in a `page ... at D[i]`)."""
        if table in self.frames and table not in self.tables:
            self.err(node.span, f"'{table}' is a data frame: `{table}[i]` names a table slot")
        elif table not in self.tables:
            self.err(node.span, f"unknown table '{table}'" + did_you_mean(table, self.tables))
        i = self.bounded(index, f"slot of table {table}", 0, MAX_SLOT)
        pages = self.decls(ast.PageDecl) + [q for s in self.decls(ast.SpaceDecl) for q in s.pages]
        used = {self.const(p.at[1], f"slot of page {p.name}") for p in pages if p.at is not None}
        if i is not None and i not in used:
            slots = ", ".join(str(x) for x in sorted(u for u in used if u is not None)) or "none"
            self.err(index.span, f"table {table} has no slot {i} (no page is declared at "
                     f"index {i}; declared: {slots})")  # fmt: skip

    def initial_slots(self) -> None:
        """A slot's initial value comes from the pages declared at it through their dir's
        initial table; two different values for one slot are an error, and so is a valid
        page under an invalid dir."""
        given: dict[tuple[str, int], ast.PageDecl] = {}
        for p in self.decls(ast.PageDecl) + [q for s in self.decls(ast.SpaceDecl) for q in s.pages]:
            if p.at is None or p.at[0] not in self.dirs:
                continue
            table = self.dirs[p.at[0]].table
            slot = self.const(p.at[1], f"slot of page {p.name}")
            if table is None:
                if not isinstance(p.value, ast.Invalid):
                    note = Note(self.dirs[p.at[0]].span, f"dir '{p.at[0]}' declared here")
                    self.err(
                        p.span, f"page '{p.name}' is under dir '{p.at[0]}', which is "
                        "invalid: declare the page invalid", note,
                    )  # fmt: skip
                continue
            if slot is None:
                continue
            other = given.setdefault((table, slot), p)
            if other is not p and _pte_key(other.value) != _pte_key(p.value):
                note = Note(other.span, f"page '{other.name}' gives it here")
                self.err(
                    p.span, f"slot {slot} of table {table} is given two different values", note
                )

    def dir_infos(self) -> tuple[DirInfo, ...]:
        return tuple(
            DirInfo(d.name, self.dir_space[d.name], d.table, d.span) for d in self.dirs.values()
        )

    def declare_cores(self) -> None:
        for c in self.decls(ast.CoreDecl):
            if not self.declare(self.cores, c.name, c, "core"):
                continue
            if c.lo is None or c.hi is None:
                continue
            lo = self.bounded(c.lo, f"lower bound of {c.name}", 0, MAX_INT)
            hi = self.bounded(c.hi, f"upper bound of {c.name}", 0, MAX_INT)
            if lo is None or hi is None:
                continue
            if hi < lo:
                self.err(c.span, f"core family {c.name}[{lo}..{hi}] is empty")
            elif hi - lo + 1 > self.max_cores:
                self.err(
                    c.span,
                    f"core family {c.name} has {hi - lo + 1} cores (at most {self.max_cores})",
                )
            else:
                self.families[c.name] = (lo, hi)
        total = sum(1 if c.lo is None else 0 for c in self.cores.values())
        total += sum(hi - lo + 1 for lo, hi in self.families.values())
        if total > self.max_cores:
            self.err(self.spec.span, f"the spec has {total} cores (at most {self.max_cores})")

    def declare_vars(self) -> None:
        for v in self.decls(ast.VarDecl):
            if v.name in self.param_decls:
                self.err(
                    v.span,
                    f"'{v.name}' is already declared as a param",
                    first_declared(self.param_decls, v.name),
                )
                continue
            if not self.declare(self.vars, v.name, v, "variable"):
                continue
            if v.family is not None and v.family not in self.families:
                what = "a single core" if v.family in self.cores else "not a core family"
                self.err(v.span, f"'{v.family}' is {what}; a per-core variable needs a core family")
            lo, hi = DEFAULT_RANGE
            if v.lo is not None and v.hi is not None:
                lo = self.const(v.lo, f"range of {v.name}") or 0
                hi = self.const(v.hi, f"range of {v.name}") or 0
                if hi < lo:
                    self.err(v.span, f"empty range {lo}..{hi} for variable {v.name}")
            init = self.const(v.init, f"initial value of {v.name}")
            if init is not None and lo <= hi and not lo <= init <= hi:
                self.err(
                    v.init.span, f"initial value {init} of {v.name} is outside its range {lo}..{hi}"
                )

    def declare_handlers(self) -> None:
        """A parameter may shadow a page inside its handler, not a param or a shared word."""
        for h in self.decls(ast.HandlerDecl):
            if not self.declare(self.handlers, h.name, h, "handler"):
                continue
            seen: dict[str, ast.Node] = {}
            for p in h.params:
                self.declare(seen, p.name, p, "parameter")
                tables: tuple[tuple[dict, str], ...] = (
                    (self.param_decls, "a param"),
                    (self.vars, "a var"),
                )  # type: ignore[type-arg]
                for table, what in tables:
                    if p.name in table:
                        note = first_declared(table, p.name)
                        self.err(p.span, f"parameter '{p.name}' is named like {what}", note)

    # ------------------------------------------------------------ results

    def space_infos(self) -> tuple[SpaceInfo, ...]:
        if not self.spaces:
            pages = tuple(
                (p.name, p.value) for p in self.space_pages.get(DEFAULT_SPACE, {}).values()
            )
            decls = tuple(self.space_pages.get(DEFAULT_SPACE, {}).values())
            slots = _slots(decls, self.params_eval)
            return (SpaceInfo(DEFAULT_SPACE, 0, pages, self.spec.span, slots),)
        return tuple(
            SpaceInfo(
                s.name,
                self.params_eval(s.asid),
                tuple((p.name, p.value) for p in s.pages),
                s.span,
                _slots(s.pages, self.params_eval),
            )
            for s in self.spaces.values()
        )

    def params_eval(self, e: ast.Expr) -> int:
        return self.const(e, "constant") or 0

    def var_infos(self) -> tuple[VarInfo, ...]:
        out = []
        for v in self.vars.values():
            lo, hi = DEFAULT_RANGE
            if v.lo is not None and v.hi is not None:
                lo, hi = self.params_eval(v.lo), self.params_eval(v.hi)
            out.append(VarInfo(v.name, v.family, self.params_eval(v.init), lo, hi, v.span))
        return tuple(out)

    def start_space(self, c: ast.CoreDecl) -> str:
        if c.space is not None:
            if c.space not in self.spaces:
                self.err(c.span, f"unknown space '{c.space}'" + did_you_mean(c.space, self.spaces))
            return c.space
        if len(self.spaces) > 1:
            note = Note(next(iter(self.spaces.values())).span, "spaces are declared here")
            self.err(
                c.span, f"core {c.name} needs 'in SPACE': the spec declares several spaces", note
            )
        return next(iter(self.spaces), DEFAULT_SPACE)

    def check_cores(self) -> tuple[CoreInstance, ...]:
        out: list[CoreInstance] = []
        for c in self.cores.values():
            space = self.start_space(c)
            body = c.body + (c.fault or ())
            if c.lo is None:
                check_body(self, body, Ctx("core", c.name))
                out.append(
                    CoreInstance(c.name, None, None, space, c.body, c.span, c.fault, c.resume)
                )
            elif c.name in self.families:
                check_body(self, body, Ctx("family", c.name, family=c.name))
                lo, hi = self.families[c.name]
                out += [
                    CoreInstance(
                        f"{c.name}[{i}]", c.name, i, space, c.body, c.span, c.fault, c.resume
                    )
                    for i in range(lo, hi + 1)
                ]
        return tuple(out)

    def check_handlers(self) -> tuple[HandlerInfo, ...]:
        out = []
        for h in self.handlers.values():
            kinds = self.kinds[h.name]
            check_body(self, h.body, Ctx("handler", h.name, params=dict(kinds)))
            names = tuple(p.name for p in h.params)
            out.append(HandlerInfo(h.name, names, tuple(kinds[n] for n in names), h.body, h.span))
        return tuple(out)


def _slots(pages: tuple[ast.PageDecl, ...], value: Any) -> tuple[tuple[str, str, int], ...]:
    return tuple((p.name, p.at[0], value(p.at[1])) for p in pages if p.at is not None)


def _pte_key(v: ast.PteValue) -> tuple[object, ...]:
    if isinstance(v, ast.Invalid):
        return () if v.kept is None else ("invalid", *_pte_key(v.kept))
    return (v.frame, v.perms, v.global_)


def _position(d: Diagnostic) -> tuple[bool, str, int, int]:
    return (d.span != NOSPAN, d.span.file, d.span.line, d.span.col)


def _per_core(header: dict[str, object], option: str) -> tuple[tuple[str, str], ...]:
    """`option OPTION = V for CORE` lines, sorted by core."""
    return tuple(sorted(header.get(f"{option}_cores", {}).items()))  # type: ignore[attr-defined]
