"""`tlbcheck repair SPEC`: the smallest change that makes an unsafe spec verify.

Exit codes: 0 a fix was found (and written with --apply), or the spec is already
safe; 1 no fix within --max-edits (every candidate checked); 2 bad input; 3 a
limit ended the search before a fix was found, or the spec itself is
inconclusive; 4 internal error.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys

from verifier.api import expected_models
from verifier.cli import common as cli
from verifier.lang.checked import MODELS
from verifier.lang.frontend import load
from verifier.repair import render
from verifier.repair.rank import ranked
from verifier.repair.search import (
    DEFAULT_FIXES,
    DEFAULT_MAX_CHECKS,
    DEFAULT_SEARCH_SECONDS,
    Limits,
    repair,
)
from verifier.repair.space import EDIT_KINDS
from verifier.report import files

_EXIT = {
    render.STATUS_FIXED: cli.EXIT_OK,
    render.STATUS_SAFE: cli.EXIT_OK,
    render.STATUS_NO_FIX: cli.EXIT_MISMATCH,
    render.STATUS_STOPPED: cli.EXIT_INCONCLUSIVE,
}


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "repair",
        help="propose the smallest change that makes an unsafe spec verify",
        description="Search edits kernel fixes are made of (barriers, moves of a complete, "
        "free, acknowledgement or unlock, wider invalidations, flushes, IPI targets, waits "
        "for acks, irq-off windows), the places the counterexample points at first; each "
        "candidate is checked under every model, and those safe under all of them are shown "
        "as diffs, fewest edits and cheapest first. See docs/repair.md.",
    )
    p.add_argument("file", metavar="SPEC")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--model", choices=MODELS, help="repair under this model only")
    g.add_argument(
        "--expected-models",
        action="store_true",
        help="repair under every model the spec's `expect` lines name (the default)",
    )
    cli.add_define_option(p)
    p.add_argument(
        "--max-edits",
        type=cli.count,
        default=2,
        metavar="K",
        help="the most edits a fix may combine (default 2)",
    )
    p.add_argument(
        "--fixes",
        type=cli.count,
        default=DEFAULT_FIXES,
        metavar="F",
        help=f"stop after F fixes of the smallest size (default {DEFAULT_FIXES})",
    )
    p.add_argument(
        "--edits",
        type=_kinds,
        default=None,
        metavar="KIND,...",
        help="only these kinds of edit: " + ", ".join(k.name for k in EDIT_KINDS),
    )
    p.add_argument("--apply", action="store_true", help="write the best fix over SPEC")
    p.add_argument("--json", action="store_true", help="print the answer as JSON")
    cli.add_limit_options(p)
    p.add_argument(
        "--max-checks",
        type=cli.count,
        default=DEFAULT_MAX_CHECKS,
        metavar="N",
        help=f"check at most N candidates (default {DEFAULT_MAX_CHECKS})",
    )
    p.add_argument(
        "--search-time",
        type=cli.amount,
        default=DEFAULT_SEARCH_SECONDS,
        metavar="S",
        help=f"end the whole search after S seconds (default {DEFAULT_SEARCH_SECONDS:g})",
    )
    p.set_defaults(func=run)


def _kinds(text: str) -> set[str]:
    names = {k.name for k in EDIT_KINDS}
    wanted = {w.strip() for w in text.split(",") if w.strip()}
    for w in sorted(wanted - names):
        near = difflib.get_close_matches(w, sorted(names), 1)
        hint = f" (did you mean {near[0]}?)" if near else ""
        raise argparse.ArgumentTypeError(
            f"no edit kind '{w}'{hint}; the kinds are {', '.join(k.name for k in EDIT_KINDS)}"
        )
    return wanted


def run(args: argparse.Namespace) -> int:
    if args.apply:
        files.check_target(args.file)
    checked = load(args.file, args.define)
    models = [args.model] if args.model else expected_models(checked)
    limits = Limits(
        max_states=args.max_states,
        timeout=args.timeout,
        max_memory=cli.max_memory(args),
        max_checks=args.max_checks,
        seconds=args.search_time,
    )
    progress = _progress if sys.stderr.isatty() and not args.json else None
    out = repair(
        checked,
        models,
        defines=args.define,
        max_edits=args.max_edits,
        fixes_wanted=args.fixes,
        limits=limits,
        kinds=args.edits,
        progress=progress,
    )
    if progress is not None:
        sys.stderr.write("\r\x1b[K")
    fixes = ranked(checked, out.fixes, models, args.define)
    applied = None
    if args.apply and fixes:
        files.write_atomic(args.file, fixes[0].text)
        applied = args.file
    if args.json:
        print(json.dumps(render.to_json(out, fixes, applied), indent=1))
    else:
        sys.stdout.write(render.render_text(out, fixes, applied))
    return _EXIT[render.status(out)]


def _progress(tried: int, fixes: int, what: str) -> None:
    line = f"repair: {tried} checked, {fixes} fixes: {what}"
    sys.stderr.write("\r\x1b[K" + line[:99])
    sys.stderr.flush()
