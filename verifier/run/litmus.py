"""A litmus test's answer in herd7's words (docs/arm64.md §4), from the problem kinds a
complete search reached: ``positive`` (a final state satisfies the condition's
proposition) and ``negative`` (one does not).

- observation: `Never` (no final state satisfies it), `Always` (every one does),
  `Sometimes`;
- outcome: `Allowed` when some final state satisfies the proposition, else `Forbidden`;
- validated (herd7's `Ok`/`No`): ``exists`` holds when the outcome is allowed,
  ``~exists`` when it is forbidden, ``forall`` when the observation is `Always`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from verifier.lang.checked import CheckedSpec
from verifier.run.result import Result

FLAGS = ("bbm",)  # reported beside the outcomes, as herd7 flags them (docs/arm64.md)


@dataclass(frozen=True)
class LitmusAnswer:
    test: str
    condition: str
    observation: str  # Never | Sometimes | Always | inconclusive
    outcome: str  # Allowed | Forbidden | inconclusive
    validated: bool | None  # None when inconclusive
    other: tuple[str, ...]  # problem kinds besides the final condition's (range...)
    flags: tuple[str, ...] = ()  # `bbm` (herd7's Warning-BBM-expected flag)

    def to_json(self) -> dict[str, Any]:
        return {
            "test": self.test,
            "condition": self.condition,
            "observation": self.observation,
            "outcome": self.outcome,
            "validated": self.validated,
            **({"other_problems": list(self.other)} if self.other else {}),
            **({"flags": list(self.flags)} if self.flags else {}),
        }


def answer(checked: CheckedSpec, r: Result) -> LitmusAnswer:
    lit = checked.litmus
    assert lit is not None
    other = tuple(k for k in r.kinds if k not in ("positive", "negative", *FLAGS))
    flags = tuple(k for k in r.kinds if k in FLAGS)
    if r.verdict == "inconclusive":
        return LitmusAnswer(
            lit.name, lit.final.text, "inconclusive", "inconclusive", None, other, flags
        )
    pos, neg = "positive" in r.kinds, "negative" in r.kinds
    observation = "Never" if not pos else "Always" if not neg else "Sometimes"
    outcome = "Allowed" if pos else "Forbidden"
    quant = lit.final.quant
    validated = pos if quant == "exists" else not pos if quant == "~exists" else not neg
    return LitmusAnswer(lit.name, lit.final.text, observation, outcome, validated, other, flags)
