"""Retried faults (`Variant=imprecise`, `Variant=Handled`; docs/arm64.md section 3): the
first fault of a core is taken and the faulting access runs again, a second fault drops
the execution.  The expected answers are herd7's (`-variant vmsa` with the test's own
variant), worked out from its model: under `fatal` each of these tests gives another
answer, so each fails without the retry."""

from __future__ import annotations

from pathlib import Path

import pytest

from verifier.api import check_spec
from verifier.lang.litmus_lower import load_litmus
from verifier.run.litmus import answer

HERE = Path(__file__).parent / "litmus"


def observe(text: str, path: str = "t.litmus") -> tuple[str, str]:
    checked = load_litmus(path, text)
    a = answer(checked, check_spec(checked, "arm"))
    return a.outcome, a.observation


@pytest.mark.parametrize(
    ("name", "expected", "fatal"),
    [
        ("retry_load.litmus", "Never", "Sometimes"),  # the retry always reads 1
        ("retry_twice.litmus", "Never", "Always"),  # every execution faults twice: dropped
        ("retry_addr.litmus", "Never", "Sometimes"),  # the retry is ordered like the load
        ("retry_permission.litmus", "Sometimes", "Never"),  # the retried store happens
        ("retry_ctrl.litmus", "Sometimes", "Never"),  # the fault need not wait for a ctrl
    ],
)
def test_retried_faults(name: str, expected: str, fatal: str) -> None:
    text = (HERE / name).read_text()
    assert observe(text, str(HERE / name))[1] == expected
    lines = [ln if not ln.startswith("Variant=") else "Variant=fatal" for ln in text.splitlines()]
    assert observe("\n".join(lines) + "\n")[1] == fatal


def test_variant_names() -> None:
    """Case is ignored and the last fault-handling name wins, as in herd7."""
    body = (HERE / "retry_load.litmus").read_text()
    for variant, seen in (
        ("variant=imprecise", "Never"),
        ("Variant=vmsa,handled", "Never"),
        ("Variant=Handled,precise", "Sometimes"),
        ("Variant=fatal,imprecise", "Never"),
    ):
        assert observe(body.replace("Variant=Handled", variant))[1] == seen, variant


def test_a_handler_runs_instead() -> None:
    """A core with fault-handler code (P0.F) runs it, whatever the variant: the fault
    stops P0's code, and X0 keeps 0."""
    text = (
        "AArch64 t\nVariant=Handled\n"
        "{ int x=1; pte_x=(oa:phy_x,valid:0); 0:X1=x; 1:X2=pte_x; 1:X3=(oa:phy_x); }\n"
        " P0          | P0.F      | P1          ;\n"
        " LDR W0,[X1] | MOV W5,#1 | STR X3,[X2] ;\n"
        "exists (0:X0=0 /\\ 0:X5=1)\n"
    )
    assert observe(text)[1] == "Sometimes"


def test_the_trace_names_the_retry() -> None:
    checked = load_litmus("t.litmus", (HERE / "retry_permission.litmus").read_text())
    r = check_spec(checked, "arm")
    texts = [s.effect for t in r.traces for s in t.steps]
    assert any(e.endswith("taken: the exception entry comes next") for e in texts)
    assert "exception entry (context synchronizing): the access that faulted runs again" in texts
