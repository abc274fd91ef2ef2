"""The shapes of `GET /api/v1/search`: the query (documentation: the service validates it,
with the codes the contract names) and the answer's typed items."""

from __future__ import annotations

from typing import Any

from django.core.files.storage import default_storage
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers

from apps.accounts.models import User
from apps.content.models import Hashtag, Post, Sound
from apps.content.selectors import public_version_of
from apps.core.api.schema import ErrorDocs
from apps.live.models import LiveStream
from apps.live.selectors import cover_url as live_cover_url
from apps.media.playback import playback_for
from apps.search.services import TABS, SearchAnswer
from apps.search.services.query import DEFAULT_LIMIT, MAX_LIMIT, MAX_QUERY_CHARS

errors = ErrorDocs({
    400: "Invalid input: unknown tab or mode, a limit outside 1..30, a bad cursor, a NUL "
         "character, invalid UTF-8, or a query over 200 characters (`query_too_long`).",
    429: "Too many searches: wait a moment (per user and per IP).",
})


class SearchQuerySerializer(serializers.Serializer[Any]):
    q = serializers.CharField(
        required=False, allow_blank=True, max_length=MAX_QUERY_CHARS,
        help_text="What to search. Blank, punctuation or emoji only, or one character in "
                  "full mode: an empty answer.")
    tab = serializers.ChoiceField(choices=list(TABS), required=False, default="top")
    mode = serializers.ChoiceField(
        choices=["full", "prefix"], required=False, default="full",
        help_text="`prefix`: as-you-type (the last word matches as a prefix; one page).")
    cursor = serializers.CharField(required=False,
                                   help_text="`next_cursor` of the previous page.")
    limit = serializers.IntegerField(min_value=1, max_value=MAX_LIMIT, default=DEFAULT_LIMIT,
                                     required=False)


def avatar_url(user: User, size: str = "100") -> str | None:
    sizes = user.avatar_sizes if isinstance(user.avatar_sizes, dict) else {}
    name = sizes.get(size) or next(iter(sizes.values()), None)
    return default_storage.url(name) if isinstance(name, str) and name else None


# The items are built directly by each item serializer's `to_representation` (the declared
# fields stay the schema, and tests/search/test_answer_shape.py checks that both give the
# same output): DRF's per-field walk cost more than the rest of a cheap search's Python.
_DATETIME = serializers.DateTimeField()


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _when(value: Any) -> str | None:
    return None if value is None else _DATETIME.to_representation(value)


def _author(user: User | None) -> dict[str, Any] | None:
    """`SearchAuthorSerializer`'s output."""
    if user is None:
        return None
    return {"username": _text(user.username), "display_name": _text(user.display_name),
            "avatar_url": avatar_url(user), "is_verified": _bool(user.is_verified)}


def _bool(value: Any) -> bool | None:
    return None if value is None else bool(value)


class SearchAuthorSerializer(serializers.Serializer[User]):
    username = serializers.CharField()
    display_name = serializers.CharField()
    avatar_url = serializers.SerializerMethodField()
    is_verified = serializers.BooleanField()

    def get_avatar_url(self, user: User) -> str | None:
        return avatar_url(user)


class SearchAccountItemSerializer(SearchAuthorSerializer):
    type = serializers.SerializerMethodField()
    id = serializers.CharField(help_text="64-bit id, as a string.")
    follower_count = serializers.IntegerField(source="followers_count")
    you_follow = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    def get_type(self, user: User) -> str:
        return "account"

    def get_you_follow(self, user: User) -> bool:
        return bool(getattr(user, "you_follow", False))

    def get_url(self, user: User) -> str:
        return f"/@{user.username}"

    def to_representation(self, instance: User) -> dict[str, Any]:
        """The declared fields' output, built directly (per-field dispatch cost more than
        the item; tests/search/test_answer_shape.py checks both agree)."""
        return {**(_author(instance) or {}), "type": "account", "id": _text(instance.pk),
                "follower_count": _int(instance.followers_count),
                "you_follow": self.get_you_follow(instance), "url": self.get_url(instance)}


class SearchVideoItemSerializer(serializers.Serializer[Post]):
    type = serializers.SerializerMethodField()
    id = serializers.CharField()
    caption = serializers.CharField()
    cover_url = serializers.SerializerMethodField()
    view_count = serializers.IntegerField(source="views_count")
    like_count = serializers.IntegerField(source="likes_count")
    created_at = serializers.DateTimeField()
    author = SearchAuthorSerializer()
    url = serializers.SerializerMethodField()

    def get_type(self, post: Post) -> str:
        return "video"

    def get_cover_url(self, post: Post) -> str | None:
        playback = playback_for(post.asset, public_version=public_version_of(post)) \
            if post.asset_id else None
        return playback.get("poster") if playback else None

    def get_url(self, post: Post) -> str:
        return f"/@{post.author.username}/video/{post.pk}"

    def to_representation(self, instance: Post) -> dict[str, Any]:
        return {"type": "video", "id": _text(instance.pk), "caption": _text(instance.caption),
                "cover_url": self.get_cover_url(instance),
                "view_count": _int(instance.views_count),
                "like_count": _int(instance.likes_count),
                "created_at": _when(instance.created_at),
                "author": _author(instance.author), "url": self.get_url(instance)}


class SearchSoundItemSerializer(serializers.Serializer[Sound]):
    type = serializers.SerializerMethodField()
    id = serializers.CharField()
    title = serializers.CharField()
    artist = serializers.CharField()
    use_count = serializers.IntegerField(source="posts_count")
    url = serializers.SerializerMethodField()

    def get_type(self, sound: Sound) -> str:
        return "sound"

    def get_url(self, sound: Sound) -> str:
        return f"/sound/{sound.pk}"

    def to_representation(self, instance: Sound) -> dict[str, Any]:
        return {"type": "sound", "id": _text(instance.pk), "title": _text(instance.title),
                "artist": _text(instance.artist), "use_count": _int(instance.posts_count),
                "url": self.get_url(instance)}


class SearchLiveItemSerializer(serializers.Serializer[LiveStream]):
    type = serializers.SerializerMethodField()
    id = serializers.CharField(help_text="64-bit id, as a string.")
    title = serializers.CharField()
    host = SearchAuthorSerializer()
    viewer_count = serializers.SerializerMethodField(help_text="Approximate viewers now.")
    cover_url = serializers.SerializerMethodField()
    started_at = serializers.DateTimeField(allow_null=True)
    url = serializers.SerializerMethodField(help_text="The live's player page.")

    def get_type(self, live: LiveStream) -> str:
        return "live"

    def get_viewer_count(self, live: LiveStream) -> int:
        return int(getattr(live, "viewer_count", 0) or 0)

    def get_cover_url(self, live: LiveStream) -> str | None:
        return live_cover_url(live)

    def get_url(self, live: LiveStream) -> str:
        return f"/live/{live.pk}"

    def to_representation(self, instance: LiveStream) -> dict[str, Any]:
        return {"type": "live", "id": _text(instance.pk), "title": _text(instance.title),
                "host": _author(instance.host),
                "viewer_count": self.get_viewer_count(instance),
                "cover_url": self.get_cover_url(instance),
                "started_at": _when(instance.started_at), "url": self.get_url(instance)}


class SearchHashtagItemSerializer(serializers.Serializer[Hashtag]):
    type = serializers.SerializerMethodField()
    name = serializers.CharField()
    post_count = serializers.IntegerField(source="posts_count")
    url = serializers.SerializerMethodField()

    def get_type(self, tag: Hashtag) -> str:
        return "hashtag"

    def get_url(self, tag: Hashtag) -> str:
        return f"/tag/{tag.name}"

    def to_representation(self, instance: Hashtag) -> dict[str, Any]:
        return {"type": "hashtag", "name": _text(instance.name),
                "post_count": _int(instance.posts_count), "url": self.get_url(instance)}


ITEM_SERIALIZERS: dict[str, type[serializers.Serializer[Any]]] = {
    "account": SearchAccountItemSerializer, "video": SearchVideoItemSerializer,
    "sound": SearchSoundItemSerializer, "live": SearchLiveItemSerializer,
    "hashtag": SearchHashtagItemSerializer,
}


_ITEM_SCHEMAS: dict[str, serializers.Serializer[Any] | type[serializers.Serializer[Any]]] = \
    dict(ITEM_SERIALIZERS)


@extend_schema_field(PolymorphicProxySerializer(
    component_name="SearchItem", serializers=_ITEM_SCHEMAS, resource_type_field_name="type",
    many=False))
class SearchItemField(serializers.Field):  # type: ignore[type-arg]
    """A result: its `type` says which shape (each with a real `url` to its web page)."""

    def to_representation(self, value: Any) -> Any:
        kind, row = value
        # One serializer per kind for the whole answer: making a serializer deep-copies its
        # fields (the nested author's too), which cost more than rendering the item.
        children: dict[str, serializers.Serializer[Any]] = self.__dict__.setdefault(
            "_children", {})
        child = children.get(kind)
        if child is None:
            child = children[kind] = ITEM_SERIALIZERS[kind]()
        return child.to_representation(row)


class SearchNoticeLinkSerializer(serializers.Serializer[Any]):
    label = serializers.CharField()  # type: ignore[assignment]
    url = serializers.CharField()


class SearchNoticeSerializer(serializers.Serializer[Any]):
    code = serializers.CharField(
        help_text='"safety": the query is a blocked search term (no results); '
                  '"index_building": the index is being rebuilt, results may be missing.')
    title = serializers.CharField()
    message = serializers.CharField()
    links = SearchNoticeLinkSerializer(many=True)


class SearchAnswerSerializer(serializers.Serializer[SearchAnswer]):
    query = serializers.CharField(help_text="The normalised query as searched.")
    tab = serializers.ChoiceField(choices=list(TABS))
    search_id = serializers.CharField(
        help_text="Opaque id of this search (the same on every page); sent back in "
                  "`search_click` events.")
    notice = serializers.SerializerMethodField()
    results = serializers.ListField(child=SearchItemField())
    next_cursor = serializers.CharField(allow_null=True)

    def to_representation(self, instance: SearchAnswer) -> dict[str, Any]:
        item = SearchItemField()
        return {"query": _text(instance.query), "tab": instance.tab,
                "search_id": _text(instance.search_id), "notice": self.get_notice(instance),
                "results": [item.to_representation(value) for value in instance.results],
                "next_cursor": _text(instance.next_cursor)}

    @extend_schema_field(SearchNoticeSerializer(allow_null=True))
    def get_notice(self, answer: SearchAnswer) -> dict[str, Any] | None:
        if answer.notice is None:
            return None
        notice = answer.notice
        return {"code": notice.code, "title": notice.title, "message": notice.message,
                "links": [{"label": label, "url": url} for label, url in notice.links]}
