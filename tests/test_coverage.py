"""Unreached statements and vacuous `safe` verdicts (`run/coverage.py`): in the Result,
the text of `check`, its JSON, the suite table, and `--strict`."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from pathlib import Path

import pytest
from conftest import EXAMPLES

from verifier.api import check_spec
from verifier.cli import main as cli
from verifier.lang.frontend import load, load_text
from verifier.suite.command import SuiteOptions
from verifier.suite.command import main as suite_main
from verifier.suite.runner import Limits

FENCED = (EXAMPLES / "eager_fenced.tlb").read_text()
NO_COMPLETE = FENCED.replace("    complete V\n", "")
NEVER_DONE = FENCED.replace("await acks == N", "await acks == N + 1")
UNUSED_HANDLER = FENCED + "\nhandler unused(p) {\n    invlpg p\n}\n"


def _write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def _cli(*args: str) -> tuple[int, str]:
    buf = io.StringIO()
    with redirect_stdout(buf):
        code = cli.main(list(args))
    return code, buf.getvalue()


def test_a_spec_without_complete_is_safe_but_vacuous_for_the_stale_kinds() -> None:
    r = check_spec(load_text(NO_COMPLETE, "x.tlb", []), "pso")
    assert r.verdict == "safe" and r.expectation_met
    assert r.is_vacuous
    assert r.vacuous == ("stale-translation, stale-permission: the spec has no `complete`",)


@pytest.mark.parametrize("name", ["eager_fenced", "munmap_invalid", "lazy_generation"])
def test_protocols_whose_accesses_meet_complete_and_free_are_not_vacuous(name: str) -> None:
    """munmap: every access after the update faults, which still judges the TLB."""
    r = check_spec(load(str(EXAMPLES / f"{name}.tlb"), []), "tso")
    assert r.verdict == "safe" and r.vacuous == () and r.unreached == ()


def test_litmus_tests_and_specs_that_free_nothing_get_no_warning() -> None:
    for name in ("message_passing_release", "asid_recycle_flushed", "ticket_lock"):
        r = check_spec(load(str(EXAMPLES / f"{name}.tlb"), []), "pso")
        assert r.verdict == "safe" and r.vacuous == (), name


def test_statements_after_an_await_that_never_passes_are_unreached() -> None:
    r = check_spec(load_text(NEVER_DONE, "x.tlb", []), "pso")
    assert [(u.who, u.where, u.text) for u in r.unreached] == [
        ("init", "x.tlb:20", "complete V"),
        ("init", "x.tlb:21", "free A"),
    ]


def test_a_handler_no_core_runs_is_reported_once_not_per_core() -> None:
    r = check_spec(load_text(UNUSED_HANDLER, "x.tlb", []), "pso")
    assert [(u.who, u.text) for u in r.unreached] == [("handler unused", "invlpg p")]


def test_unreached_and_vacuity_are_the_same_with_and_without_reductions() -> None:
    for text in (NEVER_DONE, NO_COMPLETE, UNUSED_HANDLER):
        checked = load_text(text, "x.tlb", [])
        a = check_spec(checked, "pso")
        b = check_spec(checked, "pso", symmetry=False, por=False)
        assert (a.unreached, a.vacuous) == (b.unreached, b.vacuous)


def test_family_statements_are_grouped_per_family(tmp_path: Path) -> None:
    text = FENCED.replace("        write V\n", "        write V\n        await acks == 9\n")
    text = text.replace("    loop {", "    skip\n    loop {")
    r = check_spec(load_text(text, "x.tlb", []), "pso")
    assert r.verdict == "unsafe" and "hang" in r.kinds
    assert [u.who for u in r.unreached] == []  # the await itself is reached
    text = FENCED.replace("        write V\n", "        write V\n        assert 0\n        skip\n")
    r = check_spec(load_text(text, "x.tlb", []), "pso")
    assert [(u.who, u.text) for u in r.unreached] == [("cpu[1..2]", "skip")]


def test_check_text_json_and_strict(tmp_path: Path) -> None:
    spec = _write(tmp_path, "nc.tlb", NO_COMPLETE)
    code, out = _cli("check", spec, "--no-color")
    assert code == 0
    assert "[vacuous: stale-translation, stale-permission]" in out
    assert "warning: safe says nothing of stale-translation, stale-permission" in out
    code, out = _cli("check", spec, "--json")
    (d,) = json.loads(out)
    assert d["vacuous"] and d["unreached"] == []
    code, out = _cli("check", spec, "--strict", "-q", "--no-color")
    assert code == 1 and "EXPECTATION NOT MET" in out and "vacuous (--strict)" in out
    code, out = _cli("check", _write(tmp_path, "nd.tlb", NEVER_DONE), "--no-color")
    assert "  unreached: init: " in out and "nd.tlb:20  complete V" in out


def test_suite_table_marks_vacuous_runs_and_strict_fails_them(tmp_path: Path) -> None:
    spec = _write(tmp_path, "nc.tlb", NO_COMPLETE.replace("expect safe", "expect safe under tso"))
    out = io.StringIO()
    assert suite_main(SuiteOptions(paths=(spec,), no_color=True), out, io.StringIO()) == 0
    assert "safe (vacuous)" in out.getvalue() and "VACUOUS: " in out.getvalue()
    out = io.StringIO()
    opts = SuiteOptions(paths=(spec,), limits=Limits(strict=True), no_color=True)
    assert suite_main(opts, out, io.StringIO()) == 1
    assert "0 passed, 1 failed" in out.getvalue()


def test_the_smt_engine_says_it_reports_no_coverage() -> None:
    r = check_spec(load_text(NO_COMPLETE, "x.tlb", ["N=1"]), "sc", engine="smt", depth=3)
    assert r.unreached == () and r.vacuous == () and "smt engine" in r.coverage
