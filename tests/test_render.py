"""Trace renderers (text, SVG, HTML, DOT) and the `show` / `replay` commands.

The traces are built by hand: the eager shootdown without a fence, under pso,
as the explicit engine reports it (the IPI overtakes the buffered PTE write,
the responder's walker refills the old translation after its invlpg).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest

from verifier.cli import main as cli
from verifier.lang.span import Span
from verifier.report.render_dot import render_dot
from verifier.report.render_html import render_html
from verifier.report.render_svg import esc, render_svg
from verifier.report.render_text import render_text, stale_fill
from verifier.run.result import Problem, Step, Trace

SVG = "{http://www.w3.org/2000/svg}"
SPEC_FILE = "eager_missing_fence.tlb"
SOURCE = """\
spec "eager shootdown, missing fence"
param N = 2

frame A, B
page V -> A rw
var acks = 0

core init {
    pte V := B rw
    ipi cpu[*] flush(V)
    invlpg V
    await acks == N
    complete V
    free A
}

core cpu[1..N] {
    loop {
        read V
        write V
    }
}

handler flush(p) {
    invlpg p
    acks += 1
}
"""


def sp(line: int, col: int = 5, file: str = SPEC_FILE) -> Span:
    return Span(file, line, col, line, col + 1)


def eager_missing_fence_trace(file: str = SPEC_FILE) -> Trace:
    """init writes the PTE (buffered), sends the IPI; both responders invalidate and
    ack; cpu[1]'s walker refills V from memory (still the old PTE); init completes,
    frees A; cpu[1] reads V through the stale entry."""

    def s(
        i: int,
        core: str,
        action: str,
        text: str,
        effect: str,
        line: int,
        col: int = 5,
        links: tuple[int, ...] = (),
        in_handler: bool = False,
        problems: tuple[Problem, ...] = (),
    ) -> Step:
        return Step(
            i,
            core,
            action,
            text,
            effect,
            sp(line, col, file),
            links,
            f"{core}/{action}/{i}",
            problems,
            in_handler,
        )

    problem = Problem(
        "use-after-free",
        "cpu[1]",
        "read V reached frame A after free A",
        "read V",
        sp(19, 9, file),
        "page V -> A rw",
        sp(5, 1, file),
        "V -> B rw",
    )
    also = replace(
        problem,
        kind="stale-translation",
        message="read V used a translation of V older than the one recorded at complete V",
    )
    steps = (
        s(1, "init", "store-buffered", "pte V := B rw", "V -> B rw waits in init's buffer", 9),
        s(2, "init", "ipi-sent", "ipi cpu[*] flush(V)", "flush(V) sent to cpu[1], cpu[2]", 10),
        s(
            3,
            "init",
            "ipi-queued",
            "ipi cpu[*] flush(V)",
            "flush(V) pending at cpu[1], cpu[2]",
            10,
            links=(2,),
        ),
        s(
            4,
            "cpu[1]",
            "handler-entered",
            "flush(V)",
            "cpu[1] takes IPI flush(V)",
            24,
            1,
            links=(3,),
        ),
        s(5, "cpu[1]", "invlpg", "invlpg p", "TLB entry for V dropped", 25, in_handler=True),
        s(6, "cpu[1]", "rmw", "acks += 1", "acks: 0 -> 1", 26, in_handler=True),
        s(7, "cpu[1]", "handler-returned", "}", "back to the program", 27, 1, in_handler=True),
        s(
            8,
            "cpu[2]",
            "handler-entered",
            "flush(V)",
            "cpu[2] takes IPI flush(V)",
            24,
            1,
            links=(3,),
        ),
        s(9, "cpu[2]", "invlpg", "invlpg p", "TLB entry for V dropped", 25, in_handler=True),
        s(10, "cpu[2]", "rmw", "acks += 1", "acks: 1 -> 2", 26, in_handler=True),
        s(11, "cpu[2]", "handler-returned", "}", "back to the program", 27, 1, in_handler=True),
        s(12, "cpu[1]", "fill", "walk V", "TLB[V] := A rw (memory still has the old PTE)", 5, 1),
        s(13, "init", "invlpg", "invlpg V", "TLB entry for V dropped", 11),
        s(14, "init", "await", "await acks == N", "acks == 2", 12),
        s(15, "init", "complete", "complete V", "recorded PTE of V: V -> B rw", 13),
        s(16, "init", "free", "free A", "frame A freed", 14),
        s(17, "init", "drain", "pte V := B rw", "memory: V -> B rw", 9, links=(1,)),
        s(
            18,
            "cpu[1]",
            "access",
            "read V",
            "TLB hit V -> A: reads frame A",
            19,
            9,
            problems=(problem, also),
        ),
    )
    return Trace(
        "eager shootdown, missing fence",
        file,
        "pso",
        (("N", 2),),
        "use-after-free",
        ("init", "cpu[1]", "cpu[2]"),
        steps,
        problem,
    )


@pytest.fixture
def trace() -> Trace:
    return eager_missing_fence_trace()


# ----------------------------------------------------------------------------- text


def test_text_rows_are_aligned(trace: Trace) -> None:
    lines = render_text(trace).splitlines()
    rows = lines[: len(trace.steps)]
    assert [int(r.split()[0]) for r in rows] == [s.index for s in trace.steps]
    # the location column starts at the same place on every row
    starts = {r.index(f"{SPEC_FILE}:") for r in rows}
    assert len(starts) == 1
    assert rows[4].split("  ")[-1].strip().startswith("TLB entry for V dropped")


def test_text_indents_handlers_and_tags_race(trace: Trace) -> None:
    text = render_text(trace)
    rows = text.splitlines()
    assert "    invlpg p" in rows[4]  # handler body indented under the entry
    assert rows[11].endswith("<-- stale entry")
    assert rows[17].endswith("<-- use-after-free, stale-translation")


def test_text_names_the_race(trace: Trace) -> None:
    block = render_text(trace).split("\n\n", 1)[1]
    assert block.startswith(f"use-after-free: cpu[1] read V at {SPEC_FILE}:19:9\n")
    assert "read V reached frame A after free A" in block
    assert f"stale entry filled from:  page V -> A rw  at {SPEC_FILE}:5:1" in block
    assert "(initial page table)" in block
    assert "the PTE now says:         V -> B rw" in block
    assert "same access also:         stale-translation" in block


def test_stale_fill_prefers_a_link() -> None:
    t = eager_missing_fence_trace()
    linked = replace(t, steps=(*t.steps[:-1], replace(t.steps[-1], links=(12,))))
    fill = stale_fill(linked)
    assert fill is not None and fill.index == 12
    assert stale_fill(t) == fill


# ----------------------------------------------------------------------------- svg


def _svg(trace: Trace) -> ET.Element:
    return ET.fromstring(render_svg(trace, SOURCE).split("\n", 1)[1])


def _groups(root: ET.Element) -> dict[str, ET.Element]:
    return {g.get("id", ""): g for g in root.iter(f"{SVG}g") if g.get("class") == "step"}


def _rect_attr(group: ET.Element, name: str) -> str:
    rect = group.find(f"{SVG}rect")
    assert rect is not None
    return rect.get(name, "")


def test_svg_is_well_formed_with_a_lane_per_core(trace: Trace) -> None:
    root = _svg(trace)
    assert root.tag == f"{SVG}svg" and root.get("version") == "1.1"
    heads = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "lane-head"]
    assert heads == ["init", "memory", "cpu[1]", "cpu[2]"]


def test_svg_has_a_box_per_step_in_its_lane(trace: Trace) -> None:
    root = _svg(trace)
    groups = _groups(root)
    assert sorted(groups) == sorted(f"step-{s.index}" for s in trace.steps)
    x = {i: float(_rect_attr(groups[f"step-{i}"], "x")) for i in (1, 3, 4, 5, 17)}
    assert x[3] == x[17] != x[1]  # ipi-queued and drain in the memory lane
    assert x[5] > x[4]  # handler body nested inside the entry's frame
    texts = "".join(groups["step-5"].itertext())
    assert "invlpg p" in texts and f"{SPEC_FILE}:25" in texts


def test_svg_highlights_race_and_stale_fill(trace: Trace) -> None:
    root = _svg(trace)
    groups = _groups(root)
    race = groups["step-18"]
    assert _rect_attr(race, "class") == "box box-race"
    assert "RACE: use-after-free" in "".join(race.itertext())
    assert "stale-translation" in "".join(race.itertext())
    fill = groups["step-12"]
    assert _rect_attr(fill, "class") == "box box-stale"
    assert "page V -> A rw (line 5)" in "".join(fill.itertext())


def test_svg_arrows_for_links(trace: Trace) -> None:
    root = _svg(trace)
    paths = [p for p in root.iter(f"{SVG}path") if p.get("marker-end")]
    classes = [p.get("class") for p in paths]
    links = sum(len(s.links) for s in trace.steps)
    assert classes.count("link") == links + 1  # + the legend's sample
    assert classes.count("uses") == 2  # stale fill -> racing access, and the legend
    labels = {t.text for t in root.iter(f"{SVG}text") if t.get("class") == "link-label"}
    assert labels == {"queued", "delivered", "drains"}
    assert len({p.get("d") for p in paths}) == len(paths)


def test_svg_fills_from_a_pte_write_step() -> None:
    """When the stale PTE was written by a step (not the initial table), the
    fill is linked back to where that write reached memory."""
    t = eager_missing_fence_trace()
    problem = Problem(
        "use-after-free", "cpu[1]", "m", "read V", sp(19, 9), "pte V := B rw", sp(9), "V -> B rw"
    )
    t2 = replace(t, problem=problem)
    root = _svg(t2)
    fills = [p for p in root.iter(f"{SVG}path") if p.get("class") == "fills"]
    assert len(fills) == 2  # the arrow and the legend's sample
    assert "fills-from" in render_dot(t2) and '"s1" -> "s12"' in render_dot(t2)


def test_svg_escapes_text_and_is_deterministic(trace: Trace) -> None:
    nasty = Step(19, "cpu[2]", "assert", 'assert x < 3 && y > "a"', "fails <&>\x01", sp(20))
    t = Trace(
        'spec "<x>" & co',
        trace.file,
        "tso",
        (),
        "assertion",
        trace.cores,
        (*trace.steps[:-1], nasty),
        Problem("assertion", "cpu[2]", "assert failed"),
    )
    svg = render_svg(t, None)
    ET.fromstring(svg.split("\n", 1)[1])
    assert "spec &quot;&lt;x&gt;&quot; &amp; co" in svg and "\x01" not in svg
    assert render_svg(t, None) == svg


def test_svg_handles_an_unfinished_handler_and_no_problem_step() -> None:
    t = eager_missing_fence_trace()
    hang = Problem("hang", "init", "init waits forever at await acks == N")
    short = replace(t, kind="hang", steps=t.steps[:5], problem=hang)
    root = _svg(short)
    assert [r for r in root.iter(f"{SVG}rect") if r.get("class") == "handler"]
    assert not [r for r in root.iter(f"{SVG}rect") if "box-race" in (r.get("class") or "")]
    assert "hang: init" in render_text(short)


# ----------------------------------------------------------------------------- html


def test_html_is_self_contained(trace: Trace) -> None:
    html = render_html(trace, SOURCE)
    assert html.startswith("<!DOCTYPE html>")
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html)
    assert "<link" not in html and "@import" not in html
    assert html.count("<svg") == 1 and "<?xml" not in html


def test_html_has_source_steps_and_navigation(trace: Trace) -> None:
    html = render_html(trace, SOURCE)
    for n, line in enumerate(SOURCE.splitlines(), start=1):
        assert f'id="L{n}"' in html
        assert f'<span class="ln">{n}</span>{esc(line)}</div>' in html
    assert '<div class="src-line src-race" id="L19">' in html
    assert '<div class="src-line src-stale" id="L5">' in html
    data = re.search(r'id="tc-steps">(.*?)</script>', html, re.S)
    assert data is not None
    steps = json.loads(data.group(1))
    assert [s["index"] for s in steps] == [s.index for s in trace.steps]
    assert steps[-1]["kinds"] == ["use-after-free", "stale-translation"]
    for button in ("tc-first", "tc-prev", "tc-next", "tc-last"):
        assert f'id="{button}"' in html
    assert "ArrowRight" in html and "ArrowLeft" in html


def test_html_script_data_cannot_close_the_script(trace: Trace) -> None:
    evil = Step(19, "cpu[2]", "assert", "assert 1 </script><b>", "x", sp(20))
    t = Trace(
        trace.spec,
        trace.file,
        "tso",
        (),
        "assertion",
        trace.cores,
        (*trace.steps, evil),
        Problem("assertion", "cpu[2]", "assert failed"),
    )
    html = render_html(t, None)
    assert html.count("</script>") == 2
    assert "source not available" in html


# ----------------------------------------------------------------------------- dot


def test_dot_edges(trace: Trace) -> None:
    dot = render_dot(trace)
    assert dot.startswith('digraph "eager shootdown, missing fence" {')
    assert '"s13" -> "s14" [color=' in dot  # program order on init
    assert '"s1" -> "s17" [label="drains"' in dot  # buffered store -> drain
    assert '"s2" -> "s3" [label="queued"' in dot
    assert '"s3" -> "s4" [label="delivered"' in dot and '"s3" -> "s8" [label="delivered"' in dot
    assert '"initial" -> "s12" [label="fills-from"' in dot
    assert '"s12" -> "s18" [label="uses"' in dot
    assert '"s16" -> "s17"' not in dot  # a drain is not in program order
    assert 'label="memory"' in dot


# ----------------------------------------------------------------------------- show / replay


def _write(tmp_path: Path, trace: Trace, name: str = "t.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(trace.to_json(), indent=1))
    return path


def test_show_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, eager_missing_fence_trace())
    assert cli.main(["show", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("use-after-free: eager shootdown, missing fence")
    assert out.endswith(render_text(eager_missing_fence_trace()))


@pytest.mark.parametrize("fmt", ["svg", "html", "dot"])
def test_show_formats_to_a_file(
    tmp_path: Path, fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / SPEC_FILE
    spec.write_text(SOURCE)
    path = _write(tmp_path, eager_missing_fence_trace(str(spec)))
    out = tmp_path / f"pic.{fmt}"
    assert cli.main(["show", str(path), "-o", str(out)]) == 0  # format from the extension
    text = out.read_text()
    assert capsys.readouterr().out == ""
    if fmt == "svg":
        ET.fromstring(text.split("\n", 1)[1])
    if fmt == "html":
        assert "core cpu[1..N] {" in text  # the source, read from the trace's file
    if fmt == "dot":
        assert text.startswith("digraph")


def test_show_finds_the_spec_beside_the_trace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / SPEC_FILE).write_text(SOURCE)
    path = _write(tmp_path, eager_missing_fence_trace("elsewhere/" + SPEC_FILE))
    assert cli.main(["show", str(path), "--format", "html"]) == 0
    assert "handler flush(p) {" in capsys.readouterr().out


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "no such file"),
        ("{not json", "not JSON: Expecting property name"),
        ("[1, 2]", "not a trace: expected a JSON object"),
        ('{"spec": "x"}', "not a trace: missing field 'file'"),
        ('{"verdict": "safe", "traces": {}}', "this is a result, not a trace"),
        ('{"format": 99}', "trace format 99 is not supported"),
    ],
)
def test_show_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, message: str
) -> None:
    path = tmp_path / "bad.json"
    if content is not None:
        path.write_text(content)
    assert cli.main(["show", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"{path}: error: {message}")
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err


def test_show_wrong_field_types(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = eager_missing_fence_trace().to_json()
    data["params"] = [1, 2]
    data["steps"][0] = "oops"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    assert cli.main(["show", str(path)]) == 2
    assert capsys.readouterr().err.startswith(f"{path}: error: not a trace: ")


class _Outcome:
    def __init__(self, reproduced: bool, message: str) -> None:
        self.reproduced = reproduced
        self.message = message


@pytest.mark.parametrize("reproduced, code", [(True, 0), (False, 1)])
def test_replay_exit_codes(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    reproduced: bool,
    code: int,
) -> None:
    import types

    calls = []

    def replay_trace(trace: Trace, spec_path: str, defines: list[str]) -> _Outcome:
        calls.append((trace, spec_path, defines))
        return _Outcome(reproduced, "reproduced" if reproduced else "step 12 cannot be taken")

    monkeypatch.setitem(
        __import__("sys").modules, "verifier.api", types.SimpleNamespace(replay_trace=replay_trace)
    )
    spec = tmp_path / SPEC_FILE
    spec.write_text(SOURCE)
    path = _write(tmp_path, eager_missing_fence_trace(str(spec)))
    assert cli.main(["replay", str(path), "-D", "N=2"]) == code
    assert calls == [(eager_missing_fence_trace(str(spec)), str(spec), ["N=2"])]
    captured = capsys.readouterr()
    assert ("reproduced" in captured.out) if reproduced else ("cannot be taken" in captured.err)


def test_replay_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["replay", str(tmp_path / "none.json")]) == 2
    assert "none.json: error: no such file" in capsys.readouterr().err
    path = _write(tmp_path, eager_missing_fence_trace("/nowhere/x.tlb"))
    assert cli.main(["replay", str(path)]) == 2
    assert "cannot find the spec '/nowhere/x.tlb'" in capsys.readouterr().err
    assert cli.main(["replay", str(path), "--spec", str(tmp_path / "missing.tlb")]) == 2
    assert "missing.tlb: error: no such file" in capsys.readouterr().err


def test_svg_shows_stores_still_buffered_at_the_end() -> None:
    """Without the drain, the PTE write is still in init's buffer when cpu[1]
    reads: a dashed box in the memory lane says so, with an arrow from the store."""
    t = eager_missing_fence_trace()
    undrained = replace(t, steps=tuple(s for s in t.steps if s.action != "drain"))
    root = _svg(undrained)
    boxes = [g for g in root.iter(f"{SVG}g") if g.get("class") == "pending-box"]
    assert len(boxes) == 1
    assert "".join(boxes[0].itertext()) == "not yet in memory:init: pte V := B rw"
    pending = [p for p in root.iter(f"{SVG}path") if p.get("class") == "pending"]
    assert len(pending) == 2  # the arrow and the legend's sample
    assert not [g for g in _svg(t).iter(f"{SVG}g") if g.get("class") == "pending-box"]


def test_hang_marks_the_blocked_core() -> None:
    t = eager_missing_fence_trace()
    msg = (
        "init waits at `await acks == N` forever (acks = 1 from memory): no continuation of "
        "this execution lets it pass; pending: IPI flush at cpu[2] (interrupts off)"
    )
    hang = Problem("hang", "init", msg, "await acks == N", sp(12))
    last = Step(
        6, "cpu[1]", "rmw", "acks += 1", "acks: 0 -> 1", sp(26), problems=(hang,), in_handler=True
    )
    trace = replace(t, kind="hang", steps=(*t.steps[:5], last), problem=hang)
    root = _svg(trace)
    blocked = [g for g in root.iter(f"{SVG}g") if g.get("class") == "blocked-box"]
    assert len(blocked) == 1
    assert [t.text for t in blocked[0].iter(f"{SVG}text")] == [
        "HANG: init",
        "at `await acks == N` (line 12)",
        "(acks = 1 from memory)",
        "pending: IPI flush at cpu[2]",
        "  (interrupts off)",
    ]
    # the core that moved last is not the one that hangs: its step carries no mark
    assert "HANG" not in "".join(_groups(root)["step-6"].itertext())
    heads = [t.text for t in root.iter(f"{SVG}text") if "lane-head" in (t.get("class") or "")]
    assert "init \u2014 hangs" in heads
    assert render_text(trace).splitlines()[5].endswith("<-- hang (init)")


def test_an_access_that_walked_is_the_stale_fill() -> None:
    """The engine folds a walk on a miss into the access; a later hit links to it."""
    t = eager_missing_fence_trace()
    walk = Step(12, "cpu[1]", "access", "read V", "TLB miss; walker fills V -> A rw", sp(19, 9))
    hit = replace(t.steps[-1], links=(12,))
    trace = replace(t, steps=(*t.steps[:11], walk, *t.steps[12:-1], hit))
    fill = stale_fill(trace)
    assert fill is not None and fill.index == 12
    root = _svg(trace)
    assert _rect_attr(_groups(root)["step-12"], "class") == "box box-stale"
    uses = [p for p in root.iter(f"{SVG}path") if p.get("class") == "uses"]
    links = [p for p in root.iter(f"{SVG}path") if p.get("class") == "link"]
    assert len(uses) == 2 and len(links) == 4 + 1  # the link is drawn as "uses", once


def test_replay_a_real_trace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """check --out writes traces; replay reproduces them, and fails on the fenced spec."""
    pytest.importorskip("verifier.cli.check")
    api = pytest.importorskip("verifier.api")
    if not hasattr(api, "replay_trace"):
        pytest.skip("verifier.api.replay_trace is not there yet")
    from conftest import EXAMPLES

    spec = EXAMPLES / "eager_missing_fence.tlb"
    assert cli.main(["check", str(spec), "--model", "pso", "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    saved = tmp_path / "eager_missing_fence.pso.use-after-free.json"
    assert cli.main(["replay", str(saved)]) == 0
    assert "reproduces use-after-free" in capsys.readouterr().out
    assert cli.main(["replay", str(saved), "--spec", str(EXAMPLES / "eager_fenced.tlb")]) == 1
    assert capsys.readouterr().err
    assert cli.main(["show", str(saved), "--format", "svg"]) == 0
    ET.fromstring(capsys.readouterr().out.split("\n", 1)[1])
