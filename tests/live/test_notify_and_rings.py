"""A live's start told to the host's followers (notifications' fan-out: all but those who
turned the creator's notifications off or the type off, banned from the host's lives, or
muting or blocked; once per live; batched and resumable), a replay that cannot be made
told in words, and the ring on avatars (post authors and profiles through social's hook,
only for a live the viewer may watch)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from django.conf import settings

from apps.content.models import Post
from apps.core.errors import ConflictError
from apps.live import notices
from apps.live.models import LiveBan, LiveStream
from apps.live.services import lifecycle, live_end, replay_choose
from apps.live.services.replay import make_replay
from apps.media import storage
from apps.media.models import MediaAsset
from apps.media.probe import probe_file
from apps.media.transcode import ffmpeg_exe
from apps.notifications.models import CreatorPostSubscription, FanOut, Notification
from apps.notifications.services import preferences_update
from apps.notifications.services.fanout import live_started_fan_out
from tests.content.factories import PostFactory
from tests.factories import UserFactory
from tests.live.live_helpers import client_for, host, on_air
from tests.social.factories import FollowFactory, MuteFactory

Level = CreatorPostSubscription.Level


def _told(live: LiveStream) -> set[int]:
    return set(Notification.objects.filter(type="live_started", target_id=live.pk)
               .values_list("recipient_id", flat=True))


@pytest.mark.django_db(transaction=True)
def test_followers_are_told_once_unless_they_turned_it_off():
    creator = host()
    default, all_posts, off, type_off, banned, muting = (UserFactory() for _ in range(6))
    stranger = UserFactory()
    for fan in (default, all_posts, off, type_off, banned, muting):
        FollowFactory(follower=fan, followee=creator)
    CreatorPostSubscription.objects.create(user=all_posts, creator=creator, level=Level.ALL)
    CreatorPostSubscription.objects.create(user=off, creator=creator, level=Level.OFF)
    preferences_update(user=type_off, channels={"live_started": {"in_app": False}})
    LiveBan.objects.create(host=creator, user=banned, by=creator)
    MuteFactory(muter=muting, muted=creator)
    live, _ = on_air(creator, title="Sunday set")

    assert notices.live_started(live.pk) == 2
    assert _told(live) == {default.pk, all_posts.pk}
    assert stranger.pk not in _told(live)
    row = Notification.objects.get(recipient_id=default.pk, type="live_started")
    assert (row.actor_id, row.target_type, row.data["path"]) == (creator.pk, "live",
                                                                 f"/live/{live.pk}")
    inbox = client_for(default).get("/api/v1/notifications").json()["results"][0]
    assert inbox["title"] == f"{creator.username} is live now"
    assert inbox["body"] == "Sunday set"
    assert notices.live_started(live.pk) == 0  # once per live
    assert Notification.objects.filter(type="live_started").count() == 2


@pytest.mark.django_db(transaction=True)
def test_the_fan_out_resumes_after_its_checkpoint():
    creator = host()
    fans = [UserFactory() for _ in range(5)]
    for fan in fans:
        FollowFactory(follower=fan, followee=creator)
    live, _ = on_air(creator)

    class StopError(Exception):
        pass

    def stop_after_two(job: FanOut) -> None:
        if job.batches == 2:
            raise StopError

    with pytest.raises(StopError):
        live_started_fan_out(live.pk, creator_id=creator.pk, title="t", path="/", batch_size=2,
                             after_batch=stop_after_two)
    assert len(_told(live)) == 4
    assert live_started_fan_out(live.pk, creator_id=creator.pk, title="t", path="/",
                                batch_size=2) == 1
    assert _told(live) == {fan.pk for fan in fans}
    assert Notification.objects.filter(type="live_started").count() == 5


@pytest.mark.django_db(transaction=True)
def test_a_replay_without_a_recording_is_told_to_the_host_in_words():
    creator = host()
    live, _ = on_air(creator, title="Gig")
    replay_choose(live, save=True)
    live_end(live, reason=LiveStream.EndReason.HOST)
    assert make_replay(live.pk) is None  # the ingest kept no recording here
    row = Notification.objects.get(recipient_id=creator.pk, type="live_replay")
    assert row.data["message"] == ("We couldn't save the replay of your live “Gig”: no "
                                   "recording of it was kept.")
    assert LiveStream.objects.get(pk=live.pk).replay_post_id is None


@pytest.mark.django_db(transaction=True)
def test_the_ring_on_post_authors_and_profiles_follows_the_lives_visibility():
    creator, fan, stranger = host(), UserFactory(), UserFactory()
    FollowFactory(follower=fan, followee=creator)
    post = PostFactory(author=creator)
    path = f"/api/v1/posts/{post.pk}"
    profile = f"/api/v1/users/{creator.username}"
    assert client_for(fan).get(path).json()["author"]["is_live"] is False
    live, _ = on_air(creator, audience=LiveStream.Audience.FOLLOWERS)

    author = client_for(fan).get(path).json()["author"]
    assert (author["is_live"], author["live_id"]) == (True, str(live.pk))
    assert client_for(fan).get(profile).json()["live_id"] == str(live.pk)
    # a followers-only live rings for nobody else
    assert client_for(stranger).get(path).json()["author"]["is_live"] is False
    assert client_for(None).get(profile).json()["is_live"] is False
    listed = client_for(fan).get(f"/api/v1/users/{creator.username}/posts").json()
    assert listed["results"][0]["author"]["live_id"] == str(live.pk)

    live_end(live, reason=LiveStream.EndReason.HOST)
    assert client_for(fan).get(path).json()["author"]["is_live"] is False
    lifecycle.refresh_on_air_cache()
    assert client_for(fan).get(profile).json()["is_live"] is False


def _record(live_id: int, parts: int, seconds: int) -> None:
    """What the ingest keeps: each connection's source as recording/<n>.ts (H.264/AAC)."""
    folder = Path(settings.SWIPEME_LIVE_ROOT) / str(live_id) / "recording"
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(parts):
        subprocess.run(
            [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
             "-f", "lavfi", "-i", f"testsrc2=size=320x568:rate=15:duration={seconds}",
             "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
             "-c:v", "libx264", "-preset", "ultrafast", "-g", "15", "-c:a", "aac",
             "-f", "mpegts", str(folder / f"{n:04d}.ts")], check=True)


@pytest.mark.django_db(transaction=True)
def test_the_recording_becomes_a_replay_post_through_the_vod_pipeline():
    creator = host()
    live, _ = on_air(creator, title="Rooftop", audience=LiveStream.Audience.FOLLOWERS)
    _record(live.pk, parts=2, seconds=2)  # a reconnect: two connections' recordings
    live_end(live, reason=LiveStream.EndReason.HOST)
    assert make_replay(live.pk) is None  # not chosen: nothing made
    replay_choose(live, save=True)  # chosen after the end: made at once (the task)
    post_id = make_replay(live.pk)
    assert post_id is not None
    assert make_replay(live.pk) == post_id  # twice: the same post
    post = Post.objects.select_related("asset").get(pk=post_id)
    assert post.author_id == creator.pk
    assert post.caption == "Replay: Rooftop"
    assert post.visibility == Post.Visibility.FRIENDS  # never wider than the live
    assert LiveStream.objects.get(pk=live.pk).replay_post_id == post_id
    source = storage.source_path(post.asset_id)
    probed = probe_file(source)  # what the pipeline checks first
    assert probed.has_audio
    assert 3.5 < probed.duration_s < 4.6
    assert post.asset.state == MediaAsset.State.UPLOADED  # queued for the ladder
    with pytest.raises(ConflictError) as caught:
        replay_choose(live, save=True)
    assert caught.value.message == "The replay is already saved as a post."
