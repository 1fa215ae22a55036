"""Standard streams and signals, so that no way of ending a run is an internal error.

* stdout that cannot be written (a full disk, a closed descriptor, a device that
  refuses writes) ends the command with one line on stderr and exit 2 (the output
  place is the user's input, like `-o FILE`); a reader that went away (`| head`,
  EPIPE) ends it quietly with 141, as a shell reports a process killed by SIGPIPE.
* stderr that cannot be written loses its messages and nothing else: the exit
  code is the one the run earned (a diagnostic still makes it 2).
* SIGTERM and SIGHUP are handled like Ctrl-C (SIGINT): the command stops where it
  is, says what finished, and exits 128 + the signal's number.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import signal
import sys
from collections.abc import Iterator
from typing import Any, TextIO

EXIT_BROKEN_PIPE = 128 + 13  # SIGPIPE's number on every POSIX system tlbcheck runs on
HANDLED = (signal.SIGINT, signal.SIGTERM, *([signal.SIGHUP] if hasattr(signal, "SIGHUP") else []))


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP: every handler of Ctrl-C handles it too; ``signum`` says which."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def signum_of(exc: BaseException) -> int:
    """The signal a KeyboardInterrupt stands for (SIGINT unless it is a `Terminated`)."""
    return getattr(exc, "signum", signal.SIGINT)


def signal_name(signum: int) -> str:
    return signal.Signals(signum).name


class StdoutError(Exception):
    """stdout cannot be written; ``reason`` in words, ``broken`` when the reader left."""

    def __init__(self, reason: str, broken: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.broken = broken


def _why(exc: OSError) -> str:
    return (exc.strerror or type(exc).__name__).lower()


class _Guarded:
    """A text stream whose write errors become `StdoutError` (stdout) or are dropped
    (stderr: nothing else could say them)."""

    def __init__(self, stream: TextIO, strict: bool) -> None:
        self._stream = stream
        self._strict = strict
        self.failed: OSError | None = None

    def _fail(self, exc: OSError) -> None:
        self.failed = self.failed or exc
        if self._strict:
            raise StdoutError(_why(exc), isinstance(exc, BrokenPipeError)) from None

    def write(self, text: str) -> int:
        if self.failed is not None and not self._strict:
            return len(text)
        try:
            return self._stream.write(text)
        except (OSError, ValueError) as exc:  # ValueError: the stream was closed
            self._fail(exc if isinstance(exc, OSError) else OSError(errno.EBADF, "closed"))
            return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if self.failed is not None and not self._strict:
            return
        try:
            self._stream.flush()
        except (OSError, ValueError) as exc:
            self._fail(exc if isinstance(exc, OSError) else OSError(errno.EBADF, "closed"))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _silence(fd: int) -> None:
    """Point ``fd`` at /dev/null so that the interpreter's own flush at exit is quiet."""
    with contextlib.suppress(OSError):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, fd)
        os.close(null)


def _raise(signum: int, _frame: Any) -> None:
    raise Terminated(signum)


@contextlib.contextmanager
def guarded() -> Iterator[_Guarded]:
    """Run a command with guarded stdout and stderr and SIGTERM/SIGHUP raising
    `Terminated`; restores both afterwards.  Yields the guarded stdout."""
    out, err = sys.stdout, sys.stderr
    g_out = _Guarded(out, strict=True)
    g_err = _Guarded(err if err is not None else io.StringIO(), strict=False)
    old: dict[int, Any] = {}
    with contextlib.suppress(ValueError):  # not the main thread: leave signals alone
        for s in HANDLED:
            if s != signal.SIGINT:
                old[s] = signal.signal(s, _raise)
    sys.stdout, sys.stderr = g_out, g_err  # type: ignore[assignment]
    try:
        yield g_out
    finally:
        sys.stdout, sys.stderr = out, err
        for s, h in old.items():
            signal.signal(s, h)


def stdout_usable() -> bool:
    """Whether stdout is open (a stream without a descriptor, like pytest's, is)."""
    if sys.stdout is None:  # the descriptor was closed when Python started
        return False
    try:
        fd = sys.stdout.fileno()
    except (OSError, ValueError, AttributeError):
        return True
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def finish_stdout(code: int) -> int:
    """Flush stdout; the exit code (``code``, or that of a stdout that failed)."""
    if getattr(sys.stdout, "failed", None) is not None:  # already said
        return code
    try:
        sys.stdout.flush()
    except StdoutError as exc:
        return stdout_failed(exc)
    except (OSError, ValueError) as exc:
        return stdout_failed(StdoutError(str(exc), isinstance(exc, BrokenPipeError)))
    return code


def stdout_failed(exc: StdoutError) -> int:
    """Say (on stderr) that stdout failed; its exit code."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        _silence(sys.stdout.fileno())
    if exc.broken:
        return EXIT_BROKEN_PIPE
    with contextlib.suppress(OSError, ValueError, AttributeError):
        sys.stderr.write(f"tlbcheck: error: cannot write to standard output: {exc.reason}\n")
        sys.stderr.flush()
    return 2
