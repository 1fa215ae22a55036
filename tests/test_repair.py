"""`tlbcheck repair`: fixes found by the engines and re-checked, the no-fix answer,
--apply, --json, the order the counterexample gives the candidates, and edits that
keep the user's text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from verifier import api
from verifier.cli.main import main
from verifier.lang.frontend import load, load_text
from verifier.lang.parse import parse_text
from verifier.repair.edits import apply_ast, apply_text, expect_line
from verifier.repair.guide import Guide
from verifier.repair.search import Limits, repair
from verifier.repair.space import EDIT_KINDS, Context, candidates

ROOT = Path(__file__).resolve().parent.parent

# A one-responder shootdown whose IPI can overtake the PTE store (tso, pso).
MISSING_FENCE = """\
// one responder, no fence between the PTE store and the IPI
spec "tiny missing fence"
frame A, B
page V -> A rw
var acks = 0

core init {
    pte V := B rw        // the update
    ipi cpu flush(V)     // may overtake the buffered PTE store
    await acks == 1
    complete V
    free A
}

core cpu {
    read V
}

handler flush(p) {
    invlpg p
    acks += 1
}

expect safe under sc
expect race stale-translation, use-after-free under tso, pso
"""

# Nothing in the edit space can stop `b` from using A: there is no protocol to fix.
NO_PROTOCOL = """\
spec "free with no shootdown at all"
frame A
page V -> A rw

core a {
    free A
}

core b {
    read V
}

expect race use-after-free
"""


def _spec(tmp_path: Path, text: str, name: str = "s.tlb") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_the_barrier_after_the_overtaken_store_is_tried_first(tmp_path: Path) -> None:
    checked = load(str(_spec(tmp_path, MISSING_FENCE)), [])
    original = [api.check_spec(checked, m) for m in ("tso", "pso")]
    guide = Guide.of(original)
    ordered = guide.order(candidates(Context(checked)), [(k.name, k.spread) for k in EDIT_KINDS])
    first = ordered[0]
    assert first.kind == "fence"
    assert first.after is not None and first.after.span.line == 8  # after `pte V := B rw`
    assert guide.rank(first)[0] == 0
    assert all(guide.rank(e)[0] > 0 for e in ordered if e.kind != "fence")


def test_a_fix_is_found_in_few_checks_and_re_checks_safe(tmp_path: Path) -> None:
    path = _spec(tmp_path, MISSING_FENCE)
    checked = load(str(path), [])
    models = api.expected_models(checked)
    out = repair(checked, models, max_edits=1, fixes_wanted=1)
    assert out.fixes and out.tried <= 2
    fix = out.fixes[0]
    assert [e.kind for e in fix.edits] == ["fence"]
    assert "// may overtake the buffered PTE store" in fix.text  # the user's text, edited
    again = load_text(fix.text, str(path), [])
    assert [api.check_spec(again, m).verdict for m in models] == ["safe"] * len(models)


def test_no_fix_in_reach_is_said_plainly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _spec(tmp_path, NO_PROTOCOL)
    code = main(["repair", str(path), "--max-edits", "1", "--model", "sc"])
    out = capsys.readouterr().out
    assert code == 1
    assert "no fix within 1 edit" in out
    assert "every candidate of at most 1 edit was checked" in out
    assert "closest candidates" in out and "leaves: sc unsafe (use-after-free)" in out


def test_a_limit_that_ends_the_search_is_not_a_no_fix(tmp_path: Path) -> None:
    checked = load(str(_spec(tmp_path, NO_PROTOCOL)), [])
    out = repair(checked, ["sc"], max_edits=1, limits=Limits(max_checks=2))
    assert not out.fixes and out.tried == 2 and "--max-checks" in out.stopped


def test_apply_writes_the_best_fix_and_it_checks(tmp_path: Path) -> None:
    path = _spec(tmp_path, MISSING_FENCE)
    assert main(["repair", str(path), "--apply", "--fixes", "1", "--max-edits", "1"]) == 0
    text = path.read_text()
    assert text != MISSING_FENCE and "expect safe\n" in text and "under tso" not in text
    assert "// one responder" in text  # comments kept
    assert main(["check", str(path), "--expected-models", "-q"]) == 0


def test_a_fix_checked_under_one_model_says_safe_under_that_model_only(tmp_path: Path) -> None:
    path = _spec(tmp_path, MISSING_FENCE)
    assert main(["repair", str(path), "--model", "tso", "--apply", "--fixes", "1"]) == 0
    text = path.read_text()
    kept = "expect race stale-translation, use-after-free under pso\n"
    assert "expect safe under sc, tso\n" + kept in text


def test_json_shape(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _spec(tmp_path, MISSING_FENCE)
    assert main(["repair", str(path), "--json", "--fixes", "1", "--max-edits", "1"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["status"] == "fixed" and data["applied"] is None
    assert {r["model"] for r in data["original"]} == {"sc", "tso", "pso"}
    fix = data["fixes"][0]
    assert set(fix) >= {"rank", "edits", "verdicts", "cost", "diff", "text", "reprinted"}
    assert fix["edits"][0]["kind"] == "fence"
    assert {v["verdict"] for v in fix["verdicts"]} == {"safe"}
    assert fix["diff"].startswith("--- a/") and "+    fence\n" in fix["diff"]
    assert fix["cost"]["fences"] >= 1
    assert data["tried"] >= 1 and data["engine_runs"] >= 3


def test_a_safe_spec_needs_no_repair(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fixed = MISSING_FENCE.replace("    ipi cpu", "    fence\n    ipi cpu").replace(
        "expect safe under sc\nexpect race stale-translation, use-after-free under tso, pso",
        "expect safe",
    )
    assert main(["repair", str(_spec(tmp_path, fixed))]) == 0
    assert "nothing to repair" in capsys.readouterr().out


def test_unknown_edit_kind_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["repair", str(_spec(tmp_path, MISSING_FENCE)), "--edits", "fense"])
    assert exc.value.code == 2
    assert "did you mean fence?" in capsys.readouterr().err


def test_every_edit_keeps_the_text_and_matches_the_ast() -> None:
    """Each candidate made on the user's text parses to the AST transformation."""
    checked = load(str(ROOT / "specs/madvise/parallel_dontneed_no_flush.tlb"), [])
    for e in candidates(Context(checked)):
        text = apply_text(checked.source, e.ops, expect_line(checked.spec))
        assert parse_text(text, checked.file) == apply_ast(checked.spec, e.ops), e.text
        assert text.count("//") == checked.source.count("//"), e.text


def test_the_docs_name_every_edit_kind() -> None:
    doc = (ROOT / "docs" / "repair.md").read_text()
    assert all(f"| `{k.name}` |" in doc for k in EDIT_KINDS)


LOCAL_ONLY = """\
spec "local flush only"
param N = 1
frame CODE
page J -> CODE rw

core jit {
    pte J := CODE rx
    fence
    invlpg J      // the other cores keep their writable entry
    complete J
}

core other[1..N] {
    loop {
        write J
    }
}

expect race stale-permission
"""


def test_a_local_flush_becomes_a_shootdown_with_new_declarations(tmp_path: Path) -> None:
    checked = load(str(_spec(tmp_path, LOCAL_ONLY)), [])
    out = repair(checked, ["sc"], max_edits=1, fixes_wanted=1, kinds={"shootdown"})
    assert [e.kind for f in out.fixes for e in f.edits] == ["shootdown"]
    text = out.fixes[0].text
    assert "ipi other[*] repair_flush(J)" in text and "await repair_acks == N" in text
    assert "handler repair_flush(pg)" in text and "// the other cores" in text
    assert not out.fixes[0].reprinted


NINE = [  # the nine real-bug racy specs of the first pair table (specs/README.md)
    "switch_mm/loaded_mm_no_smp_mb",
    "switch_mm/switching_window_skipped",
    "reclaim/batched_flush_vs_mprotect",
    "madvise/parallel_dontneed_no_flush",
    "madvise/free_relock_no_pending_check",
    "reclaim/tlbbatch_gen_zero_skipped",
    "reclaim/numa_pending_flag_cleared",
    "reclaim/pfnmap_unlink_before_flush",
    "reclaim/mremap_flush_after_unlock",
]


@pytest.mark.slow
@pytest.mark.parametrize("name", NINE)
def test_repair_fixes_each_real_bug(name: str) -> None:
    """A fix for each racy spec of the real-bug pairs, safe again under every model."""
    checked = load(str(ROOT / "specs" / f"{name}.tlb"), [])
    models = api.expected_models(checked)
    out = repair(checked, models, fixes_wanted=1)
    assert out.fixes, out.stopped or "no fix"
    again = load_text(out.fixes[0].text, checked.file, [])
    assert [api.check_spec(again, m).verdict for m in models] == ["safe"] * len(models)


MP_ARM = """\
spec "message passing under arm"
model arm
var data = 0
var flag = 0

core writer {
    data := 1
    flag := 1
}

core reader {
    f := flag
    if f == 1 {
        d := data
        assert d == 1
    }
}

expect race assertion under arm
"""


def test_arm_barriers_are_edits_under_arm_only(tmp_path: Path) -> None:
    arm = load(str(_spec(tmp_path, MP_ARM, "arm.tlb")), [])
    edits = candidates(Context(arm, ("arm",)))
    texts = {e.text.split("`")[1] for e in edits if e.kind == "fence"}
    assert {"dmb", "dmb st", "dmb ld", "dsb", "isb"} <= texts
    for e in edits:
        text = apply_text(arm.source, e.ops, expect_line(arm.spec))
        assert parse_text(text, arm.file) == apply_ast(arm.spec, e.ops), e.text
    plain = load(str(_spec(tmp_path, MISSING_FENCE)), [])
    assert not any("dmb" in e.text for e in candidates(Context(plain, ("sc", "tso", "pso"))))
    out = repair(arm, ["arm"], max_edits=1, fixes_wanted=1, kinds={"fence"})
    assert out.fixes and out.fixes[0].results[0].verdict == "safe"
