"""What clients render of direct messages. `message_payloads(viewer, messages)` is the one
message shape: the REST API, the websocket (`live`) and the web pages all use it, and it
costs a constant number of queries per page however many messages it holds.

The documentation serializers below describe the same shapes for the OpenAPI schema."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.core.files.storage import default_storage
from django.db.models import Count
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from apps.accounts.models import User
from apps.content.models import Post
from apps.content.selectors import for_display, public_version_of, visible_posts_for
from apps.media.models import MediaAsset
from apps.media.playback import playback_for
from apps.messaging import selectors
from apps.messaging.models import Conversation, Message, Participant, Reaction
from apps.social.selectors import blocked_user_ids, discoverable_q

PREVIEW_CHARS = 120
# in place of a message our moderators removed (everyone sees it, its sender too)
REMOVED_NOTICE = "This message was removed for breaking our Community Guidelines."
# What a client may send (system messages are the server's).
SEND_KIND_CHOICES = [k for k in Message.Kind.choices if k[0] != Message.Kind.SYSTEM]


def avatar_url(user: User) -> str | None:
    """The smallest avatar rendition's URL, or None without an avatar."""
    return avatar_url_of(user.avatar_sizes)


def avatar_url_of(avatar_sizes: Any) -> str | None:
    """`avatar_url` of a user's `avatar_sizes` value."""
    sizes = avatar_sizes if isinstance(avatar_sizes, dict) else {}
    named = [(int(size), name) for size, name in sizes.items()
             if str(size).isdigit() and isinstance(name, str) and name]
    return default_storage.url(min(named)[1]) if named else None


def user_card(user: User) -> dict[str, Any]:
    return {"id": str(user.pk), "username": user.username, "display_name": user.display_name,
            "avatar_url": avatar_url(user)}


def _post_card(post: Post) -> dict[str, Any]:
    playback = playback_for(post.asset, public_version=public_version_of(post)) \
        if post.asset_id is not None else None
    return {"id": str(post.pk), "unavailable": False, "caption": post.caption,
            "author": user_card(post.author),
            "poster_url": (playback or {}).get("poster"),
            "url": f"/@{post.author.username}/video/{post.pk}"}


def _media(asset: MediaAsset) -> dict[str, Any]:
    return {"id": str(asset.pk), "state": asset.state, "playable": asset.playable_at is not None,
            "width": asset.width, "height": asset.height, "duration_ms": asset.duration_ms,
            "playback": playback_for(asset, public_version=None)}


UNAVAILABLE: dict[str, Any] = {"unavailable": True}


def message_payloads(viewer: User | None, messages: Sequence[Message]) -> list[dict[str, Any]]:
    """The messages as JSON-ready dicts, for `viewer` (who sees the shared post cards and
    profiles only if they may see them now, and their own reactions as `mine`; None: as a
    signed-out reader, `mine` always false). Six queries at most, whatever the count."""
    messages = list(messages)
    if not messages:
        return []
    viewer_id = viewer.pk if viewer is not None else None
    ids = [m.pk for m in messages]
    reply_ids = {m.reply_to_id for m in messages if m.reply_to_id}
    replies = {r.pk: r for r in Message.objects.filter(pk__in=reply_ids).only(
        "id", "seq", "body", "state", "kind", "sender_id")} if reply_ids else {}
    post_ids = {m.shared_post_id for m in messages if m.shared_post_id}
    posts = {p.pk: p for p in for_display(visible_posts_for(viewer=viewer).filter(
        pk__in=post_ids, status=Post.Status.PUBLISHED))} if post_ids else {}
    asset_ids = {m.asset_id for m in messages if m.asset_id}
    assets = {a.pk: a for a in MediaAsset.objects.filter(pk__in=asset_ids)} if asset_ids else {}
    shared_ids = {m.shared_user_id for m in messages if m.shared_user_id}
    named_ids = {int(i) for m in messages if m.kind == Message.Kind.SYSTEM
                 for i in (m.data.get("users") or []) if str(i).isdigit()}
    user_ids = {m.sender_id for m in messages if m.sender_id} | shared_ids | named_ids
    users = {u.pk: u for u in User.objects.filter(pk__in=user_ids).only(
        "id", "username", "display_name", "avatar_sizes", "is_active", "deactivated_at",
        "deletion_scheduled_for")}
    blocked = (blocked_user_ids(viewer_id) if viewer_id is not None and (shared_ids or replies)
               else set())
    shown_profiles = set(User.objects.filter(discoverable_q(), pk__in=shared_ids)
                         .values_list("pk", flat=True)) - blocked if shared_ids else set()
    reactions: dict[int, list[dict[str, Any]]] = {}
    for row in (Reaction.objects.filter(message_id__in=ids).values("message_id", "emoji")
                .annotate(n=Count("id")).order_by("message_id", "-n", "emoji")):
        reactions.setdefault(row["message_id"], []).append(
            {"emoji": row["emoji"], "count": row["n"], "mine": False})
    if viewer_id is not None and reactions:
        for message_id, emoji in Reaction.objects.filter(
                message_id__in=list(reactions), user_id=viewer_id).values_list(
                    "message_id", "emoji"):
            for item in reactions[message_id]:
                item["mine"] = item["emoji"] == emoji

    out = []
    for m in messages:
        unsent = m.state == Message.State.UNSENT
        removed = m.state == Message.State.REMOVED
        gone = m.state in Message.WITHOUT_CONTENT  # a tombstone: none of its content
        sender = users.get(m.sender_id) if m.sender_id else None
        reply = replies.get(m.reply_to_id) if m.reply_to_id else None
        shown_media = (m.asset_id in assets and not gone
                       and (m.state == Message.State.VISIBLE or m.sender_id == viewer_id))
        out.append({
            "id": str(m.pk), "conversation": str(m.conversation_id), "seq": m.seq,
            "change_seq": m.change_seq, "client_id": m.client_id,
            "sender": user_card(sender) if sender is not None else None,
            "kind": m.kind, "state": m.state,
            "body": "" if gone else m.body,
            "mentions": [] if gone else [str(i) for i in m.mentions],
            "reply_to": None if reply is None else {
                "id": str(reply.pk), "seq": reply.seq,
                "body_preview": (reply.body[:PREVIEW_CHARS]
                                 if reply.state == Message.State.VISIBLE
                                 and reply.sender_id not in blocked else "")},
            "shared_post": None if not m.shared_post_id or gone else (
                _post_card(posts[m.shared_post_id]) if m.shared_post_id in posts
                else UNAVAILABLE),
            "shared_profile": None if not m.shared_user_id or gone else (
                user_card(users[m.shared_user_id]) if m.shared_user_id in shown_profiles
                and m.shared_user_id in users else UNAVAILABLE),
            "media": _media(assets[m.asset_id]) if shown_media and m.asset_id else None,
            "reactions": [] if gone else reactions.get(m.pk, []),
            "system": _system(m, users) if m.kind == Message.Kind.SYSTEM else None,
            "refusal": m.refusal if m.state == Message.State.REJECTED else None,
            "created_at": m.created_at.isoformat().replace("+00:00", "Z"),
            "edited_at": (m.edited_at.isoformat().replace("+00:00", "Z")
                          if m.edited_at else None),
            "unsent": unsent,
            "removed": removed,
            "notice": REMOVED_NOTICE if removed else None,
        })
    return out


def _system(message: Message, users: dict[int, User]) -> dict[str, Any]:
    """A system message's event with the people it names as cards (those still around)."""
    named = [users[int(i)] for i in (message.data.get("users") or [])
             if str(i).isdigit() and int(i) in users]
    return {**message.data, "user_cards": [user_card(u) for u in named]}


def conversation_payloads(viewer: User, rows: Iterable[Participant]) -> list[dict[str, Any]]:
    """Inbox rows of these memberships (the viewer's Participant rows): see
    `inbox_payloads`. One query whatever the count (`selectors.inbox_rows`)."""
    return inbox_payloads(viewer, selectors.inbox_rows(rows))


def inbox_payloads(viewer: User, rows: Iterable[selectors.InboxRow]) -> list[dict[str, Any]]:
    """The inbox's rows as JSON-ready dicts: the title, the other members (a few), the
    latest message's preview, unread and the viewer's flags. No query: the rows carry it
    all (`selectors.inbox_page`, `selectors.inbox_rows`)."""
    out = []
    for row in rows:
        everyone = row["members"]
        others = [p for p in everyone if p["id"] != viewer.pk]
        last = row["last_message"]
        out.append({
            "id": str(row["conversation_id"]), "kind": row["kind"],
            "name": row["name"],
            "title": row["name"] or ", ".join(
                p["display_name"] or p["username"] for p in others[:4]) or "Just you",
            "members": [{"id": str(p["id"]), "username": p["username"],
                         "display_name": p["display_name"],
                         "avatar_url": avatar_url_of(p["avatar_sizes"]), "role": p["role"]}
                        for p in everyone],
            "member_count": row["member_count"],
            "role": row["role"],
            "last_seq": row["last_seq"],
            "last_message": None if last is None else {
                "id": str(last["id"]), "seq": last["seq"], "kind": last["kind"],
                "sender": str(last["sender_id"]) if last["sender_id"] else None,
                "body": ("" if last["state"] in Message.WITHOUT_CONTENT
                         else " ".join(last["body"].split())[:PREVIEW_CHARS]),
                "unsent": last["state"] == Message.State.UNSENT,
                "removed": last["state"] == Message.State.REMOVED,
                "system": last["data"] if last["kind"] == Message.Kind.SYSTEM else None,
                "created_at": last["created_at"].isoformat().replace("+00:00", "Z")},
            "unread_count": row["unread_count"], "last_read_seq": row["last_read_seq"],
            "request": row["accepted_at"] is None,
            "muted_until": _iso(row["muted_until"]), "pinned": row["pinned_at"] is not None,
            "archived": row["archived_at"] is not None,
            "last_activity_at": _iso(row["last_activity_at"]),
        })
    return out


def _iso(value: Any) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


# --- documentation of the shapes (OpenAPI) ---------------------------------------------------


class UserCardSerializer(serializers.Serializer[Any]):
    id = serializers.CharField(help_text="64-bit id, as a string.")
    username = serializers.CharField()
    display_name = serializers.CharField()
    avatar_url = serializers.CharField(allow_null=True)


class _ReplySerializer(serializers.Serializer[Any]):
    id = serializers.CharField()
    seq = serializers.IntegerField(allow_null=True)
    body_preview = serializers.CharField(help_text="Empty when it was unsent or removed.")


class _PostCardSerializer(serializers.Serializer[Any]):
    id = serializers.CharField(required=False)
    unavailable = serializers.BooleanField(
        help_text="True when you may not see the post now (then nothing else is given).")
    caption = serializers.CharField(required=False)
    author = UserCardSerializer(required=False)
    poster_url = serializers.CharField(required=False, allow_null=True)
    url = serializers.CharField(required=False, help_text="The web path of the post.")


class _ProfileCardSerializer(serializers.Serializer[Any]):
    id = serializers.CharField(required=False)
    unavailable = serializers.BooleanField(required=False)
    username = serializers.CharField(required=False)
    display_name = serializers.CharField(required=False)
    avatar_url = serializers.CharField(required=False, allow_null=True)


class _MediaSerializer(serializers.Serializer[Any]):
    id = serializers.CharField()
    state = serializers.CharField()
    playable = serializers.BooleanField()
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
    duration_ms = serializers.IntegerField(allow_null=True)
    playback = serializers.DictField(allow_null=True, child=serializers.JSONField())


class _ReactionSerializer(serializers.Serializer[Any]):
    emoji = serializers.CharField()
    count = serializers.IntegerField()
    mine = serializers.BooleanField()


@extend_schema_serializer(component_name="DirectMessage")
class MessageSerializer(serializers.Serializer[Any]):
    id = serializers.CharField()
    conversation = serializers.CharField()
    seq = serializers.IntegerField(allow_null=True,
                                   help_text="Place in the thread; null while waiting for "
                                             "its media checks.")
    change_seq = serializers.IntegerField(allow_null=True,
                                          help_text="The seq of its latest change.")
    client_id = serializers.CharField()
    sender = UserCardSerializer(allow_null=True)
    kind = serializers.ChoiceField(choices=Message.Kind.choices)
    state = serializers.ChoiceField(choices=Message.State.choices)
    body = serializers.CharField()
    mentions = serializers.ListField(child=serializers.CharField(),
                                     help_text="Ids of the members the text mentions.")
    reply_to = _ReplySerializer(allow_null=True)
    shared_post = _PostCardSerializer(allow_null=True)
    shared_profile = _ProfileCardSerializer(allow_null=True)
    media = _MediaSerializer(allow_null=True)
    reactions = _ReactionSerializer(many=True)
    system = serializers.DictField(allow_null=True, child=serializers.JSONField(),
                                   help_text='A system message\'s event: {"event": '
                                             '"added", "actor": id, "users": [ids], '
                                             '"user_cards": [cards of those users]}.')
    refusal = serializers.CharField(allow_null=True,
                                    help_text="Why its checks refused it (sender only).")
    created_at = serializers.DateTimeField()
    edited_at = serializers.DateTimeField(allow_null=True)
    unsent = serializers.BooleanField()
    removed = serializers.BooleanField(
        help_text="Removed by our moderators for everyone: a tombstone (no content).")
    notice = serializers.CharField(allow_null=True,
                                   help_text="What to show in place of a removed message.")


class _SupportResourceSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    description = serializers.CharField()
    url = serializers.CharField(help_text="\"\" when it is a phone line only.")
    phone = serializers.CharField(help_text="\"\" when it is a web page only.")


class _SupportSerializer(serializers.Serializer[Any]):
    title = serializers.CharField()
    body = serializers.CharField()
    resources = _SupportResourceSerializer(many=True)


@extend_schema_serializer(component_name="DirectMessageSent")
class SentMessageSerializer(MessageSerializer):
    support = _SupportSerializer(
        allow_null=True, help_text="Support resources (helplines, in the sender's language "
                                   "first) when the text read as self-harm: show them to the "
                                   "sender with the message (it was sent). Null otherwise.")


class _MemberSerializer(UserCardSerializer):
    role = serializers.ChoiceField(choices=Participant.Role.choices)


class _LastMessageSerializer(serializers.Serializer[Any]):
    id = serializers.CharField()
    seq = serializers.IntegerField(allow_null=True)
    kind = serializers.CharField()
    sender = serializers.CharField(allow_null=True)
    body = serializers.CharField()
    unsent = serializers.BooleanField()
    removed = serializers.BooleanField()
    system = serializers.DictField(allow_null=True, child=serializers.JSONField())
    created_at = serializers.DateTimeField()


@extend_schema_serializer(component_name="Conversation")
class ConversationSerializer(serializers.Serializer[Any]):
    id = serializers.CharField()
    kind = serializers.ChoiceField(choices=Conversation.Kind.choices)
    name = serializers.CharField()
    title = serializers.CharField(help_text="The name, or the other members' names.")
    members = _MemberSerializer(many=True, help_text="The first few members.")
    member_count = serializers.IntegerField()
    role = serializers.ChoiceField(choices=Participant.Role.choices)
    last_seq = serializers.IntegerField()
    last_message = _LastMessageSerializer(allow_null=True)
    unread_count = serializers.IntegerField()
    last_read_seq = serializers.IntegerField()
    request = serializers.BooleanField(help_text="In your Requests (not accepted yet).")
    muted_until = serializers.DateTimeField(allow_null=True)
    pinned = serializers.BooleanField()
    archived = serializers.BooleanField()
    last_activity_at = serializers.DateTimeField(allow_null=True)
