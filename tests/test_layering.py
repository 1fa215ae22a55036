"""The package layout follows the pipeline: imports only go down, and no module imports
itself back through others.

Layers, lowest first. A module may import its own package and those below it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parent.parent / "verifier"
LAYERS = [
    "lang",
    "ir",
    "machine",
    "run",
    "trace",
    "search",
    "smt",
    "cost",
    "replay",
    "report",
    "engine",
    "api",
    "repair",
    "suite",
    "cli",
]


def _module(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Every verifier module this file imports, wherever the import stands."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "verifier":
                out.update(f"verifier.{a.name}" for a in node.names if a.name != "__version__")
            elif node.module.startswith("verifier."):
                out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("verifier."))
    return out


def _graph() -> nx.DiGraph:
    g = nx.DiGraph()
    for path in sorted(ROOT.rglob("*.py")):
        g.add_node(_module(path))
        for target in _imports(path):
            g.add_edge(_module(path), target)
    return g


def _layer(module: str) -> int | None:
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else None


def test_every_package_has_a_layer() -> None:
    packages = {p.name for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert packages <= set(LAYERS), f"packages without a layer: {packages - set(LAYERS)}"


def test_imports_only_go_down() -> None:
    upward = []
    for src, dst in _graph().edges:
        ls, ld = _layer(src), _layer(dst)
        if ls is not None and ld is not None and ld > ls:
            upward.append(f"{src} imports {dst}")
    assert not upward, "imports against the pipeline:\n" + "\n".join(sorted(upward))


def test_no_import_cycle() -> None:
    cycles = sorted(sorted(c) for c in nx.simple_cycles(_graph()))
    assert not cycles, f"import cycles: {cycles}"


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    """The scanner itself finds imports inside functions (the lazy ones count too)."""
    f = tmp_path / "m.py"
    f.write_text("def f():\n    from verifier.cli.main import main\n    import verifier.api\n")
    assert _imports(f) == {"verifier.cli.main", "verifier.api"}


# The searches sit side by side in verifier/search/: each engine (the Python search in
# explicit.py, and any subpackage beside it such as a compiled or distributed search) may
# use the shared modules there (exploration, store, hang, symmetry, symmetry_loops, twins,
# por, commute) but never another engine, so one can be replaced or removed without touching
# the others.
SHARED_SEARCH = {
    "exploration", "store", "hang", "symmetry", "symmetry_loops", "twins", "por", "commute"
}  # fmt: skip


def _engine(module: str) -> str | None:
    parts = module.split(".")
    if len(parts) < 3 or parts[1] != "search" or parts[2] in SHARED_SEARCH:
        return None
    return parts[2]


def test_searches_do_not_import_each_other() -> None:
    crossing = [
        f"{src} imports {dst}"
        for src, dst in _graph().edges
        if _engine(src) is not None and _engine(dst) not in (None, _engine(src))
    ]
    assert not crossing, "one search imports another:\n" + "\n".join(sorted(crossing))


def test_the_engine_rule_names_engines() -> None:
    assert _engine("verifier.search.explicit") == "explicit"
    assert _engine("verifier.search.native.codegen") == "native"
    assert _engine("verifier.search.symmetry") is None
    assert _engine("verifier.api") is None


# Each module a reader can take in; each function fits on a screen and says one thing.
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80


def _too_long(path: Path, root: Path = ROOT) -> list[str]:
    text = path.read_text()
    out = []
    lines = len(text.splitlines())
    if lines > MAX_MODULE_LINES:
        out.append(f"{path.relative_to(root.parent)}: {lines} lines")
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            n = (node.end_lineno or node.lineno) - node.lineno + 1
            if n > MAX_FUNCTION_LINES:
                out.append(f"{path.relative_to(root.parent)}:{node.lineno} {node.name}: {n} lines")
    return out


def test_modules_and_functions_stay_readable() -> None:
    long = [x for path in sorted(ROOT.rglob("*.py")) for x in _too_long(path)]
    assert not long, "over the size limits:\n" + "\n".join(long)


def test_the_size_check_sees_a_long_function(tmp_path: Path) -> None:
    f = tmp_path / "verifier" / "m.py"
    f.parent.mkdir()
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    f.write_text(f"def f():\n{body}\n")
    assert _too_long(f, f.parent) == [f"verifier/m.py:1 f: {MAX_FUNCTION_LINES + 1} lines"]
