"""Posts, hashtags, mentions and sounds.

`Post` is the contract other apps (engagement, comments, feed, moderation) build on: its
field names stay. Counters on `Post` are owned by engagement and comments; `posts_count`
on `Hashtag` and `Sound` is owned by `apps.content.services` and counts *published* posts,
moving with F() in the transaction that publishes, unpublishes or re-tags a post
(`manage.py content_recount` rebuilds them from the rows).
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from apps.core.models import SnowflakeModel, TimestampedModel

CAPTION_MAX_LENGTH = 2200
HASHTAG_MAX_LENGTH = 100


class Sound(TimestampedModel):
    """A sound a post plays: an upload's own audio ("original sound") or a licensed track
    from the library that staff manage in the admin. A sound that is taken down or whose
    licence lapsed is not usable by new posts and is muted where it already plays."""

    class Kind(models.TextChoices):
        ORIGINAL = "original"
        LIBRARY = "library"

    class Use(models.TextChoices):
        POSTS = "posts"
        ADS = "ads"
        LIVE = "live"

    kind = models.CharField(max_length=8, choices=Kind.choices)
    title = models.CharField(max_length=200)
    artist = models.CharField(max_length=200, blank=True)
    cover = models.ImageField(upload_to="sounds/covers/", blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    # Original sounds: the upload they come from (the audio is extracted by media later).
    source_asset = models.ForeignKey(
        "media.MediaAsset", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="sounds",
    )
    # Library sounds: the licensed audio file.
    audio_file = models.FileField(upload_to="sounds/audio/", blank=True)
    original_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
        related_name="original_sounds",
    )
    allow_reuse = models.BooleanField(
        default=True, help_text="Original sounds: other people may use this sound."
    )
    rights_holder = models.CharField(max_length=200, blank=True)
    territories = models.JSONField(
        default=list, blank=True,
        help_text='ISO 3166 country codes where the licence holds, e.g. ["US", "GB"]; '
                  "empty means worldwide.",
    )
    allowed_uses = models.JSONField(
        default=list, blank=True,
        help_text='Uses the licence allows: any of "posts", "ads", "live"; empty means all.',
    )
    licence_expires_at = models.DateTimeField(null=True, blank=True)
    is_taken_down = models.BooleanField(default=False)
    # When the sound stopped being usable (take-down, or the beat task that notices a lapsed
    # licence); cleared when it is usable again. Reads decide with `is_usable`, which needs
    # no task: this records the moment and lets staff list muted sounds.
    muted_at = models.DateTimeField(null=True, blank=True, editable=False)
    posts_count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="library") | Q(original_owner__isnull=False),
                name="content_sound_original_has_owner",
            ),
        ]
        indexes = [
            # The muted-sounds sweep reads these few rows, not every original sound.
            models.Index(fields=["licence_expires_at"], name="content_sound_may_lapse",
                         condition=Q(is_taken_down=True) | Q(licence_expires_at__isnull=False)),
            models.Index(fields=["muted_at"], name="content_sound_muted",
                         condition=Q(muted_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.kind})"

    def is_usable(self, *, now: datetime | None = None) -> bool:
        moment = now or timezone.now()
        if self.is_taken_down:
            return False
        return self.licence_expires_at is None or self.licence_expires_at > moment

    def muted_reason(self, country: str | None, *, now: datetime | None = None) -> str | None:
        """Why a viewer in `country` (None: unknown) must hear this post without the sound:
        "taken_down", "licence_expired", "territory", or None when it may play."""
        if self.is_taken_down:
            return "taken_down"
        if not self.is_usable(now=now):
            return "licence_expired"
        if not self.is_available_in(country):
            return "territory"
        return None

    def allows_use(self, use: str) -> bool:
        return not self.allowed_uses or use in self.allowed_uses

    def is_available_in(self, country: str | None) -> bool:
        """Whether the licence covers a country (ISO 3166 alpha-2). An unknown country is
        covered only by a worldwide licence."""
        if not self.territories:
            return True
        return bool(country) and str(country).upper() in self.territories

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if not isinstance(self.territories, list) or not all(
            isinstance(code, str) and len(code) == 2 and code.isascii() and code.isupper()
            for code in self.territories
        ):
            errors["territories"] = 'A list of ISO 3166 alpha-2 codes, e.g. ["US", "GB"].'
        uses = set(self.Use.values)
        if not isinstance(self.allowed_uses, list) or not all(
            isinstance(use, str) and use in uses for use in self.allowed_uses
        ):
            errors["allowed_uses"] = f"A list drawn from {sorted(uses)}."
        if self.kind == self.Kind.ORIGINAL and self.original_owner_id is None:
            errors["original_owner"] = "An original sound has an owner."
        if errors:
            raise ValidationError(errors)


class Post(TimestampedModel):
    """A video post. The media lives in `media.MediaAsset`; counters are owned by the
    engagement and comments services and only move with F() (or the Redis flush)."""

    class Visibility(models.TextChoices):
        PUBLIC = "public"
        FRIENDS = "friends"
        PRIVATE = "private"
        SUBSCRIBERS = "subscribers"  # the author's paying subscribers (social.Membership)

    class Status(models.TextChoices):
        DRAFT = "draft"
        SCHEDULED = "scheduled"
        PROCESSING = "processing"  # publish requested, waiting for the media to be playable
        REVIEWING = "reviewing"  # playable, held by a publish gate (moderation's checks)
        PUBLISHED = "published"
        REMOVED = "removed"

    class CommentPolicy(models.TextChoices):
        EVERYONE = "everyone"
        FRIENDS = "friends"
        OFF = "off"

    class SoundMix(models.TextChoices):
        """What the pipeline does with the upload's own audio under a chosen sound."""

        KEEP = "keep"
        DUCK = "duck"
        MUTE = "mute"

    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="posts"
    )
    asset = models.ForeignKey(
        "media.MediaAsset", on_delete=models.PROTECT, related_name="posts"
    )
    caption = models.CharField(max_length=CAPTION_MAX_LENGTH, blank=True)
    # Hashtags and mentions found in the caption, as rendered to clients (see services).
    caption_entities = models.JSONField(default=list, blank=True)
    language = models.CharField(max_length=16, blank=True)
    visibility = models.CharField(
        max_length=12, choices=Visibility.choices, default=Visibility.PUBLIC
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    comment_policy = models.CharField(
        max_length=8, choices=CommentPolicy.choices, default=CommentPolicy.EVERYONE
    )
    allow_duet = models.BooleanField(default=True)
    allow_stitch = models.BooleanField(default=True)
    allow_download = models.BooleanField(default=True)
    scheduled_for = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    pinned_at = models.DateTimeField(null=True, blank=True)
    cover_time_ms = models.PositiveIntegerField(
        null=True, blank=True, help_text="The frame the creator picked as the cover."
    )
    # The sound the post plays and credits; its own upload's audio is `original_sound`.
    sound = models.ForeignKey(
        Sound, null=True, blank=True, on_delete=models.SET_NULL, related_name="posts"
    )
    original_sound = models.ForeignKey(
        Sound, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sound_mix = models.CharField(max_length=4, choices=SoundMix.choices, default=SoundMix.KEEP)

    class DerivedKind(models.TextChoices):
        NONE = ""
        DUET = "duet"
        STITCH = "stitch"

    # A duet or stitch credits the post it borrows from ("Duet with @x"): set by the
    # studio when the post is published (`services.post_set_derived`), cleared when the
    # borrowed part is taken out of it (`post_clear_derived`); gone with the original.
    derived_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="derived_posts")
    derived_kind = models.CharField(max_length=6, choices=DerivedKind.choices, blank=True,
                                    default=DerivedKind.NONE)
    # Set by moderation's enforcement service only; read through moderation.audience.
    age_restricted = models.BooleanField(
        default=False, help_text="Never shown to minors or signed-out viewers.")
    limited_reach = models.BooleanField(
        default=False, help_text="Never recommended in For You; reachable by link and profile.")
    # Branded content ("Paid partnership with @<branded_partner>"): set by the author's
    # toggle, by the marketplace when a deal's post is published, or by a moderator, only
    # through `services.branding.post_set_branded`. `branded_category` is an ads restricted
    # category (alcohol, gambling...): such a post is age-restricted with it (audience.py).
    branded_partner = models.CharField(max_length=100, blank=True, default="")
    branded_source = models.CharField(max_length=12, blank=True, default="")
    branded_category = models.CharField(max_length=16, blank=True, default="")
    # Part of the post's public media URLs (media's public grant). Moves whenever who may
    # watch the post anonymously may have changed (visibility, removal, moderation flags,
    # the author's privacy), so URLs a CDN cached while the post was public are never
    # handed out again and answer 404 at the origin (`services.post_public_media_changed`).
    public_version = models.PositiveIntegerField(default=1, editable=False)
    # The client's Idempotency-Key of the request that created it (apps.core.idempotency):
    # a retry with the same key returns this post instead of a 409 "already posted".
    idempotency_key = models.CharField(max_length=64, null=True, blank=True, editable=False)
    likes_count = models.PositiveIntegerField(default=0)
    comments_count = models.PositiveIntegerField(default=0)
    shares_count = models.PositiveIntegerField(default=0)
    views_count = models.PositiveBigIntegerField(default=0)
    favourites_count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            # One post per upload: a double-submitted create cannot make two posts.
            models.UniqueConstraint(fields=["asset"], name="content_post_asset_unique"),
            models.UniqueConstraint(fields=["author", "idempotency_key"],
                                    condition=models.Q(idempotency_key__isnull=False),
                                    name="content_post_author_idempotency_key"),
        ]
        indexes = [
            models.Index(fields=["author", "-id"], name="content_post_author_recent"),
            models.Index(
                fields=["scheduled_for"],
                name="content_post_due",
                condition=models.Q(status="scheduled"),
            ),
            models.Index(
                fields=["author"], name="content_post_pinned",
                condition=models.Q(pinned_at__isnull=False),
            ),
            models.Index(fields=["sound", "-id"], name="content_post_sound_recent"),
        ]

    def __str__(self) -> str:
        return f"post {self.pk} by {self.author_id}"

    @property
    def upload_problem(self) -> str | None:
        """Why this post's upload can never be published, in words for its author (media
        refused the file, processing gave up, or the upload was cancelled or abandoned);
        None when nothing stands in the way or the post is already out. The publish check
        (`services`), the API and the web page all read it here."""
        if self.status in (self.Status.PUBLISHED, self.Status.REMOVED):
            return None
        asset = self.asset
        reason = asset.state_reason or "no reason was recorded."
        if asset.state == asset.State.REJECTED:
            return f"The video file was refused: {reason}"
        if asset.state == asset.State.FAILED:
            if asset.uploaded_at is None:
                return f"The upload did not finish: {reason}"
            return f"The video could not be processed: {reason}"
        return None


class Hashtag(SnowflakeModel):
    """A tag, unique without regard to case; `name` keeps the first spelling seen."""

    name = models.CharField(max_length=HASHTAG_MAX_LENGTH)
    posts_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("name"), name="content_hashtag_name_ci_unique"),
        ]

    def __str__(self) -> str:
        return f"#{self.name}"


class PostHashtag(models.Model):
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="post_hashtags",
                             db_index=False)
    hashtag = models.ForeignKey(Hashtag, on_delete=models.CASCADE, related_name="post_hashtags",
                                db_index=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["post", "hashtag"], name="content_posthashtag_unique"),
        ]
        indexes = [
            # A hashtag page: the tag's posts, newest first.
            models.Index(fields=["hashtag", "-post"], name="content_posthashtag_recent"),
        ]

    def __str__(self) -> str:
        return f"post {self.post_id} #{self.hashtag_id}"


class Mention(SnowflakeModel):
    """A user @mentioned in a caption (recorded for notifications to deliver)."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="mentions",
                             db_index=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="post_mentions", db_index=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["post", "user"], name="content_mention_unique"),
        ]
        indexes = [models.Index(fields=["user", "-id"], name="content_mention_user_recent")]

    def __str__(self) -> str:
        return f"@{self.user_id} in post {self.post_id}"
