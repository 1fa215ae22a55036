"""User-mode code (`option mode = user`, docs/arm64.md section 8): a core's program so
marked runs at EL0 (x86: CPL 3); its handlers run in kernel mode.  User-mode code may
compute, use shared words, barriers and accesses through pages (which then need the
`user` permission), but not the kernel's statements below: each is a located error."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from verifier.lang import ast
from verifier.lang.symbols import Symbols

KERNEL_ONLY: dict[type, str] = {
    ast.PteWrite: "a pte store", ast.SlotWrite: "a pte store", ast.DirWrite: "a dir store",
    ast.PteRead: "a page-table read", ast.SlotRead: "a page-table read",
    ast.DirRead: "a page-table read", ast.Tlbi: "tlbi", ast.Sfence: "sfence.vma",
    ast.Invlpg: "invlpg", ast.FlushAsid: "flush", ast.FlushAll: "flush",
    ast.Switch: "switch", ast.Free: "free", ast.CopyFrame: "copy", ast.ZeroFrame: "zero",
    ast.Ipi: "ipi", ast.Irq: "irq",
}  # fmt: skip


def user_cores(header: dict[str, object], cores: Iterator[str]) -> list[str]:
    per = dict(header.get("mode_cores", {}))  # type: ignore[call-overload]
    return [c for c in cores if per.get(c, header["mode"]) == "user"]


def check_user_mode(self: Symbols, header: dict[str, object]) -> None:
    for name in user_cores(header, iter(self.cores)):
        for n in _nodes(self.cores[name].body):
            what = KERNEL_ONLY.get(type(n))
            if what is not None:
                self.err(
                    n.span,
                    f"{what} in user-mode code: core {name} runs in user mode (option mode = "
                    "user); only kernel code (a handler, `on fault`) touches page tables, TLBs "
                    "and interrupts",
                )


def _nodes(x: object) -> Iterator[ast.Node]:
    """Every syntax node in ``x`` (statements, nested blocks, expressions)."""
    if isinstance(x, tuple | list):
        for y in x:
            yield from _nodes(y)
    elif isinstance(x, ast.Node):
        yield x
        for f in dataclasses.fields(x):
            if f.name != "span":
                yield from _nodes(getattr(x, f.name))
