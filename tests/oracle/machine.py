"""The machine rules of the reference, one statement at a time, over `state.State`.

Readings chosen where the reference is silent (listed in the report too):
  R1  Names in value position resolve innermost first: a `for` variable, a handler
      parameter, a param, a shared var, else a register of the running body (a name the
      body assigns).  In page position (`read V`, `invlpg p`, ...) a handler's page
      parameter comes first, else the declared page: a register never names a page.
      As an IPI argument a name that is none of the value kinds above names a page.
  R2  A page argument `V` is just the page: the handler resolves it in the target's
      current space when it uses it.  `P.V` carries space P.
  R3  `read P.V` uses the current space's translation of V (accesses go through the
      current space); `pte P.V`, `invlpg P.V`, `complete P.V` use space P.
  R4  Staleness compares an entry with the record of the PTE it was filled from (the
      space it was filled from, the same page); the record is that of the latest
      `complete` of that PTE.  The initial declarations are all write 0.
  R5  `asid-reuse` is reported on a hit of a tagged entry filled from another space that
      accesses; a hit that faults is no access and no race (the README's reading of
      issue 9, item 11; ASID_REUSE_ON_FAULT switches it).
  R6  Stored values are range-checked: shared words against their declared range,
      registers (and integer IPI arguments, which become handler registers, checked at
      the send) against 0..15; intermediate values are not.  `&&`/`||` evaluate both
      sides (so `0 && 1/0` is a division by zero).
  R7  An unordered IPI under tso/pso reaches the queues at once, unless a `fence release`
      in the buffer has a store before it, or an earlier IPI of the sender is still held
      (one sender's IPIs keep their order).  Under tso later stores stay behind a held
      *ordered* IPI and may overtake an IPI held only by a release fence.
  R8  An IPI that would make a target's queue longer than 4 is a `range` problem at the
      moment it reaches the queue (the send, or the drain of a held IPI).
  R9  Every flat instruction is one step (a branch, a jump, a statement); the walker,
      drains and IPI deliveries are steps of their own.  The walker fills also while
      the core runs a handler, is blocked or has finished.
  R10 For hang, an awaiting core "passes" its await when that await's own command fires,
      or when the core itself fails (assertion/range, or a race in reading the await's
      condition while it waits): only other cores' failures do not count.
  R12 Two-level pages (docs/page-tables.md): `pte V`/`complete V` act on the leaf slot
      of the table V's dir points to in the core's own view (own buffer, else memory),
      an invalid dir there ends the path (`range`).  A miss walks: the cached pointer
      (PSC) if any, else the dir in memory (cached by the walk); a freed table is
      `freed-table` and fills nothing.  The speculative walker, for the pages the core's
      code (body and every handler) accesses, caches valid dirs of the current space
      and fills an empty TLB entry through a cached pointer (or reports a freed table).
      `pte(V).f` reads the entry in the core's view (an invalid dir: not present).
  R13 `copy A to B` marks A copied (and B live again), `zero A` marks A zeroed; an
      access that happens and reaches a zeroed frame, or a write that reaches a copied
      one, is a `lost-write`.  A write that reaches B marks A "copied, B written since";
      from then on a read that reaches A is a `lost-write` too (it misses that write).
  R15 `pte T[i] := ...` stores to slot i of table T whatever points at it; `pte(T[i]).f`
      reads that slot in the core's view and, when T is freed, is a `freed-table` race
      (reported, the statement goes on); `dir(D).present` reads D in the core's view.
  R14 `option ad = hardware`: a walk that fills an entry sets the PTE's accessed bit in
      memory, and the dirty bit too for a write it allows (the entry is then cached
      dirty); a write hitting an entry cached clean re-reads the PTE in memory: still
      writable, both bits are set and the entry becomes dirty; else the write faults.
      A `pte` store reaching memory clears both bits; `pte(V).young/dirty` read 0 while
      the core's own buffer holds a store to the entry.
  R15 `core P { ... } on fault { ... }` (docs/arm64.md §3): the flat code is the body, an
      `end` instruction (the core is done there), then the `on fault` code; an access of
      the body that faults goes on at the `on fault` code instead of the next instruction.
  R11 `option flushes = serializing`: `invlpg`, `flush asid`, `flush all` and `switch`
      execute only with an empty store buffer (held IPIs and release markers included,
      as for `fence`).
  R16 `option mode = user` (docs/arm64.md section 8): an access of a user-mode core's
      program (not of its handlers nor its `on fault` code) is allowed by an entry only
      when the entry also carries `user` (`u` in its permissions); otherwise it faults as
      a permission fault. A stale-permission check asks the same of the latest value.
      `pte(V).user` reads the bit.
  R19 `on fault resume { H }` (docs/arm64.md §3): after the body's `end`, one block per
      access statement of the body: H, an `isb` (the exception return), the body's
      statements after the access up to the first statement ending a straight run, and
      a jump to that one.  A fault of the access goes to its block; of a statement
      repeated in a block, to the block of the access it repeats; of H itself, to the
      body's `end` (the core stops).  The fault is not kept once its block is entered.
      Statements repeated in a block are user-mode code when the body is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from verifier.lang import ast
from verifier.lang.checked import DEFAULT_RANGE, CheckedSpec

from .code import Instr, arith, const, core_names, flatten, resume_code
from .state import CoreSt, Hand, State, Work

ASID_REUSE_ON_FAULT = False
MAX_QUEUE = 4


BITS = ("fetch_set", "fetch_clear", "fetch_xor")


def bits(name: str, old: int, mask: int) -> int:
    """`fetch_set` (or), `fetch_clear` (and not), `fetch_xor` of a data word's bits; a
    negative operand is a `range` problem (docs/arm64.md §1)."""
    if old < 0 or mask < 0:
        raise Fatal("range")
    return {"fetch_set": old | mask, "fetch_clear": old & ~mask, "fetch_xor": old ^ mask}[name]


class Fatal(Exception):
    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


@dataclass(frozen=True)
class Out:
    """One transition: ``state`` None means the path ends (assertion or range)."""

    label: str
    state: State | None
    kinds: frozenset[str]
    core: int
    passed: tuple[Any, ...] | None = None  # the await location this step passed


@dataclass
class Ctx:
    i: int
    me: str
    env: dict[str, str]
    regs: dict[str, Any]
    hparams: tuple[str, ...]
    body_regs: set[str]
    kinds: set[str] = field(default_factory=set)  # races found while evaluating (R15)
    user: bool = False  # user-mode code: its accesses need `u` too (R16)


def _walk(stmts: tuple[ast.Stmt, ...]) -> list[ast.Stmt]:
    out: list[ast.Stmt] = []
    for s in stmts:
        out.append(s)
        if isinstance(s, ast.If):
            out += _walk(s.then) + _walk(s.orelse or ())
        elif isinstance(s, ast.While | ast.Loop | ast.Repeat | ast.For):
            out += _walk(s.body)
    return out


def _pte(v: ast.PteValue | None) -> Any:
    """(frame, permissions, global); the permissions carry `o` for an `old` entry and `d`
    for `dbm` (arm64 flags, docs/arm64.md section 7: ignored outside `arm`)."""
    if v is None or isinstance(v, ast.Invalid):
        return None
    return (v.frame, v.perms + "o" * v.old + "d" * v.dbm + "u" * v.user, v.global_)


def grants(perms: str, letter: str, user: bool) -> bool:
    """An entry with ``perms`` allows an access ``letter`` (r, w, x) of user-mode code
    (``user``) or kernel code (R16: user-mode code needs the entry's `u` too)."""
    return letter in perms and (not user or "u" in perms)


class Machine:
    def __init__(self, checked: CheckedSpec, model: str) -> None:
        self.c, self.model = checked, model
        self.names = [c.name for c in checked.cores]
        self.insts = {c.name: c for c in checked.cores}
        self.resume: dict[str, dict[int, tuple[int, int, int]]] = {}  # R19
        self.code = [self._code(c) for c in checked.cores]
        self.main_end = [len(flatten(checked, c.body, c.name)) for c in checked.cores]
        self.fault_at = [n + 1 if c.fault is not None else -1 for n, c in
                         zip(self.main_end, checked.cores, strict=True)]  # fmt: skip
        self.handlers = {h.name: h for h in checked.handlers}
        self.user = [checked.user_mode(c) for c in checked.cores]  # R16
        self.hcode = {
            (h.name, i): flatten(checked, h.body, n)
            for h in checked.handlers
            for i, n in enumerate(self.names)
        }
        self.params = dict(checked.params)
        self.vars = {v.name: v for v in checked.vars}
        self.asid = {s.name: s.asid for s in checked.spaces}
        self.core_regs = [self._regs_of(c.body + (c.fault or ())) for c in checked.cores]
        self.at = {
            (sp.name, page): (d, slot) for sp in checked.spaces for page, d, slot in sp.slots
        }
        self.dirs = {d.name: d for d in checked.dirs}
        self.nslots = 1 + max([0, *(slot for _, slot in self.at.values())])
        self.accessed = [self._accessed(c.body) for c in checked.cores]
        modes = {checked.ad, *dict(checked.ad_cores).values()}
        self.ad = model != "arm" and bool(modes - {"none"})  # x86: every core manages both
        self.hregs = {h.name: self._regs_of(h.body) | set(h.params) for h in checked.handlers}

    def _code(self, core: Any) -> list[Instr]:
        main = flatten(self.c, core.body, core.name)
        if core.fault is None:
            return main
        if core.resume:
            code, self.resume[core.name] = resume_code(self.c, core, main)
            return code
        return [*main, Instr("end", None, ()), *flatten(self.c, core.fault, core.name)]

    def handler_for(self, i: int, k: int) -> int:
        """Where a fault at ``k`` sends core ``i`` (R19): its `on fault` code (with `resume`
        the block of that access, or of the access a copy repeats), the end of its program
        (a fault of the `resume` handler itself), or -1 (no handler)."""
        if not self.insts[self.names[i]].resume:
            return self.fault_at[i] if self.fault_at[i] >= 0 and k < self.main_end[i] else -1
        for at, (entry, ret, end) in self.blocks(i).items():
            if k == at:
                return entry
            if ret < k < end:
                return self.handler_for(i, at + k - ret)
        return self.main_end[i]

    def blocks(self, i: int) -> dict[int, tuple[int, int, int]]:
        """`resume` (R19): access pc -> (first pc of its block, pc of the return's `isb`,
        the block's end, past its jump back)."""
        return self.resume.get(self.names[i], {})

    def after_access(self, i: int, pc: int, faulted: bool) -> int:
        """Where the core goes after the access at ``pc`` (R15, R19)."""
        if faulted and self.handler_for(i, pc) >= 0:
            return self.handler_for(i, pc)
        return pc + 1

    def _regs_of(self, body: tuple[ast.Stmt, ...]) -> set[str]:
        out = set()
        for s in _walk(body):
            if isinstance(s, ast.Assign) and isinstance(s.target, ast.Name):
                if s.target.name not in self.vars:
                    out.add(s.target.name)
            elif isinstance(s, ast.Atomic) and s.dest is not None:
                out.add(s.dest)
        return out

    def _accessed(self, body: tuple[ast.Stmt, ...]) -> set[str]:
        """Pages a core's code reads, writes or executes (its body and every handler: a
        handler's page parameter may name any page)."""
        out: set[str] = set()
        for s in _walk(body) + [x for h in self.c.handlers for x in _walk(h.body)]:
            if isinstance(s, ast.Access):
                params = {p for h in self.c.handlers for p in h.params}
                if s.page.space is None and s.page.page in params and s.page.page not in out:
                    out |= set(self.c.pages)
                out.add(s.page.page)
        return out & set(self.c.pages)

    # ------------------------------------------------------------ the initial state

    def initial(self) -> State:
        w = Work(State((), (), (), (), frozenset()))
        for v in self.c.vars:
            if v.family is None:
                w.mem[("w", v.name, "")] = v.init
            for c in self.c.cores:
                if v.family is not None and c.family == v.family:
                    w.mem[("w", v.name, c.name)] = v.init
        for sp in self.c.spaces:
            declared = dict(sp.entries)
            for page in self.c.pages:
                w.mem[("p", sp.name, page)] = (_pte(declared.get(page)), 0)
                w.last[("p", sp.name, page)] = (_pte(declared.get(page)), 0)
        for t in self.c.tables if self.dirs else ():
            for slot in range(self.nslots):
                w.mem[("l", t, slot)] = w.last[("l", t, slot)] = (None, 0)
        for sp in self.c.spaces:
            for page, d, slot in sp.slots:
                if self.dirs[d].table is not None:
                    v = (_pte(dict(sp.entries)[page]), 0)
                    w.mem[("l", self.dirs[d].table, slot)] = v
                    w.last[("l", self.dirs[d].table, slot)] = v
        for d in self.dirs.values():
            w.mem[("d", d.name)] = d.table
        w.cores = [CoreSt(0, (), True, None, c.space, (), frozenset(), ()) for c in self.c.cores]
        return w.freeze()

    # ------------------------------------------------------------ all transitions

    def successors(self, s: State) -> list[Out]:
        out: list[Out] = []
        for i in range(len(s.cores)):
            out += self.program_steps(s, i)
            out += self.drains(s, i)
            out += self.walks(s, i)
        return out

    def program_steps(self, s: State, i: int) -> list[Out]:
        cs = s.cores[i]
        out = []
        if cs.hand is None and cs.irq and cs.queue:
            (h, args), rest = cs.queue[0], cs.queue[1:]
            w = Work(s)
            regs = tuple(zip(self.handlers[h].params, args, strict=True))
            w.set_core(i, hand=Hand(h, 0, regs, cs.irq), irq=False, queue=rest)
            out.append(Out(f"{self.names[i]} takes {h}", w.freeze(), frozenset(), i))
        if cs.hand is not None:
            code = self.hcode[(cs.hand.name, i)]
            if cs.hand.pc >= len(code):
                w = Work(s)
                w.set_core(i, hand=None, irq=cs.hand.saved_irq)
                out.append(Out(f"{self.names[i]} returns", w.freeze(), frozenset(), i))
                return out
            ctx = Ctx(
                i, self.names[i], {}, dict(cs.hand.regs), self.handlers[cs.hand.name].params,
                self.hregs[cs.hand.name],
            )  # fmt: skip
            loc = ("h", cs.hand.name, cs.hand.pc)
            return out + self.execute(s, ctx, code[cs.hand.pc], loc)
        if cs.pc < len(self.code[i]) and self.code[i][cs.pc].op != "end":
            ctx = Ctx(i, self.names[i], {}, dict(cs.regs), (), self.core_regs[i])
            ctx.user = self.user[i] and cs.pc < self.main_end[i]
            out += self.execute(s, ctx, self.code[i][cs.pc], ("main", cs.pc))
        return out

    def execute(self, s: State, ctx: Ctx, ins: Instr, loc: tuple[Any, ...]) -> list[Out]:
        ctx.env = dict(ins.env)
        label = f"{ctx.me} {loc}"
        try:
            results = self.step(s, ctx, ins, loc)
        except Fatal as f:
            return [Out(label, None, frozenset({f.kind} | ctx.kinds), ctx.i)]
        out = []
        for w, kinds, nxt, passed in results:
            kinds = kinds | ctx.kinds
            cs = w.core(ctx.i)
            if cs.hand is not None:
                regs = tuple(sorted(ctx.regs.items()))
                w.set_core(ctx.i, hand=Hand(cs.hand.name, nxt, regs, cs.hand.saved_irq))
            else:
                w.set_core(ctx.i, pc=nxt, regs=tuple(sorted(ctx.regs.items())))
            out.append(Out(label, w.freeze(), frozenset(kinds), ctx.i, passed))
        return out

    # ------------------------------------------------------------ one instruction

    def step(
        self, s: State, ctx: Ctx, ins: Instr, loc: tuple[Any, ...]
    ) -> list[tuple[Work, set[str], int, Any]]:
        pc = loc[-1]
        w = Work(s)
        if ins.op == "jmp":
            return [(w, set(), ins.target, None)]
        if ins.op == "br":
            v = self.value(w, ctx, ins.node)  # type: ignore[arg-type]
            return [(w, set(), pc + 1 if v else ins.target, None)]
        st = ins.node
        cs = w.core(ctx.i)
        flush = ast.Invlpg | ast.FlushAsid | ast.FlushAll | ast.Switch
        if isinstance(st, flush) and self.c.flushes == "serializing" and cs.buf:
            return []  # R11: a serializing flush waits for an empty buffer, like `fence`
        match st:
            case ast.PteWrite(page=ref, value=value):
                addr = self.entry_addr(w, ctx, self.pte_addr(cs, ctx, ref), fatal=True)
                pv = (_pte(value), w.next_wid())
                w.last[addr] = pv
                self.store(w, ctx.i, addr, pv)
            case ast.Assign(target=t, value=e):
                v = self.value(w, ctx, e)
                word = self.word_of(ctx, t)
                if word is None:
                    ctx.regs[t.name] = self.reg_checked(v)
                else:
                    self.store(w, ctx.i, word, self.word_checked(word, v))
            case ast.Atomic():
                if cs.buf:
                    return []
                self.atomic(w, ctx, st)
            case ast.Fence(kind=k):
                if k == "full" and cs.buf:
                    return []
                if k == "release" and any(e[0] == "st" for e in cs.buf):
                    w.set_core(ctx.i, buf=(*cs.buf, ("rel",)))
            case ast.Ipi():
                self.ipi(w, ctx, st)
            case ast.Invlpg(page=ref):
                _, sp, page = self.pte_addr(cs, ctx, ref)
                tag = self.asid[sp]
                keep = frozenset(e for e in cs.tlb if not (e[1] == page and e[0] in ("G", tag)))
                path = self.at.get((sp, page))
                psc = frozenset(x for x in cs.psc if path is None or x[0] != path[0])
                w.set_core(ctx.i, tlb=keep, psc=psc)
            case ast.FlushAsid(space=sp):
                tag = self.asid[sp]
                psc = frozenset(x for x in cs.psc if self.asid[self.dirs[x[0]].space] != tag)
                w.set_core(ctx.i, tlb=frozenset(e for e in cs.tlb if e[0] != tag), psc=psc)
            case ast.FlushAll():
                w.set_core(ctx.i, tlb=frozenset(), psc=frozenset())
            case ast.Access(kind=k, page=ref):
                page = self.pte_addr(cs, ctx, ref)[2]
                return [
                    (w2, kinds, self.after_access(ctx.i, pc, f), None)
                    for w2, kinds, f in self.access(s, ctx, k, page)
                ]
            case ast.Switch(space=sp):
                w.set_core(ctx.i, space=sp)
            case ast.Free(frame=f):
                w.freed.add(f)
            case ast.Complete(page=ref):
                addr = self.entry_addr(w, ctx, self.pte_addr(cs, ctx, ref), fatal=True)
                w.rec[addr] = w.last[addr]
            case ast.DirWrite(dir=d, table=t):
                self.store(w, ctx.i, ("d", d), t)
            case ast.SlotWrite(table=t, index=k, value=value):
                addr = ("l", t, const(self.c, k))
                pv = (_pte(value), w.next_wid())
                w.last[addr] = pv
                self.store(w, ctx.i, addr, pv)
            case ast.CopyFrame(src=a, dst=b):
                w.mem[("c", a)] = ("copied", b)
                w.mem.pop(("c", b), None)
            case ast.ZeroFrame(frame=f):
                w.mem[("c", f)] = ("zeroed",)
            case ast.Await(cond=e):
                if not self.value(w, ctx, e):
                    # a waiting core keeps reading its condition: a race in that read (a
                    # freed table's slot) is reported there, and the core goes on waiting
                    return [(w, set(), pc, (ctx.i, loc))] if ctx.kinds else []
                return [(w, set(), pc + 1, (ctx.i, loc))]
            case ast.Assert(cond=e):
                if not self.value(w, ctx, e):
                    raise Fatal("assertion")
            case ast.Irq(on=on):
                w.set_core(ctx.i, irq=on)
            case ast.Skip():
                pass
            case _:
                raise ValueError(f"unexpected statement {st}")
        return [(w, set(), pc + 1, None)]

    # ------------------------------------------------------------ names and values

    def core_value(self, name: str) -> int:
        inst = self.insts[name]
        return inst.index if inst.index is not None else self.names.index(name)

    def core_of(self, ctx: Ctx, e: ast.Expr | ast.Target) -> str:
        match e:
            case ast.SelfRef():
                return ctx.me
            case ast.Name(name=n) | ast.TargetName(name=n):
                return ctx.env.get(n, n)
            case ast.TargetIndex(family=f, index=k):
                return f"{f}[{const(self.c, k)}]"
        raise ValueError(e)

    def word_of(self, ctx: Ctx, t: ast.Name | ast.Index) -> tuple[Any, ...] | None:
        """The shared word a target names, or None for a register."""
        if isinstance(t, ast.Index):
            core = self.core_of(ctx, t.index)
            if self.insts[core].family != self.vars[t.name].family:
                raise Fatal("range")  # seen[self] in a handler on a core outside the family
            return ("w", t.name, core)
        if t.name in ctx.hparams or t.name not in self.vars:
            return None
        return ("w", t.name, "")

    def value(self, w: Work, ctx: Ctx, e: ast.Expr) -> int:
        match e:
            case ast.Num(value=v):
                return v
            case ast.SelfRef():
                return self.core_value(ctx.me)
            case ast.Name(name=n):
                if n in ctx.env:
                    return self.core_value(ctx.env[n])
                if n in ctx.hparams:
                    v = ctx.regs[n]
                    if not isinstance(v, int):
                        raise ValueError(f"page parameter {n} used as a value")
                    return v
                if n in self.params:
                    return self.params[n]
                if n in self.vars:
                    return self.load(w, ctx.i, ("w", n, ""))
                return int(ctx.regs.get(n, 0))
            case ast.Index():
                word = self.word_of(ctx, e)
                assert word is not None
                return self.load(w, ctx.i, word)
            case ast.PteRead(page=ref, field=f):
                addr = self.entry_addr(w, ctx, self.pte_addr(w.core(ctx.i), ctx, ref))
                return self.pte_field(w, ctx, addr, f)
            case ast.SlotRead(table=t, index=k, field=f):
                if t in w.freed:
                    ctx.kinds.add("freed-table")
                return self.pte_field(w, ctx, ("l", t, const(self.c, k)), f)
            case ast.DirRead(dir=d):
                return int(self.view(w, ctx.i, ("d", d)) is not None)
            case ast.Unary(op=op, operand=a):
                x = self.value(w, ctx, a)
                return -x if op == "-" else int(not x)
            case ast.Binary(op=op, left=a, right=b):
                x, y = self.value(w, ctx, a), self.value(w, ctx, b)
                if op in ("/", "%") and y == 0:
                    raise Fatal("range")
                return arith(op, x, y)
        raise ValueError(f"not a value: {e}")

    def pte_field(self, w: Work, ctx: Ctx, addr: tuple[Any, ...] | None, f: str) -> int:
        pte = None if addr is None else self.view(w, ctx.i, addr)[0]
        if pte is None:
            return 0
        letter = {"read": "r", "write": "w", "exec": "x", "user": "u"}.get(f)
        if letter is not None:
            return int(letter in pte[1])
        if f in ("young", "dirty") and self.model == "arm":  # docs/arm64.md section 7
            young = "o" not in pte[1]
            return int(young if f == "young" else "d" in pte[1] and "w" in pte[1])
        if f in ("young", "dirty") and self.ad:
            mine = any(e[0] == "st" and e[1] == addr for e in w.core(ctx.i).buf)
            bits = 0 if mine else w.mem.get(("ad", addr), 0)
            return bits & 1 if f == "young" else bits >> 1
        return {"present": 1, "global": int(pte[2])}.get(f, 0)

    def load(self, w: Work, i: int, addr: tuple[Any, ...]) -> int:
        return int(self.view(w, i, addr))

    def view(self, w: Work, i: int, addr: tuple[Any, ...]) -> Any:
        """What core ``i`` reads at ``addr``: its youngest buffered store there, else memory."""
        for e in reversed(w.core(i).buf):
            if e[0] == "st" and e[1] == addr:
                return e[2]
        return w.mem[addr]

    def entry_addr(
        self, w: Work, ctx: Ctx, addr: tuple[str, str, str], fatal: bool = False
    ) -> tuple[Any, ...] | None:
        """Where a page's PTE lives: its own entry, or for a two-level page the leaf slot
        of the table its dir points to in this core's view (None or `range` if invalid)."""
        path = self.at.get(addr[1:])
        if path is None:
            return addr
        table = self.view(w, ctx.i, ("d", path[0]))
        if table is None:
            if fatal:
                raise Fatal("range")
            return None
        return ("l", table, path[1])

    def reg_checked(self, v: int) -> int:
        lo, hi = DEFAULT_RANGE
        if not lo <= v <= hi:
            raise Fatal("range")
        return v

    def word_checked(self, word: tuple[Any, ...], v: int) -> int:
        var = self.vars[word[1]]
        if not var.lo <= v <= var.hi:
            raise Fatal("range")
        return v

    def pte_addr(self, cs: CoreSt, ctx: Ctx, ref: ast.PageRef) -> tuple[str, str, str]:
        if ref.space is not None:
            return ("p", ref.space, ref.page)
        if ref.page in ctx.hparams:
            _, sp, page = ctx.regs[ref.page]
            return ("p", sp or cs.space, page)
        return ("p", cs.space, ref.page)

    # ------------------------------------------------------------ memory and IPIs

    def walked(self, w: Work, src: tuple[Any, ...], dirty: int) -> None:
        """A walk filled an entry from ``src``: it sets the accessed bit (and dirty)."""
        if self.ad:
            w.mem[("ad", src)] = 3 if dirty else w.mem.get(("ad", src), 0) | 1

    def to_memory(self, w: Work, addr: tuple[Any, ...], v: Any) -> None:
        w.mem[addr] = v
        if self.ad and addr[0] in ("p", "l"):
            w.mem[("ad", addr)] = 0  # a `pte` store clears the accessed and dirty bits

    def store(self, w: Work, i: int, addr: tuple[Any, ...], v: Any) -> None:
        if self.model == "sc":
            self.to_memory(w, addr, v)
        else:
            w.set_core(i, buf=(*w.core(i).buf, ("st", addr, v)))

    def atomic(self, w: Work, ctx: Ctx, st: ast.Atomic) -> None:
        args = [self.value(w, ctx, a) for a in st.args]
        word = self.word_of(ctx, st.target)
        assert word is not None
        old = int(w.mem[word])
        new: int | None
        if st.op in ("fetch_add", "+="):
            new = old + args[0]
        elif st.op in BITS:
            new = bits(st.op, old, args[0])
        elif st.op == "swap":
            new = args[0]
        else:  # cas
            new = args[1] if old == args[0] else None
        if new is not None:
            w.mem[word] = self.word_checked(word, new)
        if st.dest is not None:
            ctx.regs[st.dest] = self.reg_checked(old)

    def ipi_arg(self, w: Work, ctx: Ctx, e: ast.Expr) -> Any:
        if isinstance(e, ast.PageName):
            return ("page", e.space, e.page)
        if isinstance(e, ast.Name):
            n = e.name
            if n in ctx.hparams and not isinstance(ctx.regs[n], int):
                return ctx.regs[n]
            value_kinds = (ctx.env, ctx.hparams, self.params, self.vars, ctx.body_regs)
            if not any(n in k for k in value_kinds) and n in self.c.pages:
                return ("page", None, n)
        return self.reg_checked(self.value(w, ctx, e))

    def ipi(self, w: Work, ctx: Ctx, st: ast.Ipi) -> None:
        targets: list[str] = []
        for t in st.targets:
            targets += [n for n in core_names(self.c, t, ctx.me, ctx.env) if n not in targets]
        order = tuple(n for n in self.names if n in targets)
        args = tuple(self.ipi_arg(w, ctx, a) for a in st.args)
        buf = w.core(ctx.i).buf
        ordered = self.c.ipi == "ordered"
        if self.model == "sc":
            held = False
        elif ordered:
            held = any(e[0] in ("st", "ipi") for e in buf)
        else:
            held = any(e[0] == "ipi" for e in buf) or _release_pending(buf)
        if held:
            w.set_core(ctx.i, buf=(*buf, ("ipi", order, st.handler, args, ordered)))
        else:
            self.enqueue(w, order, st.handler, args)

    def enqueue(self, w: Work, targets: tuple[str, ...], h: str, args: tuple[Any, ...]) -> None:
        for n in targets:
            j = self.names.index(n)
            q = w.core(j).queue
            if len(q) >= MAX_QUEUE:
                raise Fatal("range")
            w.set_core(j, queue=(*q, (h, args)))

    # ------------------------------------------------------------ TLB accesses

    def access(self, s: State, ctx: Ctx, kind: str, page: str) -> list[tuple[Work, set[str], bool]]:
        cs = s.cores[ctx.i]
        sp, tag = cs.space, self.asid[cs.space]
        hits = sorted((e for e in cs.tlb if e[1] == page and e[0] in ("G", tag)), key=repr)
        letter = {"read": "r", "write": "w", "exec": "x"}[kind]
        out = []
        for e in hits:
            w = Work(s)
            reuse = e[0] != "G" and e[4] != sp
            if not grants(e[3], letter, ctx.user):
                out.append((w, {"asid-reuse"} if reuse and ASID_REUSE_ON_FAULT else set(), True))
                continue
            if self.ad and letter == "w" and not e[7]:  # R14: the locked re-walk
                now = w.mem[e[6]][0]
                if now is None or not grants(now[1], "w", ctx.user):
                    out.append((w, set(), True))  # the write faults
                    continue
                w.mem[("ad", e[6])] = 3
                cs2 = w.core(ctx.i)
                w.set_core(ctx.i, tlb=(cs2.tlb - {e}) | {(*e[:7], 1)})
            kinds = self.races(w, e, letter, ctx.user) | ({"asid-reuse"} if reuse else set())
            out.append((w, kinds, False))
        if hits:
            return out
        w = Work(s)
        src: tuple[Any, ...] = ("p", sp, page)
        path = self.at.get((sp, page))
        if path is not None:
            d, slot = path
            table = dict(cs.psc).get(d)
            if table is None:
                table = w.mem[("d", d)]
                if table is None:
                    return [(w, set(), True)]  # the dir is invalid: a fault
                w.set_core(ctx.i, psc=cs.psc | {(d, table)})
            if table in w.freed:
                return [(w, {"freed-table"}, True)]  # nothing is accessed: a fault
            src = ("l", table, slot)
        pte, wid = w.mem[src]
        if pte is None:
            return [(w, set(), True)]  # a fault: nothing is filled
        frame, perms, glob = pte
        dirty = int(letter == "w" and grants(perms, "w", ctx.user))
        e = ("G" if glob else tag, page, frame, perms, sp, wid, src, dirty)
        self.walked(w, src, dirty)
        w.set_core(ctx.i, tlb=w.core(ctx.i).tlb | {e})
        ok = grants(perms, letter, ctx.user)
        return [(w, self.races(w, e, letter, ctx.user) if ok else set(), not ok)]

    def races(self, w: Work, e: tuple[Any, ...], letter: str, user: bool = False) -> set[str]:
        out = set()
        if e[2] in w.freed:
            out.add("use-after-free")
        gone = w.mem.get(("c", e[2]))  # R13
        if gone is not None and (gone[0] == "zeroed" or letter == "w" or len(gone) == 3):
            out.add("lost-write")
        if letter == "w":  # the copy's sources now miss this write
            for k, v in list(w.mem.items()):
                if k[0] == "c" and v == ("copied", e[2]):
                    w.mem[k] = ("copied", e[2], "written")
        rec = w.rec.get(e[6])
        if rec is not None and e[5] < rec[1]:
            now = rec[0]
            if now is None or now[0] != e[2]:
                out.add("stale-translation")
            elif not grants(now[1], letter, user):
                out.add("stale-permission")
        return out

    # ------------------------------------------------------------ drains and the walker

    def drains(self, s: State, i: int) -> list[Out]:
        buf = s.cores[i].buf
        out = []
        for k, e in enumerate(buf):
            if e[0] == "rel" or not self.may_drain(buf, k):
                continue
            w = Work(s)
            rest = _tidy(buf[:k] + buf[k + 1 :])
            w.set_core(i, buf=rest)
            label = f"{self.names[i]} drains {e[:2]}"
            if e[0] == "st":
                self.to_memory(w, e[1], e[2])
            else:
                try:
                    self.enqueue(w, e[1], e[2], e[3])
                except Fatal as f:
                    out.append(Out(label, None, frozenset({f.kind}), i))
                    continue
            out.append(Out(label, w.freeze(), frozenset(), i))
        return out

    def may_drain(self, buf: tuple[tuple[Any, ...], ...], k: int) -> bool:
        e = buf[k]
        for j in range(k):
            d = buf[j]
            if d[0] == "rel":
                continue
            fenced = any(buf[m][0] == "rel" for m in range(j + 1, k))
            if d[0] == "st" and e[0] == "st":
                must = self.model == "tso" or d[1] == e[1] or fenced
            elif d[0] == "st":
                must = e[4] or fenced
            elif e[0] == "st":
                must = self.model == "tso" and d[4]
            else:
                must = True
            if must:
                return False
        return True

    def walks(self, s: State, i: int) -> list[Out]:
        if self.c.walker != "speculative":
            return []
        cs = s.cores[i]
        tag = self.asid[cs.space]
        out = []
        mem = dict(s.mem)
        psc = dict(cs.psc)
        for page in self.c.pages:
            if any(e[1] == page and e[0] in ("G", tag) for e in cs.tlb):
                continue
            src: tuple[Any, ...] = ("p", cs.space, page)
            path = self.at.get((cs.space, page))
            if path is not None:
                if page not in self.accessed[i] or path[0] not in psc:
                    continue
                if psc[path[0]] in s.freed:
                    label = f"{self.names[i]} walker walks {page} into a freed table"
                    out.append(Out(label, s, frozenset({"freed-table"}), i))
                    continue
                src = ("l", psc[path[0]], path[1])
            pte, wid = mem[src]
            if pte is None or (self.model == "arm" and "o" in pte[1]):
                continue  # an access-flag fault is never cached either
            frame, perms, glob = pte
            w = Work(s)
            e = ("G" if glob else tag, page, frame, perms, cs.space, wid, src, 0)
            self.walked(w, src, 0)
            w.set_core(i, tlb=cs.tlb | {e})
            out.append(Out(f"{self.names[i]} walker fills {page}", w.freeze(), frozenset(), i))
        for d in sorted(
            {self.at[(cs.space, p)][0] for p in self.accessed[i] if (cs.space, p) in self.at}
        ):
            if d not in psc and mem[("d", d)] is not None:
                w = Work(s)
                w.set_core(i, psc=cs.psc | {(d, mem[("d", d)])})
                out.append(Out(f"{self.names[i]} walker caches {d}", w.freeze(), frozenset(), i))
        return out


def _release_pending(buf: tuple[tuple[Any, ...], ...]) -> bool:
    """Is there a `fence release` in the buffer with a store before it?"""
    seen_store = False
    for e in buf:
        if e[0] == "st":
            seen_store = True
        elif e[0] == "rel" and seen_store:
            return True
    return False


def _tidy(buf: tuple[tuple[Any, ...], ...]) -> tuple[tuple[Any, ...], ...]:
    """Drop release markers with no store before them: they order nothing any more."""
    out: list[tuple[Any, ...]] = []
    seen_store = False
    for e in buf:
        if e[0] == "rel" and (not seen_store or (out and out[-1][0] == "rel")):
            continue
        seen_store = seen_store or e[0] == "st"
        out.append(e)
    return tuple(out)
