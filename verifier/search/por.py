"""Partial-order reduction: ample sets from the commands' static read and write sets.

In a state where core ``c`` is at pc ``p``, the ample set is the enabled commands of
``c``'s code at ``p`` (its *site*), used instead of every enabled command when

- C0: at least one of them is enabled, and not all enabled commands are;
- C1: every command that could fire before one of them is independent of all of
  the site's commands (enabled or not).  Such a command is any command outside
  ``c``'s code (other cores, and the drains, deliveries and fills of every core,
  ``c``'s included) that is not *blocked*: a command is blocked in ``s`` when one of
  its guard's conjuncts ``field == k`` is false in ``s`` and no command outside
  ``c``'s code can make it true (each writes that field only with a constant other
  than ``k``), or when a conjunct needs a field nonzero that is 0 together with
  every field the commands outside ``c``'s code copy into it (they write those
  fields only with 0 or such copies, so they all stay 0).  So while ``c`` runs its
  handler (in-handler flag 1) no IPI can be delivered to it, whatever is queued;
  while it runs with interrupts off, neither; and while its store buffer is empty
  none of its drains or fence retirements can fire;
- C2: the site has no `await`;
- C3 (cycle proviso, checked by the search): every successor it gives is a state not
  expanded yet (new, or queued after it: numbered higher), so no cycle is made of
  ample steps alone; otherwise the state is fully expanded.

Two commands are independent when neither writes a field the other reads or writes;
a command's reads are its guard's, its updates' and its checks' conditions' fields.

Why every problem kind stays reachable.  Every kind is an event: a command firing
in a state where one of its checks' conditions holds (a hang is an await that can
never fire; below).  Take a path of the full graph from a state ``s`` of the
reduced one to such an event ``t``.  If a command of the path is in ``ample(s)``,
the first such one commutes with the commands before it (C1) and can be moved to
the front; the path is one step shorter from its successor and ``t`` sees the same
values (nothing it reads was written differently).  If none is, every command of the
path, ``t`` included, is independent of ``ample(s)`` (C1), so after any ample step
the same path is still enabled and ``t`` reads the same values; C3 bounds how many
such steps can be taken before a fully expanded state (each leads to a state
numbered higher).  So no separate visibility
condition is needed: a check's condition is part of its command's reads.  The same
argument run toward "core ``c`` fires its await at ``p``" shows that a state of the
reduced graph from which that can never happen there cannot happen in the full
graph either (no false hang); and a hang state ``h`` of the full graph is matched by
a reduced state reached from ``h`` by the extra ample steps, from which the core
still never passes (no missed hang).  Symmetry reduction composes with this: the
argument runs on representatives, and the transition relation commutes with the
permutations.

Traces of the reduced graph are real executions but need not be shortest; the caller
(`api.py`) rebuilds shortest ones with a search without the reduction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from verifier.ir.system import FALSE, Command, Const, Expr, Field, Op, System, fields_of
from verifier.run.compile import State

Succ = list[tuple[int, "State | None"]]
AmpleFn = Callable[[State, Succ], "Succ | None"]
# A blocker alternative: ("ne", f, k), field f is not k; or ("zeros", fields), all 0.
Alt = tuple[str, int, int] | tuple[str, tuple[int, ...]]
Condition = tuple[tuple[Alt, ...], ...]  # every term holds: one of its alternatives does


def reads(cmd: Command) -> frozenset[int]:
    out: set[int] = set()
    fields_of(cmd.guard, out)
    for _, e in cmd.updates:
        fields_of(e, out)
    for ch in cmd.checks:
        fields_of(ch.cond, out)
    return frozenset(out)


def writes(cmd: Command) -> frozenset[int]:
    return frozenset(f for f, _ in cmd.updates)


def equalities(e: Expr) -> list[tuple[int, int]]:
    """The conjuncts ``field == k`` of a guard (``field`` alone reads ``field != 0``,
    which is no equality; ``not field`` is ``field == 0``)."""
    if isinstance(e, Op):
        if e.op == "and":
            return equalities(e.args[0]) + equalities(e.args[1])
        if e.op == "eq":
            a, b = e.args
            if isinstance(a, Field) and isinstance(b, Const):
                return [(a.index, b.value)]
            if isinstance(b, Field) and isinstance(a, Const):
                return [(b.index, a.value)]
        if e.op == "not" and isinstance(e.args[0], Field):
            return [(e.args[0].index, 0)]
    return []


def nonzero(e: Expr) -> list[int]:
    """Fields ``f`` such that the guard ``e`` is false whenever ``f`` is 0 (a conjunct
    ``f``, ``f != 0``, ``f == k`` with k != 0, ``f >= k`` or ``f > k`` with k >= 0)."""
    if not isinstance(e, Op):
        return [e.index] if isinstance(e, Field) else []
    if e.op == "and":
        return nonzero(e.args[0]) + nonzero(e.args[1])
    if len(e.args) == 2 and isinstance(e.args[0], Field) and isinstance(e.args[1], Const):
        f, k = e.args[0].index, e.args[1].value
        if (e.op == "ne" and k == 0) or (e.op == "eq" and k != 0) or (e.op == "ge" and k >= 1):
            return [f]
        if e.op == "gt" and k >= 0:
            return [f]
    return []


@dataclass(frozen=True)
class Reduction:
    """The partial-order reduction of one System: ``ample(s, out)`` is the ample subset
    of the enabled commands ``out`` of ``s``, or None to expand ``s`` fully."""

    ample: AmpleFn
    at: frozenset[tuple[int, int]]  # the (core, pc) sites that can be ample
    of: int  # sites in the code
    conditions: dict[tuple[int, int], Condition] = field(default_factory=dict)  # per site in ``at``

    @property
    def sites(self) -> int:
        return len(self.at)


def _never(cmd: Command, system: System) -> bool:
    """Is the command's guard false in every state (a conjunct outside a field's range)?"""
    fs = system.fields
    return cmd.guard == FALSE or any(
        not fs[f].lo <= k <= fs[f].hi for f, k in equalities(cmd.guard)
    )


def reduction(system: System) -> Reduction:
    # a loop's alternative (symmetry_loops) is read as its step: in the any-order program
    # picking a member touches only the looping core (docs/engines.md)
    cmds = tuple(replace(c, id=i) for i, c in enumerate(_steps(system.commands)))
    rd = [reads(c) for c in cmds]
    wr = [writes(c) for c in cmds]
    writers: dict[int, list[Command]] = {}
    for cmd in cmds:
        for f, _ in cmd.updates:
            writers.setdefault(f, []).append(cmd)
    live = [c for c in cmds if not _never(c, system)]
    sites: dict[tuple[int, int], list[Command]] = {}
    for cmd in cmds:
        if cmd.site is not None:
            sites.setdefault((cmd.core, cmd.site), []).append(cmd)

    def outside(f: int, c: int) -> list[Command]:
        return [w for w in writers.get(f, ()) if w.core != c or w.site is None]

    def blockers(u: Command, c: int) -> list[Alt]:
        """Conditions on a state under which ``u`` is disabled and stays so whatever
        runs outside core ``c``'s code: a conjunct ``f == k`` false that no command
        outside can make true (each writes ``f`` only with a constant other than k);
        or a conjunct that needs ``f`` nonzero while ``f`` and every field it can be
        copied from outside are 0 (a store buffer that is empty stays empty: its
        drains shift zeros)."""
        out: list[Alt] = []
        for f, k in equalities(u.guard):
            if all(_sets_other_than(w, f, k) for w in outside(f, c)):
                out.append(("ne", f, k))
        for f in nonzero(u.guard):
            zeros = _zero_closed(f, lambda g: outside(g, c))
            if zeros is not None:
                out.append(("zeros", tuple(sorted(zeros))))
        return out

    conditions: dict[tuple[int, int], Condition] = {}
    for (c, p), at in sites.items():
        if any(cmd.action == "await" for cmd in at):
            continue
        w_at = frozenset().union(*(wr[a.id] for a in at))
        r_at = frozenset().union(*(rd[a.id] for a in at))
        terms: list[tuple[Alt, ...]] = []
        for u in live:
            if u.core == c and u.site is not None:
                continue
            if not (w_at & (rd[u.id] | wr[u.id]) or wr[u.id] & r_at):
                continue  # independent of the whole site
            alts = blockers(u, c)
            if not alts:
                break
            terms.append(tuple(alts))
        else:
            conditions[(c, p)] = tuple(sorted(set(terms)))
    namespace: dict[str, object] = {}
    ok: dict[tuple[int, int], Callable[[State], bool]] = {}
    for site, cond in conditions.items():
        exec(f"def _ok(s):\n    return {python_condition(cond)}", namespace)
        ok[site] = namespace.pop("_ok")  # type: ignore[assignment]
    pcs = [core.pc for core in system.cores]
    core_of = [cmd.core for cmd in cmds]
    on_site = [cmd.site is not None for cmd in cmds]

    def ample(s: State, out: Succ) -> Succ | None:
        for c, pcf in enumerate(pcs):
            check = ok.get((c, s[pcf]))
            if check is None or not check(s):
                continue
            mine = [x for x in out if core_of[x[0]] == c and on_site[x[0]]]
            if mine and len(mine) < len(out):
                return mine
        return None

    return Reduction(ample, frozenset(conditions), len(sites), conditions)


def _steps(cmds: tuple[Command, ...]) -> list[Command]:
    """Each command, an alternative replaced by the step it is taken with."""
    return [cmds[dict(c.info)["base"]] if dict(c.info).get("swap") else c for c in cmds]


def condition_source(cond: Condition, field: str, and_: str, or_: str, true: str) -> str:
    """Source of a site's ample condition, in Python or C: ``field`` formats a field's
    value (``s[{}]``), ``and_``/``or_`` join, ``true`` when there is no term."""

    def alt(a: Alt) -> str:
        if a[0] == "ne":
            return f"{field.format(a[1])} != {a[2]}"
        return "(" + and_.join(f"{field.format(z)} == 0" for z in a[1]) + ")"  # type: ignore[union-attr]

    return and_.join("(" + or_.join(alt(a) for a in term) + ")" for term in cond) or true


def python_condition(cond: Condition) -> str:
    return condition_source(cond, "s[{}]", " and ", " or ", "True")


def _zero_closed(f: int, outside: Callable[[int], list[Command]]) -> frozenset[int] | None:
    """The fields that keep ``f`` at 0 once they all are: ``f`` and, transitively, every
    field a command outside copies into one of them; None if a command outside writes
    one of them with anything but 0 or such a copy."""
    seen, todo = {f}, [f]
    while todo:
        g = todo.pop()
        for w in outside(g):
            for h, e in w.updates:
                if h != g:
                    continue
                if isinstance(e, Field):
                    if e.index not in seen:
                        seen.add(e.index)
                        todo.append(e.index)
                elif not (isinstance(e, Const) and e.value == 0):
                    return None
    return frozenset(seen)


def _sets_other_than(cmd: Command, f: int, k: int) -> bool:
    """Does ``cmd`` write field ``f`` only with a constant other than ``k``?"""
    return all(isinstance(e, Const) and e.value != k for g, e in cmd.updates if g == f)
