"""Writing output files: whole or not at all, and a bad location is the user's input.

Every file tlbcheck writes (trace JSON and text, SVG, HTML, JUnit XML, stored
counterexamples) goes through `write_atomic`: the data goes to a temporary file
in the same directory, which is then renamed over the target, so a write that
fails halfway (a full disk, a file-size limit) leaves the old file or none,
never a truncated one.  Any failure is an `OutputError` naming the path and the
reason, which the command line reports in one line with exit code 2.

Nothing but a regular file is ever replaced.  A path that exists as something
else is written through in place where that is what writing to it means (a
character device such as /dev/null or /dev/stdout, a FIFO with a reader), and
refused otherwise: a directory, a block device, a socket, a FIFO nobody reads,
and a symbolic link (outside /dev and /proc, where /dev/stdout and /dev/fd/N
are links to the streams they name): replacing the link would leave its target
untouched, writing through it would write somewhere the command line does not say.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
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
    d = _named(path)
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


def _named(path: Path | str) -> Path:
    """``path`` as a Path, refused when no file can have that name."""
    if "\x00" in str(path):
        raise OutputError(str(path).replace("\x00", "\\0"), "a file name cannot hold a NUL byte")
    return Path(path)


def _existing(p: Path) -> str | None:
    """How ``p`` is written: None (absent: created), "file" (replaced whole) or
    "through" (written in place); `OutputError` when it must not be written."""
    try:
        st = os.lstat(p)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise OutputError(p, _reason(exc)) from None
    mode = st.st_mode
    if stat.S_ISLNK(mode):
        if os.path.abspath(p).startswith(("/dev/", "/proc/")):
            try:
                mode = os.stat(p).st_mode
            except OSError as exc:
                raise OutputError(p, _reason(exc)) from None
            if stat.S_ISDIR(mode):
                raise OutputError(p, "is a directory")
            return "through"  # /dev/stdout, /dev/fd/1: the stream, whatever it is
        raise OutputError(p, "is a symbolic link (name the file it points to)")
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        raise OutputError(p, "is a directory")
    if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode):
        return "through"
    what = "a block device" if stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode) else ""
    raise OutputError(p, f"is {what or 'not a regular file'}; only files are written")


def _open_through(p: Path) -> int:
    """Open the device or FIFO ``p`` for writing without blocking on a FIFO nobody reads."""
    try:
        fd = os.open(p, os.O_WRONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            raise OutputError(p, "a FIFO that nobody reads") from None
        raise OutputError(p, _reason(exc)) from None
    os.set_blocking(fd, True)
    return fd


def check_target(path: Path | str) -> None:
    """Fail now, before any work, if the file ``path`` could not be written: its
    directory must exist and be writable, and the path must be absent, a regular
    file or something written through in place (see the module's notes)."""
    p = _named(path)
    parent = p.parent if str(p.parent) else Path(".")
    if _existing(p) == "through":  # a FIFO is not opened: its reader would see the end
        if not stat.S_ISFIFO(os.stat(p).st_mode):
            os.close(_open_through(p))
        return
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
    whatever was there before.  A device or FIFO is written in place (see the notes)."""
    p = _named(path)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    parent = p.parent if str(p.parent) else Path(".")
    if _existing(p) == "through":
        fd = _open_through(p)
        try:
            view = memoryview(raw)
            while view:
                view = view[os.write(fd, view) :]
        except OSError as exc:
            raise OutputError(p, _reason(exc)) from None
        finally:
            os.close(fd)
        return
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
        if _existing(p) not in (None, "file"):  # it changed meanwhile: refuse still
            raise OutputError(p, "is no longer a regular file")
        os.replace(tmp, p)
    except (OSError, OutputError) as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OutputError):
            raise
        raise OutputError(p, _reason(exc)) from None


def unique_names(paths: list[str]) -> dict[str, str]:
    """For each spec path, the name its output files start with: its stem, or when
    other paths of the run share that stem, as many of its parent directories as tell
    them apart (``eager/missing_fence`` and ``lazy/missing_fence``), and its suffix
    when only that does (``x.tlb`` and ``x.spec``).  The same file named twice (even
    spelt differently) has one name: see `trace_names` for a run's list."""
    full = {p: Path(os.path.abspath(p)).parts for p in paths}
    stems = {p: (*q[:-1], Path(q[-1]).stem) for p, q in full.items()}
    out = {}
    for p, mine in stems.items():
        others = [stems[o] for o in paths if full[o] != full[p]]
        if mine in others:  # only the suffix tells them apart
            mine, others = full[p], [full[o] for o in paths if full[o] != full[p]]
        k = 1
        while k < len(mine) and any(q[-k:] == mine[-k:] for q in others):
            k += 1
        out[p] = "/".join(mine[-k:])
    return out


def trace_names(paths: list[str]) -> list[str]:
    """One name per entry of ``paths`` (a run's spec arguments, in order), unique
    within the run: `unique_names`, and ``name~2``, ``name~3`` ... for a file named
    again (its traces would otherwise replace those of its first run)."""
    names = unique_names(paths)
    taken = set(names.values())
    used: set[str] = set()
    out = []
    for p in paths:
        name, n = names[p], 1
        while name in used or (n > 1 and name in taken):  # a file named again
            n += 1
            name = f"{names[p]}~{n}"
        used.add(name)
        out.append(name)
    return out
