"""The policy taxonomy: one list of rules that reports, automated detection, decisions,
notices and the community-guidelines pages all use (the guidelines page for a policy is
found by its slug)."""

from __future__ import annotations

from django.db import models


class Policy(models.TextChoices):
    NUDITY_SEXUAL = "nudity_sexual", "Nudity and sexual content"
    MINOR_SAFETY = "minor_safety", "Minor safety"
    VIOLENCE_GRAPHIC = "violence_graphic", "Violent and graphic content"
    HATE_HARASSMENT = "hate_harassment", "Hate speech and harassment"
    SELF_HARM = "self_harm", "Suicide, self-harm and dangerous acts"
    SPAM_SCAM = "spam_scam", "Spam, scams and fake engagement"
    ILLEGAL_GOODS = "illegal_goods", "Illegal activities and regulated goods"
    MISINFORMATION = "misinformation", "Harmful misinformation"
    COPYRIGHT = "copyright", "Intellectual property"
    IMPERSONATION = "impersonation", "Impersonation"
    # branded content posted without its "Paid partnership" label; moderators add the label
    # (content.services.branding, source "moderator") or act under the policy
    UNDISCLOSED_PROMOTION = "undisclosed_promotion", "Undisclosed paid promotion"
    OTHER = "other", "Something else"


# Strikes under these policies are severe: while one is in force the account is not paid
# out (apps.monetization's payout eligibility asks `selectors.has_active_severe_strike`).
# Harm to minors, violence, hate, crime, and fraud (fake engagement buys gifts and views).
SEVERE_POLICIES = frozenset({Policy.MINOR_SAFETY, Policy.VIOLENCE_GRAPHIC,
                             Policy.HATE_HARASSMENT, Policy.ILLEGAL_GOODS, Policy.SPAM_SCAM})
