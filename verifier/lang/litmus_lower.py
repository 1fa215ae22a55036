"""A litmus test -> the `.tlb` syntax tree of the same program (docs/arm64.md §4), then
the normal checker: `load_litmus` returns a `CheckedSpec` under `model arm` whose
``litmus`` field carries the final condition and the control dependencies.

Each virtual address ``x`` of the test is a page ``x`` mapping the frame ``phy_x``
(``pte_x`` as the test sets it, else valid and writable); each physical page is a frame
with one data word.  Registers that hold addresses, page numbers or descriptors are
known when the test starts and are not registers of the spec: an ``LDR``/``STR``
through them names its page, a ``STR`` of a descriptor to ``pte_x`` is a `pte` store.
Registers holding data are the spec's registers (``X4``; ``W4`` is the same).
Every statement keeps the span of its instruction, so traces show the test's lines.
Anything outside the subset is a located error naming the construct.
"""

from __future__ import annotations

from dataclasses import replace

from verifier.lang import ast
from verifier.lang import litmus_ast as L
from verifier.lang.check import check
from verifier.lang.checked import CheckedSpec
from verifier.lang.diagnostics import Diagnostic, SpecError
from verifier.lang.final import Final, FProp, Litmus
from verifier.lang.litmus_final import lower_condition
from verifier.lang.litmus_instr import (
    Env,
    Static,
    Symbols,
    ThreadOut,
    lower_thread,
)
from verifier.lang.litmus_desc import check_desc, pte_of
from verifier.lang.litmus_eret import check_return
from verifier.lang.litmus_parse import parse_litmus
from verifier.lang.litmus_vals import Vals, union
from verifier.lang.span import Span

VARIANTS = ("vmsa", "fatal", "precise", "imprecise", "handled")
RETRIED = ("imprecise", "handled")  # herd7's `handled` fault handling: a fault is retried once
ROUNDS = 6  # lowerings to find the values loads may return, then: unknown


class Unstated(Exception):
    """A construct of the test the lowering cannot state, at ``span``."""

    def __init__(self, span: Span, message: str) -> None:
        super().__init__(message)
        self.span = span
        self.message = message


def load_litmus(path: str, text: str) -> CheckedSpec:
    """Parse, lower and check the litmus test ``text`` read from ``path``."""
    test = parse_litmus(text, path)
    try:
        spec, litmus = lower_litmus(test)
    except Unstated as u:
        raise SpecError([Diagnostic(u.span, u.message)], {path: text}) from None
    checked = check(spec, text, {})
    return replace(checked, litmus=litmus)


def lower_litmus(t: L.LitmusTest) -> tuple[ast.Spec, Litmus]:
    retry = False
    for v in t.variants():
        if v.lower() not in VARIANTS:
            raise Unstated(t.span, f"Variant={v} is outside the litmus subset (docs/arm64.md §4)")
        if v.lower() != "vmsa":  # the last fault handling named wins, as in herd7
            retry = v.lower() in RETRIED
    mem: Vals = frozenset({0})
    for _ in range(ROUNDS):  # the values loads may return: a fixed point (litmus_vals)
        syms, ptes, data, cores, threads, ctrl = _lower_threads(t, mem)
        grown = union(mem, union(frozenset(data.values()), syms.stored))
        if grown == mem:
            break
        mem = grown
    else:
        syms, ptes, data, cores, threads, ctrl = _lower_threads(t, None)
    syms.af0 = any(_af0(i.value) for i in t.init)
    _unread(t, syms, threads)
    prop = lower_condition(t.condition, syms, threads, Unstated)
    decls: list[ast.Decl] = [ast.SpecTitle(t.name, span=t.span), ast.ModelDecl("arm", span=t.span)]
    for proc, mode in sorted(syms.tthm.items()):
        decls.append(ast.OptionDecl("ad", mode, (f"P{proc}",), span=t.span))
    if syms.el0:  # EL0 threads run user-mode code (docs/arm64.md section 8)
        procs = tuple(f"P{p}" for p in sorted(syms.el0))
        decls.append(ast.OptionDecl("mode", "user", procs, span=t.span))
    frames = tuple(ast.Ident(f, span=t.span) for f in syms.frames)
    values = tuple(ast.Num(data.get(f, 0), span=t.span) for f in syms.frames)
    decls.append(ast.FrameDecl(frames, values, span=t.span))
    for name in syms.pages:
        value = _pte_value(ptes.get(name), name, syms, t.span)
        decls.append(ast.PageDecl(name, value, span=t.span))
    decls += cores
    text = t.source[_offset(t.source, t.condition.span) :].strip()
    final = _final(t, prop, text)
    lit = Litmus(t.name, final, tuple(ctrl), retry)
    return ast.Spec(tuple(decls), file=t.file, span=t.span), lit


def _lower_threads(t: L.LitmusTest, mem: Vals) -> tuple[
    Symbols, dict[str, L.Desc], dict[str, int], list[ast.CoreDecl], dict[int, ThreadOut],
    list[tuple[Span, tuple[str, ...]]],
]:  # fmt: skip
    """The initial state and every thread lowered, a data load returning one of ``mem``."""
    syms = Symbols(tthm=_tthm(t), el0=_el0(t), mem=mem)
    syms.el0_bits = bool(syms.el0) or any(_has_el0(i.value) for i in t.init)
    envs = {th.proc: Env() for th in t.threads}
    ptes: dict[str, L.Desc] = {}
    data: dict[str, int] = {}
    for item in t.init:
        _initial(item, syms, envs, ptes, data)
    cores: list[ast.CoreDecl] = []
    threads: dict[int, ThreadOut] = {}
    ctrl: list[tuple[Span, tuple[str, ...]]] = []
    for th in sorted(t.threads, key=lambda th: th.handler):  # a handler after its thread
        if th.handler and th.proc not in threads:
            raise Unstated(th.span, f"a fault handler P{th.proc}.F without a thread P{th.proc}")
        out = lower_thread(th, envs[th.proc], syms, Unstated, setup=not th.handler)
        if th.handler:  # the `on fault` code of its thread's core (docs/arm64.md §4)
            k = next(j for j, d in enumerate(cores) if d.name == f"P{th.proc}")
            if out.eret is not None:  # it returns: `on fault resume` (litmus_eret)
                check_return(threads[th.proc], out, Unstated)
            cores[k] = replace(cores[k], fault=tuple(out.out), resume=out.eret is not None)
            threads[th.proc].labels.update(out.labels)
            threads[th.proc].accesses += out.accesses
        else:
            core = ast.CoreDecl(f"P{th.proc}", None, None, None, tuple(out.out), span=th.span)
            cores.append(core)
            threads[th.proc] = out
        ctrl += out.ctrl
    return syms, ptes, data, cores, threads, ctrl


def _unread(t: L.LitmusTest, syms: Symbols, threads: dict[int, ThreadOut]) -> None:
    """A word the test starts with an address in (``[z]=y``) is stated only when nothing
    reads it: no access to page z, no descriptor mapping another page to z's frame, no
    condition on z.  Its initial value is then unobservable and left 0."""
    used = {page for out in threads.values() for _, page, _ in out.accesses}
    used |= {name for name in syms.oas if name in syms.pointers}
    used |= {loc.name for loc in _locations(t.condition.prop)}
    for name, value in syms.pointers.items():
        if name in used:
            what = f"{name} holds the address {value.name}, and the test reads it"
            raise Unstated(value.span, f"{what}: an address as data is outside the litmus subset")


def _locations(p: L.Prop) -> list[L.Mem]:
    match p:
        case L.Eq(loc=L.Mem() as m):
            return [m]
        case L.FaultAtom(loc=L.Mem() as m):
            return [m]
        case L.Not(arg=a):
            return _locations(a)
        case L.And(args=args) | L.Or(args=args):
            return [m for a in args for m in _locations(a)]
    return []


def _tthm(t: L.LitmusTest) -> dict[int, str]:
    """herd7's `TTHM=` line (lib/dirtyBit.mll): per thread, `hardware` (HA and HD: HD
    implies HA), `access` (HA) or nothing; a key without a thread applies to every thread,
    and `Pn:SW` turns management off on thread n."""
    out: dict[int, str] = {}
    for key, value in t.info:
        if key.upper() != "TTHM":
            continue
        items = [w.split(":") for w in value.split()]
        soft = {int(p[0].lstrip("Pp")) for p in items if len(p) == 2 and p[1].upper() == "SW"}
        for th in t.threads:
            mine = [p for p in items if len(p) == 1 or int(p[0].lstrip("Pp")) == th.proc]
            keys = {p[-1].upper() for p in mine}
            if th.proc in soft or not keys & {"HA", "HD"}:
                continue
            out[th.proc] = "hardware" if "HD" in keys else "access"
    return out


def _el0(t: L.LitmusTest) -> frozenset[int]:
    """herd7's `EL0=P0,P2` line: the threads that run at EL0 (lib/procsUser.ml)."""
    out: set[int] = set()
    for key, value in t.info:
        if key.upper() == "EL0":
            for w in value.replace(",", " ").split():
                if not w.upper().startswith("P") or not w[1:].isdigit():
                    raise Unstated(t.span, f"EL0={value}: expected thread names (P0,P1...)")
                out.add(int(w[1:]))
    return frozenset(out)


def _has_el0(v: L.Value) -> bool:
    return isinstance(v, L.Desc) and v.get("el0") is not None


def _af0(v: L.Value) -> bool:
    return isinstance(v, L.Desc) and isinstance(f := v.get("af"), L.Int) and f.value == 0


def _final(t: L.LitmusTest, prop: FProp, text: str) -> Final:
    shown = text.splitlines()[0] if text else "forall (true)"  # no condition (herd7's default)
    return Final(t.condition.quant, prop, shown, t.condition.span)


def _offset(source: str, span: Span) -> int:
    lines = source.splitlines(keepends=True)
    return sum(len(x) for x in lines[: span.line - 1]) + span.col - 1


def _initial(
    item: L.Init,
    syms: Symbols,
    envs: dict[int, Env],
    ptes: dict[str, L.Desc],
    data: dict[str, int],
) -> None:
    loc, value = item.loc, item.value
    if isinstance(loc, L.Reg):
        env = envs.get(loc.proc)
        if env is None:
            raise Unstated(loc.span, f"the test has no thread P{loc.proc}")
        env.regs[loc.reg] = _static(value, syms)
        return
    if loc.kind == "pte":
        if not isinstance(value, L.Desc):
            raise Unstated(
                value.span, f"pte_{loc.name} must be set to a descriptor (oa:..., valid:...)"
            )
        syms.page(loc.name)
        ptes[loc.name] = value
        syms.descs.setdefault(loc.name, [None])[0] = value
        return
    syms.page(loc.name)
    if isinstance(value, L.Sym):  # an address as data: stated only if never read (_unread)
        syms.pointers[loc.name] = value
        return
    if not isinstance(value, L.Int):
        raise Unstated(value.span, f"{loc.name} holds data: only a number can be stored in it")
    data[syms.frame(loc.name)] = value.value


def _static(value: L.Value, syms: Symbols) -> Static:
    match value:
        case L.Int(value=v):
            return Static("int", "", v, span=value.span)
        case L.Sym(kind="va", name=n):
            return Static("va", syms.page(n))
        case L.Sym(kind="pte", name=n):
            return Static("pte", syms.page(n))
        case L.Desc():
            check_desc(value, syms, Unstated)
            return Static("desc", "", 0, value)
    raise Unstated(value.span, f"a register holding {_what(value)} is outside the litmus subset")


def _what(value: L.Value) -> str:
    if isinstance(value, L.Sym):
        return {"pa": "a physical address", "label": "a code label"}.get(value.kind, value.kind)
    return "this value"


def _pte_value(d: L.Desc | None, page: str, syms: Symbols, span: Span) -> ast.PteValue:
    """The initial entry of ``page``: as the test sets it, else valid and writable (herd7's
    default descriptor) -- located at the test's name."""
    if d is None:  # a page-table entry seen from EL0 is mapped for the kernel only
        user = syms.el0_bits and page not in syms.kernel_pages.values()
        return ast.Mapping(syms.frame(page), "rw", user=user, span=span)
    check_desc(d, syms, Unstated)
    return pte_of(d, page, syms)
