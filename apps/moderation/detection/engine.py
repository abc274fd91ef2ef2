"""The policy engine: scores and matches in, one outcome out, under the thresholds staff
edit (`PolicyRule`). Pure: the caller loads the rules and applies the outcome."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from apps.moderation.detection.models import SEVERITY, Outcome
from apps.moderation.policies import Policy


@dataclass(frozen=True)
class Rule:
    policy: str
    block_at: float | None = None
    review_at: float | None = None
    age_restrict_at: float | None = None
    limit_reach_at: float | None = None
    on_match: str = Outcome.REVIEW
    is_active: bool = True


# What the engine does for a policy with no row yet (the data migration seeds the same).
DEFAULT_RULES: dict[str, Rule] = {
    Policy.NUDITY_SEXUAL: Rule(Policy.NUDITY_SEXUAL, block_at=0.85, review_at=0.6,
                               age_restrict_at=0.45, on_match=Outcome.BLOCK),
    Policy.HATE_HARASSMENT: Rule(Policy.HATE_HARASSMENT, review_at=0.97, limit_reach_at=0.85,
                                 on_match=Outcome.REVIEW),
    Policy.SPAM_SCAM: Rule(Policy.SPAM_SCAM, review_at=0.9, limit_reach_at=0.6,
                           on_match=Outcome.LIMIT_REACH),
    Policy.MINOR_SAFETY: Rule(Policy.MINOR_SAFETY, on_match=Outcome.BLOCK),
    Policy.VIOLENCE_GRAPHIC: Rule(Policy.VIOLENCE_GRAPHIC, on_match=Outcome.BLOCK),
    Policy.COPYRIGHT: Rule(Policy.COPYRIGHT, on_match=Outcome.REVIEW),
}


def rule_for(policy: str, rules: dict[str, Rule]) -> Rule:
    return rules.get(policy) or DEFAULT_RULES.get(policy) or Rule(policy)


@dataclass(frozen=True)
class Signal:
    """A score (0..1) one detector gives under one policy."""

    policy: str
    source: str  # nudity, abuse_classifier, spam, text_head:<category>
    score: float
    # Thresholds of this signal's own (a text head on one surface: `SurfaceThreshold`);
    # None = the policy's rule. The policy's rule being inactive still silences it.
    rule: Rule | None = None


@dataclass(frozen=True)
class Match:
    """A hit against a list: a PDQ hash list, a term list, a rights claim or the catalogue."""

    policy: str
    source: str  # pdq, terms, audio_claim, audio_catalogue
    outcome: str = ""  # the list's own outcome; "" = the rule's on_match
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    policy: str
    source: str
    outcome: str
    why: str


@dataclass(frozen=True)
class Verdict:
    outcome: str
    policy: str  # the policy of the most severe decision ("" when allowed)
    decisions: list[Decision]

    @property
    def actions(self) -> set[str]:
        """Every outcome that applies (e.g. age-restrict *and* limit reach)."""
        return {d.outcome for d in self.decisions} - {Outcome.ALLOW}

    def as_json(self) -> list[dict[str, Any]]:
        return [asdict(d) for d in self.decisions]


def _score_outcome(rule: Rule, score: float) -> tuple[str, str]:
    for outcome, threshold in ((Outcome.BLOCK, rule.block_at), (Outcome.REVIEW, rule.review_at),
                               (Outcome.AGE_RESTRICT, rule.age_restrict_at),
                               (Outcome.LIMIT_REACH, rule.limit_reach_at)):
        if threshold is not None and score >= threshold:
            return outcome, f"score {score:.4f} >= {outcome} threshold {threshold:g}"
    return Outcome.ALLOW, f"score {score:.4f} below every threshold"


def evaluate(signals: list[Signal], matches: list[Match], rules: dict[str, Rule]) -> Verdict:
    decisions: list[Decision] = []
    for signal in signals:
        rule = rule_for(signal.policy, rules)
        if not rule.is_active:
            continue
        outcome, why = _score_outcome(signal.rule or rule, signal.score)
        decisions.append(Decision(signal.policy, signal.source, outcome, why))
    for match in matches:
        rule = rule_for(match.policy, rules)
        if not rule.is_active:
            continue
        outcome = match.outcome or rule.on_match
        decisions.append(Decision(match.policy, match.source, outcome,
                                  f"{match.source} match ({outcome})"))
    worst = max(decisions, key=lambda d: SEVERITY[d.outcome], default=None)
    if worst is None or worst.outcome == Outcome.ALLOW:
        return Verdict(Outcome.ALLOW, "", decisions)
    return Verdict(worst.outcome, worst.policy, decisions)
