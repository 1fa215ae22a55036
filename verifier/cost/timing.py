"""A timed run of a protocol: what one shootdown costs, over the machine rules the engines use.

The run executes the commands of `machine` — built on demand, per
(core, pc), by the same rule functions that build the engines' System, so no rule
exists twice — along one schedule, the protocol's intended, contention-free
one, with a clock per core:

* a core starts its next step when its clock reaches it; the step's effect
  happens when the step ends (its cost from the `CostTable`);
* a pending IPI that has arrived is taken at the core's next instruction
  boundary (interrupts on, not in a handler); it arrives `ipi.delivery` after
  the send ends;
* buffered stores reach memory oldest first, `memory.store_drain` after they
  were issued; walkers fill only on a miss (no speculative fills);
* writes to one word happen one at a time, and one that follows another core's
  write to that word pays `coherence.line_transfer` (the line moves);
* a core whose step cannot run (an `await` whose condition is false, a `fence`
  behind buffered stores, a finished program) or that goes round a loop without
  changing anything sleeps until a word it reads changes or an IPI arrives.

The run stops when the initiating core finishes its program (or cannot go on).
It executes each core's code a bounded number of times, so it is linear in the
number of cores.  docs/cost.md says what this leaves out.
"""

from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass, field

from verifier.cost.latency import Latency
from verifier.cost.rules import Cmd, Rules, final_completes, initiator_of, own_words, widen
from verifier.cost.table import CostTable
from verifier.ir import program as P
from verifier.ir.lower import lower
from verifier.lang.checked import CheckedSpec

PHASES = ("send", "wait", "flush", "other")
_PHASE_OF = {"ipi-sent": "send", "ipi-buffered": "send", "await": "wait", "invlpg": "flush"}
_PHASE_OF["flush"] = "flush"


def _phase(cmd: Cmd) -> str:
    """The phase a step of the initiator counts in; a `dsb` (which completes broadcast
    `tlbi`s by waiting for every core) is waiting."""
    if cmd.action == "fence" and cmd.get("kind") == "dsb":
        return "wait"
    return _PHASE_OF.get(cmd.action, "other")


@dataclass(frozen=True)
class CostRun:
    """One timed run: the initiator's critical path and what the whole machine did."""

    title: str
    file: str
    model: str
    params: tuple[tuple[str, int], ...]
    cores: int
    initiator: str
    finished: bool
    latency_ns: float  # first statement -> last `complete` (or end); when stopped, the stop time
    phases: tuple[tuple[str, float], ...]  # PHASES -> ns on the initiator's critical path
    ipis: int  # interrupts sent (one per target)
    interrupted: int  # cores that entered a handler
    invalidations: int  # invlpg, flush asid, flush all executed (every core)
    fences: int  # fence statements executed (every core)
    atomics: int  # atomic read-modify-writes executed (every core)
    steps: int
    note: str = ""  # why the initiator did not finish

    def to_json(self) -> dict[str, object]:
        return {
            "spec": self.title,
            "file": self.file,
            "model": self.model,
            "params": dict(self.params),
            "cores": self.cores,
            "initiator": self.initiator,
            "finished": self.finished,
            "latency_ns": round(self.latency_ns, 3),
            "phases_ns": {k: round(v, 3) for k, v in self.phases},
            "ipis": self.ipis,
            "interrupted": self.interrupted,
            "invalidations": self.invalidations,
            "fences": self.fences,
            "atomics": self.atomics,
            "steps": self.steps,
            "note": self.note,
        }


@dataclass
class _Core:
    t: float = 0.0  # the core's clock: when its next step may start
    version: int = 0  # bumps when a pending wake-up is superseded
    # since the core last changed a field not its own: the states it was in, the pcs it ran
    quiet: set[tuple[int, ...]] = field(default_factory=set)
    loop: set[int] = field(default_factory=set)
    watching: set[int] = field(default_factory=set)  # fields that wake it while it sleeps
    sleep: str = ""  # why it sleeps: 'blocked' at an instruction, 'spinning' in a loop
    drains: deque[float] = field(default_factory=deque)  # when each buffered entry retires
    arrivals: deque[float] = field(default_factory=deque)  # when each queued IPI arrives


class _Stop(Exception):
    pass


class _Run:
    """The event loop: a heap of (time, seq, core, version, command) — a command ends then
    (None: the core wakes up); ``core`` -1 - c is core c's store buffer retiring an entry."""

    def __init__(
        self,
        prog: P.Program,
        model: str,
        table: CostTable,
        budget: int,
        own_words: list[tuple[int, ...]],
        share: bool,
    ) -> None:
        self.prog, self.table, self.budget = prog, table, budget
        self.rules = Rules(prog, model, own_words, share)
        self.lay = self.rules.lay
        self.clock = Latency(table, self.lay)
        self.cost, self.socket = self.clock.cost, self.clock.socket
        self.s = [f.init for f in self.lay.fields]
        self.cores = [_Core() for _ in prog.cores]
        self.heap: list[tuple[float, int, int, int, Cmd | None]] = []
        self.seq = 0
        self.watchers: dict[int, set[int]] = {}
        self.init = initiator_of(prog)
        self.final = final_completes(prog.cores[self.init])
        self.counts = dict.fromkeys(("ipis", "invalidations", "fences", "atomics", "steps"), 0)
        self.interrupted: set[int] = set()
        self.phases = dict.fromkeys(PHASES, 0.0)
        self.done: tuple[float, dict[str, float]] | None = None  # at the last `complete`
        self.finished = False
        self.note = ""
        self.now = 0.0
        self.init_end = 0.0  # when the initiator's last step ended

    # ------------------------------------------------------------ scheduling
    def push(self, time: float, c: int, cmd: Cmd | None) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (time, self.seq, c, self.cores[c].version if c >= 0 else 0, cmd))

    def enabled(self, cmds: tuple[Cmd, ...]) -> Cmd | None:
        return next((x for x in cmds if x.holds(x.cmd.guard, self.s)), None)

    def plan(self, c: int) -> None:
        """Choose core ``c``'s next step at its clock, or put it to sleep."""
        core, cf = self.cores[c], self.lay.cores[c]
        if core.arrivals and core.arrivals[0] <= core.t:
            cmd = self.enabled(self.rules.deliveries(c))
            if cmd is not None:
                self.push(self.clock.ends(c, cmd, core.t), c, cmd)
                return
        cmds = self.rules.site(c, self.s[cf.pc])
        cmd = self.enabled(cmds)
        if cmd is None:
            self.sleep(c, cmds, "blocked", updates=False)
        else:
            self.push(self.clock.ends(c, cmd, core.t), c, cmd)

    def sleep(self, c: int, cmds: tuple[Cmd, ...], why: str, updates: bool) -> None:
        core, cf = self.cores[c], self.lay.cores[c]
        core.sleep = why
        core.watching = {cf.qh[0], cf.irq, cf.inh}
        for cmd in cmds:
            core.watching |= self.rules.reads(cmd, updates)
        for f in core.watching:
            self.watchers.setdefault(f, set()).add(c)
        if core.arrivals and core.arrivals[0] > core.t:
            self.push(core.arrivals[0], c, None)

    def wake(self, c: int, at: float) -> None:
        core = self.cores[c]
        for f in core.watching:
            self.watchers[f].discard(c)
        core.watching, core.sleep, core.quiet, core.loop = set(), "", set(), set()
        core.version += 1
        core.t = max(core.t, at)
        self.plan(c)

    # ------------------------------------------------------------ effects
    def occupied(self, c: int) -> int:
        return sum(1 for f in self.lay.cores[c].sba if self.s[f] != 0)

    def apply(self, c: int, cmd: Cmd, at: float) -> list[int]:
        """Carry out ``cmd`` (taken by core ``c``) at time ``at``; the changed fields."""
        s = self.s
        for chk in cmd.cmd.checks:
            if chk.fatal and cmd.holds(chk.cond, s):
                what = dict(chk.info).get("what", "")
                where = f" at line {cmd.cmd.span.line}" if cmd.cmd.span else ""
                self.note = f"the run stopped: {chk.kind}{where}" + (f" ({what})" if what else "")
                raise _Stop
        new = cmd.updates(s)
        before = self.occupied(c)
        changed = [f for f, v in new if s[f] != v]
        for f, v in new:
            s[f] = v
        self.count(c, cmd, at)
        self.buffered(c, before, at)
        for f in changed:
            for w in sorted(self.watchers.get(f, ())):
                self.wake(w, at)
        return changed

    def count(self, c: int, cmd: Cmd, at: float) -> None:
        a = cmd.action
        self.counts["steps"] += 1
        if a in ("ipi-sent", "ipi-queued"):
            targets = cmd.get("targets")
            self.counts["ipis"] += len(targets)
            for t in targets:
                delay = self.cost("ipi.delivery")
                if self.socket(t) != self.socket(c):
                    delay += self.cost("topology.cross_socket_delivery")
                self.cores[t].arrivals.append(at + delay)
        elif a == "handler-entered":
            self.interrupted.add(c)
            self.cores[c].arrivals.popleft()
        elif a in ("invlpg", "flush"):
            self.counts["invalidations"] += 1
        elif a == "fence":
            self.counts["fences"] += 1
        elif a == "rmw":
            self.counts["atomics"] += 1

    def buffered(self, c: int, before: int, at: float) -> None:
        """Give each entry the core just put in its store buffer the time it retires."""
        core, cf, lay = self.cores[c], self.lay.cores[c], self.lay
        after = self.occupied(c)
        for k in range(before, after):
            kind = self.s[cf.sba[k]]
            last = core.drains[-1] if core.drains else at
            if 1 <= kind <= lay.naddrs:
                ready = max(at, last)
                word = self.rules.word(c, kind - 1)
                retire = self.clock.write_line(c, word, ready, self.cost("memory.store_drain"))
            else:  # a release barrier or an IPI held behind earlier stores
                retire = max(at, last)
            if not core.drains:
                self.push(retire, -1 - c, None)
            core.drains.append(retire)

    def retire(self, c: int, at: float) -> None:
        """The oldest entry of core ``c``'s store buffer leaves it (stores drain in order)."""
        core = self.cores[c]
        head = self.s[self.lay.cores[c].sba[0]]
        cmd = self.enabled(self.rules.retirements(c, head >= self.lay.ipi0))
        assert cmd is not None, "a buffer entry with no rule to retire it"
        core.drains.popleft()
        self.apply(c, cmd, at)
        if core.drains:
            self.push(core.drains[0], -1 - c, None)

    # ------------------------------------------------------------ the loop
    def step(self, c: int, cmd: Cmd, at: float) -> None:
        core, cf = self.cores[c], self.lay.cores[c]
        if not cmd.holds(cmd.cmd.guard, self.s):
            core.t = at  # something changed while it ran: choose again
            self.plan(c)
            return
        pc = self.s[cf.pc]
        changed = self.apply(c, cmd, at)
        if c == self.init:
            self.phases[_phase(cmd)] += at - self.init_end
            self.init_end = at
            if cmd.action == "complete":
                self.done = (at, dict(self.phases))
        core.t = at
        if c == self.init and (
            (self.s[cf.pc] == self.prog.cores[c].program_end and not self.s[cf.inh])
            or (cmd.action == "complete" and pc in self.final)
        ):
            self.finished = True
            raise _Stop
        lo, hi = self.rules.span[c]
        if cmd.cmd.site is not None and all(lo <= f < hi for f in changed):
            # only its own fields changed: back in a state it was in since it last changed
            # anything else, the core is going round a loop that nothing else can see
            state = (*self.s[lo:hi],)
            core.loop.add(pc)
            if state in core.quiet:
                cmds = tuple(m for p in sorted(core.loop) for m in self.rules.site(c, p))
                self.sleep(c, cmds, "spinning", updates=True)
                return
            core.quiet.add(state)
        else:
            core.quiet, core.loop = set(), set()
        self.plan(c)

    def run(self) -> None:
        for c in range(len(self.cores)):
            self.plan(c)
        try:
            while self.heap:
                at, _, c, version, cmd = heapq.heappop(self.heap)
                self.now = at
                if self.counts["steps"] >= self.budget:
                    self.note = f"the initiator did not finish within {self.budget} steps"
                    return
                if c < 0:
                    self.retire(-1 - c, at)
                elif version != self.cores[c].version:
                    continue
                elif cmd is None:
                    self.wake(c, at)
                else:
                    self.step(c, cmd, at)
            self.note = self.stuck()
        except _Stop:
            return

    def stuck(self) -> str:
        core, cf = self.cores[self.init], self.lay.cores[self.init]
        code = self.prog.cores[self.init].code[self.s[cf.pc]]
        line = f" (line {code.span.line})" if code.span else ""
        if core.sleep == "spinning":
            return f"the initiator never finishes: it spins forever at `{code.text}`{line}"
        return f"the initiator never finishes: blocked at `{code.text}`{line}"


def timed_run(
    checked: CheckedSpec,
    table: CostTable,
    model: str | None = None,
    *,
    budget: int | None = None,
    share: bool = True,
) -> CostRun:
    """Run ``checked`` once along its contention-free schedule under ``model`` (default: the
    spec's) with the costs of ``table``.  ``budget`` bounds the steps (default 20000 + 400
    per core); ``share=False`` builds every family member's commands itself."""
    prog = widen(lower(checked), checked)
    model = model or checked.model
    if not prog.cores:
        empty = tuple((p, 0.0) for p in PHASES)
        note = "the spec has no cores: nothing runs"
        return CostRun(
            checked.title,
            checked.file,
            model,
            checked.params,
            0,
            "-",
            False,
            0.0,
            empty,
            0,
            0,
            0,
            0,
            0,
            0,
            note,
        )
    budget = budget or 20_000 + 400 * len(prog.cores)
    r = _Run(prog, model, table, budget, own_words(prog, checked), share)
    r.run()
    latency, phases = r.done if r.done is not None else (r.now, r.phases)
    return CostRun(
        checked.title,
        checked.file,
        model,
        checked.params,
        len(prog.cores),
        prog.cores[r.init].name,
        r.finished,
        latency,
        tuple((p, phases[p]) for p in PHASES),
        r.counts["ipis"],
        len(r.interrupted),
        r.counts["invalidations"],
        r.counts["fences"],
        r.counts["atomics"],
        r.counts["steps"],
        "" if r.finished else r.note,
    )
