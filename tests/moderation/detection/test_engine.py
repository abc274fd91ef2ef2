"""The policy engine: each rule's thresholds, on-match outcomes and overrides."""

from __future__ import annotations

import pytest

from apps.moderation.detection.engine import Match, Rule, Signal, evaluate
from apps.moderation.detection.models import Outcome
from apps.moderation.policies import Policy

RULES: dict[str, Rule] = {
    Policy.NUDITY_SEXUAL: Rule(Policy.NUDITY_SEXUAL, block_at=0.9, review_at=0.7,
                               age_restrict_at=0.5, limit_reach_at=0.3,
                               on_match=Outcome.BLOCK),
    Policy.SPAM_SCAM: Rule(Policy.SPAM_SCAM, limit_reach_at=0.6, on_match=Outcome.LIMIT_REACH),
    Policy.COPYRIGHT: Rule(Policy.COPYRIGHT, on_match=Outcome.REVIEW),
    Policy.HATE_HARASSMENT: Rule(Policy.HATE_HARASSMENT, review_at=0.5, is_active=False),
}


@pytest.mark.parametrize(("score", "outcome"), [
    (0.95, Outcome.BLOCK), (0.9, Outcome.BLOCK), (0.75, Outcome.REVIEW),
    (0.55, Outcome.AGE_RESTRICT), (0.35, Outcome.LIMIT_REACH), (0.1, Outcome.ALLOW),
])
def test_each_threshold_of_a_rule_gives_its_outcome(score, outcome):
    verdict = evaluate([Signal(Policy.NUDITY_SEXUAL, "nudity", score)], [], RULES)
    assert verdict.outcome == outcome
    assert verdict.policy == ("" if outcome == Outcome.ALLOW else Policy.NUDITY_SEXUAL)


def test_a_match_takes_the_rules_on_match_outcome_unless_its_list_overrides_it():
    assert evaluate([], [Match(Policy.COPYRIGHT, "audio_claim")], RULES).outcome \
        == Outcome.REVIEW
    assert evaluate([], [Match(Policy.COPYRIGHT, "audio_claim", Outcome.BLOCK)],
                    RULES).outcome == Outcome.BLOCK


def test_the_most_severe_decision_wins_and_every_lesser_action_is_kept():
    verdict = evaluate(
        [Signal(Policy.NUDITY_SEXUAL, "nudity", 0.55), Signal(Policy.SPAM_SCAM, "spam", 0.7)],
        [], RULES)
    assert verdict.outcome == Outcome.AGE_RESTRICT
    assert verdict.actions == {Outcome.AGE_RESTRICT, Outcome.LIMIT_REACH}
    blocked = evaluate([Signal(Policy.SPAM_SCAM, "spam", 0.7)],
                       [Match(Policy.NUDITY_SEXUAL, "pdq")], RULES)
    assert (blocked.outcome, blocked.policy) == (Outcome.BLOCK, Policy.NUDITY_SEXUAL)


def test_an_inactive_rule_decides_nothing_and_an_unknown_policy_falls_back_to_defaults():
    assert evaluate([Signal(Policy.HATE_HARASSMENT, "abuse_classifier", 1.0)], [],
                    RULES).outcome == Outcome.ALLOW
    # no row for minor safety in RULES: the built-in default blocks a match
    assert evaluate([], [Match(Policy.MINOR_SAFETY, "pdq")], RULES).outcome == Outcome.BLOCK
    # a policy with no rule and no default: a match goes to review, a score does nothing
    assert evaluate([], [Match(Policy.IMPERSONATION, "terms")], {}).outcome == Outcome.REVIEW
    assert evaluate([Signal(Policy.IMPERSONATION, "x", 1.0)], [], {}).outcome == Outcome.ALLOW
