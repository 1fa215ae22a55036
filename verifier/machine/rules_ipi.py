"""Inter-processor interrupts: sending, holding in a store buffer, queueing, handler entry.

An `ipi` statement enqueues at its targets directly, or (under tso/pso, when the
buffer holds what the IPI must stay behind) is held in the sender's store buffer
and queued later.  A pending IPI at the head of a queue enters its handler when
interrupts are enabled and no handler runs.
"""

from __future__ import annotations

from verifier.ir import program as P
from verifier.ir.system import FALSE, TRUE, Check, Expr, Field, conj, disj, eq, ne, op
from verifier.machine.context import Ctx, Rule, Site, replace_if
from verifier.machine.layout import QUEUE, C
from verifier.machine.rules_arm import quiet
from verifier.machine.rules_buffer import append_pos, buffer_append, shift_out


def enqueue_ipi(
    ctx: Ctx, rule: Rule, targets: tuple[int, ...], handler: int, args: list[Expr]
) -> None:
    for t in targets:
        tf = ctx.lay.cores[t]
        rule.checks.append(
            Check(
                "range",
                ne(Field(tf.qh[-1]), 0),
                True,
                (("what", f"more than {QUEUE} pending IPIs at {ctx.prog.cores[t].name}"),),
            )
        )
        for k in range(QUEUE):
            at = append_pos(tf.qh, k)
            rule.upd.modify(tf.qh[k], replace_if(at, C(handler + 1)))
            for j, f in enumerate(tf.qa[k]):
                v = args[j] if j < len(args) else C(0)
                rule.upd.modify(f, replace_if(at, v))


def ipi_send(site: Site, ins: P.IIpi) -> None:
    ctx, c = site.ctx, site.c
    lay = ctx.lay
    direct = site.rule(targets=ins.targets, handler=ins.handler)
    args = ipi_args(ctx, c, ins, direct)
    if not lay.buffered(c):
        enqueue_ipi(ctx, direct, ins.targets, ins.handler, args)
        site.emit(direct, "ipi-sent", "")
        return
    if ctx.prog.ipi == "ordered":
        hold = op("not", lay.buffer_empty(c))
    else:
        hold = lay.buffer_any(c, lambda k: disj(eq(k, lay.barrier), lay.is_ipi(k)))
    direct.guard.append(op("not", hold))
    enqueue_ipi(ctx, direct, ins.targets, ins.handler, args)
    site.emit(direct, "ipi-sent", "direct")
    held = site.rule(targets=ins.targets, handler=ins.handler)
    hargs = ipi_args(ctx, c, ins, held)
    held.guard.append(hold)
    ctx.room(c, held)
    buffer_append(ctx, c, held, lay.ipi_codes[(c, site.pc)], hargs)
    site.emit(held, "ipi-buffered", "held")


def ipi_args(ctx: Ctx, c: int, ins: P.IIpi, rule: Rule) -> list[Expr]:
    """Arguments are evaluated by the sender; each must fit the handler's registers."""
    args = [ctx.expr(c, a, rule) for a in ins.args]
    handler = ctx.prog.handlers[ins.handler]
    for t in ins.targets:
        tf, core = ctx.lay.cores[t], ctx.prog.cores[t]
        for p, a in zip(handler.params, args, strict=True):
            f = ctx.lay.fields[tf.hregs[core.hregs.index(p)]]
            ctx.range_check(
                rule, a, f.lo, f.hi, f"argument {p} of {handler.name} outside {f.lo}..{f.hi}"
            )
    return args


def deliveries(ctx: Ctx, c: int) -> None:
    """The IPI at the head of the queue enters its handler."""
    cf = ctx.lay.cores[c]
    core = ctx.prog.cores[c]
    for h, handler in enumerate(ctx.prog.handlers):
        r = Rule([eq(Field(cf.irq), 1), eq(Field(cf.inh), 0), eq(Field(cf.qh[0]), h + 1)])
        r.guard.append(quiet(ctx, c))
        r.upd.set(cf.spc, Field(cf.pc))
        r.upd.set(cf.pc, core.handler_entry[h])
        r.upd.set(cf.irq, 0)
        r.upd.set(cf.inh, 1)
        for j in range(len(handler.params)):
            r.upd.set(cf.hregs[core.hregs.index(handler.params[j])], Field(cf.qa[0][j]))
        shift_out(r, cf.qh, cf.qa, 0)
        r.info["handler"] = h
        ctx.emit(
            c,
            None,
            r,
            "handler-entered",
            f"{core.name}:deliver:{handler.name}",
            f"handler {handler.name}",
            handler.span,
        )


def held_ipis_leave(ctx: Ctx, c: int) -> None:
    """An IPI held in the store buffer leaves it and is queued at its targets."""
    lay = ctx.lay
    cf = lay.cores[c]
    core = ctx.prog.cores[c]
    kinds = [Field(k) for k in cf.sba]
    for (sender, pc), code in sorted(lay.ipi_codes.items()):
        if sender != c:
            continue
        ins = core.code[pc]
        assert isinstance(ins, P.IIpi)
        for i in range(len(cf.sba)):
            older_ok: Expr
            if ctx.prog.ipi == "ordered":
                older_ok = TRUE if i == 0 else FALSE
            else:
                older_ok = conj(
                    *(
                        conj(ne(kinds[j], lay.barrier), op("not", lay.is_ipi(kinds[j])))
                        for j in range(i)
                    )
                )
            if older_ok == FALSE:
                continue
            r = Rule([eq(kinds[i], code), older_ok])
            args: list[Expr] = [Field(f) for f in cf.sbv[i][: len(ins.args)]]
            enqueue_ipi(ctx, r, ins.targets, ins.handler, args)
            shift_out(r, cf.sba, cf.sbv, i)
            r.info.update(slot=i, targets=ins.targets, handler=ins.handler)
            ctx.emit(c, None, r, "ipi-queued", f"{core.name}:ipi@{pc}:{i}", ins.text, ins.span)
