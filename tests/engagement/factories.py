"""Posts for engagement and comments tests, made directly: a MediaAsset row already
"ready" and a published Post (the media pipeline is not exercised here)."""

from __future__ import annotations

import factory
from django.utils import timezone

from apps.content.models import Post
from apps.media.models import MediaAsset
from tests.factories import UserFactory


class ReadyAssetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MediaAsset

    owner = factory.SubFactory(UserFactory)
    state = MediaAsset.State.READY
    duration_ms = 15_000
    width = 1080
    height = 1920


class PublishedPostFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Post

    author = factory.SubFactory(UserFactory)
    asset = factory.SubFactory(ReadyAssetFactory, owner=factory.SelfAttribute("..author"))
    caption = factory.Sequence(lambda n: f"clip number {n} #fun")
    status = Post.Status.PUBLISHED
    visibility = Post.Visibility.PUBLIC
    published_at = factory.LazyFunction(timezone.now)
