"""Writing output files: whole or not at all, and a bad location is the user's input.

Every file tlbcheck writes (trace JSON and text, SVG, HTML, JUnit XML, stored
counterexamples) goes through `write_atomic`: the data goes to a temporary file
in the same directory, which is then renamed over the target, so a write that
fails halfway (a full disk, a file-size limit) leaves the old file or none,
never a truncated one.  Any failure is an `OutputError` naming the path and the
reason, which the command line reports in one line with exit code 2.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


class OutputError(Exception):
    """An output file or directory that cannot be written."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"cannot write '{path}': {reason}")
        self.path = str(path)
        self.reason = reason


def _reason(exc: OSError) -> str:
    return exc.strerror.lower() if exc.strerror else type(exc).__name__


def ensure_dir(path: Path | str) -> Path:
    """Create the output directory ``path`` (and its parents) if need be and make sure
    files can be written in it."""
    d = Path(path)
    try:
        d.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputError(d, "not a directory") from None
    except OSError as exc:
        raise OutputError(d, _reason(exc)) from None
    if not d.is_dir():
        raise OutputError(d, "not a directory")
    if not os.access(d, os.W_OK | os.X_OK):
        raise OutputError(d, "permission denied")
    return d


def check_target(path: Path | str) -> None:
    """Fail now, before any work, if the file ``path`` could not be written: its
    directory must exist and be writable, and the path must not be a directory."""
    p = Path(path)
    parent = p.parent if str(p.parent) else Path(".")
    if p.is_dir():
        raise OutputError(p, "is a directory")
    if not parent.is_dir():
        raise OutputError(p, f"no such directory '{parent}'")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(p, "permission denied")
    try:  # a trial file: some places refuse new files whatever their mode says (/proc)
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=parent)
    except OSError as exc:
        raise OutputError(p, _reason(exc)) from None
    os.close(fd)
    os.unlink(tmp)


def write_atomic(path: Path | str, data: str | bytes) -> None:
    """Write ``data`` (text as UTF-8) to ``path`` whole, or raise `OutputError` leaving
    whatever was there before."""
    p = Path(path)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    parent = p.parent if str(p.parent) else Path(".")
    if p.is_dir():
        raise OutputError(p, "is a directory")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=parent)
    except FileNotFoundError:
        raise OutputError(p, f"no such directory '{parent}'") from None
    except NotADirectoryError:
        raise OutputError(p, f"'{parent}' is not a directory") from None
    except OSError as exc:
        raise OutputError(p, _reason(exc)) from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
        os.chmod(tmp, 0o644)
        os.replace(tmp, p)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise OutputError(p, _reason(exc)) from None


def unique_names(paths: list[str]) -> dict[str, str]:
    """For each spec path, the name its output files start with: its stem, or when
    other paths of the run share that stem, as many of its parent directories as tell
    them apart (``eager/missing_fence`` and ``lazy/missing_fence``)."""
    parts = {p: Path(os.path.abspath(p)).with_suffix("").parts for p in paths}
    distinct = {p: q for q, p in {v: k for k, v in parts.items()}.items()}  # one per file
    out = {}
    for p, mine in parts.items():
        k = 1
        while k < len(mine) and any(
            q != mine and q[-k:] == mine[-k:] for q in (parts[o] for o in distinct)
        ):
            k += 1
        out[p] = "/".join(mine[-k:])
    return out
