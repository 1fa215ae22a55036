"""Turn a path of command ids into a Trace a person can read.

The path is re-executed with the compiled step functions (the same ones the
search ran), so every step shown is a real transition of the machine; the
command metadata and the pre/post states give each step its effect and links.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from verifier.engines.compile import Compiled
from verifier.engines.result import Problem, Step, Trace
from verifier.ir.program import Program, PteValue
from verifier.ir.system import Command, Const, System, evaluate
from verifier.machine.layout import Layout

PERMS = "rwx"


class ReplayError(Exception):
    """A command in a path was not enabled: the path is not an execution."""


def pte_desc(pv: PteValue, prog: Program) -> str:
    if pv.frame < 0:
        return "invalid"
    perms = "".join(p for i, p in enumerate(PERMS) if pv.perms & (1 << i))
    return f"{prog.frames[pv.frame]} {perms}" + (" global" if pv.global_ else "")


def pte_source(pv: PteValue) -> str:
    where = f" ({pv.span})" if pv.span is not None else ""
    return f"`{pv.text}`{where}"


@dataclass
class _Origins:
    """Which step put each buffered entry, queued IPI and TLB entry where it is."""

    buffer: dict[int, list[int]] = field(default_factory=dict)  # core -> step per slot
    queue: dict[int, list[int]] = field(default_factory=dict)  # core -> step per slot
    tlb: dict[int, int] = field(default_factory=dict)  # te field -> step
    memory: dict[int, int] = field(default_factory=dict)  # word field -> step of its store


class TraceBuilder:
    def __init__(self, system: System, compiled: Compiled, prog: Program) -> None:
        self.sys = system
        self.compiled = compiled
        self.prog = prog
        self.lay: Layout = system.meta["layout"]
        self.value_field = {te: cf.tw[key] for cf in self.lay.cores for key, te in cf.te.items()}

    # ---------------------------------------------------------------- helpers
    def wid_of(self, value: int) -> PteValue:
        return self.prog.pte_values[value // 4]

    def core_name(self, c: int) -> str:
        return self.prog.cores[c].name

    def run(self, path: list[int]) -> list[tuple[int, ...]]:
        states = [self.sys.init]
        for cid in path:
            n = self.compiled.step[cid](states[-1])
            if n is None:
                raise ReplayError(
                    f"step {len(states)}: `{self.sys.commands[cid].key}` is not enabled"
                )
            states.append(n)
        return states

    # ---------------------------------------------------------------- steps
    def steps(self, path: list[int]) -> tuple[list[Step], list[tuple[int, ...]]]:
        states = self.run(path)
        org = _Origins()
        out: list[Step] = []
        for k, cid in enumerate(path):
            cmd = self.sys.commands[cid]
            pre, post = states[k], states[k + 1]
            idx = k + 1
            reads_from = self._reads_from(cmd, pre, org)
            links = self._links(cmd, pre, post, idx, org)
            self._record_writes(cmd, pre, post, idx, links, org)
            in_handler = bool(pre[self.sys.cores[cmd.core].in_handler]) or (
                cmd.action == "handler-returned"
            )
            text, span = cmd.text, cmd.span
            if cmd.action == "drain" and links:
                # a drain shows the store it completes
                text, span = out[links[0] - 1].text, out[links[0] - 1].span
            out.append(
                Step(
                    idx,
                    self.core_name(cmd.core),
                    cmd.action,
                    text,
                    self.effect(cmd, pre, post),
                    span,
                    tuple(links),
                    cmd.key,
                    (),
                    in_handler,
                    reads_from,
                )
            )
        return out, states

    def _reads_from(self, cmd: Command, pre: tuple[int, ...], org: _Origins) -> int | None:
        """The step whose store the command's load reads: the youngest buffered store of
        the same core to that word, else the store that put the value in memory."""
        addr = cmd.get("reads")
        if addr is None:
            return None
        cf = self.lay.cores[cmd.core]
        buf = org.buffer.get(cmd.core, [])
        for k in reversed(range(len(cf.sba))):
            if pre[cf.sba[k]] == addr + 1 and k < len(buf) and buf[k]:
                return buf[k]
        return org.memory.get(self.lay.mem[addr])

    def _record_writes(
        self,
        cmd: Command,
        pre: tuple[int, ...],
        post: tuple[int, ...],
        idx: int,
        links: list[int],
        org: _Origins,
    ) -> None:
        """Remember which store each memory word now holds (a drain stands for the
        buffered store it completes)."""
        writer = links[0] if cmd.action == "drain" and links else idx
        for f in self.lay.mem[: self.lay.nwords]:
            if pre[f] != post[f] or (cmd.action == "drain" and self._drained(cmd, pre) == f):
                org.memory[f] = writer

    def _drained(self, cmd: Command, pre: tuple[int, ...]) -> int | None:
        kind = pre[self.lay.cores[cmd.core].sba[cmd.get("slot", 0)]]
        return self.lay.mem[kind - 1] if 1 <= kind <= self.lay.nwords else None

    def _links(
        self, cmd: Command, pre: tuple[int, ...], post: tuple[int, ...], idx: int, org: _Origins
    ) -> list[int]:
        lay = self.lay
        links: list[int] = []
        for c, cf in enumerate(lay.cores):
            buf = org.buffer.setdefault(c, [0] * len(cf.sba))
            que = org.queue.setdefault(c, [0] * len(cf.qh))
            if c == cmd.core and cmd.action in ("drain", "ipi-queued", "barrier"):
                i = cmd.get("slot", 0)
                if buf[i]:
                    links.append(buf[i])
                del buf[i]
                buf.append(0)
            if c == cmd.core and cmd.action == "handler-entered":
                if que[0]:
                    links.append(que[0])
                del que[0]
                que.append(0)
            for k, f in enumerate(cf.sba):
                if (
                    pre[f] == 0
                    and post[f] != 0
                    and c == cmd.core
                    and cmd.action not in ("drain", "ipi-queued", "barrier")
                ):
                    buf[k] = idx
            for k, f in enumerate(cf.qh):
                if (
                    post[f] != 0
                    and (pre[f] == 0 or cmd.action == "handler-entered")
                    and (cmd.action in ("ipi-sent", "ipi-queued"))
                ):
                    que[k] = idx
            for f in cf.te.values():
                if post[f] == 0:
                    org.tlb.pop(f, None)
                elif pre[f] == 0:
                    org.tlb[f] = idx
        slot = cmd.get("slot")
        if cmd.action == "access" and slot in org.tlb and org.tlb[slot] != idx:
            links.append(org.tlb[slot])
        return sorted(set(links))

    def effect(self, cmd: Command, pre: tuple[int, ...], post: tuple[int, ...]) -> str:
        lay = self.lay
        a = cmd.action
        info = dict(cmd.info)
        if a in ("store", "store-buffered", "rmw"):
            if "wid" in info:
                where = lay.addr_name(lay.pte_addr(info["space"], info["page"]))
                desc = f"PTE {where} := {pte_desc(self.prog.pte_values[info['wid']], self.prog)}"
            else:
                addr = info["addr"]
                name = lay.addr_name(addr)
                if a == "rmw":
                    return f"{name}: {pre[lay.mem[addr]]} -> {post[lay.mem[addr]]} (atomic)"
                value = post[lay.mem[addr]] if a == "store" else self._buffered_value(cmd, post)
                desc = f"{name} = {value}"
            return desc + (" (in memory)" if a == "store" else " (buffered)")
        if a == "drain":
            c = lay.cores[cmd.core]
            i = info["slot"]
            addr = pre[c.sba[i]] - 1
            value = pre[c.sbv[i][0]]
            name = lay.addr_name(addr)
            if addr >= lay.nwords:
                return f"PTE {name} := {pte_desc(self.wid_of(value), self.prog)} reaches memory"
            return f"{name} = {value} reaches memory"
        if a == "barrier":
            return "release fence: earlier stores are all in memory"
        if a in ("load", "assign"):
            changed = [
                f for f, _ in cmd.updates if pre[f] != post[f] and f != lay.cores[cmd.core].pc
            ]
            if changed:
                return ", ".join(
                    f"{lay.fields[f].name.split('.')[-1]} = {post[f]}" for f in changed
                )
            return "register unchanged"
        if a == "fence":
            kind = info.get("kind", "full")
            return {
                "full": "store buffer is empty",
                "release": "release barrier",
                "acquire": "no effect on this model",
            }[kind]
        if a in ("ipi-sent", "ipi-queued", "ipi-buffered"):
            h = self.prog.handlers[info["handler"]].name
            targets = ", ".join(self.core_name(t) for t in info["targets"])
            if a == "ipi-buffered":
                return f"IPI {h} held behind buffered stores"
            return f"IPI {h} queued at {targets}"
        if a == "handler-entered":
            h = self.prog.handlers[info["handler"]]
            core = self.prog.cores[cmd.core]
            cf = lay.cores[cmd.core]
            args = [
                self._arg_text(h.param_kinds[j], post[cf.hregs[core.hregs.index(p)]])
                for j, p in enumerate(h.params)
            ]
            return f"handler {h.name}({', '.join(args)}) entered, interrupts off"
        if a == "handler-returned":
            return "handler returns, interrupted program resumes"
        if a == "fill" or (a == "access" and info.get("how") == "miss-fill"):
            pv = self.wid_of(post[self.value_field[info["slot"]]])
            page = self.prog.pages[info["page"]]
            what = f"walker fills {page} -> {pte_desc(pv, self.prog)} from {pte_source(pv)}"
            return what if a == "fill" else f"TLB miss; {what}; " + self._access_outcome(cmd, post)
        if a == "access":
            pv = self.wid_of(pre[self.value_field[info["slot"]]])
            page = self.prog.pages[info["page"]]
            return (
                f"TLB hit: {page} -> {pte_desc(pv, self.prog)} (entry from {pte_source(pv)}); "
                + self._access_outcome(cmd, pre)
            )
        if a == "fault":
            return "TLB miss; the PTE in memory is invalid: page fault"
        if a == "invlpg":
            return f"TLB entries for {self.prog.pages[info['page']]} dropped"
        if a == "flush":
            return "TLB entries dropped"
        if a == "switch":
            return f"now running space {self.prog.spaces[info['space']].name}"
        if a == "free":
            return f"frame {self.prog.frames[info['frame']]} freed"
        if a == "complete":
            i = lay.pte_addr(info["space"], info["page"]) - lay.nwords
            pv = self.prog.pte_values[post[lay.rec[i]] - 1]
            page = self.prog.pages[info["page"]]
            return f"update of {page} declared done; recorded PTE: {pte_desc(pv, self.prog)}"
        if a == "await":
            return "condition holds"
        if a == "branch":
            return f"goes to pc {post[lay.cores[cmd.core].pc]}"
        if a == "irq":
            return "interrupts " + ("on" if post[lay.cores[cmd.core].irq] else "off")
        if a == "assert":
            return "assertion holds"
        return ""

    def _access_outcome(self, cmd: Command, s: tuple[int, ...]) -> str:
        value = s[self.value_field[cmd.get("slot")]]
        wid = value // 4
        if evaluate(self.lay.allows(Const(wid), cmd.get("bit")), s):  # the rule's own table
            return f"access reaches frame {self.prog.frames[self.prog.pte_values[wid].frame]}"
        return "permission fault, no access"

    def _buffered_value(self, cmd: Command, post: tuple[int, ...]) -> int:
        cf = self.lay.cores[cmd.core]
        last = max((k for k, f in enumerate(cf.sba) if post[f] != 0), default=0)
        return post[cf.sbv[last][0]]

    def _arg_text(self, kind: str, v: int) -> str:
        return self.prog.pages[v] if kind == "page" and 0 <= v < len(self.prog.pages) else str(v)

    # ---------------------------------------------------------------- problems
    def problem(self, kind: str, cmd: Command, check: int, pre: tuple[int, ...]) -> Problem:
        lay = self.lay
        chk = cmd.checks[check]
        info = dict(chk.info)
        who = self.core_name(cmd.core)
        if kind in ("assertion", "range"):
            what = info.get("what", "assertion failed")
            return Problem(kind, who, f"{who}: {what} at `{cmd.text}`", cmd.text, cmd.span)
        value = evaluate(info["pte"], pre)
        pv = self.wid_of(value)
        page = self.prog.pages[cmd.get("page")]
        access = cmd.text
        src = f"entry {page} -> {pte_desc(pv, self.prog)} filled from {pte_source(pv)}"
        if kind == "use-after-free":
            frame = self.prog.frames[pv.frame]
            now = f"frame {frame} was freed"
            msg = f"{who}: `{access}` reached freed frame {frame} through the {src}"
        elif kind == "asid-reuse":
            s = cmd.get("space")
            owner = pre[lay.cores[cmd.core].te[(cmd.get("page"), lay.tag_of_space(s))]] - 1
            now = (
                f"the entry belongs to space {self.prog.spaces[owner].name}, the core runs "
                f"{self.prog.spaces[s].name} (both ASID {self.prog.spaces[s].asid})"
            )
            msg = f"{who}: `{access}` hit a TLB entry of another address space with the same ASID"
        else:
            s = self._entry_space(cmd, pre)
            i = lay.pte_addr(s, cmd.get("page")) - lay.nwords
            rec = self.prog.pte_values[pre[lay.rec[i]] - 1]
            now = f"PTE recorded at `complete`: {pte_desc(rec, self.prog)} from {pte_source(rec)}"
            what = "translation" if kind == "stale-translation" else "permission"
            msg = f"{who}: `{access}` used a stale {what}: the {src}"
        return Problem(kind, who, msg, access, cmd.span, pv.text, pv.span, now)

    def _entry_space(self, cmd: Command, pre: tuple[int, ...]) -> int:
        if cmd.get("how") == "miss-fill":
            return int(cmd.get("space"))
        return int(pre[cmd.get("slot")]) - 1

    def hang_problem(self, core: int, pc: int) -> Problem:
        ins = self.prog.cores[core].code[pc]
        who = self.core_name(core)
        return Problem(
            "hang",
            who,
            f"{who} waits at `{ins.text}` forever: no continuation of this execution lets it pass",
            ins.text,
            ins.span,
        )

    def trace(
        self,
        kind: str,
        path: list[int],
        final: Problem,
        title: str,
        model: str,
        engine: str = "explicit",
    ) -> Trace:
        steps, _ = self.steps(path)
        if steps:
            last = steps[-1]
            steps[-1] = Step(
                last.index,
                last.core,
                last.action,
                last.text,
                last.effect,
                last.span,
                last.links,
                last.key,
                (final,),
                last.in_handler,
            )
        cores = tuple(c.name for c in self.prog.cores)
        return Trace(
            title, self.prog.file, model, self.prog.params, kind, cores, tuple(steps), final, engine
        )
