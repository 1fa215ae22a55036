"""Lowering of hardware access-flag and dirty-state management (docs/arm64.md section 7,
docs/page-tables.md section 5)."""

from __future__ import annotations

from typing import Any

from verifier.lang.checked import CheckedSpec


def ad_settings(spec: CheckedSpec) -> dict[str, Any]:
    """``Program.ad`` (x86: `hardware` when any core manages flags) and ``ad_cores`` (under
    `arm`, per core instance: its `option ad = V for CORE` line, else the spec's `option
    ad`; docs/arm64.md section 7)."""
    per = dict(spec.ad_cores)
    cores = tuple(per.get(c.family or c.name, spec.ad) for c in spec.cores)
    on = any(x != "none" for x in cores)
    return {"ad": "hardware" if on else "none", "ad_cores": cores if on else ()}
