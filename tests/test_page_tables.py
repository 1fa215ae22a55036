"""The page-table additions of docs/page-tables.md (issue 26), on both engines and against
the oracle: serializing flushes, two-level pages with paging-structure caches and freed
table frames, PTE reads."""

from __future__ import annotations

import pytest
from engine_util import kinds, run
from oracle.campaign import compare
from oracle.explore import run_oracle

from verifier.lang.checked import MODELS
from verifier.lang.frontend import load_text

# `invlpg` before the IPI: the PTE store must be in memory before the handler can run,
# which only a serializing invlpg guarantees (tso, pso)
SERIAL = """
option flushes = FLUSHES
param N = 1
frame A, B
page V -> A rw
var acks = 0
core init {
    pte V := B rw
    invlpg V
    ipi cpu[*] flush(V)
    await acks == N
    complete V
    free A
}
core cpu[1..N] { loop { read V; write V } }
handler flush(p) { invlpg p; acks += 1 }
"""


def both(text: str, model: str) -> set[str]:
    """The kinds the explicit engine finds, after checking the z3 engine finds the same."""
    ours = kinds(text, model)
    r = run(text, model, engine="smt", prove=True)
    assert r.verdict in ("safe", "unsafe"), r.reason
    assert set(r.kinds) == ours
    return ours


def oracle(text: str, model: str) -> set[str]:
    o = run_oracle(load_text(text, "t.tlb", []), model, max_states=50_000)
    assert o.complete
    return set(o.kinds)


@pytest.mark.parametrize("model", MODELS)
def test_a_serializing_invlpg_drains_the_store_buffer(model: str) -> None:
    fixed = SERIAL.replace("FLUSHES", "serializing")
    assert both(fixed, model) == oracle(fixed, model) == set()
    racy = SERIAL.replace("FLUSHES", "plain")
    want = set() if model == "sc" else {"stale-translation", "use-after-free"}
    assert both(racy, model) == oracle(racy, model) == want


@pytest.mark.parametrize("stmt", ["flush all", "flush asid P", "switch P", "invlpg V"])
def test_serializing_flushes_order_stores_like_a_fence(stmt: str) -> None:
    """Under pso, y := 1 may reach memory before x := 1 unless the flush between them
    drains the buffer."""
    text = f"""
option flushes = FLUSHES
frame A
space P asid 1 {{ page V -> A rw }}
var x = 0
var y = 0
core c0 in P {{ x := 1; {stmt}; y := 1 }}
core c1 in P {{ r := y; s := x; assert r == 0 || s == 1 }}
"""
    for flushes, want in (("plain", {"assertion"}), ("serializing", set())):
        t = text.replace("FLUSHES", flushes)
        assert both(t, "pso") == oracle(t, "pso") == want
        assert both(t, "tso") == oracle(t, "tso") == set()


def test_the_option_is_checked() -> None:
    r = run(SERIAL.replace("FLUSHES", "serializing"), "pso")
    assert r.verdict == "safe"
    with pytest.raises(Exception, match="unknown value 'always' for option flushes"):
        load_text(SERIAL.replace("FLUSHES", "always"), "t.tlb", [])


@pytest.mark.parametrize(("seed", "model"), [(s, m) for s in range(6) for m in MODELS])
def test_generated_page_table_specs_agree_with_the_oracle(seed: int, model: str) -> None:
    p = compare(seed, model, ext=True)
    assert p.agree, (p.ours, p.theirs, p.text)
