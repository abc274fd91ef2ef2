"""Rows for arranging content tests. Assets are created directly in a state (the pipeline
is the media engineer's and is tested there); posts are created published by default."""

from __future__ import annotations

import factory
from django.utils import timezone

from apps.content.models import Post, Sound
from apps.media.models import MediaAsset
from tests.factories import UserFactory


class MediaAssetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MediaAsset

    owner = factory.SubFactory(UserFactory)
    state = MediaAsset.State.READY
    duration_ms = 15_000
    width = 1080
    height = 1920
    playable_at = factory.LazyAttribute(
        lambda o: timezone.now() if o.state == MediaAsset.State.READY else None)


class PostFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Post

    author = factory.SubFactory(UserFactory)
    asset = factory.SubFactory(MediaAssetFactory, owner=factory.SelfAttribute("..author"))
    caption = factory.Sequence(lambda n: f"post number {n}")
    status = Post.Status.PUBLISHED
    published_at = factory.LazyFunction(timezone.now)


class LibrarySoundFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Sound

    kind = Sound.Kind.LIBRARY
    title = factory.Sequence(lambda n: f"Track {n}")
    artist = "The Licensed"
    duration_ms = 30_000
    rights_holder = "Label Records"
