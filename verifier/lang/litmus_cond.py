"""The end of a litmus test: ``locations [...]`` and ``filter`` lines (kept as written)
and the final condition, ``exists``/``~exists``/``forall`` over a proposition of
``loc=value`` equations and ``fault(...)`` atoms joined by ``/\\``, ``\\/`` and ``~``."""

from __future__ import annotations

from verifier.lang import litmus_ast as L
from verifier.lang.litmus_lex import Src, Tokens, loc, proc, value
from verifier.lang.span import Span

QUANTS = ("exists", "forall")


def parse_tail(src: Src, start: int) -> tuple[list[tuple[str, Span]], L.Condition]:
    t = Tokens(src, start, len(src.text))
    extra: list[tuple[str, Span]] = []
    cond: L.Condition | None = None
    while t.peek() is not None:
        word, a, _ = t.take()
        if word in ("locations", "filter") and cond is None:
            b = _skip_to_line_end(t, a)
            extra.append((src.text[a:b].strip(), src.span(a, b)))
            continue
        if cond is not None:
            raise src.error(a, a + len(word), f"unexpected '{word}' after the final condition")
        quant = word
        if word == "~":
            nxt, _, nb = t.take()
            if nxt != "exists":
                raise src.error(a, nb, f"expected 'exists' after '~', found '{nxt}'")
            quant = "~exists"
        elif word not in QUANTS:
            raise src.error(a, a + len(word), f"expected exists, ~exists or forall, found '{word}'")
        prop = _disj(t)
        cond = L.Condition(quant, prop, span=src.span(a, t.prev_end()))
        if t.peek() == ";":
            t.take()
    return extra, cond or no_condition(src)


def no_condition(src: Src) -> L.Condition:
    """A test without a final condition: herd7 reads it as `forall true`
    (ConstrGen.constr_true), so every execution is a positive witness."""
    end = len(src.text.rstrip())
    return L.Condition("forall", L.Bool(True, span=src.span(end, end)), span=src.span(end, end))


def _skip_to_line_end(t: Tokens, a: int) -> int:
    """Consume the tokens of the rest of the line that starts at ``a``."""
    text = t.src.text
    eol = text.find("\n", a)
    eol = len(text) if eol < 0 else eol
    while t.peek() is not None and t.here() < eol:
        t.take()
    return eol


def _disj(t: Tokens) -> L.Prop:
    a = t.here()
    args = [_conj(t)]
    while t.peek() == "\\/":
        t.take()
        args.append(_conj(t))
    return args[0] if len(args) == 1 else L.Or(tuple(args), span=t.src.span(a, t.prev_end()))


def _conj(t: Tokens) -> L.Prop:
    a = t.here()
    args = [_unary(t)]
    while t.peek() == "/\\":
        t.take()
        args.append(_unary(t))
    return args[0] if len(args) == 1 else L.And(tuple(args), span=t.src.span(a, t.prev_end()))


def _unary(t: Tokens) -> L.Prop:
    word, a, b = t.toks[t.i] if t.i < len(t.toks) else ("", t.end, t.end)
    src = t.src
    if word == "~" or word == "not":
        t.take()
        arg = _unary(t)
        return L.Not(arg, span=src.span(a, t.prev_end()))
    if word == "(":
        t.take()
        inner = _disj(t)
        t.expect(")")
        return inner
    if word in ("true", "false"):
        t.take()
        return L.Bool(word == "true", span=src.span(a, b))
    if word.lower() == "fault" and t.peek(1) == "(":
        return _fault(t)
    where = loc(t)
    op = t.take()
    if op[0] not in ("=", "==", "!=", "<>"):
        raise src.error(op[1], op[2], f"expected '=' after the location, found '{op[0]}'")
    v = value(t)
    return L.Eq(where, v, op[0] in ("!=", "<>"), span=src.span(a, t.prev_end()))


def _fault(t: Tokens) -> L.FaultAtom:
    src = t.src
    _, a, _ = t.take()
    t.expect("(")
    word, pa, pb = t.take()
    p = proc(word)
    if p is None or not word.startswith("P"):
        raise src.error(pa, pb, f"expected a thread (P0, P1...) in fault(...), found '{word}'")
    label = None
    if t.peek() == ":":
        t.take()
        label = t.take()[0]
    where: L.Mem | None = None
    ftype: str | None = None
    if t.peek() == ",":
        t.take()
        m = loc(t)
        if not isinstance(m, L.Mem):
            raise src.error(
                m.span_start if False else pa,
                t.prev_end(),
                "fault(...) names a location, not a register",
            )
        where = m
        if t.peek() == ",":
            t.take()
            parts = [t.take()[0]]
            while t.peek() in (":", "-") or (
                t.peek() not in (")", None) and parts[-1] in (":", "-")
            ):
                parts.append(t.take()[0])
            ftype = "".join(parts)
    t.expect(")")
    return L.FaultAtom(p, label, where, ftype, span=src.span(a, t.prev_end()))
