"""Feed data: post embeddings (pgvector), onboarding interests, "not interested" feedback,
and the versioned ranker artefacts staff choose from in the admin."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from pgvector.django import HnswIndex, VectorField

from apps.core.models import SnowflakeModel

EMBEDDING_DIM = 384


class PostEmbedding(models.Model):
    """The text embedding of a post (caption + hashtags + sound title, all-MiniLM-L6-v2,
    L2-normalised): the "similar to what you completed" source searches it by cosine."""

    post = models.OneToOneField("content.Post", primary_key=True, on_delete=models.CASCADE,
                                related_name="+")
    vector = VectorField(dimensions=EMBEDDING_DIM)
    # A digest of the text embedded: a changed caption gets a fresh vector.
    text_hash = models.CharField(max_length=32)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            HnswIndex(name="feed_postemb_vector_hnsw", fields=["vector"], m=16,
                      ef_construction=64, opclasses=["vector_cosine_ops"]),
        ]

    def __str__(self) -> str:
        return f"embedding of post {self.post_id}"


class UserInterests(models.Model):
    """Topics picked at onboarding (keys of `apps.feed.topics.TOPICS`)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, primary_key=True,
                                on_delete=models.CASCADE, related_name="+")
    interests = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"interests of {self.user_id}"


class NotInterested(SnowflakeModel):
    """A "not interested" on a post: the post never comes back and its author, sound and
    hashtags are damped for a while (fatigue). Written by the immediate endpoint and by the
    event path, so the very next page respects it even without Redis."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+", db_index=False)
    post = models.ForeignKey("content.Post", on_delete=models.CASCADE, related_name="+",
                             db_index=False)
    author_id = models.BigIntegerField()
    sound_id = models.BigIntegerField(null=True, blank=True)
    hashtags = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "post"], name="feed_notinterested_unique"),
        ]
        indexes = [models.Index(fields=["user", "-id"], name="feed_notinterested_recent")]

    def __str__(self) -> str:
        return f"{self.user_id} not interested in {self.post_id}"


class RankerModel(SnowflakeModel):
    """One trained ranker: an artefact file in storage (joblib of the heads and the
    collaborative factors) and its offline metrics on a time split. At most one is active;
    serving reloads when the active version changes."""

    version = models.PositiveIntegerField(unique=True)
    artifact = models.FileField(upload_to="feed/models/")
    is_active = models.BooleanField(default=False)
    metrics = models.JSONField(default=dict, blank=True)
    feature_names = models.JSONField(default=list, blank=True)
    trained_on = models.JSONField(default=dict, blank=True,
                                  help_text="Rows, users, posts and the time split used.")
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["is_active"], condition=Q(is_active=True),
                                    name="feed_rankermodel_one_active"),
        ]
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"ranker v{self.version}{' (active)' if self.is_active else ''}"
