"""Shapes shared by the engagement endpoints."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from apps.core.api.schema import ErrorDocs
from apps.social.api.serializers import UserSummarySerializer


class CountersSerializer(serializers.Serializer[Any]):
    likes_count = serializers.IntegerField()
    favourites_count = serializers.IntegerField()
    shares_count = serializers.IntegerField()
    views_count = serializers.IntegerField()


class PostRowSerializer(serializers.Serializer[Any]):
    """A post as an engagement list shows it; `counters` is filled in by the view (database
    value plus the pending Redis delta)."""

    id = serializers.CharField(help_text="64-bit id, as a string.")
    caption = serializers.CharField()
    published_at = serializers.DateTimeField(allow_null=True)
    author = UserSummarySerializer()
    counters = CountersSerializer()


errors = ErrorDocs({
    400: "Invalid input (malformed JSON, bad cursor, a rule refused the request).",
    403: "Not allowed (private account, liked posts kept private).",
    404: "No such post, collection or user, or not visible to you.",
    409: "Conflict (post not published yet, name taken).",
})
