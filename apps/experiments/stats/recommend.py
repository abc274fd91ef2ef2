"""The plain recommendation: ship, don't ship, keep running (or blocked by an SRM).

The decision rule (a product decision, written once here):
- a sample-ratio mismatch blocks everything: the numbers cannot be trusted;
- any guardrail significantly harmed → don't ship, whatever the primary says;
- primary significantly worse → don't ship;
- primary significantly better (no guardrail harmed) → ship;
- nothing significant yet → keep running; past the planned end → don't ship (no evidence
  the change helps, and every change carries a cost).
Significance is the BH-adjusted always-valid p-value below alpha.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal

Decision = Literal["ship", "dont_ship", "keep_running", "blocked"]

DECISION_LABELS: Final[dict[str, str]] = {
    "ship": "Ship",
    "dont_ship": "Don't ship",
    "keep_running": "Keep running",
    "blocked": "Results blocked",
}


def p_text(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


@dataclass(frozen=True)
class MetricVerdict:
    """What the recommendation needs to know of one metric's result."""

    name: str
    difference: float  # treatment - control
    adjusted_p: float
    higher_is_better: bool

    def significant(self, alpha: float) -> bool:
        return self.adjusted_p < alpha

    @property
    def improved(self) -> bool:
        return (self.difference > 0) == self.higher_is_better and self.difference != 0


@dataclass(frozen=True)
class Recommendation:
    decision: Decision
    reasons: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return DECISION_LABELS[self.decision]


def recommend(
    *,
    primary: MetricVerdict | None,
    guardrails: list[MetricVerdict],
    srm_reason: str | None = None,
    ended: bool = False,
    alpha: float = 0.05,
) -> Recommendation:
    if srm_reason is not None:
        return Recommendation("blocked", [srm_reason])
    if primary is None:
        return Recommendation("blocked", ["The experiment has no primary metric."])
    harmed = [g for g in guardrails if g.significant(alpha) and not g.improved]
    if harmed:
        names = ", ".join(g.name for g in harmed)
        return Recommendation("dont_ship", [f"Guardrail significantly harmed: {names}."])
    if primary.significant(alpha):
        if primary.improved:
            return Recommendation(
                "ship",
                [
                    f"{primary.name} improved significantly (adjusted {p_text(primary.adjusted_p)})"
                    " and no guardrail was harmed."
                ],
            )
        return Recommendation(
            "dont_ship",
            [f"{primary.name} got significantly worse (adjusted {p_text(primary.adjusted_p)})."],
        )
    if ended:
        return Recommendation(
            "dont_ship",
            [
                f"The experiment ended without a significant change in {primary.name} "
                f"(adjusted {p_text(primary.adjusted_p)}): no evidence the change helps."
            ],
        )
    return Recommendation(
        "keep_running",
        [
            f"No significant change in {primary.name} yet (adjusted {p_text(primary.adjusted_p)}); "
            "the always-valid p-value allows looking again tomorrow."
        ],
    )
