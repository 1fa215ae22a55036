"""One diagnostic shape for every phase.

file:line:col: error: message
    source line
    ^
file:line:col: note: related place
"""

from __future__ import annotations

from dataclasses import dataclass, field

from verifier.lang.span import NOSPAN, Span


@dataclass(frozen=True)
class Note:
    span: Span
    message: str


@dataclass(frozen=True)
class Diagnostic:
    span: Span
    message: str
    notes: tuple[Note, ...] = ()
    severity: str = "error"

    def to_json(self) -> dict[str, object]:
        return {
            "file": self.span.file,
            "line": self.span.line,
            "col": self.span.col,
            "severity": self.severity,
            "message": self.message,
            "notes": [
                {"file": n.span.file, "line": n.span.line, "col": n.span.col, "message": n.message}
                for n in self.notes
            ],
        }


@dataclass
class SpecError(Exception):
    """Bad input: one or more diagnostics, already sorted by position."""

    diagnostics: list[Diagnostic] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return render_all(self.diagnostics, self.sources)


MAX_LINE = 120  # longer source lines are shown as a window around the caret


def _excerpt(span: Span, sources: dict[str, str]) -> list[str]:
    text = sources.get(span.file)
    if text is None or span.line <= 0:
        return []
    lines = text.splitlines()
    if span.line > len(lines):
        return []
    line = lines[span.line - 1].replace("\t", " ")
    caret_col = max(span.col, 1)
    width = 1
    if span.end_line == span.line and span.end_col > span.col:
        width = span.end_col - span.col
    width = max(1, min(width, len(line) - caret_col + 1))
    if len(line) > MAX_LINE:  # show a window around the caret
        start = max(0, min(caret_col - 1 - MAX_LINE // 2, len(line) - MAX_LINE))
        shown = line[start : start + MAX_LINE]
        prefix = "..." if start > 0 else ""
        suffix = "..." if start + MAX_LINE < len(line) else ""
        line = prefix + shown + suffix
        caret_col = caret_col - start + len(prefix)
        width = max(1, min(width, MAX_LINE - (caret_col - 1 - len(prefix))))
    return ["    " + line, "    " + " " * (caret_col - 1) + "^" + "~" * (width - 1)]


def render(diag: Diagnostic, sources: dict[str, str]) -> str:
    where = str(diag.span) if diag.span != NOSPAN else "tlbcheck"
    out = [f"{where}: {diag.severity}: {diag.message}"]
    out += _excerpt(diag.span, sources)
    for note in diag.notes:
        out.append(f"{note.span}: note: {note.message}")
        out += _excerpt(note.span, sources)
    return "\n".join(out)


def render_all(diags: list[Diagnostic], sources: dict[str, str]) -> str:
    return "\n".join(render(d, sources) for d in diags)


def error(span: Span, message: str, *notes: Note) -> SpecError:
    """A one-diagnostic SpecError (for phases that stop at the first problem)."""
    return SpecError([Diagnostic(span, message, tuple(notes))])
