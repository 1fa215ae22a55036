"""The values behind a step: what a statement's expression read, and where from.

A trace step that loads, branches, awaits or asserts is only readable with the
values that decided it: which word was read (a family variable's word named by
its core, ``seen[cpu[1]]``), the value, and whether it came from memory or the
core's own store buffer.  ``Values`` evaluates the lowered expression of the
instruction a command belongs to on the step's pre-state, through the same
``Layout.load`` the machine rules use.
"""

from __future__ import annotations

from verifier.ir import program as P
from verifier.ir.system import eval_op, evaluate
from verifier.machine.context import Ctx, Rule
from verifier.machine.layout import Layout

State = tuple[int, ...]


class Values:
    def __init__(self, prog: P.Program, lay: Layout) -> None:
        self.prog = prog
        self.lay = lay

    def word_name(self, addr: int) -> str:
        """A shared word as the reader knows it: ``seen[cpu[1]]`` for a family variable."""
        if addr >= self.lay.nwords:
            return self.lay.addr_name(addr)
        w = self.prog.words[addr]
        if w.owner is None:
            return w.name
        return f"{w.name.split('[', 1)[0]}[{w.owner}]"

    def from_buffer(self, c: int, addr: int, s: State) -> bool:
        """Whether core ``c``'s load of ``addr`` in ``s`` is served by its own store buffer."""
        if not self.lay.buffered(c):
            return False
        return any(s[k] == addr + 1 for k in self.lay.cores[c].sba)

    def value(self, c: int, e: P.LExpr, s: State) -> int:
        """``e`` as core ``c`` evaluates it in state ``s``."""
        match e:
            case P.LConst(value=v):
                return v
            case P.LReg():
                return s[self._reg_field(c, e)]
            case P.LWord(addr=a):
                return evaluate(self.lay.load(c, a), s)
            case P.LUn(op=o, arg=a):
                return eval_op(o, [self.value(c, a, s)])
            case P.LFields():
                return evaluate(Ctx(self.prog, self.lay.model, self.lay).expr(c, e, Rule([])), s)
            case P.LBin(op=o, left=a, right=b):
                return eval_op(o, [self.value(c, a, s), self.value(c, b, s)])
            case P.LPte():
                return evaluate(Ctx(self.prog, self.lay.model, self.lay).pte_field(c, e), s)
            case P.LSlot() | P.LDir():
                ctx = Ctx(self.prog, self.lay.model, self.lay)
                return evaluate(ctx.expr(c, e, Rule([])), s)
        raise TypeError(e)

    def read(self, c: int, addr: int, s: State, reads_from: int | None, origin: bool = True) -> str:
        """``gen = 1 from memory (stored at step 3)``: one load, its value and (with
        ``origin``) which step stored it."""
        value = evaluate(self.lay.load(c, addr), s)
        where = "from own store buffer" if self.from_buffer(c, addr, s) else "from memory"
        text = f"{self.word_name(addr)} = {value} {where}"
        if not origin:
            return text
        return text + (
            " (initial value)" if reads_from is None else f" (stored at step {reads_from})"
        )

    def operands(
        self, c: int, e: P.LExpr, s: State, reads_from: int | None, origin: bool = True
    ) -> list[str]:
        """Every register and word ``e`` reads, with its value, in source order."""
        out: list[str] = []
        seen: set[P.LExpr] = set()

        def walk(x: P.LExpr) -> None:
            if x in seen:
                return
            match x:
                case P.LReg():
                    seen.add(x)
                    out.append(f"{self.reg_name(c, x)} = {s[self._reg_field(c, x)]}")
                case P.LWord(addr=a):
                    seen.add(x)
                    out.append(self.read(c, a, s, reads_from, origin))
                case P.LUn(arg=a) | P.LFields(value=a):
                    walk(a)
                case P.LBin(left=a, right=b):
                    walk(a)
                    walk(b)
                case P.LPte(page=p, field=f):
                    seen.add(x)
                    name = self.prog.pages[p] if isinstance(p, int) else self.reg_name(c, p)
                    out.append(f"pte({name}).{f} = {self.value(c, x, s)}")
                case P.LSlot(table=k, slot=i, field=f):
                    seen.add(x)
                    table = self.prog.frames[self.prog.tables[k]]
                    out.append(f"pte({table}[{i}]).{f} = {self.value(c, x, s)}")
                case P.LDir(dir=d, field=f):
                    seen.add(x)
                    out.append(f"dir({self.prog.dirs[d].name}).{f} = {self.value(c, x, s)}")

        walk(e)
        return out

    def _reg_field(self, c: int, r: P.LReg) -> int:
        cf = self.lay.cores[c]
        return cf.hregs[r.index] if r.handler else cf.regs[r.index]

    def reg_name(self, c: int, r: P.LReg) -> str:
        core = self.prog.cores[c]
        return core.hregs[r.index] if r.handler else core.regs[r.index]
