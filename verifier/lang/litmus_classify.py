"""Which class of issue 25's comparison with herd7 a litmus test belongs to
(docs/arm64.md §4, `benchmarks/herd_compare.py`):

- ``a``: page-table stores, TLBI, DSB, ISB and faults only (besides plain loads, stores
  and moves of data: the shootdown tests);
- ``b``: also DMB, dependencies, acquire/release accesses, atomics, fault handlers
  (anything outside the ``a`` instructions);
- ``c``: hardware access/dirty flags: hardware flag management switched on
  (``TTHM=P0:HA``), a descriptor with hardware dirty-bit management (``dbm:1``), or a
  condition that inspects a descriptor's flags or a page-table entry.

The first that applies of c, b, a.  Decided from the test's text alone, so the harness
can count every test, stated or not.
"""

from __future__ import annotations

from collections.abc import Iterator

from verifier.lang import litmus_ast as L

A_OPS = frozenset({"LDR", "STR", "MOV", "LSR", "DSB", "ISB", "TLBI", "NOP"})
FLAGS = ("af", "db", "dbm")


def classify(t: L.LitmusTest) -> tuple[str, str]:
    """The class and the reason, in words."""
    flags = _flag_reason(t)
    if flags:
        return "c", flags
    other = _other_reason(t)
    if other:
        return "b", other
    return "a", "page-table stores, TLBI, DSB, ISB and faults only"


def _flag_reason(t: L.LitmusTest) -> str:
    for key, value in t.info:
        if key.upper() == "TTHM":
            return f"hardware access/dirty flag management (TTHM={value})"
    for d in _descs(t):
        v = d.get("dbm")
        if isinstance(v, L.Int) and v.value == 1:
            return "hardware dirty-bit management (dbm:1)"
    for p in props(t.condition.prop):
        if isinstance(p, L.Eq) and isinstance(p.loc, L.Mem) and p.loc.kind == "pte":
            return "the condition reads a page-table entry"
        desc = p.value if isinstance(p, L.Eq) and isinstance(p.value, L.Desc) else None
        if desc is not None and any(k in FLAGS for k, _ in desc.fields):
            return "the condition inspects access/dirty flags"
    return ""


def _other_reason(t: L.LitmusTest) -> str:
    if any(th.handler for th in t.threads):
        return "a fault handler (P.F column)"
    ops = sorted({i.op for th in t.threads for i in th.code} - A_OPS)
    if ops:
        return "uses " + ", ".join(ops)
    for th in t.threads:
        for i in th.code:
            if any(a.kind == "mem" and len(a.parts) > 1 for a in i.args):
                return f"an address with an offset register ({i.text})"
    return ""


def _descs(t: L.LitmusTest) -> Iterator[L.Desc]:
    for i in t.init:
        if isinstance(i.value, L.Desc):
            yield i.value
    for p in props(t.condition.prop):
        if isinstance(p, L.Eq) and isinstance(p.value, L.Desc):
            yield p.value


def props(p: L.Prop) -> Iterator[L.Prop]:
    """``p`` and every proposition inside it."""
    yield p
    if isinstance(p, L.Not):
        yield from props(p.arg)
    elif isinstance(p, L.And | L.Or):
        for a in p.args:
            yield from props(a)
