"""What a step did, in words: the effect column of a trace.

``Effects.of`` picks the describer for a command's action; each describer reads
the command's info and the pre-/post-states of the step.
"""

from __future__ import annotations

from collections.abc import Callable

from verifier.ir import program as P
from verifier.ir.program import USER, Program, PteValue, page_of_arg
from verifier.ir.system import Command, Const, evaluate
from verifier.machine.layout import Layout
from verifier.trace import effects_arm
from verifier.trace.values import Values

PERMS = "rwx"
State = tuple[int, ...]


def pte_desc(pv: PteValue, prog: Program) -> str:
    if pv.frame < 0:
        if pv.kept[0] >= 0:
            perms = "".join(p for i, p in enumerate(PERMS) if pv.kept[1] & (1 << i))
            return f"invalid {prog.frames[pv.kept[0]]} {perms}" + " user" * bool(pv.kept[1] & USER)
        return "invalid"
    perms = "".join(p for i, p in enumerate(PERMS) if pv.perms & (1 << i))
    flags = " global" * pv.global_ + " old" * (not pv.af) + " dbm" * pv.dbm
    flags += " user" * bool(pv.perms & USER)
    return f"{prog.frames[pv.frame]} {perms}{flags}"


def pte_number_desc(prog: Program, n: int) -> str:
    """The PTE value a register holds as number ``n`` (docs/arm64.md §1)."""
    if not 0 < n <= len(prog.pte_keys):
        return str(n)
    frame, perms, glob, *rest = prog.pte_keys[n - 1]
    return pte_desc(PteValue(frame, perms, glob, "", None, *rest), prog)  # type: ignore[arg-type]


def pte_source(pv: PteValue) -> str:
    where = f" ({pv.span})" if pv.span is not None else ""
    return f"`{pv.text}`{where}"


_FIXED = {
    "barrier": "release fence: earlier stores are all in memory",
    "handler-returned": "handler returns, interrupted program resumes",
    "fault": "TLB miss; the PTE in memory is invalid: page fault",
    "flush": "TLB entries dropped",
    "cas-failed": "the PTE holds another value than expected: nothing stored",
    "load-exclusive": "the PTE read, the core's reservation set to it",
    "exclusive-failed": "store-exclusive fails: nothing stored, status 1",
}
_FENCE = {
    "full": "store buffer is empty",
    "release": "release barrier",
    "acquire": "no effect on this model",
}


class Effects:
    def __init__(self, prog: Program, lay: Layout) -> None:
        self.prog = prog
        self.lay = lay
        self.value_field = {te: cf.tw[key] for cf in lay.cores for key, te in cf.te.items()}
        self.values = Values(prog, lay)
        # the describers that show the values a statement read (and where they came from)
        self._reading: dict[str, Callable[[Command, State, State, int | None], str]] = {
            "load": self._assign,
            "assign": self._assign,
            "branch": self._branch,
            "await": self._await,
            "assert": self._assert,
        }
        self._by_action: dict[str, Callable[[Command, State, State], str]] = {
            "store": self._store,
            "store-buffered": self._store,
            "rmw": self._store,
            "drain": self._drain,
            "fence": lambda cmd, pre, post: _FENCE[cmd.get("kind", "full")],
            "ipi-sent": self._ipi,
            "ipi-queued": self._ipi,
            "ipi-buffered": self._ipi,
            "handler-entered": self._handler_entered,
            "fill": self._fill,
            "access": self._access,
            "invlpg": lambda cmd, pre, post: (
                f"TLB entries for {self.prog.pages[cmd.get('page')]} dropped"
            ),
            "switch": lambda cmd, pre, post: (
                f"now running space {self.prog.spaces[cmd.get('space')].name}"
            ),
            "free": lambda cmd, pre, post: f"frame {self.prog.frames[cmd.get('frame')]} freed",
            "copy": lambda cmd, pre, post: (
                f"frame {self.prog.frames[cmd.get('frame')]} copied to "
                f"{self.prog.frames[cmd.get('to')]}: writes to "
                f"{self.prog.frames[cmd.get('frame')]} from now on are lost"
            ),
            "zero": lambda cmd, pre, post: (
                f"frame {self.prog.frames[cmd.get('frame')]} zeroed: its data is gone"
            ),
            "complete": self._complete,
            "irq": lambda cmd, pre, post: (
                "interrupts " + ("on" if post[lay.cores[cmd.core].irq] else "off")
            ),
        }

    def of(self, cmd: Command, pre: State, post: State, reads_from: int | None = None) -> str:
        """The effect of ``cmd`` taken from ``pre`` to ``post``; ``reads_from`` is the step
        whose store its load read (None: the initial value)."""
        arm = effects_arm.describe(self, cmd, pre, post)
        if arm is not None:
            return arm
        if cmd.get("dirty") == "fault":
            return (
                "write hit an entry cached clean; the locked re-walk finds the PTE "
                "no longer writable: page fault"
            )
        if cmd.get("dir") is not None and cmd.action in ("fault", "fill", "access"):
            return self._walk(cmd, pre, post)
        if cmd.action in _FIXED:
            return _FIXED[cmd.action]
        reading = self._reading.get(cmd.action)
        if reading is not None:
            return reading(cmd, pre, post, reads_from)
        describe = self._by_action.get(cmd.action)
        text = describe(cmd, pre, post) if describe else ""
        if cmd.action in ("store", "store-buffered", "rmw") and cmd.get("reads") is not None:
            text = f"read {self.values.read(cmd.core, cmd.get('reads'), pre, reads_from)}; {text}"
        return text

    def wid_of(self, value: int) -> PteValue:
        return self.prog.pte_values[value // 4]

    def _walk(self, cmd: Command, pre: State, post: State) -> str:
        """A step of a walk of a two-level page (docs/page-tables.md): which level it read
        and where the table pointer came from."""
        prog, info = self.prog, dict(cmd.info)
        d = prog.dirs[info["dir"]].name
        if info.get("how") == "psc-fill":
            table = post[self.lay.cores[cmd.core].psc[info["dir"]]] - 1
            name = prog.frames[prog.tables[table]]
            return f"walker caches {d} -> {name} (paging-structure cache)"
        if info.get("level") == "dir":
            return f"TLB miss; dir {d} in memory is invalid: page fault"
        k = info["table"]
        table = prog.frames[prog.tables[k]]
        via = "cached pointer" if info.get("via", "cached") == "cached" else "dir in memory"
        at = prog.walk(info["space"], info["page"])
        slot = at[1] if at is not None else 0
        path = f"{d} -> {table} ({via}), slot {table}[{slot}]"
        miss = "" if cmd.action == "fill" else "TLB miss; "
        if info.get("how") == "walk-freed":
            return f"{miss}walk reads {path} of a freed table"
        if info.get("how") == "miss-invalid":
            return f"{miss}walk reads {path}: invalid, page fault"
        filled = self._fill(cmd, pre, post)
        text = f"{miss}walk reads {path}; {filled}"
        return text if cmd.action == "fill" else f"{text}; " + self._access_outcome(cmd, post)

    def _store(self, cmd: Command, pre: State, post: State) -> str:
        lay, a, info = self.lay, cmd.action, dict(cmd.info)
        if "dir" in info and "wid" not in info:
            k = info["table"]
            to = "invalid" if k < 0 else self.prog.frames[self.prog.tables[k]]
            desc = f"dir {self.prog.dirs[info['dir']].name} := {to}"
        elif "wid" in info:
            addr = info["leaf"] if "leaf" in info else lay.pte_addr(info["space"], info["page"])
            where = lay.addr_name(addr)
            desc = f"PTE {where} := {pte_desc(self.prog.pte_values[info['wid']], self.prog)}"
        else:
            addr = info["addr"]
            name = self.values.word_name(addr)
            if a == "rmw":
                return f"{name}: {pre[lay.mem[addr]]} -> {post[lay.mem[addr]]} (atomic)"
            value = post[lay.mem[addr]] if a == "store" else self._buffered_value(cmd, post)
            desc = f"{name} = {value}"
        return desc + (" (in memory)" if a == "store" else " (buffered)")

    def _drain(self, cmd: Command, pre: State, post: State) -> str:
        lay = self.lay
        c = lay.cores[cmd.core]
        i = cmd.get("slot")
        addr = pre[c.sba[i]] - 1
        value = pre[c.sbv[i][0]]
        name = self.values.word_name(addr)
        if addr >= lay.dir_addr(0) and lay.prog.dirs:
            to = "invalid" if value == 0 else self.prog.frames[self.prog.tables[value - 1]]
            return f"dir {name} := {to} reaches memory"
        if addr >= lay.nwords:
            return f"PTE {name} := {pte_desc(self.wid_of(value), self.prog)} reaches memory"
        return f"{name} = {value} reaches memory"

    def _instr(self, cmd: Command) -> P.Instr:
        pc = cmd.site if cmd.site is not None else cmd.get("at")  # early (arm): "at"
        assert pc is not None
        return self.prog.cores[cmd.core].code[pc]

    def _assign(self, cmd: Command, pre: State, post: State, reads_from: int | None) -> str:
        ins = self._instr(cmd)
        assert isinstance(ins, P.IAssign)
        reg = self.values.reg_name(cmd.core, ins.reg)
        value = f"{reg} = {self.values.value(cmd.core, ins.value, pre)}"
        if isinstance(ins.value, P.LPte) and not ins.value.field:  # a whole PTE value
            n = post[self.lay.cores[cmd.core].regs[ins.reg.index]]
            value = f"{reg} = {pte_number_desc(self.prog, n)}"
        if cmd.get("reads") is None:
            return value
        return f"read {self.values.read(cmd.core, cmd.get('reads'), pre, reads_from)}; {value}"

    def _branch(self, cmd: Command, pre: State, post: State, reads_from: int | None) -> str:
        ins = self._instr(cmd)
        to = post[self.lay.cores[cmd.core].pc]
        dest = self._goes_to(cmd.core, to)
        if not isinstance(ins, P.IBranch):
            return dest
        c = cmd.core
        holds = self.values.value(c, ins.cond, pre)
        why = ", ".join(self.values.operands(c, ins.cond, pre, reads_from))
        verdict = ("true" if holds else "false") + (f" ({why})" if why else "")
        assert cmd.site is not None
        skipped = self._skipped(c, cmd.site + 1, to)
        return f"{verdict}: {dest}" + (f", skips {skipped}" if skipped else "")

    def _await(self, cmd: Command, pre: State, post: State, reads_from: int | None) -> str:
        ins = self._instr(cmd)
        assert isinstance(ins, P.IAwait)
        why = self.values.operands(cmd.core, ins.cond, pre, reads_from)
        if self.values.value(cmd.core, ins.cond, pre):
            return "condition holds" + (f": {', '.join(why)}" if why else "")
        # fired only by a failing check (rules_instr.await_): the core keeps waiting
        return "condition false" + (f" ({', '.join(why)})" if why else "") + ", still waiting"

    def _assert(self, cmd: Command, pre: State, post: State, reads_from: int | None) -> str:
        ins = self._instr(cmd)
        if isinstance(ins, P.IFail):
            return f"cannot execute: {ins.message}"
        assert isinstance(ins, P.IAssert)
        holds = self.values.value(cmd.core, ins.cond, pre)
        why = self.values.operands(cmd.core, ins.cond, pre, reads_from)
        verdict = "assertion holds" if holds else "assertion FAILED"
        return verdict + (f": {', '.join(why)}" if why else "")

    def _goes_to(self, c: int, pc: int) -> str:
        """Where control goes, as source: ``-> line 30 `invlpg V```."""
        code = self.prog.cores[c].code
        ins = code[pc] if pc < len(code) else None
        if ins is None or isinstance(ins, P.IEnd):
            return "-> end of program"
        if isinstance(ins, P.IReturn):
            return "-> end of handler"
        return f"-> line {ins.span.line} `{ins.text}`"

    def _skipped(self, c: int, start: int, to: int) -> str:
        """The statements a forward jump from ``start`` to ``to`` passes over."""
        if to <= start:
            return ""
        texts = list(
            dict.fromkeys(
                i.text
                for i in self.prog.cores[c].code[start:to]
                if not isinstance(i, (P.IJump, P.IEnd, P.ISkip))
            )
        )
        shown = ", ".join(f"`{t}`" for t in texts[:3])
        return shown + (f" and {len(texts) - 3} more" if len(texts) > 3 else "")

    def _ipi(self, cmd: Command, pre: State, post: State) -> str:
        h = self.prog.handlers[cmd.get("handler")].name
        if cmd.action == "ipi-buffered":
            return f"IPI {h} held behind buffered stores"
        targets = ", ".join(self.prog.cores[t].name for t in cmd.get("targets"))
        return f"IPI {h} queued at {targets}"

    def _handler_entered(self, cmd: Command, pre: State, post: State) -> str:
        h = self.prog.handlers[cmd.get("handler")]
        core = self.prog.cores[cmd.core]
        cf = self.lay.cores[cmd.core]
        args = [
            self._arg_text(h.param_kinds[j], post[cf.hregs[core.hregs.index(p)]])
            for j, p in enumerate(h.params)
        ]
        return f"handler {h.name}({', '.join(args)}) entered, interrupts off"

    def _fill(self, cmd: Command, pre: State, post: State) -> str:
        pv = self.wid_of(post[self.value_field[cmd.get("slot")]])
        page = self.prog.pages[cmd.get("page")]
        return f"walker fills {page} -> {pte_desc(pv, self.prog)} from {pte_source(pv)}"

    def _access(self, cmd: Command, pre: State, post: State) -> str:
        if cmd.get("how") == "miss-fill":
            what = self._fill(cmd, pre, post)
            return f"TLB miss; {what}; " + self._access_outcome(cmd, post)
        if cmd.get("slot") is None:  # a store-exclusive failing whatever the reservation
            return "store-exclusive fails: nothing translated, nothing stored"
        pv = self.wid_of(pre[self.value_field[cmd.get("slot")]])
        page = self.prog.pages[cmd.get("page")]
        dirty = (
            "; entry was clean: the locked re-walk sets the PTE's dirty bit"
            if cmd.get("dirty") == "set"
            else ""
        )
        return (
            f"TLB hit: {page} -> {pte_desc(pv, self.prog)} (entry from {pte_source(pv)})"
            f"{dirty}; " + self._access_outcome(cmd, pre)
        )

    def _complete(self, cmd: Command, pre: State, post: State) -> str:
        lay = self.lay
        page = self.prog.pages[cmd.get("page")]
        if cmd.get("table") == -1:
            return f"dir {self.prog.dirs[cmd.get('dir')].name} of {page} is invalid"
        i = cmd.get("leaf", lay.pte_addr(cmd.get("space"), cmd.get("page"))) - lay.nwords
        pv = self.prog.pte_values[post[lay.rec[i]] - 1]
        return f"update of {page} declared done; recorded PTE: {pte_desc(pv, self.prog)}"

    def _access_outcome(self, cmd: Command, s: State) -> str:
        value = s[self.value_field[cmd.get("slot")]]
        wid = value // 4
        if evaluate(self.lay.allows(Const(wid), cmd.get("bit")), s):  # the rule's own table
            frame = self.prog.frames[self.prog.pte_values[wid].frame]
            return f"access reaches frame {frame}"
        return "permission fault, no access"

    def values_reg(self, c: int, r: P.LReg) -> int:
        cf = self.lay.cores[c]
        return cf.hregs[r.index] if r.handler else cf.regs[r.index]

    def _buffered_value(self, cmd: Command, post: State) -> int:
        cf = self.lay.cores[cmd.core]
        last = max((k for k, f in enumerate(cf.sba) if post[f] != 0), default=0)
        return post[cf.sbv[last][0]]

    def _arg_text(self, kind: str, v: int) -> str:
        if kind != "page" or v < 0 or v >= self.lay.page_values:
            return str(v)
        page, space = page_of_arg(v, len(self.prog.pages))
        name = self.prog.pages[page]
        return name if space is None else f"{self.prog.spaces[space].name}.{name}"
