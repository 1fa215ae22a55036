"""The cost table of a timed run: what each kind of step takes, in nanoseconds.

The default table is `costs.toml` beside this module (each figure says where it
comes from).  A user table (`--costs FILE`) overrides it key by key; a key the
default table does not have, a value that is not a non-negative number, or a
file that is not TOML is a located diagnostic, never a traceback.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import resources

from verifier.lang.diagnostics import Diagnostic, SpecError
from verifier.lang.frontend import read_source
from verifier.lang.span import NOSPAN, Span

_TOML_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")


@dataclass(frozen=True)
class CostTable:
    """``figures`` maps ``section.key`` to nanoseconds (or a count for topology)."""

    figures: tuple[tuple[str, float], ...]
    source: str  # 'default' or the file a user table came from

    def __getitem__(self, key: str) -> float:
        return dict(self.figures)[key]

    def to_json(self) -> dict[str, object]:
        return {"source": self.source, "figures": dict(self.figures)}


def _flatten(data: dict[str, object], file: str, text: str) -> dict[str, object]:
    out: dict[str, object] = {}
    for section, body in data.items():
        if not isinstance(body, dict):
            raise _error(file, text, section, f"'{section}' must be a [{section}] table")
        for key, value in body.items():
            out[f"{section}.{key}"] = value
    return out


def _error(file: str, text: str, key: str, message: str) -> SpecError:
    """A diagnostic at the line that sets ``key`` (its last component), if found."""
    name = key.rsplit(".", 1)[-1]
    for i, line in enumerate(text.splitlines(), 1):
        m = re.match(rf"\s*{re.escape(name)}\s*=", line)
        if m is not None or line.strip() == f"[{name}]":
            col = len(line) - len(line.lstrip()) + 1
            span = Span(file, i, col, i, col + len(name))
            return SpecError([Diagnostic(span, message)], {file: text})
    return SpecError([Diagnostic(NOSPAN, f"{file}: {message}")])


def _parse(text: str, file: str) -> dict[str, object]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = _TOML_POSITION.search(msg)
        if m is None:
            raise SpecError([Diagnostic(NOSPAN, f"{file}: not a TOML file: {msg}")]) from None
        line, col = int(m.group(1)), int(m.group(2))
        span = Span(file, line, col, line, col + 1)
        message = f"not a TOML file: {_TOML_POSITION.sub('', msg).strip()}"
        raise SpecError([Diagnostic(span, message)], {file: text}) from None
    return _flatten(data, file, text)


def default_table() -> CostTable:
    text = resources.files("verifier.cost").joinpath("costs.toml").read_text()
    figures = _parse(text, "costs.toml")
    return CostTable(tuple(sorted((k, float(v)) for k, v in figures.items())), "default")  # type: ignore[arg-type]


def load_table(path: str | None) -> CostTable:
    """The default table, with the figures of the TOML file at ``path`` replacing its own."""
    base = default_table()
    if path is None:
        return base
    text = read_source(path)
    given = _parse(text, path)
    figures = dict(base.figures)
    for key, value in given.items():
        if key not in figures:
            known = ", ".join(k for k in figures if k.split(".")[0] == key.split(".")[0])
            hint = f" (known in this section: {known})" if known else ""
            raise _error(path, text, key, f"unknown cost '{key}'{hint}")
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise _error(path, text, key, f"cost '{key}' must be a non-negative number")
        figures[key] = float(value)
    if figures["topology.cores_per_socket"] < 1:
        raise _error(path, text, "cores_per_socket", "topology.cores_per_socket must be at least 1")
    return CostTable(tuple(sorted(figures.items())), path)
