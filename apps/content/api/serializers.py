"""Shapes of the content endpoints: a post as clients render it, sounds, hashtags, and
the inputs' id and publish fields."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.core.files.storage import default_storage
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import (
    extend_schema_field,
    extend_schema_serializer,
)
from rest_framework import serializers

from apps.content.captions import entity_hashtags
from apps.content.counter_overlay import pending_for, shown_counters
from apps.content.models import Hashtag, Post, Sound
from apps.content.selectors import (
    derived_originals_for,
    public_version_of,
    sound_use_refusal,
)
from apps.content.services.branding import label_words
from apps.core.api.schema import ErrorDocs
from apps.core.ids import parse_id
from apps.media.playback import playback_for
from apps.social.api.serializers import (
    UserSummarySerializer,
    UserWithLiveSerializer,
    remember_live_rings,
)


class IdField(serializers.CharField):
    """A 64-bit id, sent as a string (a JSON number is accepted too)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", "64-bit id, as a string.")
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Any:
        value = parse_id(super().to_internal_value(data))
        if value is None:
            raise serializers.ValidationError("Not an id.")
        return value


@extend_schema_field({
    "type": "string",
    "description": '"now" (publish as soon as the video is playable), "draft", or an ISO 8601 '
                   "time with a UTC offset to schedule the post (5 minutes to 30 days ahead).",
    "example": "now",
})
class PublishField(serializers.Field):  # type: ignore[type-arg]
    default_error_messages = {
        "invalid": 'Expected "now", "draft" or an ISO 8601 time with a UTC offset.',
    }

    def to_internal_value(self, data: Any) -> str | datetime:
        if data in ("now", "draft"):
            return str(data)
        if not isinstance(data, str) or len(data) > 40:
            self.fail("invalid")
        try:
            moment = parse_datetime(data)
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None:
            self.fail("invalid")
        return moment

    def to_representation(self, value: Any) -> Any:
        return value


class EntitySerializer(serializers.Serializer[Any]):
    type = serializers.ChoiceField(choices=["hashtag", "mention"])
    start = serializers.IntegerField(help_text="Offset in Unicode code points, inclusive.")
    end = serializers.IntegerField(help_text="Offset in Unicode code points, exclusive.")
    text = serializers.CharField(help_text="The caption text the entity covers.")
    name = serializers.CharField(required=False, help_text="Hashtags: the tag, lower-cased.")
    user_id = serializers.CharField(required=False, help_text="Mentions: the user's id.")
    username = serializers.CharField(required=False, help_text="Mentions: the username.")


def _file_url(field: Any) -> str | None:
    return default_storage.url(field.name) if field else None


def viewer_country(context: Mapping[str, Any]) -> str | None:
    """The requesting user's country (ISO alpha-2), None when unknown or signed out: a
    territorial licence then does not cover them (Sound.is_available_in)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    country = getattr(user, "country", "") if user is not None else ""
    return country or None


MUTED_REASONS = ["taken_down", "licence_expired", "territory"]


@extend_schema_serializer(component_name="SoundSummary")
class SoundSummarySerializer(serializers.Serializer[Sound]):
    id = serializers.CharField(help_text="64-bit id, as a string.")
    kind = serializers.ChoiceField(choices=Sound.Kind.choices)
    title = serializers.CharField()
    artist = serializers.CharField()
    cover = serializers.SerializerMethodField()
    duration_ms = serializers.IntegerField(allow_null=True)
    muted = serializers.SerializerMethodField(
        help_text="The sound may not play for you: clients play the post without its audio "
                  "(the sound is mixed into the video).")
    muted_reason = serializers.SerializerMethodField(
        help_text='Why it is muted: "taken_down", "licence_expired", or "territory" (not '
                  "licensed in your country; signed out or no country set counts as "
                  "unknown, covered only by worldwide licences); null when not muted.")

    def get_cover(self, sound: Sound) -> str | None:
        return _file_url(sound.cover)

    def _reason(self, sound: Sound) -> str | None:
        return sound.muted_reason(viewer_country(self.context))

    def get_muted(self, sound: Sound) -> bool:
        return self._reason(sound) is not None

    @extend_schema_field({"type": "string", "enum": MUTED_REASONS, "nullable": True})
    def get_muted_reason(self, sound: Sound) -> str | None:
        return self._reason(sound)


@extend_schema_serializer(component_name="Sound")
class SoundSerializer(SoundSummarySerializer):
    allow_reuse = serializers.BooleanField(help_text="Original sounds: others may use it.")
    usable = serializers.SerializerMethodField(
        help_text="You may use this sound in a new post (yours or its owner allows reuse, "
                  "usable, licensed for posts and in your country): what creating a post "
                  "with it would answer.")
    posts_count = serializers.IntegerField(help_text="Published posts using this sound.")
    original_owner = UserSummarySerializer(allow_null=True)
    audio_url = serializers.SerializerMethodField(
        help_text="Library: the licensed file. Original: the audio media extracted from the "
                  "upload (a signed URL that expires); null until extracted, or when muted.")

    territories = serializers.ListField(
        child=serializers.CharField(),
        help_text="Countries (ISO 3166 alpha-2) where the licence holds; empty: worldwide.")

    def get_audio_url(self, sound: Sound) -> str | None:
        if self._reason(sound) is not None:
            return None
        if sound.kind == Sound.Kind.LIBRARY:
            return _file_url(sound.audio_file)
        if sound.source_asset is None:
            return None
        playback = playback_for(sound.source_asset, public_version=None)
        return playback.get("audio") if playback else None

    def get_usable(self, sound: Sound) -> bool:
        request = self.context.get("request")
        return sound_use_refusal(sound, user=getattr(request, "user", None)) is None


@extend_schema_serializer(component_name="Hashtag")
class HashtagSerializer(serializers.Serializer[Hashtag]):
    id = serializers.CharField()
    name = serializers.CharField()
    posts_count = serializers.IntegerField(help_text="Published posts with this tag.")


@extend_schema_field({
    "type": "object", "nullable": True, "additionalProperties": True,
    "description": "Player URLs from media (HLS master, MP4 fallback, poster, the first "
                   "frame, preview, storyboard, audio, renditions with their media playlists, "
                   "and `start`: the rung a player starts on without the master, as index "
                   "and playlist; `av1`: the AV1 renditions and their own `start` for "
                   "browsers that decode AV1, null when the post has none); null until the "
                   "video is playable. "
                   "Posts anyone may watch signed out get stable URLs (which change when "
                   "that stops), others signed ones that expire.",
})
class PlaybackField(serializers.Field):  # type: ignore[type-arg]
    def __init__(self, **kwargs: Any) -> None:
        kwargs["read_only"] = True
        kwargs["source"] = "*"
        super().__init__(**kwargs)

    def to_representation(self, post: Post) -> dict[str, Any] | None:
        return playback_for(post.asset, public_version=public_version_of(post))


class MediaSerializer(serializers.Serializer[Post]):
    asset_id = serializers.CharField(source="asset.id")
    state = serializers.CharField(source="asset.state", help_text="The upload's processing state.")
    playable = serializers.BooleanField(source="asset.is_playable")
    progress = serializers.IntegerField(source="asset.progress",
                                        help_text="Percent of processing steps done.")
    duration_ms = serializers.IntegerField(source="asset.duration_ms", allow_null=True)
    width = serializers.IntegerField(source="asset.width", allow_null=True)
    height = serializers.IntegerField(source="asset.height", allow_null=True)
    problem = serializers.CharField(
        source="upload_problem", allow_null=True,
        help_text="Why this post cannot be published (its upload was refused, failed "
                  "processing, or was cancelled or abandoned), in words; null otherwise.")
    playback = PlaybackField()


PENDING = "pending_counters"
ORIGINALS = "derived_originals"
ORIGINALS_ASKED = "derived_originals_asked"


class DerivedFromSerializer(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=["duet", "stitch"])
    post_id = serializers.CharField(help_text="The original post's id.")
    author = UserSummarySerializer(help_text="Its creator, credited: \"Duet with @x\".")


def _originals(serializer: serializers.BaseSerializer[Any], posts: list[Post]) -> None:
    """The credited originals of these posts that the viewer may see, read at once for a
    page (`PostListSerializer`) and added to the shared context."""
    request = serializer.context.get("request")
    shared = _shared_context(serializer)
    shared.setdefault(ORIGINALS, {}).update(derived_originals_for(
        viewer=getattr(request, "user", None), posts=posts))
    shared.setdefault(ORIGINALS_ASKED, set()).update(post.pk for post in posts)


def _shared_context(serializer: serializers.BaseSerializer[Any]) -> dict[str, Any]:
    """The root serializer's context dict, which every nested serializer reads."""
    context: dict[str, Any] = serializer.root._context  # type: ignore[attr-defined,assignment]
    return context


class CountsSerializer(serializers.Serializer[Post]):
    """The stored counters plus what engagement still buffers in Redis (read once per
    page by `PostSerializer`, see `counter_overlay`)."""

    likes = serializers.IntegerField(source="likes_count")
    comments = serializers.IntegerField(source="comments_count")
    shares = serializers.IntegerField(source="shares_count")
    views = serializers.IntegerField(source="views_count")
    favourites = serializers.IntegerField(source="favourites_count")

    def to_representation(self, instance: Post) -> dict[str, Any]:
        shown = shown_counters(instance, self.context.get(PENDING, {}))
        return {name: shown[field.source] for name, field in self.fields.items()
                if field.source is not None}


class PostListSerializer(serializers.ListSerializer):  # type: ignore[type-arg]
    """Reads the pending counter deltas of the whole page at once (no per-post reads)."""

    def to_representation(self, data: Any) -> list[Any]:
        posts = list(data.all() if hasattr(data, "all") else data)
        _shared_context(self)[PENDING] = pending_for(post.pk for post in posts)
        _originals(self, posts)
        remember_live_rings(self, {post.author_id for post in posts})
        return super().to_representation(posts)


class BrandedSerializer(serializers.Serializer[Any]):
    partner = serializers.CharField(help_text="The brand's name as shown.")
    text = serializers.CharField(help_text='What viewers read: "Paid partnership with @…".')
    labelled_by = serializers.ChoiceField(choices=["author", "marketplace", "moderator"],
                                     help_text="Who labelled it (the author may change only "
                                               "their own label).")


@extend_schema_serializer(component_name="Post")
class PostSerializer(serializers.Serializer[Post]):
    """A post as clients render it. Reads only the post row and its joined author, asset
    and sound (see `selectors.for_display`)."""

    id = serializers.CharField(help_text="64-bit id, as a string.")
    author = UserWithLiveSerializer(help_text="With the ring when they are live now.")
    caption = serializers.CharField()
    entities = EntitySerializer(source="caption_entities", many=True)
    hashtags = serializers.SerializerMethodField()
    sound = SoundSummarySerializer(allow_null=True)
    uses_original_sound = serializers.SerializerMethodField()
    sound_mix = serializers.ChoiceField(choices=Post.SoundMix.choices)
    visibility = serializers.ChoiceField(choices=Post.Visibility.choices)
    comment_policy = serializers.ChoiceField(choices=Post.CommentPolicy.choices)
    allow_duet = serializers.BooleanField()
    allow_stitch = serializers.BooleanField()
    allow_download = serializers.BooleanField()
    derived_from = serializers.SerializerMethodField(
        help_text="A duet or stitch: the post it borrows from and its creator, when you may "
                  "see it; null otherwise (and once the original left public view, when "
                  "the borrowed part was taken out of this post).")
    language = serializers.CharField()
    cover_time_ms = serializers.IntegerField(allow_null=True)
    status = serializers.ChoiceField(choices=Post.Status.choices)
    scheduled_for = serializers.DateTimeField(allow_null=True)
    is_pinned = serializers.SerializerMethodField()
    branded = serializers.SerializerMethodField(
        help_text="Branded content (a paid partnership): shown as its label wherever the post "
                  "is; null for an ordinary post.")
    counts = CountsSerializer(source="*")
    media = MediaSerializer(source="*")
    created_at = serializers.DateTimeField()
    published_at = serializers.DateTimeField(allow_null=True)

    class Meta:
        list_serializer_class = PostListSerializer

    def to_representation(self, instance: Post) -> dict[str, Any]:
        if PENDING not in self.context:  # a single post (a list has read its whole page)
            _shared_context(self)[PENDING] = pending_for([instance.pk])
        return super().to_representation(instance)

    def get_hashtags(self, post: Post) -> list[str]:
        return entity_hashtags(post.caption_entities)

    def get_uses_original_sound(self, post: Post) -> bool:
        return post.sound_id is not None and post.sound_id == post.original_sound_id

    @extend_schema_field(DerivedFromSerializer(allow_null=True))
    def get_derived_from(self, post: Post) -> dict[str, Any] | None:
        if post.derived_from_id is None or not post.derived_kind:
            return None
        if post.pk not in self.context.get(ORIGINALS_ASKED, ()):
            _originals(self, [post])  # a post not read with a page
        original = self.context[ORIGINALS].get(post.derived_from_id)
        if original is None:
            return None
        return {"kind": post.derived_kind, "post_id": str(original.pk),
                "author": UserSummarySerializer(original.author).data}

    def get_is_pinned(self, post: Post) -> bool:
        return post.pinned_at is not None

    @extend_schema_field(BrandedSerializer(allow_null=True))
    def get_branded(self, post: Post) -> dict[str, str] | None:
        if not post.branded_partner:
            return None
        return {"partner": post.branded_partner, "text": label_words(post.branded_partner),
                "labelled_by": post.branded_source}


errors = ErrorDocs({
    400: "Invalid input (malformed JSON, bad cursor, a rule refused the request).",
    403: "Not allowed (someone else's post, a private account, reuse not allowed).",
    404: "No such post, upload, hashtag, sound or user, or not visible to you.",
    409: "Conflict (already posted, already published, pin limit, sound unavailable).",
    422: "The Idempotency-Key was already used for a different post "
         "(`idempotency_key_reused`).",
})

