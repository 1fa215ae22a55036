"""Terminal output: verdict colours, aligned tables, and a live progress line.

Plain ANSI escapes, no dependencies.  Colour is used only on a TTY and never
when the NO_COLOR environment variable is set (https://no-color.org) or
``--no-color`` was given; the progress line only on a TTY, and only once a run
has taken longer than a second, so quick runs and piped output stay clean.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from typing import TextIO

RESET = "\x1b[0m"
CLEAR_LINE = "\r\x1b[K"

STYLES = {
    "safe": "\x1b[32m",  # green
    "unsafe": "\x1b[31m",  # red
    "inconclusive": "\x1b[33m",  # yellow
    "error": "\x1b[35m",  # magenta
    "mismatch": "\x1b[1;31m",  # bold red
    "bold": "\x1b[1m",
    "dim": "\x1b[2m",
}

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def use_color(stream: TextIO, no_color: bool) -> bool:
    """Colour for `stream`: a TTY, no `--no-color`, no NO_COLOR, and not TERM=dumb."""
    if no_color or os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return is_tty(stream)


def is_tty(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # closed stream
        return False


def paint(text: str, style: str, enabled: bool) -> str:
    """`text` in a verdict colour (`safe`, `unsafe`, `inconclusive`, `error`,
    `mismatch`) or `bold` / `dim`; unchanged when colour is off."""
    if not enabled:
        return text
    return f"{STYLES[style]}{text}{RESET}"


def visible_len(text: str) -> int:
    """Length on screen: ANSI escapes take no room."""
    return len(_ANSI.sub("", text))


def _is_number(cell: str) -> bool:
    plain = _ANSI.sub("", cell).strip().replace(",", "").replace("_", "")
    try:
        float(plain.rstrip("s%"))
    except ValueError:
        return False
    return True


def table(rows: Sequence[Sequence[str]], headers: Sequence[str]) -> str:
    """Columns aligned (by visible width, so painted cells line up); columns of
    numbers are right-aligned.  A dashed rule separates the headers."""
    ncols = max([len(headers), *(len(r) for r in rows)]) if rows or headers else 0
    grid = [[*r, *([""] * (ncols - len(r)))] for r in [list(headers), *map(list, rows)]]
    widths = [max(visible_len(row[c]) for row in grid) for c in range(ncols)]
    numeric = [
        bool(rows) and all(_is_number(r[c]) or not r[c].strip() for r in grid[1:])
        for c in range(ncols)
    ]

    def fmt(row: list[str]) -> str:
        cells = []
        for c, cell in enumerate(row):
            pad = " " * (widths[c] - visible_len(cell))
            cells.append(pad + cell if numeric[c] else cell + pad)
        return "  ".join(cells).rstrip()

    lines = [fmt(grid[0]), "  ".join("-" * w for w in widths)]
    lines.extend(fmt(row) for row in grid[1:])
    return "\n".join(lines) + "\n"


def _thousands(n: float) -> str:
    return f"{int(n):,}"


def _elapsed(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Progress:
    """A live progress line on `stream` (normally stderr) during a search.

    ``update`` is cheap enough to call on every expanded state: it reads a
    clock and returns unless 0.2 s have passed since the last redraw.  Nothing
    is drawn before the run is a second old, or if `enabled` is false or the
    stream is not a TTY.  ``done`` erases the line (if one was drawn).
    """

    DELAY = 1.0
    INTERVAL = 0.2

    def __init__(
        self, stream: TextIO, enabled: bool, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.stream = stream
        self.clock = clock
        self.start = clock()
        self.enabled = enabled and is_tty(stream) and os.environ.get("TERM") != "dumb"
        self._next = self.start + self.DELAY
        self._drawn = False
        self._phase = ""
        self._stage, self._stage_start = "", self.start  # see `stage`
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        self.counts = (0, 0, 0, -1)  # the latest (states, frontier, transitions, depth)

    def update(self, states: int, frontier: int, transitions: int, depth: int = -1) -> None:
        self.counts = (states, frontier, transitions, depth)  # for an interrupt to tell
        if not self.enabled:
            return
        now = self.clock()
        if now < self._next:
            return
        self._next = now + self.INTERVAL
        self.stream.write(CLEAR_LINE + self.line(states, frontier, transitions, now, depth))
        self.stream.flush()
        self._drawn = True

    def stage(self, text: str) -> None:
        """A second search, whose counts start from zero, begins (``text``: what it is
        for, e.g. the one that rebuilds shortest traces): the line and `so_far` name
        it, and its rate counts from now."""
        self._stage, self._stage_start = text, self.clock()

    def phase(self, text: str) -> None:
        """Show which phase of a run is under way (the smt engine's phases).  A phase
        can last long without another call (a z3 query), so once a phase is set a
        background timer keeps the line and its clock current until ``done``."""
        if not self.enabled:
            return
        with self._lock:
            self._phase = text
            if self._ticker is None:
                self._ticker = threading.Thread(target=self._tick, daemon=True)
                self._ticker.start()

    def _tick(self) -> None:
        while not self._stop.wait(self.INTERVAL):
            now = self.clock()
            if now < self.start + self.DELAY:
                continue
            with self._lock:
                line = f"{self._phase}  {_elapsed(max(now - self.start, 1e-9))}"
                width = shutil.get_terminal_size((80, 24)).columns - 1
                self.stream.write(CLEAR_LINE + (line[:width] if width > 10 else line))
                self.stream.flush()
                self._drawn = True

    def line(
        self, states: int, frontier: int, transitions: int, now: float, depth: int = -1
    ) -> str:
        elapsed = max(now - self.start, 1e-9)
        rate = states / max(now - self._stage_start, 1e-9)
        at = f"depth {depth}  " if depth >= 0 else ""
        text = (
            f"{self._stage + ': ' if self._stage else ''}"
            f"{_thousands(states)} states  {_thousands(rate)}/s  {at}"
            f"frontier {_thousands(frontier)}  {_thousands(transitions)} transitions  "
            f"{_elapsed(elapsed)}"
        )
        width = shutil.get_terminal_size((80, 24)).columns - 1
        return text[:width] if width > 10 else text

    def so_far(self) -> str:
        """What the run had done when it was stopped: its counts and time."""
        states, _, transitions, depth = self.counts
        at = f", breadth-first depth {depth}" if depth >= 0 else ""
        elapsed = _elapsed(max(self.clock() - self.start, 1e-9))
        of = f" in the search for {self._stage}" if self._stage else ""
        return (
            f"{_thousands(states)} states, {_thousands(transitions)} transitions{at}, {elapsed}{of}"
        )

    def done(self) -> None:
        if self._ticker is not None:
            self._stop.set()
            self._ticker.join()
            self._ticker = None
        if self._drawn:
            self.stream.write(CLEAR_LINE)
            self.stream.flush()
            self._drawn = False
