"""Compiling a generated search with the machine's C compiler, cached by its source.

The binary is kept under ``$XDG_CACHE_HOME/tlbcheck/native`` (``~/.cache`` when unset;
``TLBCHECK_CACHE`` overrides the directory) named by the SHA-256 of its source, the
compiler's version and the flags: the same System gives the same source, so a spec
checked again starts at once.  Written under a temporary name and renamed, so that
suite workers compiling the same spec at once never run a half-written binary.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from verifier.run.budget import Budget

FLAGS = ("-std=gnu11", "-w", "-pthread")
OPT = "-O1"  # $TLBCHECK_NATIVE_OPT overrides (-O0 compiles about twice as fast, runs ~20% slower)


class CompilerMissing(Exception):
    """No C compiler on this machine (the Python search runs instead)."""


@functools.cache
def compiler() -> str | None:
    """The C compiler to use: ``$CC``, else ``cc``, ``gcc`` or ``clang`` on the PATH."""
    for name in (os.environ.get("CC"), "cc", "gcc", "clang"):
        if name and shutil.which(name):
            return name
    return None


@functools.cache
def _version(cc: str) -> str:
    try:
        done = subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return cc
    return done.stdout


def cache_dir() -> Path:
    if os.environ.get("TLBCHECK_CACHE"):
        return Path(os.environ["TLBCHECK_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "tlbcheck" / "native"


def binary(source: str, budget: Budget | None = None) -> Path:
    """The compiled program of ``source`` (compiled now unless cached).  Raises
    `CompilerMissing`, `LimitReached` (the budget's time ran out while compiling) or
    RuntimeError (the compiler failed: a bug of the generator)."""
    cc = compiler()
    if cc is None:
        raise CompilerMissing("no C compiler (cc, gcc or clang) found")
    flags = [os.environ.get("TLBCHECK_NATIVE_OPT") or OPT, *FLAGS]
    key = hashlib.sha256("\0".join([source, _version(cc), *flags]).encode()).hexdigest()
    where = cache_dir()
    exe = where / f"search-{key[:32]}"
    if exe.exists():
        return exe
    where.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=where, prefix="build-") as tmp:
        src = Path(tmp) / "search.c"
        src.write_text(source)
        out = Path(tmp) / "search"
        remaining = budget.remaining() if budget is not None else None
        try:
            done = subprocess.run(
                [cc, *flags, "-o", str(out), str(src)],
                capture_output=True,
                text=True,
                timeout=remaining,
            )
        except subprocess.TimeoutExpired:
            if budget is not None:
                budget.grace(0)
                budget.check()
            raise RuntimeError("the C compiler did not finish") from None
        if done.returncode != 0:
            raise RuntimeError(
                f"the C compiler failed on the generated search:\n{done.stderr[-3000:]}"
            )
        os.replace(out, exe)
    return exe
