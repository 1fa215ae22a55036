"""The generated successor functions (`run/compile.py`) against the commands'
meaning (`system.evaluate`), and the shape of the code that makes them fast."""

from __future__ import annotations

import pytest
from conftest import EXAMPLES, tlb_files

from verifier.ir.lower import lower
from verifier.ir.system import Command, Const, Field, FieldInfo, Op, System, Table, evaluate
from verifier.lang.frontend import load
from verifier.machine.semantics import build
from verifier.run.compile import State, _Gen, _succ_source, compile_system
from verifier.search.explicit import explore
from verifier.search.symmetry import canon


def _no(s: State) -> list[int]:
    return []


def _expected(
    system: System, s: tuple[int, ...]
) -> tuple[list[tuple[int, State | None]], list[tuple[int, int]]]:
    """Every enabled command of every core, in the search's order, and the checks that
    hold, by `evaluate`."""
    out: list[tuple[int, State | None]] = []
    hits: list[tuple[int, int]] = []
    for c, core in enumerate(system.cores):
        mine = [cmd for cmd in system.commands if cmd.core == c]
        at_pc = [cmd for cmd in mine if cmd.site is not None and cmd.site == s[core.pc]]
        for cmd in at_pc + [cmd for cmd in mine if cmd.site is None]:
            if not evaluate(cmd.guard, s):
                continue
            hits += [(cmd.id, h) for h, chk in enumerate(cmd.checks) if evaluate(chk.cond, s)]
            if any(evaluate(chk.cond, s) for chk in cmd.checks if chk.fatal):
                out.append((cmd.id, None))
                continue
            n = list(s)
            for f, e in cmd.updates:
                n[f] = evaluate(e, s)
            out.append((cmd.id, bytes(n)))
    return out, hits


@pytest.mark.parametrize("name", [p.stem for p in tlb_files(EXAMPLES)])
def test_successor_functions_mean_what_the_commands_mean(name: str) -> None:
    path = EXAMPLES / f"{name}.tlb"
    checked = load(str(path), ["N=2"] if "param N" in path.read_text() else [])
    system = build(lower(checked), "pso")
    ex = explore(system, max_states=600)
    compiled = compile_system(system, packed=True)
    for s in list(ex.states)[::3]:
        out: list[tuple[int, State | None]] = []
        hits: list[tuple[int, int]] = []
        for c, core in enumerate(system.cores):
            site = compiled.site_succ[c][s[core.pc]]
            if site is not None:
                site(s, out, hits)
            compiled.machine_succ[c](s, out, hits)
        assert (out, hits) == _expected(system, tuple(s))
        by_check_fn = [(cid, h) for cid, _ in out for h in (compiled.checks[cid] or _no)(s)]
        assert by_check_fn == hits
        whole: tuple[list[tuple[int, State | None]], list[tuple[int, int]]] = ([], [])
        compiled.state_succ(s, *whole)  # the search's one function for a whole state
        assert whole == (out, hits)


def _cmd(cid: int, *guard: Op) -> Command:
    g: Op = guard[0]
    for x in guard[1:]:
        g = Op("and", (g, x))
    return Command(cid, 0, None, g, ((1, Const(cid)),), (), "step", f"t{cid}", "t")


def test_a_shared_guard_prefix_is_tested_once_and_a_known_pc_not_at_all() -> None:
    pc0 = Op("eq", (Field(0), Const(3)))
    a, b, c = (Op("eq", (Field(2), Const(k))) for k in (1, 2, 3))
    cmds = [_cmd(0, pc0, a, b), _cmd(1, pc0, a, c), _cmd(2, pc0, c)]
    src = "\n".join(_succ_source(_Gen(()), "f", cmds, packed=True, known=pc0))
    assert "s[0]" not in src and src.count("(s[2] == 1)") == 1
    ns: dict[str, object] = {}
    exec(src, ns)
    for s2 in range(4):
        out: list[tuple[int, State | None]] = []
        ns["f"](bytes([3, 0, s2]), out, [])  # type: ignore[operator]
        assert [cid for cid, _ in out] == [k for k, on in enumerate([False, False, s2 == 3]) if on]


def test_table_lookups_within_the_index_bound_are_plain_indexing() -> None:
    g = _Gen((FieldInfo("x", 0, 9, 0),))
    src = g.value(Table((5, 6, 7), Field(0)))
    assert ".get" not in src
    ns = {name: values for values, name in g.tables.items()}
    assert [eval(src, ns, {"s": [k]}) for k in range(10)] == [5, 6, 7] + [0] * 7


def test_a_family_of_plain_blocks_is_sorted_by_one_join() -> None:
    checked = load(str(EXAMPLES / "eager_fenced.tlb"), ["N=3"])
    program = lower(checked)
    system = build(program, "pso")
    fn = canon(system, program).fn
    assert fn is not None and "join" in fn.__code__.co_names
