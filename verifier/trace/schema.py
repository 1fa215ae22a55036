"""The shape of a trace file, checked once when it is loaded.

`check_trace_json` walks the JSON a trace file holds and raises `TraceShapeError`
at the first value of the wrong shape, naming where it is (``steps[3].text``)
and what was expected, so that `show` and `replay` never run on a trace they
would misread: a model or problem kind tlbcheck does not know, a param that is
not a number, text that is not text.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from verifier.lang.checked import ALL_MODELS
from verifier.run.result import PROBLEM_KINDS, source_hash

ENGINES = ("explicit", "smt")


class TraceShapeError(Exception):
    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}" if where else message)
        self.where = where


Check = Callable[[Any, str], None]


def _kind(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "a boolean"
    return {int: "a number", float: "a number", str: "a string", list: "a list", dict: "an object"}[
        type(v)
    ]


def _type(t: type, name: str) -> Check:
    def check(v: Any, where: str) -> None:
        if not isinstance(v, t) or (t is int and isinstance(v, bool)):
            raise TraceShapeError(where, f"expected {name}, got {_kind(v)} {_short(v)}")

    return check


def _short(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


def _optional(check: Check) -> Check:
    def opt(v: Any, where: str) -> None:
        if v is not None:
            check(v, where)

    return opt


def _one_of(values: tuple[str, ...], what: str) -> Check:
    def check(v: Any, where: str) -> None:
        _STR(v, where)
        if v not in values:
            raise TraceShapeError(where, f"unknown {what} {v!r} (one of: {', '.join(values)})")

    return check


def _list(item: Check) -> Check:
    def check(v: Any, where: str) -> None:
        _type(list, "a list")(v, where)
        for i, x in enumerate(v):
            item(x, f"{where}[{i}]")

    return check


def _object(required: dict[str, Check], optional: dict[str, Check]) -> Check:
    def check(v: Any, where: str) -> None:
        _type(dict, "an object")(v, where)
        for key, sub in required.items():
            if key not in v:
                raise TraceShapeError(where, f"missing field {key!r}")
            sub(v[key], f"{where}.{key}" if where else key)
        for key, sub in optional.items():
            if key in v:
                sub(v[key], f"{where}.{key}" if where else key)

    return check


def _params(v: Any, where: str) -> None:
    _type(dict, "an object")(v, where)
    for k, x in v.items():
        _INT(x, f"{where}.{k}")


_STR = _type(str, "a string")
_INT = _type(int, "a whole number")


def _POSITIVE(v: Any, where: str) -> None:
    _INT(v, where)
    if v < 1:
        raise TraceShapeError(where, f"expected a number from 1 up, got {v}")


_BOOL = _type(bool, "true or false")
_SPAN = _optional(
    _object({k: _POSITIVE for k in ("line", "col", "end_line", "end_col")} | {"file": _STR}, {})
)
_PROBLEM = _object(
    {"kind": _one_of(PROBLEM_KINDS, "problem kind"), "core": _STR, "message": _STR},
    {
        "stmt": _optional(_STR),
        "span": _SPAN,
        "pte_stmt": _optional(_STR),
        "pte_span": _SPAN,
        "now": _optional(_STR),
    },
)
_STEP = _object(
    {"index": _POSITIVE, "core": _STR, "action": _STR, "text": _STR, "effect": _STR},
    {
        "span": _SPAN,
        "links": _list(_INT),
        "key": _STR,
        "in_handler": _BOOL,
        "problems": _list(_PROBLEM),
        "reads_from": _optional(_INT),
        "reach": _list(_STR),
    },
)
_TRACE = _object(
    {
        "spec": _STR,
        "file": _STR,
        "model": _one_of(ALL_MODELS, "memory model"),
        "params": _params,
        "kind": _one_of(PROBLEM_KINDS, "problem kind"),
        "cores": _list(_STR),
        "problem": _PROBLEM,
        "steps": _list(_STEP),
    },
    {
        "engine": _one_of(ENGINES, "engine"),
        "format": _INT,
        "source": _STR,
        "source_sha256": _STR,
    },
)


def check_trace_json(data: Any) -> None:
    """Raise `TraceShapeError` at the first part of ``data`` that is not a trace's."""
    _TRACE(data, "")
    if "source" in data and data.get("source_sha256", source_hash(data["source"])) != source_hash(
        data["source"]
    ):
        raise TraceShapeError("source_sha256", "does not match the spec text in `source`")
