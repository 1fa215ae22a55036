"""Turn a path of command ids into a Trace a person can read.

The path is re-executed with the compiled step functions (the same ones the
search ran), so every step shown is a real transition of the machine; the
command metadata and the pre/post states give each step its effect
(``trace.effects``) and links (``trace.origins``); the final problem is worded
by ``trace.problems``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from verifier.ir.program import Program
from verifier.ir.system import Command, System
from verifier.machine.layout import Layout
from verifier.run.budget import Budget
from verifier.run.compile import Compiled, compile_system
from verifier.run.model import Model
from verifier.run.result import Problem, Step, Trace
from verifier.trace.effects import Effects
from verifier.trace.origins import Origins
from verifier.trace.problems import check_problem
from verifier.trace.problems import hang_problem as _hang_problem


class ReplayError(Exception):
    """A command in a path was not enabled: the path is not an execution.
    ``index`` is the (1-based) number of the step that could not be taken."""

    def __init__(self, message: str, index: int) -> None:
        super().__init__(message)
        self.index = index


class TraceBuilder:
    def __init__(self, system: System, compiled: Compiled, prog: Program) -> None:
        self.sys = system
        self.compiled = compiled
        self.prog = prog
        self.lay: Layout = system.meta["layout"]
        self.effects = Effects(prog, self.lay)

    @staticmethod
    def of(m: Model, budget: Budget | None = None) -> TraceBuilder:
        """The builder for a model, its System compiled under ``budget``."""
        return TraceBuilder(m.system, compile_system(m.system, budget=budget), m.program)

    def run(self, path: list[int]) -> list[tuple[int, ...]]:
        states = [self.sys.init]
        for cid in path:
            n = self.compiled.step[cid](states[-1])
            if n is None:
                cmd = self.sys.commands[cid]
                who = self.prog.cores[cmd.core].name
                where = f" (line {cmd.span.line})" if cmd.span is not None else ""
                raise ReplayError(
                    f"step {len(states)}: {who} cannot take `{cmd.text}`{where} at that point",
                    len(states),
                )
            states.append(n)
        return states

    def steps(self, path: list[int]) -> tuple[list[Step], list[tuple[int, ...]]]:
        states = self.run(path)
        org = Origins(self.lay)
        out: list[Step] = []
        for k, cid in enumerate(path):
            cmd = self.sys.commands[cid]
            pre, post = states[k], states[k + 1]
            idx = k + 1
            links, reads_from = org.track(cmd, pre, post, idx)
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
                    self.prog.cores[cmd.core].name,
                    cmd.action,
                    text,
                    self.effects.of(cmd, pre, post, reads_from),
                    span,
                    tuple(links),
                    cmd.key,
                    (),
                    in_handler,
                    reads_from,
                    self.reach(cmd),
                )
            )
        return out, states

    def reach(self, cmd: Command) -> tuple[str, ...]:
        """Every core, for a broadcast `tlbi` (its invalidation acts on each core's TLB)."""
        if cmd.action in ("invlpg", "flush") and cmd.get("broadcast"):
            return tuple(c.name for c in self.prog.cores)
        return ()

    def problem(self, kind: str, cmd: Command, check: int, pre: tuple[int, ...]) -> Problem:
        return check_problem(self.prog, self.lay, kind, cmd, check, pre)

    def check_trace(
        self,
        kind: str,
        path: Sequence[int],
        command: int,
        check: int,
        pre: tuple[int, ...],
        title: str,
        model: str,
        engine: str = "explicit",
    ) -> Trace:
        """The trace of ``path`` then ``command``, whose check ``check`` finds ``kind``
        in ``pre`` (the state ``path`` leads to)."""
        final = self.problem(kind, self.sys.commands[command], check, pre)
        return self.trace(kind, [*path, command], final, title, model, engine)

    def hang_problem(
        self, core: int, pc: int, state: tuple[int, ...] | None = None, stuck: bool = False
    ) -> Problem:
        """``state``: the hang state; ``stuck``: the core is in a handler that never returns."""
        return _hang_problem(self.prog, self.lay, core, pc, state, stuck)

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
        if steps and final.kind == "freed-table" and steps[-1].links:
            # which step cached the stale pointer (docs/page-tables.md)
            final = replace(
                final, now=f"{final.now}; the pointer was cached at step {steps[-1].links[-1]}"
            )
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
                reach=last.reach,
            )
        cores = tuple(c.name for c in self.prog.cores)
        return Trace(
            title,
            self.prog.file,
            model,
            self.prog.params,
            kind,
            cores,
            tuple(steps),
            final,
            engine,
            self.prog.source,
        )
