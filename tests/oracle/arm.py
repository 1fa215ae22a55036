"""The reference's Arm64 additions (docs/arm64.md), written from the document and not
from verifier/machine: `dmb`/`dsb`/`isb`, `tlbi`, data through pages in every model,
and the `arm` model.

`ExtMachine` adds the statements to sc/tso/pso.  `ArmMachine` runs a core's main code
out of order: from ``pc`` on, along straight-line code, any statement no pending
earlier statement holds back may be performed (`holds`); an access through a page is a
translation read (held until used) and then the access itself.  Readings:
  A1  Handlers under `arm` (tests/oracle/handlers.py): an IPI is taken only when nothing
      after ``pc`` was performed early and no translation read is held (docs/riscv.md §2
      says both; docs/arm64.md §2 names only the first); the handler's code then runs
      in the same window, its return a stop; `option ad` with handlers is refused.  A
      handler's page parameter may be any page for the one-location order (static
      "may"); its translation reads and access resolve it.  A `switch` is performed
      only at ``pc``.
  A2  `asid-reuse` under `arm`: the access's held translation read came from a tagged
      entry that another space filled (the core runs the space it ran at the read:
      a switch is performed only at ``pc``).
  A3  Hardware flags (docs/arm64.md section 7): a PTE value's permissions carry `o` (`old`)
      and `d` (`dbm`); the walker's update is a pending item ("hu", core, pc) of memory,
      done by a step of its own while the entry still holds the value read, written by
      the same write (a store of the same value in between cancels it), once no
      branch between ``pc`` and the access is still to be taken (a branch is a control
      dependency); until then a walk holds the updated value without caching it, and a
      branch that skips the access drops its pending update.
  A4  `on fault` (docs/arm64.md §3): a fault of the body is recorded (the core's 4th arm
      field) and, once ``pc`` gets there, the core goes to the `on fault` code; loads of
      the body after the fault performed early are undone (a register only they write
      is 0 again).  The straight-line start of that code may run earlier, once some
      access of the body faults or holds a faulting translation read, past pending
      earlier statements that neither hold it back nor hold back an `isb` (a `dsb`, an
      access whose translation read is not held).  With `on fault`, a store, `pte` or
      `tlbi` waits until every earlier access holds a translation read that does not
      fault (nothing visible passes a fault).
  A5  A translation read may be performed from any earlier ``pc`` reached through
      branches and jumps only (no other stop between), past pending statements that do
      not order it (an `isb`, the statements setting its `via` registers); a branch or
      jump that skips the access, or after which it can no longer be reached, drops the
      read it holds (its pending walker update goes only with a skip, A3).
  A7  Two loads of one word are not ordered when no statement of the spec writes it
      (it keeps its first value: herd7's PosRR orders nothing, and coherence has
      nothing to order); nor two loads of one frame no statement writes, when no
      statement writes a PTE, dir or slot and no core manages hardware flags (every
      translation then stays as it was). An atomic writes.
  A6  A core whose faults are fatal may take the fault of an access past a branch not
      yet taken (from a ``pc`` as in A5, before the access's own straight-line run),
      with its translation read held and faulting, no fault recorded at or before it,
      and no statement on a path from ``pc`` to it holding the fault back (a statement
      that may run again before it, on a cycle, holds it back even when performed).
      A branch or jump after which the access can no longer be reached forgets the
      fault. A fault so recorded lets the `on fault` code start early only once the
      access is in ``pc``'s straight-line run.
  A7  A fault undoes the registers of the body's statements done early after it (A4):
      such a statement is not performed early while `on fault` code writing one of its
      registers has been, and `on fault` code is not performed before the fault is taken
      while such a statement writing one of its registers has been (R19 blocks too).
"""

from __future__ import annotations

from typing import Any

from verifier.lang import ast
from verifier.lang.checked import CheckedSpec

from .atomic_nodes import order_of, rmw
from . import paths
from .code import Instr, const
from .machine import Ctx, Fatal, Machine, Out, _walk, grants
from .state import Hand, State, Work

LETTER = {"read": "r", "write": "w", "exec": "x"}
MEMORY_BARRIERS = (ast.Barrier, ast.Fence, ast.Atomic)


def _names(e: ast.Expr | None) -> set[str]:
    match e:
        case ast.Name(name=n):
            return {n}
        case ast.Unary(operand=a) | ast.PteFields(value=a):  # `pte_set(r, F...)` reads r
            return _names(a)
        case ast.Binary(left=a, right=b):
            return _names(a) | _names(b)
    return set()


def _pte_reads(e: ast.Expr | None) -> set[tuple[str, str]]:
    """The PTEs an expression reads (`pte(V).young`): loads of the entry's location."""
    match e:
        case ast.PteRead(page=p):
            return {("pte", p.page)}
        case ast.Unary(operand=a) | ast.PteFields(value=a):
            return _pte_reads(a)
        case ast.Binary(left=a, right=b):
            return _pte_reads(a) | _pte_reads(b)
    return set()


class ExtMachine(Machine):
    """The Arm64 statements under sc, tso and pso (and the data words of frames)."""

    def initial(self) -> State:
        s = super().initial()
        if not self.c.frame_data:
            return s
        w = Work(s)
        for f, v in zip(self.c.frames, self.c.frame_data, strict=True):
            w.mem[("f", f, "")] = v
        return w.freeze()

    def step(self, s: State, ctx: Ctx, ins: Instr, loc: tuple[Any, ...]) -> list[Any]:
        st = ins.node
        pc = loc[-1]
        if isinstance(st, ast.Barrier):
            w = Work(s)
            if st.kind != "isb" and w.core(ctx.i).buf:
                return []  # dmb and dsb wait for the store buffer like `fence`
            return [(w, set(), pc + 1, None)]
        if isinstance(st, ast.PteWrite) and st.order == "release" and s.cores[ctx.i].buf:
            return []  # a release store waits for the store buffer (tso/pso)
        if isinstance(st, ast.Tlbi):
            w = Work(s)
            self.tlbi(w, ctx, st)
            return [(w, set(), pc + 1, None)]
        if isinstance(st, ast.Access) and (st.dest is not None or st.value is not None or rmw(st)):
            if st.order == "release" and s.cores[ctx.i].buf:
                return []  # a release write waits for the store buffer (tso/pso)
            out = self.data_access(s, ctx, st)
            return [(w, k, self.after_access(ctx.i, pc, f), None) for w, k, f in out]
        return super().step(s, ctx, ins, loc)

    def tlbi_scope(self, w: Work, ctx: Ctx, st: ast.Tlbi) -> tuple[Any, ...]:
        """(page or None, tag or None): what a `tlbi` names, seen from core ``ctx.i``."""
        if st.scope == "page":
            assert st.page is not None
            _, sp, page = self.pte_addr(w.core(ctx.i), ctx, st.page)
            return (page, self.asid[sp])
        if st.scope == "asid":
            assert st.space is not None
            return (None, self.asid[st.space])
        return (None, None)

    def tlbi(self, w: Work, ctx: Ctx, st: ast.Tlbi) -> None:
        """The named TLB entries go; so do the cached dir pointers (PSC) on the page's path
        (by page, unless `leaf`: last level only), of the ASID's spaces, or all."""
        page, tag = self.tlbi_scope(w, ctx, st)
        dirs = set()
        for name, d in self.dirs.items():
            mine = tag is None or self.asid[d.space] == tag
            on_path = page is None or any(
                path[0] == name for (sp, p), path in self.at.items() if p == page and sp == d.space
            )
            if mine and on_path and not st.leaf:
                dirs.add(name)
        for j in range(len(w.cores)) if st.broadcast else (ctx.i,):
            keep = frozenset(e for e in w.core(j).tlb if not _covers(e[1], e[0], page, tag))
            psc = frozenset(x for x in w.core(j).psc if x[0] not in dirs)
            w.set_core(j, tlb=keep, psc=psc)

    def data_access(self, s: State, ctx: Ctx, st: ast.Access) -> list[tuple[Work, set[str], bool]]:
        """An access that moves data: as `read V`/`write V`, then the frame's word."""
        page = self.pte_addr(s.cores[ctx.i], ctx, st.page)[2]
        out = []
        for w, kinds, faulted in self.access(s, ctx, st.kind, page):
            entry = self.used_entry(w, s, ctx.i, page)
            if entry is not None and grants(entry[3], LETTER[st.kind], ctx.user):
                self.move(w, ctx, st, entry[2])
            out.append((w, kinds, faulted))
        return out

    def used_entry(self, w: Work, s: State, i: int, page: str) -> Any:
        """The entry an access just used (the only matching one, or the one it filled)."""
        tag = self.asid[s.cores[i].space]
        now = [e for e in w.core(i).tlb if e[1] == page and e[0] in ("G", tag)]
        return now[0] if len(now) == 1 else None

    def move(self, w: Work, ctx: Ctx, st: ast.Access, frame: str) -> None:
        if st.dest is not None:
            ctx.regs[st.dest.name] = self.reg_checked(int(w.mem[("f", frame, "")]))
        if st.value is not None:
            w.mem[("f", frame, "")] = self.value(w, ctx, st.value)


def _covers(entry_page: str, entry_tag: Any, page: str | None, tag: Any) -> bool:
    if page is not None and entry_page != page:
        return False
    if tag is None:
        return True
    return entry_tag == tag or (page is not None and entry_tag == "G")


class ArmMachine(ExtMachine):
    def __init__(self, checked: CheckedSpec, model: str) -> None:
        super().__init__(checked, model)
        self.frames_of = self._frames_of_pages()
        per = dict(checked.ad_cores)  # hardware flag management per core (docs/arm64.md 7)
        self.mode = [per.get(c.family or c.name, checked.ad) for c in checked.cores]
        if checked.handlers and any(m != "none" for m in self.mode):
            raise ValueError("the oracle runs no handlers with `option ad` (reading A1)")
        self.page_params = {p for h in checked.handlers for p in h.params}

    # ------------------------------------------------------------ the running code

    def code_of(self, s: State, i: int) -> list[Instr]:
        """The code core ``i`` runs: its handler's while one runs, else its own."""
        hand = s.cores[i].hand
        return self.code[i] if hand is None else self.hcode[(hand.name, i)]

    def set_pc(self, w: Work, i: int, pc: int) -> None:
        hand = w.core(i).hand
        if hand is None:
            w.set_core(i, pc=pc)
        else:
            w.set_core(i, hand=hand._replace(pc=pc))

    def set_regs(self, w: Work, i: int, regs: dict[str, Any]) -> None:
        hand, items = w.core(i).hand, tuple(sorted(regs.items()))
        if hand is None:
            w.set_core(i, regs=items)
        else:
            w.set_core(i, hand=hand._replace(regs=items))

    def loc(self, s: State, i: int, k: int) -> tuple[Any, ...]:
        hand = s.cores[i].hand
        return ("main", k) if hand is None else ("h", hand.name, k)

    def page_of(self, s: State, i: int, ref: ast.PageRef) -> str:
        """The page an access names: a handler's page parameter resolved."""
        return self.pte_addr(s.cores[i], self.ctx(s, i), ref)[2]

    def frames_at(self, page: str) -> set[str]:
        """The frames a page may map; a handler's page parameter may be any page."""
        if page in self.page_params:
            return set().union(*self.frames_of.values())
        return self.frames_of[page]

    def _frames_of_pages(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {p: set() for p in self.c.pages}
        for sp in self.c.spaces:
            for page, v in sp.entries:
                if isinstance(v, ast.Mapping):
                    out[page].add(v.frame)
        for body in [c.body for c in self.c.cores]:
            for s in _walk(body):
                if isinstance(s, ast.PteWrite) and isinstance(s.value, ast.Mapping):
                    out[s.page.page].add(s.value.frame)
        return out

    def initial(self) -> State:
        s = super().initial()
        w = Work(s)
        for i in range(len(w.cores)):
            w.set_core(i, arm=(frozenset(), (), frozenset(), None))
        return w.freeze()

    def store(self, w: Work, i: int, addr: tuple[Any, ...], v: Any) -> None:
        w.mem[addr] = v  # no store buffer: a store is seen by all once performed

    def successors(self, s: State) -> list[Out]:
        out: list[Out] = []
        for i in range(len(s.cores)):
            out += self.interrupts(s, i)
            out += self.arm_steps(s, i)
            out += self.walks(s, i)
            out += self.updates(s, i)
        return out + self.spontaneous(s)

    def interrupts(self, s: State, i: int) -> list[Out]:
        """Taking the first queued IPI, or returning from a finished handler: only with
        nothing performed early and no translation read held (reading A1)."""
        cs = s.cores[i]
        if cs.arm[0] or cs.arm[1]:
            return []
        w = Work(s)
        if cs.hand is not None:
            if cs.hand.pc < len(self.hcode[(cs.hand.name, i)]):
                return []
            w.set_core(i, hand=None, irq=cs.hand.saved_irq)
            return [Out(f"{self.names[i]} returns", w.freeze(), frozenset(), i)]
        if not (cs.irq and cs.queue):
            return []
        (h, args), rest = cs.queue[0], cs.queue[1:]
        regs = tuple(zip(self.handlers[h].params, args, strict=True))
        w.set_core(i, hand=Hand(h, 0, regs, cs.irq), irq=False, queue=rest)
        return [Out(f"{self.names[i]} takes {h}", w.freeze(), frozenset(), i)]

    # ------------------------------------------------------------ what may run

    def window(self, s: State, i: int) -> list[int]:
        """The statements from ``pc`` along straight-line code."""
        code, pc = self.code_of(s, i), pc_of(s.cores[i])
        out = []
        k = pc
        while k < len(code):
            out.append(k)
            if _stop(code[k]):
                break
            k += 1
        return out

    def arm_steps(self, s: State, i: int) -> list[Out]:
        cs = s.cores[i]
        done, fault = cs.arm[0], cs.arm[3]
        code, pc = self.code_of(s, i), pc_of(cs)
        if fault is not None and pc == fault and cs.hand is None:
            return [self.take_fault(s, i, fault)]
        out: list[Out] = []
        for k in self.window(s, i):
            if cs.hand is None and fault is not None and fault < k < self.region(i, fault)[1]:
                break  # cancelled by the fault (A4); an IPI handler's code numbers apart
            if code[k].op == "end" or k in done:
                continue
            if k != pc and (_stop(code[k]) or _in_order(code[k])):
                continue
            if k != pc and k < self.main_end[i] and self.clobbers(s, i, k, True):
                continue  # (A7)
            out += self.candidate(s, i, k, [j for j in range(pc, k) if j not in done], set())
        window = set(self.window(s, i))
        for k in range(pc, self.main_end[i] if cs.hand is None else pc):  # (A5)
            st = code[k].node
            if k in window or not isinstance(st, ast.Access) or self.tr_start(i, k) > pc:
                continue
            if fault is not None and k > fault:
                break
            if k not in {h[0] for h in cs.arm[1]}:
                vias = {n.name for n in st.via}
                pending = [j for j in range(pc, k) if j not in done]
                if not any(
                    self.tr_barrier(code[j]) or self.effects(code[j].node)["wregs"] & vias
                    for j in pending
                ):
                    out += self.translation_reads(s, i, k, st)
        out += self.speculated_faults(s, i)
        if cs.hand is None and pc < self.main_end[i] and self.fault_at[i] >= 0:
            for f in self.faults_known(s, i):
                main = [j for j in range(pc, f) if j not in done]
                run = self.handler_run(i, f)
                for k in run:
                    if k not in done and not self.clobbers(s, i, k, False):
                        mine = [j for j in range(run[0], k) if j not in done]
                        out += self.candidate(s, i, k, main + mine, set(main))
        return out

    def region(self, i: int, k: int) -> tuple[int, int]:
        """The code ``k`` is in: the program, or a `resume` block (R19)."""
        for entry, _, end in self.blocks(i).values():
            if entry <= k < end:
                return entry, end
        return (0, self.main_end[i]) if k < self.main_end[i] else (k, len(self.code[i]))

    def clobbers(self, s: State, i: int, k: int, main: bool) -> bool:
        """(A7) A fault undoes registers of the program's statements done early after it:
        a statement of the program done early (``main``) never shares a register it
        writes with `on fault` code done early, nor the other way round."""
        mine = self.effects(self.code[i][k].node)["wregs"]
        for j in s.cores[i].arm[0]:
            other = j > self.main_end[i] if main else j < self.main_end[i]
            if other and self.effects(self.code[i][j].node)["wregs"] & mine:
                return True
        return False

    def fatal(self, i: int) -> bool:
        """Does a fault stop core ``i`` (its `on fault` code)?"""
        return self.fault_at[i] >= 0

    def recorded_fault(self, s: State, i: int) -> int | None:
        return s.cores[i].arm[3]  # type: ignore[no-any-return]

    def forget_fault(self, w: Work, i: int) -> None:
        c = w.core(i)
        w.set_core(i, arm=(*c.arm[:3], None))

    def speculated_faults(self, s: State, i: int) -> list[Out]:
        """(A6) The fault of an access of the body past a branch not yet taken: its
        translation read is held and faults, no earlier fault is recorded, and no
        statement that may run between ``pc`` and it holds it back (one that may run
        again, on a cycle, counts even when performed)."""
        cs = s.cores[i]
        code, pc = self.code[i], cs.pc
        if cs.hand is not None or not self.fatal(i) or pc >= self.main_end[i]:
            return []
        window, out = set(self.window(s, i)), []
        for h in cs.arm[1]:
            k, pte = h[0], h[1][0]
            st = code[k].node
            if k in window or not pc < k < self.main_end[i] or self.tr_start(i, k) > pc:
                continue
            ok = pte is not None and grants(pte[1], LETTER[st.kind], self.in_user(i, k))
            if ok and "o" not in pte[1]:
                continue
            f = self.recorded_fault(s, i)
            way = paths.between(code, pc, k)
            if way is None or (f is not None and f <= k):
                continue
            if any(_stop(code[j]) and code[j].op not in ("br", "jmp") for j in way):
                continue
            pending = [j for j in sorted(way) if j not in cs.arm[0] or paths.on_cycle(code, j, way)]
            out += self.use(s, i, k, st, h, pending)
        return out

    def candidate(self, s: State, i: int, k: int, pending: list[int], entry: set[int]) -> list[Out]:
        """Statement ``k`` performed now, past ``pending``; ``entry``: those of them before a
        fault whose exception entry ``k`` follows (none may hold back an `isb`)."""
        code = self.code_of(s, i)
        held_at = dict((h[0], h) for h in s.cores[i].arm[1])
        if any(not self.entry_free(s, i, j) for j in entry):
            return []
        st = code[k].node
        if isinstance(st, ast.Access):
            out = []
            vias = {n.name for n in st.via}
            blocked = any(
                self.tr_barrier(code[j]) or self.effects(code[j].node)["wregs"] & vias
                for j in pending
            )
            if k not in held_at and not blocked:
                out += self.translation_reads(s, i, k, st)
            if k in held_at:
                out += self.use(s, i, k, st, held_at[k], pending)
            return out
        if any(self.holds(s, i, j, k, memory=True) for j in pending):
            return []
        full_dsb = isinstance(st, ast.Barrier) and st.kind == "dsb" and st.which == "full"
        if full_dsb and any(m[1] == i for c in s.cores for m in c.arm[2]):
            return []  # waits for the in-flight users of its tlbis
        if full_dsb and any(a[:2] == ("hu", i) and a[2] < k for a, _ in s.mem):
            return []  # and for the walker's pending updates of earlier accesses
        return self.perform(s, i, k)

    def entry_free(self, s: State, i: int, j: int) -> bool:
        """Pending ``j`` does not hold back an exception entry (an `isb`)."""
        st = self.code[i][j].node
        if isinstance(st, ast.Barrier) and st.kind == "dsb":
            return False
        return not isinstance(st, ast.Access) or j in {h[0] for h in s.cores[i].arm[1]}

    def faults_known(self, s: State, i: int) -> list[int]:
        """Accesses of the body at which core ``i`` takes a fault: the recorded one, and
        every pending one holding a faulting translation read (it will fault)."""
        cs = s.cores[i]
        win = self.window(s, i)  # a fault taken past a branch still to be taken may go (A6)
        out = [] if cs.arm[3] is None or cs.arm[3] not in win else [cs.arm[3]]
        for h in cs.arm[1]:
            k, pte = h[0], h[1][0]
            st = self.code[i][k].node
            straight = k in self.window(s, i)  # a branch cannot skip it any more
            bad = pte is None or not grants(pte[1], LETTER[st.kind], self.in_user(i, k))
            bad = bad or "o" in pte[1]
            if straight and k < self.main_end[i] and bad:
                out.append(k)
        return sorted(set(out))

    def handler_run(self, i: int, f: int) -> list[int]:
        """The straight-line start of core ``i``'s `on fault` code (for a fault at ``f``)."""
        code, out = self.code[i], []
        for k in range(self.handler_for(i, f), len(code)):
            if _stop(code[k]) or _in_order(code[k]):
                break
            out.append(k)
        return out

    def record_fault(self, s: State, i: int, k: int) -> list[Out]:
        """Access ``k`` of the body faults (A4): recorded, its translation read kept; the
        core goes to the `on fault` code once ``pc`` is at ``k`` (now, if it is)."""
        c = s.cores[i]
        if c.arm[3] == k:
            return []
        w = Work(s)
        marks = frozenset(m for m in c.arm[2] if m[0] != k)
        w.set_core(i, arm=(c.arm[0], c.arm[1], marks, k))
        o = Out(f"{self.names[i]} faults at {k}", w.freeze(), frozenset(), i)
        if k == c.pc:
            return [self.take_fault(o.state, i, k)]  # type: ignore[arg-type]
        return [o]

    def take_fault(self, s: State, i: int, at: int) -> Out:
        """``pc`` reached the recorded fault: on to the `on fault` code (A4)."""
        w = Work(s)
        c = w.core(i)
        code, (lo, end) = self.code[i], self.region(i, at)
        before: set[str] = set().union(*(self.effects(x.node)["wregs"] for x in code[: at + 1]))
        regs = dict(c.regs)
        for j in c.arm[0]:
            if at < j < end:
                for r in self.effects(code[j].node)["wregs"] - before:
                    regs[r] = 0
        mine = lambda j: not lo <= j < end  # noqa: E731
        done = {j for j in c.arm[0] if mine(j)}
        held = tuple(h for h in c.arm[1] if mine(h[0]))
        marks = frozenset(m for m in c.arm[2] if mine(m[0]))
        pc = self.handler_for(i, at)
        while pc in done:
            done.discard(pc)
            pc += 1
        resumes = self.insts[self.names[i]].resume  # R19: the fault is not kept
        arm = (frozenset(done), held, marks, None if resumes else at)
        w.set_core(i, pc=pc, regs=tuple(sorted(regs.items())), arm=arm)
        return Out(f"{self.names[i]} takes its fault", w.freeze(), frozenset(), i)

    def tr_barrier(self, ins: Instr) -> bool:
        """Does this pending statement hold later translation reads back?"""
        return _is(ins, "isb")

    def holds(self, s: State, i: int, j: int, k: int, memory: bool) -> bool:
        """Does pending statement ``j`` hold later statement ``k`` back? ``memory`` False:
        ``k`` is a fault (it touches no location and needs no data register)."""
        code = self.code_of(s, i)
        a, b = code[j].node, code[k].node
        ea, eb = self.effects(a), self.effects(b)
        b_reads = eb["rregs"]
        if not memory and isinstance(b, ast.Access):  # a fault: an access event, no data
            b_reads = {n.name for n in b.via}
            ev = {("fault",)}
            eb = {**eb, "reads": ev if b.kind != "write" else set(),
                  "writes": ev if b.kind == "write" else set()}  # fmt: skip
        if ea["wregs"] & (b_reads | eb["wregs"]) or ea["rregs"] & eb["wregs"]:
            return True
        mem_b = eb["reads"] | eb["writes"]
        same = ea["writes"] & mem_b | ea["reads"] & eb["writes"]
        same |= {x for x in ea["reads"] & eb["reads"] if self.changes(x)}  # (A7)
        if memory and same:
            return True
        if _acquire_release(a, ea, b, eb, memory):
            return True
        if not memory and isinstance(a, ast.Barrier) and a.kind == "dmb":
            return True  # every dmb orders a later fault
        if _barrier_holds(a, eb) or _barrier_waits(b, ea, a):
            return True
        held = {h[0] for h in s.cores[i].arm[1]}
        visible = eb["writes"] or eb["tlbi"]  # nothing visible passes a possible fault (A4)
        if self.fault_at[i] >= 0 and memory and isinstance(a, ast.Access) and visible:
            h = next((x for x in s.cores[i].arm[1] if x[0] == j), None)
            perms = "" if h is None or h[1][0] is None else h[1][0][1]
            if not grants(perms, LETTER[a.kind], self.in_user(i, j, s)) or "o" in perms:
                return True
        if isinstance(a, ast.Access) and j not in held:
            if _is(code[k], "isb"):
                return True  # an isb waits for earlier translation reads
            if isinstance(b, ast.PteWrite) and self.same_page(a.page.page, b.page.page):
                return True  # no translation read takes a later store of its own core
        return False

    def changes(self, loc: Any) -> bool:
        """(A7) May a word or frame hold another value than its first: some statement of
        some core (body, `on fault` code, handler) writes it, or copies or zeroes frames?
        Page-table entries and dirs always may (the walker's flag updates)."""
        if loc[0] not in ("w", "f"):
            return True
        if not hasattr(self, "_written"):
            code = [x for c in [*self.code, *self.hcode.values()] for x in c]
            stmts = [x.node for x in code if x.op == "stmt"]
            self._written = set().union(*(self.effects(x)["writes"] for x in stmts))
            if any(isinstance(x, ast.CopyFrame | ast.ZeroFrame) for x in stmts):
                self._written |= {("f", f) for f in self.c.frames}
            tables = any(x[0] not in ("w", "f") for x in self._written)
            if tables or any(m != "none" for m in self.mode):  # a translation may change
                self._written |= {("f", f) for f in self.c.frames}
        return loc in self._written

    def same_page(self, a: str, b: str) -> bool:
        return a == b or bool({a, b} & self.page_params)

    def effects(self, st: Any) -> dict[str, set[Any]]:
        regs = lambda e: {n for n in _names(e) if n not in self.vars and n not in self.params}  # noqa: E731
        words = lambda e: {("w", n) for n in _names(e) if n in self.vars} | _pte_reads(e)  # noqa: E731
        out: dict[str, set[Any]] = {"rregs": set(), "wregs": set(), "reads": set(), "writes": set()}
        match st:
            case ast.PteWrite(page=p) if p.page in self.page_params:
                out["writes"] |= {("pte", q) for q in self.c.pages}
            case ast.PteWrite(page=p):
                out["writes"].add(("pte", p.page))
            case ast.DirWrite(dir=d):
                out["writes"].add(("dir", d))
            case ast.SlotWrite(index=k):  # the PTE of every page at that slot
                out["writes"] |= self.slot_pages(const(self.c, k))
            case ast.Assign(target=t, value=v):
                out["rregs"] |= regs(v)
                out["reads"] |= words(v) | self.table_reads(v)
                if isinstance(t, ast.Name) and t.name in self.vars:
                    out["writes"].add(("w", t.name))
                elif isinstance(t, ast.Name):
                    out["wregs"].add(t.name)
            case ast.Atomic(dest=d, target=t, args=args):
                out["reads"].add(("w", t.name))
                out["writes"].add(("w", t.name))
                for x in args:
                    out["rregs"] |= regs(x)
                if d is not None:
                    out["wregs"].add(d)
            case ast.Access(kind=k, page=p, dest=d, value=v):
                frames = {("f", f) for f in self.frames_at(p.page)}
                out["writes" if k == "write" else "reads"] |= frames
                out["rregs"] |= regs(v) | {n.name for n in st.via}
                if d is not None:
                    out["wregs"].add(d.name)
            case ast.Assert(cond=e):
                out["rregs"] |= regs(e)
                out["reads"] |= words(e) | self.table_reads(e)
            case ast.Num() | ast.Name() | ast.Unary() | ast.Binary() | ast.PteRead():
                out["rregs"] |= regs(st)  # a branch's condition (A6)
                out["reads"] |= words(st) | self.table_reads(st)
            case ast.Tlbi(via=via):  # waits for the registers its page is computed from
                out["rregs"] |= {n.name for n in via}
        out["tlbi"] = (
            {1}
            if isinstance(st, ast.Tlbi | ast.Invlpg | ast.FlushAll | ast.FlushAsid | ast.Sfence)
            else set()
        )
        return out

    def slot_pages(self, slot: int) -> set[Any]:
        return {("pte", page) for (_, page), (_, k) in self.at.items() if k == slot}

    def table_reads(self, e: Any) -> set[Any]:
        """The page-table locations an expression reads (`pte(V)`, `pte(T[i])`, `dir(D)`)."""
        match e:
            case ast.PteRead(page=p):
                return {("pte", p.page)}
            case ast.SlotRead(index=k):
                return self.slot_pages(const(self.c, k))
            case ast.DirRead(dir=d):
                return {("dir", d)}
            case ast.Unary(operand=a):
                return self.table_reads(a)
            case ast.Binary(left=a, right=b):
                return self.table_reads(a) | self.table_reads(b)
        return set()

    # ------------------------------------------------------------ steps

    def perform(self, s: State, i: int, k: int) -> list[Out]:
        cs = s.cores[i]
        ins = self.code_of(s, i)[k]
        if k == pc_of(cs):
            outs = self.execute(s, self.ctx(s, i), ins, self.loc(s, i, k))
            return [self.advanced(self.skipped(o, i, k), i) for o in outs]
        ctx = self.ctx(s, i)
        ctx.env = dict(ins.env)
        try:
            results = self.step(s, ctx, ins, self.loc(s, i, k))
        except Fatal as f:
            return [Out(f"{self.names[i]} early {k}", None, frozenset({f.kind}), i)]
        out = []
        for w, kinds, _, _ in results:
            c = w.core(i)
            self.set_regs(w, i, ctx.regs)
            w.set_core(i, arm=(c.arm[0] | {k}, *c.arm[1:]))
            out.append(Out(f"{self.names[i]} early {k}", w.freeze(), frozenset(kinds), i))
        return out

    def skipped(self, o: Out, i: int, k: int) -> Out:
        """A branch or jump at ``k`` that skipped instructions: the translation reads held
        for them (speculated past it, A5) go, with their marks."""
        if o.state is None or o.state.cores[i].hand is not None or self.code[i][k].op == "stmt":
            return o
        w = Work(o.state)
        c = w.core(i)
        gone = range(k + 1, c.pc)
        ahead = paths.reachable(self.code[i], c.pc)  # (A5, A6) what is no longer ahead
        behind = {j for j in range(self.main_end[i]) if j not in ahead and k < self.main_end[i]}
        held = tuple(h for h in c.arm[1] if h[0] not in gone and h[0] not in behind)
        marks = frozenset(m for m in c.arm[2] if m[0] not in gone and m[0] not in behind)
        w.set_core(i, arm=(c.arm[0], held, marks, c.arm[3]))
        for j in gone:  # and the walker's updates left pending for them (A3)
            w.mem.pop(("hu", i, j), None)
        f = self.recorded_fault(w.freeze(), i)
        if f is not None and f in behind:
            self.forget_fault(w, i)
        return Out(o.label, w.freeze(), o.kinds, o.core, o.passed)

    def tr_start(self, i: int, k: int) -> int:
        """A translation read may be speculated back past branches and jumps (A5)."""
        code, lo = self.code[i], self.region(i, k)[0] if self.blocks(i) else 0
        while k > lo and (code[k - 1].op in ("br", "jmp") or not _stop(code[k - 1])):
            k -= 1
        return k

    def in_user(self, i: int, k: int, s: State | None = None) -> bool:
        """Is instruction ``k`` of core ``i`` user-mode code (R16: its program, not its
        `on fault` code, nor an IPI handler it runs in state ``s``)?"""
        if s is not None and s.cores[i].hand is not None:
            return False
        return self.user[i] and (k < self.main_end[i] or self.copied(i, k))

    def copied(self, i: int, k: int) -> bool:
        """Is ``k`` a statement of the program repeated after a `resume` return (R19)?"""
        return any(ret < k < end - 1 for _, ret, end in self.blocks(i).values())

    def ctx(self, s: State, i: int) -> Ctx:
        hand = s.cores[i].hand
        if hand is None:
            return Ctx(i, self.names[i], {}, dict(s.cores[i].regs), (), self.core_regs[i])
        params = self.handlers[hand.name].params
        return Ctx(i, self.names[i], {}, dict(hand.regs), params, self.hregs[hand.name])

    def advanced(self, o: Out, i: int) -> Out:
        """After the statement at ``pc``: ``pc`` moves past statements done early."""
        if o.state is None:
            return o
        w = Work(o.state)
        c = w.core(i)
        done, pc = set(c.arm[0]), pc_of(c)
        while pc in done:
            done.discard(pc)
            pc += 1
        self.set_pc(w, i, pc)
        w.set_core(i, arm=(frozenset(done), *c.arm[1:]))
        return Out(o.label, w.freeze(), o.kinds, o.core, o.passed)

    def step(self, s: State, ctx: Ctx, ins: Instr, loc: tuple[Any, ...]) -> list[Any]:
        st = ins.node
        if isinstance(st, ast.Tlbi):
            w = Work(s)
            self.tlbi(w, ctx, st)
            self.mark(w, ctx, st)
            self.break_done(w, ctx, st)
            return [(w, set(), loc[-1] + 1, None)]
        out = super().step(s, ctx, ins, loc)
        if isinstance(st, ast.PteWrite):
            _, sp, page = self.pte_addr(s.cores[ctx.i], ctx, st.page)
            if (sp, page) in self.at:
                return out  # `bbm` is judged on one-level entries only (docs/arm64.md 5)
            for w, kinds, _, _ in out:
                kinds |= self.break_before_make(w, sp, page, st.value)
        return out

    def bbm_of(self, w: Work, sp: str, page: str) -> tuple[Any, bool]:
        """(the entry's last valid value, whether a break was completed since)."""
        if ("bbm", sp, page) not in w.mem:
            first = dict(next(x for x in self.c.spaces if x.name == sp).entries).get(page)
            valid = isinstance(first, ast.Mapping) and not first.old
            return (_perms_of(first) if valid else None, False)
        return w.mem[("bbm", sp, page)]  # type: ignore[no-any-return]

    def break_before_make(self, w: Work, sp: str, page: str, value: Any) -> set[str]:
        last, cleared = self.bbm_of(w, sp, page)
        if not isinstance(value, ast.Mapping) or value.old:  # never cached: a break
            w.mem[("bbm", sp, page)] = (last, False)
            return set()
        new = _perms_of(value)
        w.mem[("bbm", sp, page)] = (new, False)
        return {"bbm"} if last is not None and last != new and not cleared else set()

    def break_done(self, w: Work, ctx: Ctx, st: ast.Tlbi) -> None:
        """A tlbi covering an entry that is invalid in memory completes its break."""
        page, tag = self.tlbi_scope(w, ctx, st)
        for sp in self.c.spaces:
            if tag is not None and sp.asid != tag:
                continue
            for p in self.c.pages:
                now = w.mem[("p", sp.name, p)][0]
                if (page is None or p == page) and (now is None or "o" in now[1]):
                    w.mem[("bbm", sp.name, p)] = (self.bbm_of(w, sp.name, p)[0], True)

    def mark(self, w: Work, ctx: Ctx, st: ast.Tlbi) -> None:
        if not st.broadcast:
            return
        i = ctx.i
        page, tag = self.tlbi_scope(w, ctx, st)
        for j in range(len(w.cores)):
            c = w.core(j)
            if j == i:
                continue
            new = set(c.arm[2])
            for pc, (pte, _), hpage, src, *_ in c.arm[1]:
                etag = "G" if pte is not None and pte[2] else self.asid[src]
                if _covers(hpage, etag, page, tag):
                    new.add((pc, i))
            w.set_core(j, arm=(c.arm[0], c.arm[1], frozenset(new), c.arm[3]))

    def translation_reads(self, s: State, i: int, k: int, st: ast.Access) -> list[Out]:
        cs = s.cores[i]
        page = self.page_of(s, i, st.page)
        sp, tag = cs.space, self.asid[cs.space]
        letter = LETTER[st.kind]
        choices = []
        for e in sorted(cs.tlb, key=repr):
            if e[1] == page and e[0] in ("G", tag) and not self.rewalk(i, e[3], letter):
                pte = None if e[2] is None else (e[2], e[3], e[0] == "G")  # riscv: invalid
                choices.append(((pte, e[5]), e[4], cs.tlb, e[6], cs.psc, set()))
        loc, psc, kinds = self.walk_to_leaf(s, cs, sp, page)
        pte, wid = dict(s.mem)[loc] if loc is not None else (None, 0)
        new = self.updated(i, pte, letter, self.in_user(i, k, s))
        if new is not None and ("hu", i, k) in dict(s.mem):
            return []  # its earlier update is still pending
        held = pte if new is None else new
        choices.append(((held, wid), sp, cs.tlb, loc, psc, kinds))  # a walk, not cached
        speculated = new is not None and self.unresolved(s, i, k)  # not cached yet (A3)
        if held is not None and "o" not in held[1] and not speculated:  # nor a fault
            e = ("G" if held[2] else tag, page, held[0], held[1], sp, wid, loc)
            choices.append(((held, wid), sp, cs.tlb | {e}, loc, psc, kinds))  # and it fills
        out = []
        for value, src, tlb, where, psc, found in choices:
            w = Work(s)
            if new is not None:  # the walker's update is left pending (`updates`)
                w.mem[("hu", i, k)] = (where, (pte, wid), new)  # the entry as read (A3)
            c = w.core(i)
            held = (*c.arm[1], (k, value, page, src, where))
            arm = (c.arm[0], tuple(sorted(held, key=repr)), c.arm[2], c.arm[3])
            w.set_core(i, tlb=tlb, psc=psc, arm=arm)
            out.append(Out(f"{self.names[i]} translates {k}", w.freeze(), frozenset(found), i))
        return out

    def rewalk(self, i: int, perms: str, letter: str) -> bool:
        """A write with HD does not use a writable-clean (`r dbm`) TLB entry: it walks."""
        return letter == "w" and self.mode[i] == "hardware" and "d" in perms and "w" not in perms

    def updated(self, i: int, pte: Any, letter: str, user: bool) -> Any:
        """The value the walker of core ``i`` writes back before the access may use ``pte``
        (the access flag set; with HD and a write, a `dbm` entry made writable), or None
        when it writes nothing (no management, nothing to change, or the access would
        fault anyway)."""
        if pte is None or self.mode[i] == "none":
            return None
        perms = pte[1].replace("o", "")
        if letter == "w" and self.mode[i] == "hardware" and "d" in perms and "w" not in perms:
            perms = "".join(x for x in "rwx" if x in perms or x == "w") + "d" + "u" * ("u" in perms)
        if perms == pte[1] or not grants(perms, letter, user):
            return None
        return (pte[0], perms, pte[2])

    def updates(self, s: State, i: int) -> list[Out]:
        """Pending walker updates of core ``i`` reach memory: once every earlier access in
        the window holds its translation read, and only while the entry still holds the
        value read (an atomic read-modify-write)."""
        out = []
        mem = dict(s.mem)
        for key, item in sorted(mem.items(), key=repr):
            if key[:2] != ("hu", i):
                continue
            where, read, new = item
            if mem[where] != read or not self.update_ready(s, i, key[2]):
                continue
            w = Work(s)
            w.mem[where] = (new, mem[where][1])
            del w.mem[key]
            out.append(Out(f"{self.names[i]} walker update {key[2]}", w.freeze(), frozenset(), i))
        return out

    def spontaneous(self, s: State) -> list[Out]:
        """While some core manages the access flag, a valid entry with the flag clear may
        have it set at any moment (herd7's spurious updates)."""
        if all(m == "none" for m in self.mode):
            return []
        out = []
        for where, item in s.mem:
            if where[0] not in ("p", "l"):
                continue
            pte, wid = item
            if pte is not None and "o" in pte[1]:
                w = Work(s)
                w.mem[where] = ((pte[0], pte[1].replace("o", ""), pte[2]), wid)
                out.append(Out(f"spontaneous update {where}", w.freeze(), frozenset(), 0))
        return out

    def update_ready(self, s: State, i: int, k: int) -> bool:
        """The update is a write: every earlier access of the core in its window has its
        translation read held (or is done)."""
        done, held = s.cores[i].arm[0], s.cores[i].arm[1]
        mine = {h[0] for h in held}
        pending = [j for j in range(pc_of(s.cores[i]), k) if j not in done]
        code = self.code_of(s, i)
        if self.unresolved(s, i, k):
            return False
        return all(j in mine for j in pending if isinstance(code[j].node, ast.Access))

    def unresolved(self, s: State, i: int, k: int) -> bool:
        """Is a branch between ``pc`` and statement ``k`` still to be taken (a translation
        read for ``k`` was speculated past it, A5)?"""
        code = self.code_of(s, i)
        lo = max(pc_of(s.cores[i]), self.tr_start(i, k))
        return any(code[j].op == "br" for j in range(lo, k))

    def walk_to_leaf(self, s: State, cs: Any, sp: str, page: str) -> tuple[Any, Any, set[str]]:
        """A walk's leaf location, the PSC after it and the problems it meets: a one-level
        page's PTE; for a two-level page the cached dir pointer, else the dir in memory
        (cached when valid), then the slot; an invalid dir or a freed table gives no
        location (an invalid entry is held)."""
        path = self.at.get((sp, page))
        if path is None:
            return ("p", sp, page), cs.psc, set()
        d, slot = path
        psc = cs.psc
        table = dict(psc).get(d)
        if table is None:
            table = dict(s.mem)[("d", d)]
            if table is None:
                return None, psc, set()
            psc = psc | {(d, table)}
        if table in s.freed:
            return None, psc, {"freed-table"}
        return ("l", table, slot), psc, set()

    def use(
        self, s: State, i: int, k: int, st: ast.Access, h: Any, pending: list[int]
    ) -> list[Out]:
        """The access with its held translation read: it reaches the frame, or faults."""
        (pte, wid), page, src, where = h[1], h[2], h[3], h[4]
        letter = LETTER[st.kind]
        ok = pte is not None and grants(pte[1], letter, self.in_user(i, k, s)) and "o" not in pte[1]
        if any(self.holds(s, i, j, k, memory=ok) for j in pending):
            return []
        if not ok and self.fault_at[i] >= 0 and (k < self.main_end[i] or self.blocks(i)):
            return self.record_fault(s, i, k)
        w = Work(s)
        ctx = self.ctx(s, i)
        kinds: set[str] = set()
        try:
            if ok:
                tag = "G" if pte[2] else self.asid[src]
                e = (tag, page, pte[0], pte[1], src, wid, where)
                kinds = self.races(w, e, letter, self.in_user(i, k, s))
                if not pte[2] and src != s.cores[i].space:
                    kinds = kinds | {"asid-reuse"}
                if st.dest is not None or st.value is not None or rmw(st):
                    self.move(w, ctx, st, pte[0])
        except Fatal as f:
            return [Out(f"{self.names[i]} uses {k}", None, frozenset({f.kind}), i)]
        c = w.core(i)
        held = tuple(x for x in c.arm[1] if x[0] != k)
        marks = frozenset(m for m in c.arm[2] if m[0] != k)
        done = c.arm[0] | ({k} if k != pc_of(c) else set())
        self.set_regs(w, i, ctx.regs)
        w.set_core(i, arm=(done, held, marks, c.arm[3]))
        o = Out(f"{self.names[i]} uses {k}", w.freeze(), frozenset(kinds), i)
        if k == pc_of(c):
            w2 = Work(o.state)  # type: ignore[arg-type]
            self.set_pc(w2, i, k + 1)
            o = self.advanced(Out(o.label, w2.freeze(), o.kinds, i), i)
        return [o]


def pc_of(cs: Any) -> int:
    return int(cs.pc if cs.hand is None else cs.hand.pc)


def _stop(ins: Instr) -> bool:
    return ins.op != "stmt" or isinstance(ins.node, ast.Await | ast.Ipi | ast.Switch | ast.Irq)


def _in_order(ins: Instr) -> bool:
    return isinstance(ins.node, ast.Complete | ast.Free | ast.Assert)


def _is(ins: Instr, kind: str) -> bool:
    return isinstance(ins.node, ast.Barrier) and ins.node.kind == kind


def _acquire_release(a: Any, ea: dict[str, set[Any]], b: Any, eb: dict[str, set[Any]],
                     memory: bool) -> bool:  # fmt: skip
    """An acquire read (an atomic's, with `acquire` or `acq_rel`) before every later
    access or fault; a release write (an atomic's, with `release` or `acq_rel`; not its
    fault) after every earlier access; a release write before a later `acquire` read
    (not `acquire_pc`)."""
    oa, ob = order_of(a), order_of(b)
    if oa in ("acquire", "acquire_pc", "acq_rel") and (eb["reads"] or eb["writes"]):
        return True
    if not memory:
        return False
    if ob in ("release", "acq_rel") and (ea["reads"] or ea["writes"]):
        return True
    return ob in ("acquire", "acq_rel") and oa in ("release", "acq_rel")


def _barrier_holds(a: Any, eb: dict[str, set[Any]]) -> bool:
    """Pending barrier ``a`` holds back a later statement with effects ``eb``."""
    mem = bool(eb["reads"] or eb["writes"])
    match a:
        case ast.Barrier(kind="dmb", which="st"):
            return bool(eb["writes"])
        case ast.Barrier(kind="dmb"):
            return mem
        case ast.Barrier():
            return True
        case ast.Fence(kind="release"):
            return bool(eb["writes"])
        case ast.Fence():
            return mem
    return False


def _barrier_waits(b: Any, ea: dict[str, set[Any]], a: Any) -> bool:
    """Barrier ``b`` waits for the earlier pending statement ``a`` (effects ``ea``)."""
    mem = bool(ea["reads"] or ea["writes"])
    match b:
        case ast.Barrier(kind="isb"):
            return isinstance(a, ast.Barrier) and a.kind == "dsb"
        case ast.Barrier(which="ld") | ast.Fence(kind="acquire"):
            return bool(ea["reads"])
        case ast.Barrier(which="st"):
            return bool(ea["writes"])
        case ast.Barrier(kind="dsb"):
            return mem or bool(ea["tlbi"])
        case ast.Barrier() | ast.Fence():
            return mem
    return False


def machine_for(checked: CheckedSpec, model: str) -> Machine:
    from .litmus import machine_for as composed  # PTE values, `.litmus` rules, RISC-V

    return composed(checked, model)


def _perms_of(v: Any) -> tuple[str, str]:
    """A valid value's frame and permissions for break-before-make (`user` is one: Linux's
    pgattr_change_is_safe() does not let PTE_USER change on a live entry)."""
    return (v.frame, v.perms + "u" * v.user)
