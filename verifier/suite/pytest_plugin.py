"""pytest plugin: `pytest specs/` runs each spec under each model it expects.

Registered through the `pytest11` entry point `tlbcheck` (or load it with
`-p verifier.suite.pytest_plugin`).  Every `.tlb` file becomes a `SpecFile` whose
items are named after the models its `expect` lines name (`specs/x.tlb::tso`);
a spec that does not load has a single item `load` that fails with the
diagnostic.  A failing item shows expected vs got and the traces; its one-line
summary says `expected safe, got race use-after-free`.  In `--junitxml` reports
an item's classname is the spec path without `.tlb` (`specs.x`), and every run
records its verdict, states, transitions and seconds as properties.

Specs are collected only where asked: under paths given on the command line,
or under the `tlbcheck_paths` ini setting.  A plain `pytest` (which walks
`testpaths = ["tests"]`) collects no specs, and `.tlb` files inside a
`testpaths` folder (test fixtures, bad inputs) are collected only when a path
inside that folder is named on the command line -- so spec fixtures under
`tests/` are never run as specs by accident.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from verifier.suite import runner as suite


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tlbcheck", "tlbcheck spec files")
    group.addoption(
        "--tlbcheck-max-states",
        type=int,
        default=None,
        metavar="N",
        help="state limit per spec and model (beyond it the test fails; default: "
        "that of the search that runs, as for `tlbcheck check`)",
    )
    group.addoption(
        "--tlbcheck-timeout",
        type=float,
        default=None,
        metavar="S",
        help="time limit per spec and model, in seconds",
    )
    parser.addini(
        "tlbcheck_paths",
        type="paths",
        default=[],
        help="folders whose .tlb files are collected as specs on every run",
    )


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> SpecFile | None:
    if file_path.suffix == ".tlb" and _wanted(file_path, parent.config):
        return SpecFile.from_parent(parent, path=file_path)
    return None


def _wanted(path: Path, config: pytest.Config) -> bool:
    path = path.resolve()
    ini = [Path(p).resolve() for p in config.getini("tlbcheck_paths")]
    if any(p == path or p in path.parents for p in ini):
        return True
    if config.args_source == pytest.Config.ArgsSource.TESTPATHS:
        return False
    base = config.invocation_params.dir
    given = [(base / a.split("::")[0]).resolve() for a in config.args]
    covering = [a for a in given if a == path or a in path.parents]
    testdirs = [(config.rootpath / t).resolve() for t in config.getini("testpaths")]
    inside = [t for t in testdirs if t in path.parents]
    # Inside a testpaths folder, the argument must point inside that folder.
    return any(all(t in a.parents for t in inside) for a in covering)


class SpecFile(pytest.File):
    """A `.tlb` file: one item per model its `expect` lines name."""

    def collect(self) -> Iterator[pytest.Item]:
        from verifier.lang.diagnostics import SpecError
        from verifier.lang.frontend import load

        path = suite.display_path(self.path, self.config.invocation_params.dir)
        try:
            checked = load(path, [])
            models = suite.models_for(checked)
        except SpecError as err:
            yield SpecItem.from_parent(
                self, name="load", spec=path, model="-", expected="-", error=str(err)
            )
            return
        for model in models:
            expected = suite.describe_expect(checked.expect_for(model))
            yield SpecItem.from_parent(self, name=model, spec=path, model=model, expected=expected)


class SpecFailed(Exception):
    """A spec item that did not meet its expectation; ``outcome`` says how."""

    def __init__(self, outcome: suite.Outcome) -> None:
        if outcome.model == "-":
            summary = outcome.got
        else:
            summary = f"expected {outcome.expected}, got {outcome.got}"
        super().__init__(summary)
        self.outcome = outcome


class SpecItem(pytest.Item):
    def __init__(
        self, *, spec: str, model: str, expected: str, error: str = "", **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.spec = spec
        self.model = model
        self.expected = expected
        self.error = error

    def runtest(self) -> None:
        self._junit_classname()
        if self.error:
            raise SpecFailed(
                suite.Outcome(
                    self.spec,
                    self.model,
                    self.expected,
                    suite.ERROR,
                    error=self.error,
                    bad_input=True,
                )
            )
        limits = suite.Limits(
            self.config.getoption("tlbcheck_max_states"), self.config.getoption("tlbcheck_timeout")
        )
        outcome = suite.run_job(suite.Job(self.spec, self.model, self.expected), limits)
        r = outcome.result
        if r is not None:
            self.user_properties += [
                ("verdict", r.verdict),
                ("states", r.states),
                ("transitions", r.transitions),
                ("seconds", f"{r.seconds:.3f}"),
            ]
        if outcome.status != suite.OK:
            raise SpecFailed(outcome)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, SpecFailed):
            o = excinfo.value.outcome
            # the first line is pytest's one-line summary of the failure
            where = o.path if o.model == "-" else f"{o.path} under {o.model}"
            head = f"{excinfo.value}  ({where})"
            return f"{head}\n{suite.failure_text(o)}"
        return str(super().repr_failure(excinfo, style=style))

    def _junit_classname(self) -> None:
        """`specs.sub.racy` rather than pytest's `specs.sub.racy.tlb`, whose last dot
        would make `tlb` the class: the spec path without its extension."""
        from _pytest.junitxml import xml_key  # what `record_xml_attribute` uses

        xml = self.config.stash.get(xml_key, None)
        if xml is None:
            return
        path = self.nodeid.split("::", 1)[0].removesuffix(".tlb")
        names = [xml.prefix] if xml.prefix else []
        names += [p for p in path.split("/") if p]
        xml.node_reporter(self.nodeid).add_attribute("classname", ".".join(names))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"{self.spec} under {self.model}"
