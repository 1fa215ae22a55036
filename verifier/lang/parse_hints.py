"""Hints that turn a syntax error into something a person can act on.

"Did you mean" suggestions (keywords from the tokens the grammar accepts at the
start of a statement or declaration, names from the spec), and where a `{` is
left open when a `}` is missing in the middle of a file.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

from verifier.lang.span import Span

_FIRST_WORD = re.compile(r"^(\s*)([A-Za-z_]\w*(?:\.\w+)?)")  # `sfence.vma`: one word


def closest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate ``word`` is most likely a misspelling of, if any is close: the same
    but for case, else a close match by similarity, else (short names, where one letter
    is a large share: `NN` for `N`, `Aa` for `A`) one letter added, dropped, changed or
    two swapped."""
    names = sorted({c for c in candidates if c != word})
    same_case = [c for c in names if c.lower() == word.lower()]
    if same_case:
        return same_case[0]
    found = difflib.get_close_matches(word, names, n=1, cutoff=0.7)
    if found:
        return found[0]
    near = [c for c in names if _one_edit(word, c)]
    return near[0] if len(word) >= 2 and near else None


def _one_edit(a: str, b: str) -> bool:
    """``a`` and ``b`` differ by one inserted, deleted or changed letter, or two swapped."""
    if abs(len(a) - len(b)) > 1 or a == b:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        swapped = len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]]
        return len(diff) == 1 or (swapped and a[diff[1]] == b[diff[0]])
    short, long = sorted((a, b), key=len)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """``"; did you mean 'acks'?"``, or nothing when no candidate is close."""
    best = closest(word, candidates)
    return f"; did you mean '{best}'?" if best else ""


def first_word(line: str) -> tuple[int, str] | None:
    """The column (1-based) and text of the first word of a source line."""
    m = _FIRST_WORD.match(line)
    return (len(m.group(1)) + 1, m.group(2)) if m else None


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def unclosed_brace(text: str, file: str, before_line: int | None = None) -> Span | None:
    """The `{` a missing `}` most likely belongs to, among the text before ``before_line``:
    the first `{` whose `}` sits at a smaller indentation than the `{`'s line (the `}`
    was taken by an enclosing block), else the innermost `{` still open."""
    stack: list[tuple[int, int, int]] = []
    misplaced: tuple[int, int, int] | None = None
    for lineno, line in enumerate(text.splitlines(), 1):
        if before_line is not None and lineno >= before_line:
            break
        code = line.split("//", 1)[0]
        for col, ch in enumerate(code, 1):
            if ch == "{":
                stack.append((lineno, col, _indent(line)))
            elif ch == "}" and stack:
                opened = stack.pop()
                closes_less = code[: col - 1].strip() == "" and _indent(line) < opened[2]
                if closes_less and misplaced is None:
                    misplaced = opened
    if not stack:
        return None
    lineno, col, _ = misplaced or stack[-1]
    return Span(file, lineno, col, lineno, col + 1)
