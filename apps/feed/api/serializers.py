"""Feed shapes: the post exactly as GET /api/v1/posts/<id> renders it, plus the viewer's
flags and a `reco` block (why it is here, where, which request)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import (
    PolymorphicProxySerializer,
    extend_schema_field,
    extend_schema_serializer,
)
from rest_framework import serializers

from apps.content.api.serializers import (
    PENDING,
    CountsSerializer,
    EntitySerializer,
    PostSerializer,
    SoundSummarySerializer,
    _file_url,
    _shared_context,
    viewer_country,
)
from apps.content.counter_overlay import pending_for, shown_counters
from apps.content.models import Post
from apps.content.selectors import public_version_of
from apps.core.api.schema import ErrorDocs
from apps.feed.candidates import SOURCES
from apps.feed.topics import TOPICS
from apps.media.playback import playback_for
from apps.social.api.serializers import AvatarField, live_ring_of

SESSION_ID_PATTERN = r"^[A-Za-z0-9_-]{8,64}$"


class RecoSerializer(serializers.Serializer[Any]):
    source = serializers.ChoiceField(  # type: ignore[assignment]
        choices=[*SOURCES, "following"],
        help_text="The candidate source credited for this post.")
    position = serializers.IntegerField(help_text="Position in the feed (0-based).")
    request_id = serializers.CharField(help_text="The feed request that served it.")


class ViewerFlagsSerializer(serializers.Serializer[Any]):
    liked = serializers.BooleanField()
    favourited = serializers.BooleanField()
    follows_author = serializers.BooleanField()


@extend_schema_serializer(component_name="FeedPost")
class FeedPostSerializer(PostSerializer):
    type = serializers.SerializerMethodField(help_text='"post" (For You also carries "ad" items).')
    viewer = serializers.SerializerMethodField()
    reco = serializers.SerializerMethodField()

    @extend_schema_field(serializers.CharField(help_text='"post"'))
    def get_type(self, post: Post) -> str:
        return "post"

    def get_viewer(self, post: Post) -> dict[str, bool]:
        return {"liked": bool(getattr(post, "viewer_liked", False)),
                "favourited": bool(getattr(post, "viewer_favourited", False)),
                "follows_author": bool(getattr(post, "viewer_follows_author", False))}

    def get_reco(self, post: Post) -> dict[str, Any]:
        return dict(getattr(post, "feed_reco", {}))

    # Typed for the schema.
    get_viewer.__annotations__["return"] = ViewerFlagsSerializer
    get_reco.__annotations__["return"] = RecoSerializer

    def to_representation(self, instance: Post) -> dict[str, Any]:
        """The declared fields' output built directly: DRF's per-field walk (its fields
        copied for every page, each value dispatched through `get_attribute`) cost more
        than the rest of a page's rendering. Anything the direct build does not know (a
        field added to the post's shape, a post without its asset, an entity without a
        required key) goes through DRF's walk; tests/feed/test_post_item_shape.py checks
        that both give the same output."""
        if PENDING not in self.context:  # a single post (a list has read its whole page)
            _shared_context(self)[PENDING] = pending_for([instance.pk])
        item = _direct(self, instance) if _DIRECT_OK else None
        if item is None:
            return super().to_representation(instance)
        return item


_DATETIME = serializers.DateTimeField()
_AVATAR = AvatarField()
_FIELD = PostSerializer._declared_fields
_CHOICES = {name: _FIELD[name].choice_strings_to_values  # type: ignore[attr-defined]
            for name in ("sound_mix", "visibility", "comment_policy", "status")}
_SOUND_KIND = SoundSummarySerializer._declared_fields["kind"].choice_strings_to_values  # type: ignore[attr-defined]
_ENTITY_TYPE = EntitySerializer._declared_fields["type"].choice_strings_to_values  # type: ignore[attr-defined]
_COUNTS = [(name, str(field.source)) for name, field in CountsSerializer._declared_fields.items()]
# The shape `_direct` builds, in order: used only while the declared fields are these.
_DIRECT_FIELDS = (
    "id", "author", "caption", "entities", "hashtags", "sound", "uses_original_sound",
    "sound_mix", "visibility", "comment_policy", "allow_duet", "allow_stitch",
    "allow_download", "derived_from", "language", "cover_time_ms", "status",
    "scheduled_for", "is_pinned", "branded", "counts", "media", "created_at",
    "published_at", "type", "viewer", "reco")
_DIRECT_OK = tuple(FeedPostSerializer._declared_fields) == _DIRECT_FIELDS and tuple(
    _FIELD["author"]._declared_fields) == (  # type: ignore[attr-defined]
    "id", "username", "display_name", "avatar", "is_private", "is_verified", "is_live",
    "live_id") and tuple(_FIELD["sound"]._declared_fields) == (  # type: ignore[attr-defined]
    "id", "kind", "title", "artist", "cover", "duration_ms", "muted", "muted_reason") and tuple(
    _FIELD["media"]._declared_fields) == (  # type: ignore[attr-defined]
    "asset_id", "state", "playable", "progress", "duration_ms", "width", "height", "problem",
    "playback") and tuple(EntitySerializer._declared_fields) == (
    "type", "start", "end", "text", "name", "user_id", "username")
_ENTITY_OPTIONAL = ("name", "user_id", "username")


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _bool(value: Any) -> bool | None:
    return None if value is None else bool(value)


def _when(value: Any) -> str | None:
    return None if value is None else _DATETIME.to_representation(value)


def _choice(choices: dict[str, Any], value: Any) -> Any:
    return value if value in ("", None) else choices.get(str(value), value)


def _entities(entities: Any) -> list[dict[str, Any]] | None:
    if entities is None:
        return None
    out = []
    for entity in entities:
        if not isinstance(entity, dict) or not {"type", "start", "end", "text"} <= entity.keys():
            raise LookupError  # DRF's walk says what is wrong
        item = {"type": _choice(_ENTITY_TYPE, entity["type"]), "start": _int(entity["start"]),
                "end": _int(entity["end"]), "text": _str(entity["text"])}
        for key in _ENTITY_OPTIONAL:
            if key in entity:
                item[key] = _str(entity[key])
        out.append(item)
    return out


def _direct(serializer: FeedPostSerializer, post: Post) -> dict[str, Any] | None:
    """`FeedPostSerializer`'s declared output for an ordinary post (None: let DRF walk)."""
    author, asset, sound = post.author, post.asset, post.sound
    if author is None or asset is None:
        return None
    try:
        entities = _entities(post.caption_entities)
    except LookupError:
        return None
    context = serializer.context
    live_id = live_ring_of(serializer, author.pk)
    sound_item = None
    if sound is not None:
        reason = sound.muted_reason(viewer_country(context))
        sound_item = {
            "id": _str(sound.pk), "kind": _choice(_SOUND_KIND, sound.kind),
            "title": _str(sound.title), "artist": _str(sound.artist),
            "cover": _file_url(sound.cover), "duration_ms": _int(sound.duration_ms),
            "muted": reason is not None, "muted_reason": reason}
    shown = shown_counters(post, context.get(PENDING, {}))
    return {
        "id": _str(post.pk),
        "author": {
            "id": _str(author.pk), "username": _str(author.username),
            "display_name": _str(author.display_name),
            "avatar": None if author.avatar_sizes is None
            else _AVATAR.to_representation(author.avatar_sizes),
            "is_private": _bool(author.is_private), "is_verified": _bool(author.is_verified),
            "is_live": live_id is not None,
            "live_id": str(live_id) if live_id is not None else None},
        "caption": _str(post.caption),
        "entities": entities,
        "hashtags": serializer.get_hashtags(post),
        "sound": sound_item,
        "uses_original_sound": serializer.get_uses_original_sound(post),
        "sound_mix": _choice(_CHOICES["sound_mix"], post.sound_mix),
        "visibility": _choice(_CHOICES["visibility"], post.visibility),
        "comment_policy": _choice(_CHOICES["comment_policy"], post.comment_policy),
        "allow_duet": _bool(post.allow_duet), "allow_stitch": _bool(post.allow_stitch),
        "allow_download": _bool(post.allow_download),
        "derived_from": serializer.get_derived_from(post),
        "language": _str(post.language),
        "cover_time_ms": _int(post.cover_time_ms),
        "status": _choice(_CHOICES["status"], post.status),
        "scheduled_for": _when(post.scheduled_for),
        "is_pinned": serializer.get_is_pinned(post),
        "branded": serializer.get_branded(post),
        "counts": {name: shown[source] for name, source in _COUNTS},
        "media": {
            "asset_id": _str(asset.id), "state": _str(asset.state),
            "playable": _bool(asset.is_playable), "progress": _int(asset.progress),
            "duration_ms": _int(asset.duration_ms), "width": _int(asset.width),
            "height": _int(asset.height), "problem": _str(post.upload_problem),
            "playback": playback_for(asset, public_version=public_version_of(post))},
        "created_at": _when(post.created_at),
        "published_at": _when(post.published_at),
        "type": "post",
        "viewer": serializer.get_viewer(post),
        "reco": serializer.get_reco(post),
    }


class AdRecoSerializer(serializers.Serializer[Any]):
    source = serializers.CharField(help_text='"ad"')  # type: ignore[assignment]
    position = serializers.IntegerField(
        help_text="The organic position it was inserted before (0-based).")
    request_id = serializers.CharField(help_text="The feed request that served it.")


@extend_schema_serializer(component_name="FeedAd")
class FeedAdSerializer(serializers.Serializer[Any]):
    """An ad in For You, rendered by the ads app (feed.hooks.ad_slots) in this shape."""

    type = serializers.CharField(help_text='"ad"')
    id = serializers.CharField(help_text="The ad's id.")
    token = serializers.CharField(
        help_text="The signed served-ad token: send it with every measurement event "
                  "(POST /api/v1/ads/events); nothing else the client sends is trusted.")
    sponsored = serializers.BooleanField(help_text="Always true: show the label.")
    label = serializers.CharField(help_text='The disclosure to show ("Sponsored").')  # type: ignore[assignment]
    display_name = serializers.CharField(help_text="The advertiser's name as shown.")
    cta = serializers.CharField(help_text="The call to action's code (learn_more, shop_now...).")
    cta_label = serializers.CharField(help_text="The call to action in words, for the button.")
    click_url = serializers.URLField(
        help_text="Open this on a tap of the button: it records the click and redirects "
                  "to the landing page.")
    landing_domain = serializers.CharField(help_text="Where the click leads (disclosure).")
    playback = serializers.JSONField(
        help_text="Player URLs of the ad's video, as a post's `playback` (HLS, MP4, poster...).")
    reco = AdRecoSerializer()


class FeedPageSerializer(serializers.Serializer[Any]):
    results = PolymorphicProxySerializer(
        component_name="FeedItem",
        serializers={"post": FeedPostSerializer, "ad": FeedAdSerializer},
        resource_type_field_name="type",
        many=True,
    )
    next = serializers.URLField(allow_null=True,
                                help_text="The next page's absolute URL, or null.")


class ForYouQuerySerializer(serializers.Serializer[Any]):
    limit = serializers.IntegerField(min_value=1, max_value=20, default=8)
    cursor = serializers.CharField(required=False, max_length=2048)
    session_id = serializers.RegexField(
        SESSION_ID_PATTERN, required=False,
        help_text="Signed-out clients: a random id kept for the session (or the "
                  "`feed_session` cookie).")


class FollowingQuerySerializer(serializers.Serializer[Any]):
    limit = serializers.IntegerField(min_value=1, max_value=20, default=8)
    cursor = serializers.CharField(required=False, max_length=2048)


class TopicSerializer(serializers.Serializer[Any]):
    key = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    hashtags = serializers.ListField(child=serializers.CharField())


class TopicListSerializer(serializers.Serializer[Any]):
    results = TopicSerializer(many=True)


class InterestsSerializer(serializers.Serializer[Any]):
    interests = serializers.ListField(
        child=serializers.ChoiceField(choices=list(TOPICS)), max_length=len(TOPICS),
        allow_empty=True, help_text="Topic keys from GET /api/v1/feed/interests.")


class NotInterestedSerializer(serializers.Serializer[Any]):
    post_id = serializers.CharField()  # type: ignore[assignment]
    recorded = serializers.BooleanField()


errors = ErrorDocs({
    400: "Invalid input (bad cursor, limit or session id, unknown interest).",
    404: "No such post, or not visible to you.",
})
