"""`tlbcheck show` and `tlbcheck replay`: what to do with a saved trace.

    tlbcheck show TRACE.json [--format text|svg|html|dot] [-o FILE] [--spec FILE]
    tlbcheck replay TRACE.json [--spec FILE] [-D NAME=VALUE ...]

`show` prints a trace (text by default) or writes a picture; the format
follows `-o`'s extension (.txt, .svg, .html/.htm, .dot/.gv); another extension,
or a `--format` that contradicts it, is bad input (exit 2).  svg and html show the
spec text the trace carries (or `--spec`; traces written before traces carried
their spec: the trace's `file`, as written or beside the trace).  `replay`
runs the trace against the spec again: the trace's `file` when it is found
(noting when it changed since the trace was made), else the copy in the trace;
exit 0 if it still reaches its problem, 1 if not.  A missing or malformed trace
is bad input (exit 2, one `file: error: ...` line).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from verifier.cli import common as cli
from verifier.report.files import OutputError, write_atomic
from verifier.report.terminal import paint, use_color
from verifier.run.result import TRACE_FORMAT, Trace
from verifier.trace.schema import TraceShapeError, check_trace_json

FORMATS = ("text", "svg", "html", "dot")
_EXTENSIONS = {
    ".txt": "text",
    ".svg": "svg",
    ".html": "html",
    ".htm": "html",
    ".dot": "dot",
    ".gv": "dot",
}


class BadInput(Exception):
    """A one-line complaint about a file given on the command line."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: error: {message}")


def load_trace(path: str) -> Trace:
    """Read a trace written by `check --out` (or `Trace.to_json`)."""
    if path.endswith(".tlb"):
        raise BadInput(
            path,
            "this is a spec; show expects a trace file (.json), which "
            "`tlbcheck check SPEC --out DIR` writes for each problem it finds",
        )
    from verifier.lang.frontend import InputRefused, read_input

    try:
        text = read_input(path).decode("utf-8")
    except FileNotFoundError:
        raise BadInput(path, "no such file") from None
    except IsADirectoryError:
        raise BadInput(path, "is a directory, not a trace file") from None
    except InputRefused as exc:
        raise BadInput(path, str(exc)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(path, f"cannot read: {exc}") from None
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput(
            path, f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    if not isinstance(data, dict):
        raise BadInput(path, "not a trace: expected a JSON object")
    if "verdict" in data and "steps" not in data:
        raise BadInput(
            path, "this is a result, not a trace; use the files `check --out DIR` writes"
        )
    if data.get("format", TRACE_FORMAT) != TRACE_FORMAT:
        raise BadInput(
            path,
            f"trace format {data.get('format')!r} is not supported "
            f"(this tlbcheck reads format {TRACE_FORMAT})",
        )
    try:
        check_trace_json(data)
    except TraceShapeError as exc:
        raise BadInput(path, f"not a trace: {exc}") from None
    trace = Trace.from_json(data)
    if not trace.steps:
        raise BadInput(path, "the trace has no steps")
    return trace


def spec_candidates(trace: Trace, trace_path: str) -> list[Path]:
    """Where the spec a trace came from may be: as recorded, or beside the trace."""
    recorded = Path(trace.file)
    here = Path(trace_path).parent
    out = [recorded]
    if not recorded.is_absolute():
        out.append(here / recorded)
    out.append(here / recorded.name)
    return out


def find_spec(trace: Trace, trace_path: str, given: str | None) -> Path | None:
    if given is not None:
        if not Path(given).is_file():
            raise BadInput(given, "no such file")
        return Path(given)
    return next((p for p in spec_candidates(trace, trace_path) if p.is_file()), None)


def _read_source(spec: Path | None) -> str | None:
    if spec is None:
        return None
    from verifier.lang.frontend import InputRefused, read_input

    try:
        return read_input(str(spec)).decode("utf-8")
    except (OSError, UnicodeDecodeError, InputRefused):
        return None


def render(trace: Trace, fmt: str, source: str | None) -> str:
    from verifier.report.render_dot import render_dot
    from verifier.report.render_html import render_html
    from verifier.report.render_svg import render_svg
    from verifier.report.render_text import render_text

    if fmt == "svg":
        return render_svg(trace, source)
    if fmt == "html":
        return render_html(trace, source)
    if fmt == "dot":
        return render_dot(trace)
    return render_text(trace)


def output_format(output: str | None, given: str | None) -> str:
    """The format to write: ``--format``, else the one ``-o``'s extension names (a file
    without one: text). An extension show cannot write, or one that contradicts
    ``--format``, is bad input: writing HTML into `race.svg` helps nobody."""
    if output is None:
        return given or "text"
    ext = Path(output).suffix.lower()
    if not ext:
        return given or "text"
    named = _EXTENSIONS.get(ext)
    known = ", ".join(f"{e} ({f})" for e, f in _EXTENSIONS.items())
    if named is None:
        raise BadInput(output, f"show cannot write a {ext} file; it writes {known}")
    if given is not None and given != named:
        raise BadInput(
            output,
            f"--format {given} contradicts the extension {ext} ({named}); "
            f"drop --format or name the file {Path(output).stem}{_suffix_of(given)}",
        )
    return named


def _suffix_of(fmt: str) -> str:
    return next(e for e, f in _EXTENSIONS.items() if f == fmt)


def _heading(trace: Trace, color: bool) -> str:
    params = ", ".join(f"{k}={v}" for k, v in trace.params)
    where = f"{trace.file}, model {trace.model}" + (f", {params}" if params else "")
    return (
        f"{paint(trace.kind, 'unsafe', color)}: {trace.spec} ({where}), "
        f"{len(trace.steps)} steps\n\n"
    )


def _show_cmd(args: argparse.Namespace) -> int:
    try:
        fmt = output_format(args.output, args.format)
        trace = load_trace(args.trace)
        source = None
        if fmt in ("svg", "html"):
            source = trace.source if args.spec is None else None
            if source is None:
                source = _read_source(find_spec(trace, args.trace, args.spec))
            if source is None:
                sys.stderr.write(
                    f"{args.trace}: warning: the trace carries no spec text and "
                    f"{trace.file!r} was not found; name it with --spec\n"
                )
        text = render(trace, fmt, source)
        if fmt == "text":
            color = args.output is None and use_color(sys.stdout, args.no_color)
            text = _heading(trace, color) + text
        if args.output is None:
            sys.stdout.write(text)
        else:
            try:
                write_atomic(args.output, text)
            except OutputError as exc:
                raise BadInput(args.output, f"cannot write: {exc.reason}") from None
    except BadInput as exc:
        sys.stderr.write(f"{exc}\n")
        return cli.EXIT_BAD_INPUT
    return cli.EXIT_OK


def _replay_cmd(args: argparse.Namespace) -> int:
    try:
        trace = load_trace(args.trace)
        spec = find_spec(trace, args.trace, args.spec)
        if spec is None and trace.source is None:
            raise BadInput(
                args.trace,
                f"cannot find the spec {trace.file!r} it was made from; name it with --spec",
            )
    except BadInput as exc:
        sys.stderr.write(f"{exc}\n")
        return cli.EXIT_BAD_INPUT
    from verifier.api import replay_trace

    outcome = replay_trace(trace, None if spec is None else str(spec), list(args.define))
    if getattr(outcome, "refused", False):  # edited or damaged since it was written
        sys.stderr.write(f"{args.trace}: error: {outcome.message}\n")
        return cli.EXIT_BAD_INPUT
    message = outcome.message.rstrip("\n")
    if spec is not None and trace.source is not None and _read_source(spec) != trace.source:
        message = (
            f"note: {spec} has changed since the trace was made; replayed against it "
            f"(the trace's own copy of the spec is used when the file is absent)\n" + message
        )
    if message:
        stream = sys.stdout if outcome.reproduced else sys.stderr
        stream.write(message + "\n")
    return cli.EXIT_OK if outcome.reproduced else cli.EXIT_MISMATCH


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "show",
        help="print a saved trace, or draw it (svg, html, dot)",
        description="Print a trace saved by `check --out`, or draw it.",
    )
    p.add_argument("trace", metavar="TRACE.json")
    p.add_argument(
        "--format",
        choices=FORMATS,
        default=None,
        help="text (default), svg swimlanes, html page with stepping, dot graph; "
        "taken from -o's extension when not given",
    )
    p.add_argument(
        "-o", "--output", metavar="FILE", default=None, help="write to FILE instead of stdout"
    )
    p.add_argument(
        "--spec",
        metavar="FILE",
        default=None,
        help="the spec source to show beside the picture (default: the trace's file)",
    )
    p.add_argument("--no-color", action="store_true", help="no colour in text output")
    p.set_defaults(func=_show_cmd)

    r = sub.add_parser(
        "replay",
        help="check that a saved trace still reaches its problem",
        description="Replay a saved trace against its spec: exit 0 if it reproduces, 1 if not.",
    )
    r.add_argument("trace", metavar="TRACE.json")
    r.add_argument(
        "--spec",
        metavar="FILE",
        default=None,
        help="the spec to replay against (default: the trace's file)",
    )
    cli.add_define_option(r)
    r.set_defaults(func=_replay_cmd)
