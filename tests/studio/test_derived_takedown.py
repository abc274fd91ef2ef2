"""A published duet credits its original; when the original is taken down the duet is
re-rendered without it (a new version of its edit, the creator's part alone), switched onto
the post like any edit of a post, and its creator is told in words.

The real services, hooks and outbox all the way: the tasks the hooks queue are read off the
broker (the session worker is paused) and run here in order; media's own processing of the
render is arranged (it is media's, tested there)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.content import services as content_services
from apps.content.models import Post
from apps.media import services as media_services
from apps.media.models import MediaAsset
from apps.moderation.detection.services import asset_checks_clear
from apps.notifications.models import Notification
from apps.notifications.services.events import event_handle
from apps.notifications.services.texts import describe
from apps.social.models import Block
from apps.studio import services, switching, takedown
from apps.studio.models import Edit, EditVersion
from tests.conftest import waiting_task_args
from tests.factories import UserFactory
from tests.studio.conftest import arrange_source, clip_file, dominant_hz, frame_at, mean_rgb
from tests.studio.test_derived import original_post


def _playable(asset_id: int) -> None:
    """What media's pipeline does with a render (validated, the ladder): arranged."""
    MediaAsset.objects.filter(pk=asset_id).update(
        state=MediaAsset.State.READY, playable_at=timezone.now(), duration_ms=2000,
        width=160, height=284, probe={"has_audio": True})
    asset_checks_clear(asset_id=asset_id, reason="arranged by a test")


def _checks_queued() -> list[int]:
    return [int(pk) for args in waiting_task_args("apps.studio.check_borrowed")
            for pk in cast(list[int], args[0])]


@pytest.mark.django_db(transaction=True)
def test_a_duet_is_credited_then_loses_its_borrowed_part_when_the_original_goes(
        broker_unconsumed: None, tmp_path: Path) -> None:
    creator = UserFactory()
    original = original_post(tmp_path)  # red, 440 Hz
    own = arrange_source(creator, clip_file(tmp_path, "own", source="color=c=blue",
                                            hz=1000.0), seconds=2.0)
    document: dict[str, Any] = {
        "version": 2, "clips": [{"asset_id": str(own.pk), "in_ms": 0, "out_ms": 2000}],
        "source": {"kind": "duet", "post_id": str(original.pk)}, "original_volume": 0.0}
    version = services.edit_create(user=creator, document=document)
    services.edit_render(user=creator, edit_id=version.edit_id)
    assert services.version_render_run(version_id=version.pk) == "rendered"
    version.refresh_from_db()
    assert version.asset_id is not None
    _playable(version.asset_id)

    # posted like any upload: published, it credits the original
    post = content_services.post_create(author=creator, asset_id=version.asset_id)
    post.refresh_from_db()
    assert post.status == Post.Status.PUBLISHED
    assert (post.derived_from_id, post.derived_kind) == (original.pk, "duet")
    viewer = APIClient()
    viewer.force_authenticate(UserFactory())
    credit = viewer.get(f"/api/v1/posts/{post.pk}").json()["derived_from"]
    assert credit["kind"] == "duet"
    assert credit["post_id"] == str(original.pk)
    assert credit["author"]["username"] == original.author.username
    blocked = UserFactory()
    Block.objects.create(blocker=original.author, blocked=blocked)
    viewer.force_authenticate(blocked)  # may not see the original: no credit, no link
    assert viewer.get(f"/api/v1/posts/{post.pk}").json()["derived_from"] is None
    assert post.pk in _checks_queued()  # the publish asks for a check: still allowed
    # the original's creator is told, in words, with a link to the duet
    for args in waiting_task_args("apps.notifications.handle_event"):
        if args[0] == "post_published":
            event_handle(event=str(args[0]), payload=cast(dict[str, Any], args[1]))
    told = Notification.objects.get(recipient_id=original.author_id, type="post_remixed")
    assert describe(told)[0] == f"{creator.username} dueted your video"
    assert describe(told)[2] == f"/p/{post.pk}/"
    assert takedown.borrowed_check_run([post.pk]) == {post.pk: "kept"}

    # moderation takes the original down: content's hook queues the check
    assert content_services.post_remove(post_id=original.pk)
    assert _checks_queued().count(post.pk) == 2
    assert takedown.borrowed_check_run([post.pk]) == {post.pk: "stripping"}
    assert takedown.borrowed_check_run([post.pk]) == {post.pk: "skipped"}  # once
    post.refresh_from_db()
    assert post.derived_from_id is None
    assert post.derived_kind == ""
    assert post.asset_id == version.asset_id  # until the new render is ready
    stripped = EditVersion.objects.get(edit_id=version.edit_id, number=2)
    assert stripped.document["source"] is None
    assert stripped.state == EditVersion.State.RENDERING
    assert [stripped.pk] in waiting_task_args("apps.studio.render_version")

    # the creator is told in words
    for args in waiting_task_args("apps.notifications.handle_event"):
        if args[0] == "post_borrowed_part_removed":
            event_handle(event=str(args[0]), payload=cast(dict[str, Any], args[1]))
    notice = Notification.objects.get(recipient_id=creator.pk, type="remix_original_gone")
    title, body, path = describe(notice)
    assert title == f"Your duet no longer shows @{original.author.username}'s video"
    assert "re-rendering your duet with only your own part" in body
    assert path == f"/p/{post.pk}/"

    # the re-render: the creator's clip alone, full frame, with their own sound
    assert services.version_render_run(version_id=stripped.pk) == "rendered"
    stripped.refresh_from_db()
    assert stripped.asset_id is not None
    rendered = media_services.asset_source_file(stripped.asset_id)
    frame = frame_at(rendered, 1.0)
    for box in ((0.05, 0.3, 0.3, 0.7), (0.7, 0.3, 0.95, 0.7)):
        r, _, b = mean_rgb(frame, box)
        assert b > 200, (box, r, b)  # blue everywhere: no red half
        assert r < 50, (box, r, b)
    assert dominant_hz(rendered, 0.2, 1.8) == pytest.approx(1000, abs=15)
    assert stripped.switch == EditVersion.Switch.WAITING
    _playable(stripped.asset_id)
    switching.settle_for_asset(asset_id=stripped.asset_id)
    post.refresh_from_db()
    assert post.asset_id == stripped.asset_id  # the post plays the creator's part alone
    # its own original sound (the borrowed audio was in it) can no longer be reused
    assert post.original_sound is not None
    assert not post.original_sound.allow_reuse


def _stitch_of(original: Post, creator: Any) -> Post:
    """A published stitch of `original` as the studio leaves it (its render arranged)."""
    from tests.content.factories import MediaAssetFactory, PostFactory

    asset = MediaAssetFactory(owner=creator, duration_ms=3000)
    edit_version = EditVersion.objects.create(
        edit=Edit.objects.create(owner=creator), number=1, asset=asset,
        state=EditVersion.State.RENDERED, duration_ms=3000, document={
            "version": 2, "clips": [{"asset_id": "1", "in_ms": 0, "out_ms": 2000}],
            "source": {"kind": "stitch", "post_id": str(original.pk), "in_ms": 0,
                       "out_ms": 1000}})
    post = PostFactory(author=creator, asset=edit_version.asset)
    content_services.post_set_derived(post_id=post.pk, original_id=original.pk, kind="stitch")
    return post


@pytest.mark.parametrize("how", ["deleted", "private", "friends_only", "stitch_disallowed",
                                 "account_private", "blocked", "caption_edited"])
@pytest.mark.django_db
def test_every_way_the_original_leaves_public_view_takes_the_borrowed_part_out(how: str
                                                                               ) -> None:
    from apps.accounts.hooks import account_changed
    from apps.core.models import OutboxTask
    from tests.content.factories import PostFactory

    creator, author = UserFactory(), UserFactory()
    original = PostFactory(author=author)
    stitch = _stitch_of(original, creator)
    OutboxTask.objects.all().delete()
    if how == "deleted":
        content_services.post_delete(user=author, post_id=original.pk)
    elif how == "blocked":
        from apps.social.services import block_create

        block_create(blocker=author, blocked=creator)
    elif how == "account_private":
        author.is_private = True
        author.save(update_fields=["is_private"])
        account_changed(user_ids=[author.pk])  # what the accounts service runs
    else:
        changes: dict[str, dict[str, Any]] = {
            "private": {"visibility": "private"}, "friends_only": {"visibility": "friends"},
            "stitch_disallowed": {"allow_stitch": False},
            "caption_edited": {"caption": "still public"}}
        change = changes[how]
        content_services.post_update(user=author, post_id=original.pk, **change)
    queued = OutboxTask.objects.filter(task="apps.studio.check_borrowed")
    assert [task.args for task in queued] == [[[stitch.pk]]]
    outcome = takedown.borrowed_check_run([stitch.pk])[stitch.pk]
    stitch.refresh_from_db()
    if how == "caption_edited":  # still public: the stitch keeps it, credited
        assert outcome == "kept"
        assert stitch.derived_from_id == original.pk
        return
    assert outcome == "stripping"
    assert stitch.derived_from_id is None
    stripped = EditVersion.objects.get(edit__post=stitch, number=2)
    assert stripped.document["source"] is None
    assert stripped.duration_ms == 2000  # the creator's part alone
