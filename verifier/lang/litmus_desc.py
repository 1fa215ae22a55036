"""Descriptors of a litmus test as `.tlb` PTE values (docs/arm64.md §4)."""

from __future__ import annotations

from typing import Any

from verifier.lang import ast
from verifier.lang import litmus_ast as L
from verifier.lang.span import NOSPAN


def pte_of(d: L.Desc, page: str, syms: Any) -> ast.PteValue:
    """A descriptor as a `.tlb` PTE value, field for field, so two descriptors are equal
    exactly when herd7's are (oa, valid, af, db, dbm): invalid unless valid, keeping its
    output address, permissions and flags (`invalid A rw old`); `old` when af is clear
    (without hardware management an access-flag fault, never cached, docs/arm64.md §7);
    writable when db is set; `dbm` as given; the output address defaults to the page's
    own frame."""

    def flag(key: str) -> int:
        v = d.get(key)
        return v.value if isinstance(v, L.Int) else 0 if key == "dbm" else 1  # el0: 1

    oa = d.get("oa")
    frame = syms.frame(oa.name) if isinstance(oa, L.Sym) else syms.frame(page)
    perms = "rw" if flag("db") else "r"
    user = syms.el0_bits and bool(flag("el0"))  # docs/arm64.md section 8
    mapping = ast.Mapping(
        frame, perms, old=not flag("af"), dbm=bool(flag("dbm")), user=user, span=d.span
    )
    return mapping if flag("valid") else ast.Invalid(mapping, span=d.span)


def check_desc(d: L.Desc, syms: Any, err: type[Exception]) -> None:
    """The fields of descriptor ``d`` are within the subset: ``oa`` a physical page,
    ``valid``, ``af``, ``db``, ``dbm``, ``el0`` 0 or 1."""
    for key, v in d.fields:
        if key == "oa":
            if not (isinstance(v, L.Sym) and v.kind == "pa"):
                raise err(v.span, "a descriptor's oa is a physical page (phy_x or PA(x))")
            syms.frame(v.name)
            syms.oas.add(v.name)
        elif key in ("valid", "af", "db", "dbm", "el0"):
            if not isinstance(v, L.Int) or v.value not in (0, 1):
                raise err(v.span, f"descriptor field {key} is 0 or 1")
        else:
            raise err(d.span, f"descriptor field '{key}' is outside the litmus subset")


# herd7's descriptor bits (lib/AArch64PteVal.ml): valid 0, el0 (AP[1]) 6, AP[2] 7 (set:
# read-only, herd's db:0), af 10, dbm 51; bit -> (the field, True when setting the bit
# sets the field)
DESC_BITS = {0: ("present", True), 6: ("user", True), 7: ("write", False),
             10: ("young", True), 51: ("dbm", True)}  # fmt: skip
HERD_FIELD = {"present": "valid", "user": "el0", "write": "db", "young": "af", "dbm": "dbm"}


def mask_fields(t: Any, i: L.Instr, src: L.Operand, sets: bool) -> tuple[str, dict[str, bool]]:
    """The fields a mask of descriptor bits in ``src`` changes when its bits are set
    (``sets``: `LDSET`, `ORR`) or cleared (`LDCLR`, `BIC`): (fetch_set | fetch_clear,
    field -> set).  The mask is known when the test is read (`MOV`, `LSL`); a bit herd7
    does not read as a field, or a mask that sets some fields and clears others, cannot be
    stated."""
    mask = t.env.get("X" + src.text[1:] if src.text[:1] in "WX" else src.text).known()
    if mask is None:
        raise t.fail(src, f"{src.text} holds no mask known when the test is read ({i.text})")
    bits = [b for b in range(64) if mask >> b & 1]
    unknown = [b for b in bits if b not in DESC_BITS or (b == 6 and not t.syms.el0_bits)]
    if mask < 0 or unknown:
        what = f"bit {unknown[0]}" if unknown else "a negative mask"
        raise t.fail(src, f"{what} of a descriptor is outside the litmus subset ({i.text})")
    changes = {DESC_BITS[b][0]: DESC_BITS[b][1] == sets for b in bits}
    if len(set(changes.values())) > 1:
        raise t.fail(src, f"a mask that sets some descriptor fields and clears others ({i.text})")
    return ("fetch_set" if next(iter(changes.values()), True) else "fetch_clear"), changes


def changed(descs: list[L.Desc | None], changes: dict[str, bool]) -> list[L.Desc | None]:
    """The descriptors an entry holding one of ``descs`` (None: herd7's default) may hold
    after the fields ``changes`` are set (True) or cleared (False)."""
    out: list[L.Desc | None] = []
    for d in descs:
        fields = dict(d.fields) if d is not None else {}
        span = d.span if d is not None else NOSPAN
        for f, on in changes.items():
            fields[HERD_FIELD[f]] = L.Int(int(on), span=span)
        out.append(L.Desc(tuple(fields.items()), span=span))
    return out
