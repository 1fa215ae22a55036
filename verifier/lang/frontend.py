"""File -> CheckedSpec: read, parse and check a spec; every failure is a SpecError.

Decisions worth knowing:
  * An empty file (or one holding only comments) is a valid spec with no cores:
    nothing runs, so every model finds it safe.
  * A missing file, a directory or an unreadable file gives one diagnostic with
    no position (`tlbcheck: error: ...`); so does a malformed `-D`.
  * Only regular files are read: a FIFO, a device or a socket is refused before it
    is opened (reading one could block forever or never end), and a file larger
    than the input limit (`MAX_INPUT_MB`, raised with `--max-input MB`) is refused
    before it is read whole.
  * Text that is not UTF-8 is reported at the line and column of the first bad byte.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable
from typing import BinaryIO

from verifier.lang.check import MAX_CORES, MAX_INT, check
from verifier.lang.checked import CheckedSpec
from verifier.lang.diagnostics import Diagnostic, SpecError
from verifier.lang.nesting import check_nesting
from verifier.lang.parse import parse_text
from verifier.lang.span import NOSPAN, Span
from verifier.lang.to_ast import int_literal

MAX_INPUT_MB = 16.0  # the largest spec or trace file read; `--max-input` changes it
max_input_mb = MAX_INPUT_MB

_DEFINE = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(-?(?:0[xX][0-9a-fA-F]+|[0-9]+))\s*")


_INTEGER = re.compile(r"\s*(-?)(0[xX][0-9a-fA-F]+|[0-9]+)\s*")


def integer(text: str) -> int | None:
    """``text`` read as a spec reads an integer (decimal, leading zeros allowed, or `0x`
    hex; a `-` before it), or None; beyond 20 digits, a value past MAX_INT."""
    m = _INTEGER.fullmatch(text)
    if m is None:
        return None
    if len(m.group(2)) > 20:
        return MAX_INT + 1  # too long to read
    return (-1 if m.group(1) else 1) * int_literal(m.group(2))


def parse_defines(defines: list[str]) -> dict[str, int]:
    """`["N=3", "M=0x10"]` -> `{"N": 3, "M": 16}`; bad syntax raises SpecError."""
    out: dict[str, int] = {}
    diags = []
    for d in defines:
        m = _DEFINE.fullmatch(d)
        if m is None:
            diags.append(Diagnostic(NOSPAN, f"-D {d}: expected NAME=INTEGER (for example -D N=3)"))
            continue
        value = integer(m.group(2))
        assert value is not None  # _DEFINE matched an integer
        if abs(value) > MAX_INT:
            diags.append(Diagnostic(NOSPAN, f"-D {d}: value out of range (at most {MAX_INT})"))
        elif m.group(1) in out and out[m.group(1)] != value:
            diags.append(Diagnostic(NOSPAN, f"-D {d}: param {m.group(1)} is given twice"))
        out[m.group(1)] = value
    if diags:
        raise SpecError(diags)
    return out


def _special(mode: int) -> str | None:
    """What a file that is not a regular file or a directory is, in words."""
    for test, what in (
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return what
    return None


def read_input(path: str) -> bytes:
    """The bytes of the input file ``path``: a regular file of at most `max_input_mb`
    MB.  Raises OSError (IsADirectoryError, FileNotFoundError, ...) or `InputRefused`."""
    if path == "":
        raise InputRefused("no file named (an empty path)")
    if "\x00" in path:
        raise InputRefused(f"{path!r}: a file name cannot hold a NUL byte")
    st = os.stat(path)  # follows symbolic links: what would be read
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(21, "is a directory", path)
    what = _special(st.st_mode)
    if what is not None:
        raise InputRefused(f"'{path}' is {what}, not a regular file; only files are read")
    limit = int(max_input_mb * 2**20)
    with open(path, "rb") as f:
        st = os.fstat(f.fileno())
        what = _special(st.st_mode)  # it may have been replaced since
        if what is not None:
            raise InputRefused(f"'{path}' is {what}, not a regular file; only files are read")
        size = st.st_size
        data = _read_at_most(f, limit + 1) if size <= limit else b""
    if size > limit or len(data) > limit:
        amount = f"{size / 2**20:.1f} MB" if size > limit else "larger than that"
        raise InputRefused(
            f"'{path}' is {amount}, over the input limit of {max_input_mb:g} MB "
            "(raise it with --max-input MB)"
        )
    return data


def _read_at_most(f: BinaryIO, n: int) -> bytes:
    """Up to ``n`` bytes of ``f``, read a megabyte at a time (``n`` may be huge; a file
    in /proc says it is empty and is not)."""
    chunks = []
    while n > 0:
        chunk = f.read(min(n, 2**20))
        if not chunk:
            break
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


class InputRefused(Exception):
    """An input path that is not read (empty, a special file, too large)."""


def read_source(path: str) -> str:
    """The text of a spec file, or a SpecError saying why it cannot be read."""
    try:
        data = read_input(path)
    except InputRefused as exc:
        raise SpecError([Diagnostic(NOSPAN, str(exc))]) from None
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
    text: str,
    file: str,
    defines: list[str],
    *,
    max_cores: int = MAX_CORES,
    phase: Callable[[str], None] | None = None,
) -> CheckedSpec:
    """Parse and check spec text given in memory; ``phase`` is told "parsing", then
    "checking" (a run's limits name the phase they end)."""
    tell = phase or (lambda _name: None)
    values = parse_defines(defines)
    tell("parsing")
    spec = parse_text(text, file)
    tell("checking")
    check_nesting(spec, text)  # a documented limit, located, before any recursive pass
    try:
        return check(spec, text, values, max_cores=max_cores)
    except RecursionError:
        span = Span(file, 1, 1, 1, 1)
        raise SpecError([Diagnostic(span, "the spec is nested too deeply")], {file: text}) from None


def load(
    path: str,
    defines: list[str],
    *,
    max_cores: int = MAX_CORES,
    phase: Callable[[str], None] | None = None,
) -> CheckedSpec:
    """Read, parse and check the spec at `path` with `-D NAME=VALUE` overrides;
    ``phase`` is told "parsing", then "checking" (a file that cannot be read is bad
    input before any limit is looked at).  A ``.litmus`` file is a herd7 AArch64 litmus
    test (docs/arm64.md §4), which has no parameters."""
    if path.endswith(".litmus"):
        from verifier.lang.litmus_lower import load_litmus

        if defines:
            span = Span(path, 1, 1, 1, 1)
            raise SpecError([Diagnostic(span, "a litmus test has no parameters to set with -D")])
        return load_litmus(path, read_source(path))
    return load_text(read_source(path), path, defines, max_cores=max_cores, phase=phase)
