"""Live streams: the creator's stream key, the live itself (its state machine, audience,
chat settings and the stats kept at its end), and the chat's messages and moderation.

- `StreamKey`: what OBS or a phone encoder sends. Only its SHA-256 is stored (shown once,
  at creation or rotation); at most one unrevoked key per creator.
- `LiveStream`: one broadcast. `created` (set up, waiting for media) -> `live` (media
  arrives) <-> `reconnecting` (the connection dropped; media back within the window
  continues the same live) -> `ended`. At most one unended live per host.
- `LiveChatMessage`: a chat message; hidden ones (term lists, classifier, a moderator)
  are kept, for reports and the chat around them, and never shown to others.
- `LiveModerator`: someone the host named to moderate their lives' chats.
- `LiveMute`: a viewer muted in one live until a time (5 or 30 minutes).
- `LiveBan`: a viewer banned from a host's lives (chat and watching).
- `LivePolicy`: who may go live (age, account age, followers), staff-configurable.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from apps.core.models import SnowflakeModel
from apps.live.storage import cover_storage

CHAT_MAX_CHARS_CEILING = 1000  # what LivePolicy.chat_max_chars may be raised to


class StreamKey(SnowflakeModel):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")
    key_hash = models.CharField(max_length=64, unique=True)  # sha256 hex of the whole key
    prefix = models.CharField(max_length=16)  # shown in settings: "live_3fa9…"
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user"], condition=Q(revoked_at__isnull=True),
                                    name="live_one_active_key_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.prefix}… ({'revoked' if self.revoked_at else 'active'})"


class LiveStream(SnowflakeModel):
    class State(models.TextChoices):
        CREATED = "created", "Waiting for your encoder"
        LIVE = "live", "Live"
        RECONNECTING = "reconnecting", "Reconnecting"
        ENDED = "ended", "Ended"

    class Audience(models.TextChoices):
        EVERYONE = "everyone", "Everyone"
        FOLLOWERS = "followers", "Followers"

    class EndReason(models.TextChoices):
        HOST = "host", "Ended by the host"
        DISCONNECTED = "disconnected", "The encoder did not come back"
        NEVER_STARTED = "never_started", "No video arrived"
        MODERATOR = "moderator", "Ended by a moderator"
        KEY_REVOKED = "key_revoked", "The stream key was revoked"
        ERROR = "error", "A processing error"

    host = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")
    key = models.ForeignKey(StreamKey, on_delete=models.SET_NULL, null=True, blank=True,
                            related_name="+")
    title = models.CharField(max_length=100)
    # private storage, served through the visibility rule (`playback.cover`), never MEDIA_URL
    cover = models.ImageField(upload_to="live/covers/", storage=cover_storage, blank=True)
    audience = models.CharField(max_length=16, choices=Audience.choices,
                                default=Audience.EVERYONE)
    state = models.CharField(max_length=16, choices=State.choices, default=State.CREATED)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    disconnected_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=16, choices=EndReason.choices, blank=True)
    # the ingest connection now publishing ("rtmp:<clientid>", "srt:<port>"): a second
    # publisher on a key that is live is refused while it is set
    publisher = models.CharField(max_length=64, blank=True)
    protocol = models.CharField(max_length=8, blank=True)  # rtmp | srt
    # chat settings (host and their moderators change them during the live)
    slow_mode_seconds = models.PositiveIntegerField(default=0)
    followers_only_chat = models.BooleanField(default=False)
    links_allowed = models.BooleanField(default=False)
    pinned_message = models.ForeignKey("LiveChatMessage", on_delete=models.SET_NULL,
                                       null=True, blank=True, related_name="+")
    # after the live: the replay (a post made through the VOD pipeline) and the stats
    save_replay = models.BooleanField(default=False)
    replay_post = models.ForeignKey("content.Post", on_delete=models.SET_NULL, null=True,
                                    blank=True, related_name="+")
    peak_viewers = models.PositiveIntegerField(default=0)
    unique_viewers = models.PositiveIntegerField(default=0)
    watch_seconds = models.BigIntegerField(default=0)
    likes = models.BigIntegerField(default=0)
    gift_coins = models.BigIntegerField(default=0)
    new_followers = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["host"], condition=~Q(state="ended"),
                                    name="live_one_unended_per_host"),
        ]
        indexes = [models.Index(fields=["state", "-started_at"], name="live_state_started")]

    def __str__(self) -> str:
        return f"{self.title} ({self.state})"

    @property
    def is_on_air(self) -> bool:
        return self.state in (self.State.LIVE, self.State.RECONNECTING)


class LiveChatMessage(SnowflakeModel):
    class Hidden(models.TextChoices):
        SHOWN = "", "Shown"
        FILTERED = "filtered", "A keyword filter"
        CLASSIFIER = "classifier", "The text classifier"
        DELETED = "deleted", "Deleted by the host or a moderator"
        REMOVED = "removed", "Removed by trust and safety"

    live = models.ForeignKey(LiveStream, on_delete=models.CASCADE, related_name="+")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                               related_name="+")
    # the column's ceiling; the length allowed is LivePolicy.chat_max_chars (chat/limits.py)
    text = models.CharField(max_length=CHAT_MAX_CHARS_CEILING)
    created_at = models.DateTimeField(auto_now_add=True)
    hidden = models.CharField(max_length=16, choices=Hidden.choices, blank=True, default="")
    hidden_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                  null=True, blank=True, related_name="+")

    class Meta:
        indexes = [models.Index(fields=["live", "id"], name="live_chat_live_id")]

    def __str__(self) -> str:
        return self.text[:40]


class LiveModerator(SnowflakeModel):
    host = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["host", "user"],
                                               name="live_moderator_once")]


class LiveMute(SnowflakeModel):
    live = models.ForeignKey(LiveStream, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")
    until = models.DateTimeField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                           related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["live", "user", "-until"], name="live_mute_lookup")]


class LiveBan(SnowflakeModel):
    host = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                           related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["host", "user"], name="live_ban_once")]


class LivePolicy(models.Model):
    """Who may go live (the staff-configurable part of `live.eligibility`) and the chat's
    limits (`live.chat.limits`, which every chat check reads): one row, edited in the admin
    (audited); `LivePolicy.current()` makes it with the defaults."""

    min_age = models.PositiveSmallIntegerField(default=18)
    min_account_days = models.PositiveIntegerField(default=7)
    min_followers = models.PositiveIntegerField(default=50)
    reconnect_window_seconds = models.PositiveIntegerField(default=30)
    # --- the chat's limits (the host and their moderators skip slow mode; the host also
    # skips the rate limits; see chat.services.chat_post)
    chat_max_chars = models.PositiveSmallIntegerField(
        "chat message length", default=200,
        validators=[MinValueValidator(1), MaxValueValidator(CHAT_MAX_CHARS_CEILING)],
        help_text=f"Characters in one chat message (at most {CHAT_MAX_CHARS_CEILING}).")
    chat_burst_messages = models.PositiveSmallIntegerField(
        "burst: messages", default=5, validators=[MinValueValidator(1)],
        help_text="Messages one person may send in a live within the burst window.")
    chat_burst_seconds = models.PositiveSmallIntegerField(
        "burst: window (s)", default=10, validators=[MinValueValidator(1),
                                                     MaxValueValidator(3600)])
    chat_sustained_messages = models.PositiveSmallIntegerField(
        "sustained: messages", default=20, validators=[MinValueValidator(1)],
        help_text="Messages one person may send in a live within the sustained window.")
    chat_sustained_seconds = models.PositiveSmallIntegerField(
        "sustained: window (s)", default=60, validators=[MinValueValidator(1),
                                                         MaxValueValidator(3600)])
    chat_slow_mode_max_seconds = models.PositiveSmallIntegerField(
        "longest slow mode (s)", default=120, validators=[MaxValueValidator(600)],
        help_text="The longest slow mode a host may choose (the steps are 3, 5, 10, 30, "
                  "60, 120, 300 and 600 seconds).")
    chat_mute_short_minutes = models.PositiveSmallIntegerField(
        "short mute (min)", default=5, validators=[MinValueValidator(1),
                                                   MaxValueValidator(24 * 60)])
    chat_mute_long_minutes = models.PositiveSmallIntegerField(
        "long mute (min)", default=30, validators=[MinValueValidator(1),
                                                   MaxValueValidator(24 * 60)])
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "live policy"

    def __str__(self) -> str:
        return "Live policy"

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        from apps.live.chat import standing

        standing.bump_on_commit(policy=True)  # sockets read the limits again

    @classmethod
    def current(cls) -> LivePolicy:
        policy, _ = cls.objects.get_or_create(pk=1)
        return policy
