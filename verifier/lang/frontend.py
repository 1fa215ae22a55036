"""File -> CheckedSpec: read, parse and check a spec; every failure is a SpecError.

Decisions worth knowing:
  * An empty file (or one holding only comments) is a valid spec with no cores:
    nothing runs, so every model finds it safe.
  * A missing file, a directory or an unreadable file gives one diagnostic with
    no position (`tlbcheck: error: ...`); so does a malformed `-D`.
  * Text that is not UTF-8 is reported at the line and column of the first bad byte.
"""

from __future__ import annotations

import re
from pathlib import Path

from verifier.lang.check import MAX_CORES, MAX_INT, check
from verifier.lang.checked import CheckedSpec
from verifier.lang.diagnostics import Diagnostic, SpecError
from verifier.lang.nesting import check_nesting
from verifier.lang.parse import parse_text
from verifier.lang.span import NOSPAN, Span

_DEFINE = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(-?(?:0[xX][0-9a-fA-F]+|[0-9]+))\s*")


def parse_defines(defines: list[str]) -> dict[str, int]:
    """`["N=3", "M=0x10"]` -> `{"N": 3, "M": 16}`; bad syntax raises SpecError."""
    out: dict[str, int] = {}
    diags = []
    for d in defines:
        m = _DEFINE.fullmatch(d)
        if m is None:
            diags.append(Diagnostic(NOSPAN, f"-D {d}: expected NAME=INTEGER (for example -D N=3)"))
            continue
        value = int(m.group(2), 0)
        if abs(value) > MAX_INT:
            diags.append(Diagnostic(NOSPAN, f"-D {d}: value out of range (at most {MAX_INT})"))
        elif m.group(1) in out and out[m.group(1)] != value:
            diags.append(Diagnostic(NOSPAN, f"-D {d}: param {m.group(1)} is given twice"))
        out[m.group(1)] = value
    if diags:
        raise SpecError(diags)
    return out


def read_source(path: str) -> str:
    """The text of a spec file, or a SpecError saying why it cannot be read."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except IsADirectoryError:
        raise SpecError([Diagnostic(NOSPAN, f"'{path}' is a directory, not a spec file")]) from None
    except FileNotFoundError:
        raise SpecError([Diagnostic(NOSPAN, f"cannot read '{path}': no such file")]) from None
    except OSError as exc:
        raise SpecError([Diagnostic(NOSPAN, f"cannot read '{path}': {exc.strerror}")]) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        good = data[: exc.start].decode("utf-8")
        line = good.count("\n") + 1
        col = len(good) - (good.rfind("\n") + 1) + 1
        span = Span(path, line, col, line, col + 1)
        text = data.decode("utf-8", errors="replace")
        message = f"the file is not UTF-8 text (byte 0x{data[exc.start]:02x})"
        raise SpecError([Diagnostic(span, message)], {path: text}) from None


def load_text(
    text: str, file: str, defines: list[str], *, max_cores: int = MAX_CORES
) -> CheckedSpec:
    """Parse and check spec text given in memory."""
    values = parse_defines(defines)
    spec = parse_text(text, file)
    check_nesting(spec, text)  # a documented limit, located, before any recursive pass
    try:
        return check(spec, text, values, max_cores=max_cores)
    except RecursionError:
        span = Span(file, 1, 1, 1, 1)
        raise SpecError([Diagnostic(span, "the spec is nested too deeply")], {file: text}) from None


def load(path: str, defines: list[str], *, max_cores: int = MAX_CORES) -> CheckedSpec:
    """Read, parse and check the spec at `path` with `-D NAME=VALUE` overrides.  A
    ``.litmus`` file is a herd7 AArch64 litmus test (docs/arm64.md §4), which has no
    parameters."""
    if path.endswith(".litmus"):
        from verifier.lang.litmus_lower import load_litmus

        if defines:
            span = Span(path, 1, 1, 1, 1)
            raise SpecError([Diagnostic(span, "a litmus test has no parameters to set with -D")])
        return load_litmus(path, read_source(path))
    return load_text(read_source(path), path, defines, max_cores=max_cores)
