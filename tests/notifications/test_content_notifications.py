"""Issue 14, told through the real content and comments services (not rows made by
factories): a caption's @mention ("mentioned you in a video"), a post on another
creator's sound ("used your sound"), and a comment the creator's keyword filter held
and then approved (told then, not before)."""

from __future__ import annotations

from typing import Any

import pytest

from apps.accounts.models import User
from apps.comments import services as comment_services
from apps.comments.models import Comment
from apps.content import services as content_services
from apps.content.models import Mention, Post
from apps.moderation.services import enforce
from apps.notifications.services import texts
from apps.social import services as social_services
from tests.content.factories import MediaAssetFactory
from tests.factories import UserFactory
from tests.notifications.inbox_helpers import inbox_of, run_notification_tasks

pytestmark = pytest.mark.django_db


def _post(author: User, caption: str = "", **kwargs: Any) -> Post:
    return content_services.post_create(
        author=author, asset_id=MediaAssetFactory(owner=author).pk, caption=caption, **kwargs)


def _told(user: User) -> list[tuple[str, str]]:
    """(type, title) of the person's notifications, newest first."""
    return [(n.type, texts.describe(n)[0]) for n in inbox_of(user.pk)]


def test_a_caption_mention_tells_the_mentioned_person() -> None:
    author, maya, leo = (UserFactory(username=name) for name in ("cmauthor", "cmmaya", "cmleo"))
    post = _post(author, "dance with @cmmaya and @cmleo and me @cmauthor")
    assert post.status == Post.Status.PUBLISHED
    run_notification_tasks()
    assert _told(maya) == [("mention_post", "cmauthor mentioned you in a video")]
    assert _told(leo) == [("mention_post", "cmauthor mentioned you in a video")]
    [row] = inbox_of(maya.pk)
    assert row.data["excerpt"] == "dance with @cmmaya and @cmleo and me @cmauthor"
    assert texts.describe(row)[2] == f"/p/{post.pk}/"
    assert inbox_of(author.pk) == []  # nobody is told about their own act
    run_notification_tasks()  # the hook's task again: told once
    assert len(inbox_of(maya.pk)) == 1


def test_a_caption_edited_to_mention_someone_tells_only_the_newly_mentioned() -> None:
    author, maya, leo = (UserFactory(username=name) for name in ("ceauthor", "cemaya", "celeo"))
    post = _post(author, "with @cemaya")
    run_notification_tasks()
    content_services.post_update(user=author, post_id=post.pk,
                                 caption="with @cemaya and now @celeo")
    run_notification_tasks()
    assert _told(leo) == [("mention_post", "ceauthor mentioned you in a video")]
    assert inbox_of(leo.pk)[0].data["excerpt"] == "with @cemaya and now @celeo"
    assert len(inbox_of(maya.pk)) == 1  # told at the publish, not again
    # dropped and mentioned again: told once per post and person
    content_services.post_update(user=author, post_id=post.pk, caption="just me")
    content_services.post_update(user=author, post_id=post.pk, caption="@celeo again")
    run_notification_tasks()
    assert len(inbox_of(leo.pk)) == 1
    # a draft's caption edit tells nobody (its publish will)
    draft = _post(author, "draft", publish="draft")
    content_services.post_update(user=author, post_id=draft.pk, caption="draft @cemaya")
    run_notification_tasks()
    assert len(inbox_of(maya.pk)) == 1


def test_no_mention_notification_when_blocked_muted_private_removed_or_a_draft() -> None:
    author = UserFactory(username="cmauthor2")
    blocker, muter, stranger, follower = (UserFactory(username=name) for name in (
        "cmblocker", "cmmuter", "cmstranger", "cmfollower"))
    social_services.block_create(blocker=blocker, blocked=author)
    social_services.mute_create(muter=muter, muted=author)
    _post(author, "hi @cmblocker and @cmmuter")
    run_notification_tasks()
    assert inbox_of(blocker.pk) == []
    assert inbox_of(muter.pk) == []
    # private to followers: a follower mentioned is told, a stranger (who cannot see it) not
    social_services.follow_create(follower=follower, followee=author)
    _post(author, "friends only @cmfollower @cmstranger", visibility=Post.Visibility.FRIENDS)
    run_notification_tasks()
    assert inbox_of(stranger.pk) == []
    # a private account's post: its follower is told (the follow was made before)
    User.objects.filter(pk=author.pk).update(is_private=True)
    _post(User.objects.get(pk=author.pk), "private @cmfollower @cmstranger")
    run_notification_tasks()
    assert inbox_of(stranger.pk) == []
    assert {n.type for n in inbox_of(follower.pk)} == {"mention_post"}
    # removed before the task ran: nothing
    gone = UserFactory(username="cmgone")
    post = _post(author, "bye @cmgone")
    enforce(action="remove", target_type="post", target_id=post.pk, policy="spam_scam",
            reason="Spam.")
    run_notification_tasks()
    assert inbox_of(gone.pk) == []
    # a draft tells nobody until it is published
    later = UserFactory(username="cmlater")
    User.objects.filter(pk=author.pk).update(is_private=False)
    draft = _post(User.objects.get(pk=author.pk), "soon @cmlater", publish="draft")
    assert Mention.objects.filter(post=draft, user=later).exists()
    run_notification_tasks()
    assert inbox_of(later.pk) == []
    content_services.post_update(user=User.objects.get(pk=author.pk), post_id=draft.pk,
                                 publish="now")
    run_notification_tasks()
    assert _told(later) == [("mention_post", "cmauthor2 mentioned you in a video")]


def test_a_post_on_another_creators_sound_tells_its_owner() -> None:
    owner, fan = UserFactory(username="sdowner"), UserFactory(username="sdfan")
    sound = _post(owner, "my sound").original_sound
    assert sound is not None
    run_notification_tasks()
    used = _post(fan, "dancing to it", sound_id=sound.pk)
    assert used.sound_id == sound.pk
    run_notification_tasks()
    assert _told(owner) == [("sound_used", f"sdfan used your sound “{sound.title}”")]
    [row] = inbox_of(owner.pk)
    assert texts.describe(row)[2] == f"/p/{used.pk}/"
    # a second video on it groups into the same notification ("and 1 other")
    other = UserFactory(username="sdother")
    _post(other, "me too", sound_id=sound.pk)
    run_notification_tasks()
    [row] = inbox_of(owner.pk)
    assert row.actor_count == 2
    assert texts.describe(row)[0] == f"sdother and sdfan used your sound “{sound.title}”"
    # the owner's own posts on it tell nobody
    _post(owner, "again", sound_id=sound.pk)
    run_notification_tasks()
    assert len(inbox_of(owner.pk)) == 1


def test_no_sound_notification_when_muted_private_or_removed() -> None:
    owner = UserFactory(username="sdowner2")
    sound = _post(owner, "mine").original_sound
    assert sound is not None
    muted, hidden, removed = (UserFactory(username=name) for name in (
        "sdmuted", "sdhidden", "sdremoved"))
    social_services.mute_create(muter=owner, muted=muted)
    _post(muted, "on it", sound_id=sound.pk)
    # a video only its author may see: the owner is not told of it
    _post(hidden, "secret", sound_id=sound.pk, visibility=Post.Visibility.PRIVATE)
    post = _post(removed, "soon gone", sound_id=sound.pk)
    enforce(action="remove", target_type="post", target_id=post.pk, policy="spam_scam",
            reason="Spam.")
    run_notification_tasks()
    assert [n.type for n in inbox_of(owner.pk)] == []


def test_a_held_comment_tells_nobody_until_the_creator_approves_it(
        django_capture_on_commit_callbacks: Any) -> None:
    creator, commenter, mentioned = (UserFactory(username=name) for name in (
        "hccreator", "hccommenter", "hcmentioned"))
    post = _post(creator, "my video")
    comment_services.comment_filter_create(creator=creator, keyword="cheap")
    with django_capture_on_commit_callbacks(execute=True):
        held = comment_services.comment_create(
            author=commenter, post=post, text="cheap followers here @hcmentioned")
        rejected = comment_services.comment_create(
            author=commenter, post=post, text="cheap again")
    assert held.status == Comment.Status.HELD
    run_notification_tasks()
    assert inbox_of(creator.pk) == []
    assert inbox_of(mentioned.pk) == []
    with django_capture_on_commit_callbacks(execute=True):
        comment_services.held_comment_approve(creator=creator, comment=held)
        comment_services.held_comment_reject(creator=creator, comment=rejected)
    run_notification_tasks()
    assert _told(creator) == [("comment", "hccommenter commented on your video")]
    assert _told(mentioned) == [("mention_comment", "hccommenter mentioned you in a comment")]
    assert inbox_of(creator.pk)[0].target_id == held.pk
    # approving again (idempotent) tells nobody twice
    with django_capture_on_commit_callbacks(execute=True):
        comment_services.held_comment_approve(creator=creator, comment=held)
    run_notification_tasks()
    assert len(inbox_of(creator.pk)) == 1
    assert len(inbox_of(mentioned.pk)) == 1


def test_duets_and_stitches_tell_the_originals_creator_grouped_per_kind() -> None:
    owner = UserFactory(username="rmowner")
    original = _post(owner, "the original")
    run_notification_tasks()
    for name, kind in (("rmmaya", "stitch"), ("rmleo", "stitch"), ("rmzoe", "duet")):
        # The studio credits the original in the publishing transaction (its
        # post-published hook); the notification is resolved after the commit.
        derived = _post(UserFactory(username=name), f"{kind} of it")
        assert content_services.post_set_derived(post_id=derived.pk, original_id=original.pk,
                                                 kind=kind)
        run_notification_tasks()
    assert _told(owner) == [("post_remixed", "rmzoe dueted your video"),
                            ("post_remixed", "rmleo and rmmaya stitched your video")]
    own = _post(owner, "my own duet of myself")
    content_services.post_set_derived(post_id=own.pk, original_id=original.pk, kind="duet")
    run_notification_tasks()
    assert len(inbox_of(owner.pk)) == 2  # nobody is told about their own act
