"""Stored counterexamples: one JSON trace per racy (spec, model, kind).

A spec `specs/eager/missing_fence.tlb` racing under tso with a
`use-after-free` has its shortest trace in
`counterexamples/specs__eager__missing_fence.tso.use-after-free.json`.
The files are `Trace.to_json` written with sorted keys and two-space
indentation, and every path in them is relative to the repository root, so
they are byte-for-byte stable across runs and machines.
`tlbcheck suite --update-counterexamples` rewrites them;
`tests/test_counterexamples.py` replays them and compares them with what the
current engine finds.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from verifier.report.files import ensure_dir, write_atomic
from verifier.run.result import PROBLEM_KINDS, Result, Trace

DIRNAME = "counterexamples"
MODELS = ("sc", "tso", "pso", "arm", "riscv")
_ROOT_MARKERS = ("pyproject.toml", ".git")


def find_root(start: Path | None = None) -> Path:
    """The nearest directory at or above ``start`` (default: cwd) holding a
    pyproject.toml or .git; ``start`` itself when there is none."""
    here = (start or Path.cwd()).resolve()
    for d in (here, *here.parents):
        if any((d / m).exists() for m in _ROOT_MARKERS):
            return d
    return here


def stem(spec: Path | str, root: Path) -> str:
    """`specs/eager/fenced.tlb` -> `specs__eager__fenced` (relative to ``root``)."""
    rel = Path(os.path.relpath(Path(spec).resolve(), root.resolve())).as_posix()
    rel = rel.removesuffix(".tlb")
    return rel.replace("/", "__")


def file_name(spec_stem: str, model: str, kind: str) -> str:
    return f"{spec_stem}.{model}.{kind}.json"


def parse_name(name: str) -> tuple[str, str, str] | None:
    """`a__b.tso.hang.json` -> ('a__b', 'tso', 'hang'); None for other files."""
    parts = name.rsplit(".", 3)
    if len(parts) != 4 or parts[3] != "json":
        return None
    spec_stem, model, kind = parts[0], parts[1], parts[2]
    if model not in MODELS or kind not in PROBLEM_KINDS or not spec_stem:
        return None
    return spec_stem, model, kind


def _rel(value: str, root: Path, prefix: str) -> str:
    if value.startswith("<"):  # '<input>', '<none>'
        return value
    p = Path(value)
    if not p.is_absolute():
        p = Path.cwd() / p
    try:
        return Path(os.path.relpath(p.resolve(), root)).as_posix()
    except ValueError:  # another drive on Windows
        return value.replace(prefix, "")


def relativize(data: Any, root: Path) -> Any:
    """A copy of a JSON value in which every `file` path is relative to ``root``
    and absolute paths under ``root`` inside messages are made relative too."""
    root = root.resolve()
    prefix = str(root) + os.sep

    def walk(v: Any, key: str | None) -> Any:
        if isinstance(v, dict):
            return {k: walk(x, k) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x, None) for x in v]
        if isinstance(v, str):
            if key == "file":
                return _rel(v, root, prefix)
            return v.replace(prefix, "")
        return v

    return walk(data, None)


def trace_json(trace: Trace, root: Path) -> dict[str, Any]:
    """The stored form of a trace, as a JSON value."""
    data: dict[str, Any] = relativize(trace.to_json(), root)
    return data


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


@dataclass(frozen=True)
class Stored:
    """One stored counterexample file."""

    path: Path
    stem: str
    model: str
    kind: str

    def load(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.path.read_text(encoding="utf-8"))
        return data

    def trace(self) -> Trace:
        return Trace.from_json(self.load())


def stored(root: Path) -> list[Stored]:
    """Every stored counterexample under ``root/counterexamples``, sorted by name."""
    d = root / DIRNAME
    if not d.is_dir():
        return []
    out = []
    for p in sorted(d.glob("*.json")):
        parsed = parse_name(p.name)
        if parsed is not None:
            out.append(Stored(p, *parsed))
    return out


@dataclass(frozen=True)
class Run:
    """What the suite did for one (spec, model): ``result`` None for a failure to run."""

    spec: Path
    model: str
    result: Result | None


@dataclass
class SyncReport:
    written: list[Path]
    unchanged: list[Path]
    removed: list[Path]

    def summary(self) -> str:
        return (
            f"{DIRNAME}/: {len(self.written)} written, {len(self.unchanged)} unchanged, "
            f"{len(self.removed)} removed"
        )


def sync(root: Path, runs: Iterable[Run], specs_run: Iterable[Path]) -> SyncReport:
    """Rewrite the counterexamples of ``runs`` and delete the stale ones.

    A file is stale when its spec is one of ``specs_run`` (specs that loaded)
    and the (model, kind) it names no longer has a trace -- except for a
    (spec, model) whose run did not finish (inconclusive, error), whose files
    are left alone.  Files whose recorded spec file no longer exists are
    deleted too.
    """
    root = root.resolve()
    d = root / DIRNAME
    report = SyncReport([], [], [])
    keep: set[Path] = set()
    unfinished: set[tuple[str, str]] = set()
    for run in runs:
        s = stem(run.spec, root)
        if run.result is None or run.result.verdict not in ("safe", "unsafe"):
            unfinished.add((s, run.model))
        if run.result is None:
            continue
        for trace in run.result.traces:
            ensure_dir(d)
            path = d / file_name(s, run.model, trace.kind)
            text = dumps(trace_json(trace, root))
            keep.add(path)
            if path.exists() and path.read_text(encoding="utf-8") == text:
                report.unchanged.append(path)
            else:
                write_atomic(path, text)
                report.written.append(path)
    ran_stems = {stem(p, root) for p in specs_run}
    for st in stored(root):
        if st.path in keep or (st.stem, st.model) in unfinished:
            continue
        if st.stem in ran_stems or _orphan(st, root):
            st.path.unlink()
            report.removed.append(st.path)
    return report


def _orphan(st: Stored, root: Path) -> bool:
    try:
        file = st.load().get("file")
    except (OSError, ValueError):
        return False
    return isinstance(file, str) and not (root / file).exists()
