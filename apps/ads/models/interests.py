"""What a signed-in adult watches, as interest topics for ad targeting (issue 19:
"interests (the onboarding topics and what users watch)").

One row per user, written only by `services.interests.watched_topics_refresh` (a Celery
task): the topics (keys of `feed.topics.TOPICS`) of the posts the user recently completed
or liked, by `targeting.watched_topics`. Serving (`targeting.viewer_for`) and the audience
estimate (`targeting.interest_users_q`) read the same row, so they agree. Minors and
accounts without a date of birth have no row (they get no personalised ads)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models


class WatchedTopics(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, primary_key=True,
                                on_delete=models.CASCADE, related_name="+")
    topics = ArrayField(models.CharField(max_length=32), default=list, blank=True)
    computed_at = models.DateTimeField()

    class Meta:
        indexes = [
            GinIndex(fields=["topics"], name="ads_watched_topics_gin"),
            models.Index(fields=["computed_at"], name="ads_watched_computed"),
        ]

    def __str__(self) -> str:
        return f"user {self.user_id}: {', '.join(self.topics) or '-'}"
