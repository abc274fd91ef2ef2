"""Aggregates of the event stream in Postgres. Written only by `apps.analytics.services`
(the event-log consumer) with additive upserts; read by the feed (through selectors) and
creator analytics. Ids never reach clients, so these tables use plain bigint keys.

Counters are 64-bit: clients choose some of the magnitudes (rebuffers, loops), and an
overflow would make a log entry fail to apply.

Posts and users are referenced by id without foreign keys: events arrive for posts that may
be deleted later, and aggregates must not block (or cascade into) deleting a post."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models


class UserPostStats(models.Model):
    """What one signed-in user did with one post, over all time."""

    user_id = models.BigIntegerField()
    post_id = models.BigIntegerField()
    impressions = models.PositiveBigIntegerField(default=0)
    plays = models.PositiveBigIntegerField(default=0)
    watch_ms = models.BigIntegerField(default=0)
    # Furthest point reached in one play, as a fraction of the duration (capped at 1).
    max_completion = models.FloatField(default=0.0)
    loops = models.PositiveBigIntegerField(default=0)
    rewatches = models.PositiveBigIntegerField(default=0)
    completed = models.BooleanField(default=False)
    skipped = models.BooleanField(default=False)
    liked = models.BooleanField(default=False)
    shared = models.BooleanField(default=False)
    not_interested = models.BooleanField(default=False)
    last_event_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user_id", "post_id"], name="analytics_user_post"),
        ]
        indexes = [models.Index(fields=["user_id", "-last_event_at"],
                                name="analytics_ups_recent")]

    def __str__(self) -> str:
        return f"user {self.user_id} x post {self.post_id}"


class PostHourlyStats(models.Model):
    """One post's events in one UTC hour (bucketed by event time, clamped to receipt)."""

    post_id = models.BigIntegerField()
    hour = models.DateTimeField()
    impressions = models.PositiveBigIntegerField(default=0)
    plays = models.PositiveBigIntegerField(default=0)
    watch_ms = models.BigIntegerField(default=0)
    # Sum and count of per-play watch fractions (watch_end and skip): average watch %.
    watch_fraction_sum = models.FloatField(default=0.0)
    watch_fraction_count = models.PositiveBigIntegerField(default=0)
    completions = models.PositiveBigIntegerField(default=0)
    rewatches = models.PositiveBigIntegerField(default=0)
    skips = models.PositiveBigIntegerField(default=0)
    likes = models.PositiveBigIntegerField(default=0)
    comments = models.PositiveBigIntegerField(default=0)
    shares = models.PositiveBigIntegerField(default=0)
    favourites = models.PositiveBigIntegerField(default=0)
    follows = models.PositiveBigIntegerField(default=0)
    not_interested = models.PositiveBigIntegerField(default=0)
    reports = models.PositiveBigIntegerField(default=0)
    qoe_reports = models.PositiveBigIntegerField(default=0)
    ttff_ms_sum = models.BigIntegerField(default=0)
    ttff_count = models.PositiveBigIntegerField(default=0)
    rebuffer_count = models.PositiveBigIntegerField(default=0)
    rebuffer_ms = models.BigIntegerField(default=0)
    playback_errors = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["post_id", "hour"], name="analytics_post_hour"),
        ]
        indexes = [models.Index(fields=["hour"], name="analytics_phs_hour")]

    def __str__(self) -> str:
        return f"post {self.post_id} at {self.hour:%Y-%m-%d %H}:00"


class CreatorDailyStats(models.Model):
    """One creator's posts' events in one UTC day, plus follows attributed to them."""

    creator_id = models.BigIntegerField()
    day = models.DateField()
    impressions = models.PositiveBigIntegerField(default=0)
    views = models.PositiveBigIntegerField(default=0)  # plays (play_start)
    watch_ms = models.BigIntegerField(default=0)
    watch_fraction_sum = models.FloatField(default=0.0)
    watch_fraction_count = models.PositiveBigIntegerField(default=0)
    completions = models.PositiveBigIntegerField(default=0)
    likes = models.PositiveBigIntegerField(default=0)
    comments = models.PositiveBigIntegerField(default=0)
    shares = models.PositiveBigIntegerField(default=0)
    followers_gained = models.PositiveBigIntegerField(default=0)  # `follow` events
    followers_lost = models.PositiveBigIntegerField(default=0)  # `unfollow` events
    # Views by where the play started (play_start's `source`); views without one are the
    # rest of `views` ("not reported").
    views_for_you = models.PositiveBigIntegerField(default=0)
    views_following = models.PositiveBigIntegerField(default=0)
    views_profile = models.PositiveBigIntegerField(default=0)
    views_search = models.PositiveBigIntegerField(default=0)
    views_share = models.PositiveBigIntegerField(default=0)
    views_sound = models.PositiveBigIntegerField(default=0)
    views_hashtag = models.PositiveBigIntegerField(default=0)
    views_other = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["creator_id", "day"], name="analytics_creator_day"),
        ]

    def __str__(self) -> str:
        return f"creator {self.creator_id} on {self.day}"


class PostRetention(models.Model):
    """A post's retention curve over all time: `reached[i]` counts plays whose furthest
    point was at least i*5 % of the video (i = 0..20); reached[0] is the number of ended
    plays. Fed by watch_end and skip."""

    post_id = models.BigIntegerField(primary_key=True)
    reached = ArrayField(models.BigIntegerField(), size=21)

    def __str__(self) -> str:
        return f"retention of post {self.post_id}"


class PostSecondRetention(models.Model):
    """A post's retention per second over all time: `reached[s]` counts ended plays
    (watch_end, skip) whose furthest point was at least `s` seconds in; reached[0] is the
    number of ended plays. The array is as long as the longest play seen (at most
    `RETENTION_MAX_SECONDS` + 1). Fed by its own step of the consumer, exactly once per
    log entry through `RetentionAppliedEntry`, so that `analytics_backfill_retention` can
    replay the log without counting an entry twice."""

    post_id = models.BigIntegerField(primary_key=True)
    reached = ArrayField(models.BigIntegerField())

    def __str__(self) -> str:
        return f"per-second retention of post {self.post_id}"


class RetentionAppliedEntry(models.Model):
    """A log entry whose plays are in `PostSecondRetention` (the per-second step's own
    exactly-once record, like `AppliedEntry`)."""

    stream = models.CharField(max_length=64)
    entry_id = models.CharField(max_length=40)
    applied_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["stream", "entry_id"],
                                    name="analytics_retention_applied_entry"),
        ]
        indexes = [models.Index(fields=["applied_at"], name="analytics_ret_applied_at")]

    def __str__(self) -> str:
        return f"{self.stream} {self.entry_id} (per-second retention)"


class AppliedEntry(models.Model):
    """An event-log entry whose events are in the aggregates. Inserted in the same
    transaction as the aggregate upserts, so an entry delivered twice (a consumer died
    after committing but before acking, and the entry was reclaimed) applies once."""

    stream = models.CharField(max_length=64)
    entry_id = models.CharField(max_length=40)
    applied_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["stream", "entry_id"], name="analytics_applied_entry"),
        ]
        indexes = [models.Index(fields=["applied_at"], name="analytics_applied_at")]

    def __str__(self) -> str:
        return f"{self.stream} {self.entry_id}"


class QoeThreshold(models.Model):
    """A staff-set alert on one QoE figure (apps.analytics.qoe.alerts): beat computes the
    figure over the last `window_minutes` every few minutes and raises the project's alert
    (error log line, audit row, mail to ADMINS, the console's banner) when it crosses
    `value` with at least `min_reports` reports; once again when it recovers."""

    class Figure(models.TextChoices):
        TTFF_P50 = "ttff_p50_ms", "Time to first frame p50 (ms)"
        TTFF_P95 = "ttff_p95_ms", "Time to first frame p95 (ms)"
        REBUFFER_RATIO = "rebuffer_ratio", "Rebuffer ratio (% of watch time)"
        STALL_PERCENTAGE = "stall_percentage", "Plays with a stall (%)"
        AVG_BITRATE = "avg_bitrate_kbps", "Average bitrate (kbps)"
        STARTUP_FAILURES = "startup_failure_rate", "Start-up failures (% of plays)"

    class Direction(models.TextChoices):
        ABOVE = "above", "Alert above the value"
        BELOW = "below", "Alert below the value"

    figure = models.CharField(max_length=24, choices=Figure.choices)
    direction = models.CharField(max_length=8, choices=Direction.choices,
                                 default=Direction.ABOVE)
    value = models.FloatField(help_text="In the figure's unit: ms, %, kbps.")
    window_minutes = models.PositiveIntegerField(default=60)
    min_reports = models.PositiveIntegerField(
        default=50, help_text="Fewer QoE reports in the window: not judged (too few plays).")
    platform = models.CharField(max_length=16, blank=True, help_text="Empty: every platform.")
    network_type = models.CharField(max_length=16, blank=True,
                                    help_text="Empty: every network type.")
    enabled = models.BooleanField(default=True)
    # The last check (written by the beat task only).
    alerting = models.BooleanField(default=False)
    alerting_since = models.DateTimeField(null=True, blank=True)
    last_value = models.FloatField(null=True, blank=True)
    last_reports = models.PositiveIntegerField(default=0)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["figure", "pk"]
        verbose_name = "QoE threshold"

    def __str__(self) -> str:
        scope = " ".join(s for s in (self.platform, self.network_type) if s) or "all plays"
        return (f"{self.get_figure_display()} {self.direction} {self.value:g} "
                f"over {self.window_minutes} min ({scope})")
