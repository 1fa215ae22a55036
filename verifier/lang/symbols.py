"""The checker's symbol tables and the helpers every check uses (errors, constants).

`check.py` fills the tables from the declarations; `check_body.py` reads them
while it checks statements. Both depend on this module, not on each other.
"""

from __future__ import annotations

from verifier.lang import ast
from verifier.lang.checked import Ref
from verifier.lang.diagnostics import Diagnostic, Note
from verifier.lang.parse_hints import did_you_mean
from verifier.lang.span import Span

MAX_INT = 2**31 - 1


def first_declared(decls: dict[str, ast.Node], name: str) -> Note:
    return Note(decls[name].span, f"'{name}' first declared here")


def _arith(op: str, x: int, y: int) -> int:
    """Integer semantics of the spec language (`/` and `%` truncate toward zero)."""
    if op == "/":
        q = abs(x) // abs(y)
        return q if (x >= 0) == (y >= 0) else -q
    if op == "%":
        return x - y * _arith("/", x, y)
    table = {
        "+": x + y, "-": x - y, "*": x * y, "==": x == y, "!=": x != y, "<": x < y,
        "<=": x <= y, ">": x > y, ">=": x >= y, "&&": bool(x) and bool(y), "||": bool(x) or bool(y),
    }  # fmt: skip
    return int(table[op])


class Symbols:
    def __init__(self, spec: ast.Spec, source: str, defines: dict[str, int]) -> None:
        self.spec, self.source, self.defines = spec, source, defines
        self.diags: list[Diagnostic] = []
        self.params: dict[str, int] = {}
        self.param_decls: dict[str, ast.Node] = {}
        self.frames: dict[str, ast.Node] = {}
        self.tables: dict[str, ast.Node] = {}  # the frames that are page-table pages
        self.dirs: dict[str, ast.DirDecl] = {}
        self.dir_space: dict[str, str] = {}
        self.spaces: dict[str, ast.SpaceDecl] = {}
        self.space_pages: dict[str, dict[str, ast.PageDecl]] = {}
        self.pages: dict[str, ast.PageDecl] = {}
        self.vars: dict[str, ast.VarDecl] = {}
        self.cores: dict[str, ast.CoreDecl] = {}
        self.families: dict[str, tuple[int, int]] = {}
        self.handlers: dict[str, ast.HandlerDecl] = {}
        self.kinds: dict[str, dict[str, str]] = {}
        self.refs: dict[int, Ref] = {}  # id(node) -> what it names (see CheckedSpec.refs)

    def resolve(self, node: ast.Node, ref: Ref) -> None:
        self.refs[id(node)] = ref

    def err(self, span: Span, message: str, *notes: Note) -> None:
        self.diags.append(Diagnostic(span, message, notes))

    def decls(self, kind: type) -> list:  # type: ignore[type-arg]
        return [d for d in self.spec.decls if isinstance(d, kind)]

    # ------------------------------------------------------------ constants

    def const(self, e: ast.Expr, what: str) -> int | None:
        """Evaluate a constant expression (integers and params); report and return None if not."""
        match e:
            case ast.Num(value=v):
                return self.literal(e, v)
            case ast.Name(name=n) if n in self.params:
                self.resolve(e, Ref("param", n, value=self.params[n]))
                return self.params[n]
            case ast.Name(name=n) if n in self.param_decls:
                return None  # a param whose own value was bad: already reported
            case ast.Unary(op=op, operand=a):
                x = self.const(a, what)
                return None if x is None else (-x if op == "-" else int(not x))
            case ast.Binary(op=op, left=a, right=b):
                x, y = self.const(a, what), self.const(b, what)
                if x is None or y is None:
                    return None
                if op in "/%" and y == 0:
                    self.err(e.span, f"division by zero in {what}")
                    return None
                return _arith(op, x, y)
        self.err(e.span, f"{what} must be a constant (integers and params only)")
        return None

    def literal(self, e: ast.Node, v: int) -> int | None:
        if abs(v) > MAX_INT:
            self.err(e.span, f"integer {v} is out of range (at most {MAX_INT})")
            return None
        return v

    def bounded(self, e: ast.Expr, what: str, lo: int, hi: int) -> int | None:
        v = self.const(e, what)
        if v is not None and not lo <= v <= hi:
            self.err(e.span, f"{what} is {v}; it must be in {lo}..{hi}")
            return None
        return v

    # ------------------------------------------------------------ declarations

    def declare(self, table: dict, name: str, node: ast.Node, what: str, where: str = "") -> bool:  # type: ignore[type-arg]
        if name in table:
            self.err(node.span, f"duplicate {what} '{name}'{where}", first_declared(table, name))
            return False
        table[name] = node
        return True

    def dir_target(self, node: ast.Node, table: str | None) -> None:
        """What `dir D -> T` or `dir D := T` may point at: a table page."""
        if table is None or table in self.tables:
            return
        if table in self.frames:
            self.err(node.span, f"'{table}' is a data frame: a dir points at a table page")
        else:
            self.err(node.span, f"unknown table '{table}'" + did_you_mean(table, self.tables))

    def pte_value(self, value: ast.PteValue) -> None:
        if isinstance(value, ast.Invalid):
            if value.kept is not None:
                self.pte_value(value.kept)
            return
        if value.frame not in self.frames:
            hint = did_you_mean(value.frame, self.frames)
            self.err(value.span, f"unknown frame '{value.frame}'" + hint)
        elif value.frame in self.tables:
            self.err(value.span, f"'{value.frame}' is a page table: a PTE maps a data frame")
        p = value.perms
        if not p or not set(p) <= set("rwx"):
            bad = ", ".join(sorted({c for c in p if c not in "rwx"}))
            self.err(value.span, f"unknown permission letters '{bad}' in '{p}' (use r, w and x)")
        elif len(set(p)) != len(p):
            self.err(value.span, f"repeated permission letter in '{p}'")
