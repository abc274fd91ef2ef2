"""Automated detection's data: what staff configure (policy rules, hash lists, term lists,
rights holders' claims, matching settings), the per-upload gate state, the stored features
of each scanned upload (so a list or threshold change re-evaluates without re-decoding),
and a record of every scan (the evidence a moderator sees).

Targets are (`target_type`, `target_id`) like the cases of `apps.moderation`: a scan record
outlives the content it is about.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from apps.core.models import SnowflakeModel, TimestampedModel
from apps.moderation.policies import Policy


class Outcome(models.TextChoices):
    """What detection decides, least to most severe (see `SEVERITY`)."""

    ALLOW = "allow", "Allow"
    LIMIT_REACH = "limit_reach", "Limit reach (never in For You)"
    AGE_RESTRICT = "age_restrict", "Age-restrict"
    REVIEW = "review", "Queue for human review"
    BLOCK = "block", "Block before publish"


SEVERITY: dict[str, int] = {
    Outcome.ALLOW: 0, Outcome.LIMIT_REACH: 1, Outcome.AGE_RESTRICT: 2, Outcome.REVIEW: 3,
    Outcome.BLOCK: 4,
}


class PolicyRule(TimestampedModel):
    """Per policy: the score thresholds at which each outcome applies (empty = never), and
    what a hash or fingerprint match of this policy does. A score at or above several
    thresholds takes the most severe outcome."""

    policy = models.CharField(max_length=32, choices=Policy.choices, unique=True)
    block_at = models.FloatField(null=True, blank=True)
    review_at = models.FloatField(null=True, blank=True)
    age_restrict_at = models.FloatField(null=True, blank=True)
    limit_reach_at = models.FloatField(null=True, blank=True)
    on_match = models.CharField(
        max_length=16, choices=Outcome.choices, default=Outcome.REVIEW,
        help_text="Outcome of a hash-list, term-list or audio match under this policy "
                  "(a list or claim may override it).")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["policy"]

    def __str__(self) -> str:
        return f"rule for {self.policy}"


class DetectionSettings(models.Model):
    """One row (pk=1): matching parameters that are not per policy."""

    audio_max_ber = models.FloatField(
        default=0.2, help_text="An audio fingerprint matches at or below this bit error "
                               "rate over its best alignment (unrelated audio is near 0.5).")
    audio_min_overlap_s = models.FloatField(
        default=2.0, help_text="The shortest aligned stretch that counts as a match.")
    pdq_min_quality = models.PositiveSmallIntegerField(
        default=50, help_text="Frames whose PDQ quality is lower (flat, featureless) are "
                              "not matched.")
    spam_window_hours = models.PositiveIntegerField(default=24)
    new_account_hours = models.PositiveIntegerField(default=48)
    new_account_max_items_per_hour = models.PositiveIntegerField(
        default=30, help_text="Posts and comments an hour a new account may make before "
                              "velocity counts as a spam signal (three times this is 1.0).")

    class Meta:
        verbose_name_plural = "detection settings"

    def __str__(self) -> str:
        return "detection settings"


class HashList(TimestampedModel):
    """A list of PDQ hashes (e.g. from an industry programme) under one policy."""

    name = models.SlugField(max_length=64, unique=True)
    policy = models.CharField(max_length=32, choices=Policy.choices)
    description = models.TextField(blank=True)
    max_distance = models.PositiveSmallIntegerField(
        default=31, help_text="Hamming distance (of 256 bits) at or below which a frame "
                              "matches.")
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True,
                               help_text="Empty: the policy rule's on-match outcome.")
    is_active = models.BooleanField(default=True)

    def __str__(self) -> str:
        return self.name


class HashEntry(SnowflakeModel):
    hash_list = models.ForeignKey(HashList, on_delete=models.CASCADE, related_name="entries")
    pdq = models.CharField(max_length=64)  # 256 bits, hex
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "hash entries"
        constraints = [
            models.UniqueConstraint(fields=["hash_list", "pdq"], name="hash_entry_unique"),
        ]


class TermList(TimestampedModel):
    """Staff-edited words and phrases, one a line, for one language ("" = every language).
    Matching folds case, accents, look-alike letters, leetspeak, letter stretching and
    spaced-out letters. A list's `purpose` says what matches do: detection scans texts
    against "detection" lists only; a search query matching a "search_blocked" list gets a
    safety notice instead of results (`selectors.search_blocked_term`)."""

    class Purpose(models.TextChoices):
        DETECTION = "detection", "Detection (scan posts, comments, profiles)"
        SEARCH_BLOCKED = "search_blocked", "Blocked search terms (safety notice, no results)"

    name = models.CharField(max_length=100)
    purpose = models.CharField(max_length=16, choices=Purpose.choices,
                               default=Purpose.DETECTION, db_index=True)
    language = models.CharField(max_length=16, blank=True, db_index=True)
    policy = models.CharField(max_length=32, choices=Policy.choices)
    terms = models.TextField(help_text="One term or phrase a line.")
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True,
                               help_text="Empty: the policy rule's on-match outcome.")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["language", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.language or 'all'})"


class RightsClaim(TimestampedModel):
    """A rights holder's claim on a recording: a catalogue sound, or a reference file whose
    fingerprint is computed on save."""

    claimant = models.CharField(max_length=200)
    sound = models.ForeignKey("content.Sound", null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    reference = models.FileField(upload_to="moderation/claims/", blank=True)
    fingerprint = models.BinaryField(blank=True, default=b"", editable=False)
    policy = models.CharField(max_length=32, choices=Policy.choices,
                              default=Policy.COPYRIGHT)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True,
                               help_text="Empty: the policy rule's on-match outcome.")
    is_active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=~Q(sound=None) | ~Q(reference=""),
                                   name="claim_has_sound_or_reference"),
        ]

    def __str__(self) -> str:
        return f"claim by {self.claimant}"


class SoundFingerprint(TimestampedModel):
    """Chromaprint fingerprint of a catalogue sound's audio file (kept in step with the file
    by its name)."""

    sound = models.OneToOneField("content.Sound", on_delete=models.CASCADE,
                                 related_name="+")
    source_name = models.CharField(max_length=300)
    fingerprint = models.BinaryField()


class AssetCheck(TimestampedModel):
    """The pre-publish gate of one upload, and the features its scan extracted (frame PDQ
    hashes, per-frame nudity scores, audio fingerprint) for re-evaluation. `signals` and
    `matches` are the asset's findings as the policy engine takes them; `outcome` is the
    asset's own verdict (a post's adds its caption and its licensed sound)."""

    class State(models.TextChoices):
        PENDING = "pending"  # waiting for the frames/audio steps or a worker
        RUNNING = "running"
        DONE = "done"        # features and verdict stored; each post's verdict adds its text
        FAILED = "failed"    # the scan kept failing: a moderator decides (a case is open)

    asset = models.OneToOneField("media.MediaAsset", on_delete=models.CASCADE,
                                 related_name="moderation_check")
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True)
    policy = models.CharField(max_length=32, blank=True)
    decisions = models.JSONField(default=list, blank=True)
    signals = models.JSONField(default=list, blank=True)
    matches = models.JSONField(default=list, blank=True)
    last_scan = models.ForeignKey("Scan", null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    features = models.JSONField(default=dict, blank=True)
    audio_fingerprint = models.BinaryField(blank=True, default=b"")
    decided_at = models.DateTimeField(null=True, blank=True)
    manual_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        indexes = [models.Index(fields=["state", "updated_at"], name="assetcheck_state")]

    def __str__(self) -> str:
        return f"check of asset {self.asset_id}: {self.state}"


class Scan(SnowflakeModel):
    """One scan of one target: what ran (model versions), what it found (scores, matches),
    what the policy engine decided, and how long each part took."""

    class Kind(models.TextChoices):
        MEDIA = "media"
        TEXT = "text"

    class Trigger(models.TextChoices):
        UPLOAD = "upload"
        PUBLISH = "publish"
        COMMENT = "comment"
        PROFILE = "profile"
        RESCAN = "rescan"

    target_type = models.CharField(max_length=8)  # asset, post, comment, user
    target_id = models.BigIntegerField()
    kind = models.CharField(max_length=8, choices=Kind.choices)
    trigger = models.CharField(max_length=8, choices=Trigger.choices)
    field = models.CharField(max_length=32, blank=True)  # caption, text, bio, username
    digest = models.CharField(max_length=64, blank=True)  # sha256 of the scanned text
    ok = models.BooleanField(default=True)
    error = models.TextField(blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True)
    policy = models.CharField(max_length=32, blank=True)
    decisions = models.JSONField(default=list, blank=True)
    scores = models.JSONField(default=dict, blank=True)
    matches = models.JSONField(default=list, blank=True)
    model_versions = models.JSONField(default=dict, blank=True)
    timings_ms = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["target_type", "target_id", "-id"],
                                name="scan_target")]

    def __str__(self) -> str:
        return f"{self.kind} scan of {self.target_type} {self.target_id}: {self.outcome}"
