"""The checker's header pass: title, model, options and `expect` lines."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import PurePath

from verifier.lang import ast
from verifier.lang.checked import ALL_MODELS, MODELS
from verifier.lang.diagnostics import Note
from verifier.lang.parse_hints import did_you_mean
from verifier.lang.symbols import Symbols

MAX_BUFFER = 64
OPTIONS: dict[str, tuple[str, ...]] = {
    "walker": ("speculative", "on-miss"),
    "ipi": ("unordered", "ordered"),
    "buffer": (),  # an integer
    "flushes": ("plain", "serializing"),
    "ad": ("none", "hardware", "access"),
    "mode": ("kernel", "user"),
}
CORE_OPTIONS = ("ad", "mode")  # options that take a core list
OPTION_DEFAULTS: dict[str, str | int] = {
    "walker": "speculative", "ipi": "unordered", "buffer": 0, "flushes": "plain", "ad": "none",
    "mode": "kernel",
}  # fmt: skip
PROBLEM_KINDS = (
    "use-after-free", "stale-translation", "stale-permission", "asid-reuse", "freed-table",
    "lost-write", "assertion", "range", "hang", "bbm",
)  # fmt: skip
VERDICTS = ("safe", "race", "hang")


def header(self: Symbols) -> dict[str, str | int]:
    out: dict[str, str | int] = dict(OPTION_DEFAULTS)
    out["title"] = PurePath(self.spec.file).stem
    out["model"] = "pso"
    seen: dict[str, ast.Node] = {}
    for d in self.spec.decls:
        if isinstance(d, ast.SpecTitle) and self.declare(seen, "spec", d, "title"):
            out["title"] = d.title
        elif isinstance(d, ast.ModelDecl) and self.declare(seen, "model", d, "model declaration"):
            if d.model not in ALL_MODELS:
                self.err(d.span, f"unknown model '{d.model}'" + _expected(d.model, ALL_MODELS))
            out["model"] = d.model
        elif isinstance(d, ast.OptionDecl) and d.cores:
            _core_option(self, d, seen, out)
        elif isinstance(d, ast.OptionDecl) and self.declare(seen, d.name, d, "option"):
            _option(self, d, out)
    return out


def _core_option(
    self: Symbols, d: ast.OptionDecl, seen: dict[str, ast.Node], out: dict[str, object]
) -> None:
    """`option ad = access for p0, p1`: per-core hardware flag management (arm64 TTHM,
    docs/arm64.md section 7); `option mode = user for p0`: cores running user-mode code
    (arm64 EL0, docs/arm64.md section 8). Only these two take a core list."""
    if d.name not in CORE_OPTIONS:
        self.err(d.span, f"option {d.name} takes no core list (only option ad and mode do)")
        return
    cores: dict[str, str] = out.setdefault(f"{d.name}_cores", {})  # type: ignore[assignment]
    for name in d.cores:
        if name not in self.cores:
            self.err(d.span, f"unknown core '{name}'" + did_you_mean(name, list(self.cores)))
        elif self.declare(seen, f"{d.name} for {name}", d, f"option {d.name} for {name}"):
            cores[name] = str(d.value)
    _option(self, d, {})


def _option(self: Symbols, d: ast.OptionDecl, out: dict[str, str | int]) -> None:
    if d.name not in OPTIONS:
        self.err(d.span, f"unknown option '{d.name}'" + _expected(d.name, OPTIONS))
    elif d.name == "buffer":
        value = self.params.get(d.value, d.value) if isinstance(d.value, str) else d.value
        if not isinstance(value, int) or not 1 <= value <= MAX_BUFFER:
            self.err(d.span, f"option buffer takes an integer from 1 to {MAX_BUFFER}")
        else:
            out["buffer"] = value
    elif d.value not in OPTIONS[d.name]:
        allowed = " or ".join(OPTIONS[d.name])
        self.err(
            d.span,
            f"unknown value '{d.value}' for option {d.name} (expected {allowed})"
            + did_you_mean(str(d.value), OPTIONS[d.name]),
        )
    else:
        out[d.name] = d.value


def check_expects(self: Symbols) -> tuple[ast.ExpectDecl, ...]:
    covered: dict[str, ast.ExpectDecl] = {}
    for e in self.decls(ast.ExpectDecl):
        if e.verdict not in VERDICTS:
            self.err(
                e.span,
                f"unknown verdict '{e.verdict}' (expected safe, race or hang)"
                + did_you_mean(e.verdict, VERDICTS),
            )
        elif e.kinds and e.verdict != "race":
            self.err(e.span, f"'expect {e.verdict}' takes no problem kinds")
        for k in e.kinds:
            if k not in PROBLEM_KINDS:
                self.err(e.span, f"unknown problem kind '{k}'" + _expected(k, PROBLEM_KINDS))
        clash: dict[str, ast.ExpectDecl] = {}
        for m in e.models or MODELS:
            if m not in ALL_MODELS:
                self.err(e.span, f"unknown model '{m}'" + _expected(m, ALL_MODELS))
            elif m in covered:
                clash[m] = covered[m]
            else:
                covered[m] = e
        if clash:
            earlier = {id(d): d for d in clash.values()}.values()
            notes = [Note(d.span, "an earlier expect line covering it") for d in earlier]
            models = ", ".join(clash)
            self.err(e.span, f"more than one expect line covers {models}", *notes)
    return tuple(self.decls(ast.ExpectDecl))


def _expected(word: str, choices: Iterable[str]) -> str:
    """`` (expected sc, tso, pso)``, then a suggestion when one of them is close."""
    return f" (expected {', '.join(choices)})" + did_you_mean(word, choices)
