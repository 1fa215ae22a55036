"""Colours, tables and the progress line (verifier/terminal.py)."""

from __future__ import annotations

import io

import pytest

from verifier.report.terminal import CLEAR_LINE, Progress, paint, table, use_color, visible_len


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def plain_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")


def test_use_color_needs_a_tty_and_no_opt_out(monkeypatch: pytest.MonkeyPatch) -> None:
    assert use_color(Tty(), no_color=False)
    assert not use_color(io.StringIO(), no_color=False)
    assert not use_color(Tty(), no_color=True)
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_color(Tty(), no_color=False)
    monkeypatch.setenv("NO_COLOR", "")  # an empty NO_COLOR does not count
    assert use_color(Tty(), no_color=False)
    monkeypatch.setenv("TERM", "dumb")
    assert not use_color(Tty(), no_color=False)


def test_use_color_on_a_closed_stream() -> None:
    s = io.StringIO()
    s.close()
    assert not use_color(s, no_color=False)


@pytest.mark.parametrize(
    "style, code",
    [
        ("safe", "32"),
        ("unsafe", "31"),
        ("inconclusive", "33"),
        ("error", "35"),
        ("mismatch", "1;31"),
    ],
)
def test_paint(style: str, code: str) -> None:
    assert paint("x", style, True) == f"\x1b[{code}mx\x1b[0m"
    assert paint("x", style, False) == "x"
    assert visible_len(paint("abc", style, True)) == 3


def test_table_aligns_by_visible_width() -> None:
    rows = [
        ["eager_fenced.tlb", paint("safe", "safe", True), "1,204", "0.31s"],
        ["lazy.tlb", paint("unsafe", "unsafe", True), "88", "12.5s"],
    ]
    out = table(rows, ["spec", "verdict", "states", "time"])
    plain = [
        line.replace("\x1b[32m", "").replace("\x1b[31m", "").replace("\x1b[0m", "")
        for line in out.splitlines()
    ]
    assert plain == [
        "spec              verdict  states   time",
        "----------------  -------  ------  -----",
        "eager_fenced.tlb  safe      1,204  0.31s",
        "lazy.tlb          unsafe       88  12.5s",
    ]


def test_table_ragged_rows_and_empty() -> None:
    assert table([["a"], ["b", "c"]], ["x", "y"]).splitlines() == ["x  y", "-  -", "a", "b  c"]
    assert table([], ["only"]) == "only\n----\n"


def test_progress_waits_a_second_then_throttles() -> None:
    out, clock = Tty(), Clock()
    p = Progress(out, enabled=True, clock=clock)
    p.update(10, 5, 20)
    clock.now += 0.9
    p.update(10, 5, 20)
    assert out.getvalue() == ""  # short runs show nothing
    clock.now += 0.2
    p.update(2_000, 300, 5_000)
    first = out.getvalue()
    assert first.startswith(CLEAR_LINE)
    assert "2,000 states" in first and "frontier 300" in first and "5,000 transitions" in first
    assert "1,818/s" in first and "0:01" in first
    p.update(3_000, 300, 6_000)  # same instant: throttled
    assert out.getvalue() == first
    clock.now += 0.25
    p.update(3_000, 300, 6_000)
    assert out.getvalue().count(CLEAR_LINE) == 2
    p.done()
    assert out.getvalue().endswith(CLEAR_LINE)
    p.done()  # idempotent
    assert out.getvalue().count(CLEAR_LINE) == 3


@pytest.mark.parametrize("stream, enabled", [(io.StringIO(), True), (Tty(), False)])
def test_progress_silent_off_tty_or_disabled(stream: io.StringIO, enabled: bool) -> None:
    clock = Clock()
    p = Progress(stream, enabled=enabled, clock=clock)
    clock.now += 5
    p.update(1, 1, 1)
    p.done()
    assert stream.getvalue() == ""


def test_progress_done_without_drawing_writes_nothing() -> None:
    out, clock = Tty(), Clock()
    p = Progress(out, enabled=True, clock=clock)
    p.update(1, 1, 1)
    p.done()
    assert out.getvalue() == ""


def test_progress_elapsed_in_hours() -> None:
    clock = Clock()
    p = Progress(Tty(), enabled=True, clock=clock)
    assert p.line(1, 0, 0, clock.now + 3725).endswith("1:02:05")
