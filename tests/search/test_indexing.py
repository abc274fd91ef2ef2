"""The indexing pipeline in one process: every change a lower app makes records its outbox
row in the change's own transaction (none when it rolls back), the drain applies them to
the real backend and deletes them, and a rebuild from scratch equals the incremental index.
The worker-level tests (the real drain task, a killed indexer, the first start) are in
test_indexing_worker.py."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connections, transaction
from django.test import Client
from django.utils import timezone

from apps.accounts import services as account_services
from apps.accounts.hooks import account_changed
from apps.accounts.models import User
from apps.content import services
from apps.content.hooks import content_changed
from apps.content.models import Hashtag, Post, Sound
from apps.core import health
from apps.search.engine import get_backend
from apps.search.engine.base import SearchBackend
from apps.search.indexing import pipeline
from apps.search.models import IndexOutbox
from apps.social import services as social_services
from tests.conftest import waiting_task_args
from tests.content.factories import LibrarySoundFactory, MediaAssetFactory
from tests.factories import UserFactory

Rows = set[tuple[str, int]]


@pytest.fixture(params=["tantivy", "postgres"])
def index(request: pytest.FixtureRequest, settings: Any) -> Iterator[SearchBackend]:
    """The configured backend (each engine in turn; the pipeline is the same for both),
    emptied and marked built, as after a completed rebuild of an empty database. The
    tantivy index is the test run's own (settings.test: beside its media)."""
    settings.SWIPEME_SEARCH_BACKEND = request.param
    backend = get_backend()
    backend.clear()
    backend.mark_built()
    yield backend
    backend.clear()


def _rows() -> Rows:
    return set(IndexOutbox.objects.values_list("kind", "object_id"))


def _publish(author: User, caption: str, **kwargs: Any) -> Post:
    return services.post_create(author=author, asset_id=MediaAssetFactory(owner=author).pk,
                                caption=caption, **kwargs)


def _ids(backend: SearchBackend, kind: Any, query: str) -> list[int]:
    return [hit.id for hit in backend.search(kind, query, limit=50)]


# --- every change path writes its row in the change's transaction ----------------------------

class RolledBackError(Exception):
    pass


def _arrange_post() -> dict[str, Any]:
    author = UserFactory(username="wren")
    post = _publish(author, "sunrise over the #harbour")
    return {"author": author, "post": post}


# Each case: arrange (committed before counting) -> (the change, the rows it must write).
Case = Callable[[], tuple[Callable[[], object], Rows]]


def _publish_now() -> tuple[Callable[[], object], Rows]:
    author = UserFactory()

    def act() -> None:
        asset = MediaAssetFactory(owner=author)
        post = services.post_create(author=author, asset_id=asset.pk, caption="hi #fresh")
        expected.clear()  # this call's ids (a rolled-back call's are gone)
        expected.update({("video", post.pk), ("sound", post.original_sound_id or 0),
                         ("hashtag", Hashtag.objects.get(name="fresh").pk)})
    expected: Rows = set()
    return act, expected


def _caption_edit() -> tuple[Callable[[], object], Rows]:
    a = _arrange_post()
    return (lambda: services.post_update(user=a["author"], post_id=a["post"].pk,
                                         caption="moonrise #bay"),
            {("video", a["post"].pk)})


def _visibility_change() -> tuple[Callable[[], object], Rows]:
    a = _arrange_post()
    return (lambda: services.post_update(user=a["author"], post_id=a["post"].pk,
                                         visibility=Post.Visibility.PRIVATE),
            {("video", a["post"].pk)})


def _post_delete() -> tuple[Callable[[], object], Rows]:
    a = _arrange_post()
    post = a["post"]
    tag = Hashtag.objects.get(name="harbour").pk
    return (lambda: services.post_delete(user=a["author"], post_id=post.pk),
            {("video", post.pk), ("sound", post.original_sound_id), ("hashtag", tag)})


def _removal() -> tuple[Callable[[], object], Rows]:
    post = _arrange_post()["post"]
    return lambda: services.post_remove(post_id=post.pk), {("video", post.pk)}


def _reinstate() -> tuple[Callable[[], object], Rows]:
    post = _arrange_post()["post"]
    services.post_remove(post_id=post.pk)
    return (lambda: services.post_reinstate(post_id=post.pk, status=Post.Status.PUBLISHED),
            {("video", post.pk)})


def _age_restriction() -> tuple[Callable[[], object], Rows]:
    post = _arrange_post()["post"]
    return (lambda: services.post_set_moderation_flags(post_id=post.pk, age_restricted=True),
            {("video", post.pk)})


def _scheduled_publish() -> tuple[Callable[[], object], Rows]:
    author = UserFactory()
    post = _publish(author, "later", publish=timezone.now() + timedelta(minutes=10))
    return (lambda: services.posts_publish_due(now=timezone.now() + timedelta(minutes=11)),
            {("video", post.pk)})


def _sound_take_down() -> tuple[Callable[[], object], Rows]:
    sound = LibrarySoundFactory()
    return (lambda: services.sounds_take_down(sound_ids=[sound.pk]), {("sound", sound.pk)})


def _sound_moderation_take_down() -> tuple[Callable[[], object], Rows]:
    sound = LibrarySoundFactory()
    return (lambda: services.sound_set_taken_down(sound_id=sound.pk, taken_down=True),
            {("sound", sound.pk)})


def _sound_reuse() -> tuple[Callable[[], object], Rows]:
    a = _arrange_post()
    sound_id = a["post"].original_sound_id
    return (lambda: services.sound_set_reuse(user=a["author"], sound_id=sound_id,
                                             allow_reuse=False),
            {("sound", sound_id)})


def _profile_edit() -> tuple[Callable[[], object], Rows]:
    user = UserFactory()
    return (lambda: account_services.user_profile_update(user=user, display_name="Ada L."),
            {("account", user.pk)})


def _made_private() -> tuple[Callable[[], object], Rows]:
    user = UserFactory()
    return (lambda: account_services.user_profile_update(user=user, is_private=True),
            {("account", user.pk)})


def _handle_change() -> tuple[Callable[[], object], Rows]:
    user = UserFactory()
    return (lambda: account_services.user_username_change(user=user, username="adalove"),
            {("account", user.pk)})


def _deactivation() -> tuple[Callable[[], object], Rows]:
    user = UserFactory()
    return lambda: account_services.user_deactivate(user=user), {("account", user.pk)}


def _reactivation() -> tuple[Callable[[], object], Rows]:
    user = UserFactory(deactivated_at=timezone.now())
    return lambda: account_services.user_on_login(user=user), {("account", user.pk)}


def _suspension() -> tuple[Callable[[], object], Rows]:
    user = UserFactory()
    return (lambda: account_services.user_set_active(user_id=user.pk, active=False),
            {("account", user.pk)})


def _verified() -> tuple[Callable[[], object], Rows]:
    user = UserFactory()
    return (lambda: account_services.users_set_verified(user_ids=[user.pk], verified=True,
                                                        actor=None),
            {("account", user.pk)})


def _account_purge() -> tuple[Callable[[], object], Rows]:
    a = _arrange_post()
    author, post = a["author"], a["post"]
    User.objects.filter(pk=author.pk).update(
        deletion_scheduled_for=timezone.now() - timedelta(minutes=1))
    return (lambda: account_services.users_purge_due(),
            {("account", author.pk), ("video", post.pk), ("sound", post.original_sound_id)})


def _follow() -> tuple[Callable[[], object], Rows]:
    fan, star = UserFactory(), UserFactory()
    return (lambda: social_services.follow_create(follower=fan, followee=star),
            {("account", star.pk)})


def _unfollow() -> tuple[Callable[[], object], Rows]:
    fan, star = UserFactory(), UserFactory()
    social_services.follow_create(follower=fan, followee=star)
    return (lambda: social_services.follow_delete(follower=fan, followee=star),
            {("account", star.pk)})


def _requests_accepted() -> tuple[Callable[[], object], Rows]:
    star = UserFactory(is_private=True)
    social_services.follow_create(follower=UserFactory(), followee=star)  # a request
    return (lambda: social_services.follow_requests_accept_all(user_id=star.pk),
            {("account", star.pk)})


CASES: dict[str, Case] = {
    "publish": _publish_now, "caption edit": _caption_edit,
    "visibility": _visibility_change, "delete": _post_delete, "removal": _removal,
    "reinstatement": _reinstate, "age restriction": _age_restriction,
    "scheduled publish": _scheduled_publish, "sound take-down (staff)": _sound_take_down,
    "sound take-down (moderation)": _sound_moderation_take_down, "sound reuse": _sound_reuse,
    "profile edit": _profile_edit, "made private": _made_private,
    "handle change": _handle_change, "deactivation": _deactivation,
    "reactivation by log-in": _reactivation, "suspension": _suspension,
    "verified badge": _verified, "account purged": _account_purge,
    "follow": _follow, "unfollow": _unfollow, "follow requests accepted": _requests_accepted,
}


@pytest.mark.django_db
@pytest.mark.parametrize("name", list(CASES))
def test_a_change_records_its_outbox_rows_in_its_own_transaction(name: str) -> None:
    act, expected = CASES[name]()
    IndexOutbox.objects.all().delete()

    # rolled back: the change and its rows go together
    seen: Rows = set()

    def change_then_fail() -> None:
        with transaction.atomic():
            act()
            seen.update(_rows())  # written inside the transaction, before any commit
            raise RolledBackError

    with pytest.raises(RolledBackError):
        change_then_fail()
    assert expected <= seen
    assert _rows() == set()

    act()
    assert expected <= _rows(), f"{name}: {expected - _rows()} not recorded"


@pytest.mark.django_db
def test_sign_up_and_staff_admin_edits_record_rows(client: Client) -> None:
    # a sign-up (the extra form's signup step) is announced
    response = client.post("/_allauth/browser/v1/auth/signup", {
        "email": "nova@example.com", "username": "nova", "password": "correct-horse-battery",
        "date_of_birth": "2000-02-01"}, content_type="application/json")
    assert response.status_code in (200, 401), response.content
    assert ("account", User.objects.get(username="nova").pk) in _rows()

    # staff edits in the admin bypass the services and are announced the same way
    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    sound = LibrarySoundFactory()
    IndexOutbox.objects.all().delete()
    response = client.post(f"/django-admin/content/sound/{sound.pk}/change/", {
        "kind": "library", "title": "Renamed track", "artist": "Someone",
        "rights_holder": "Label", "territories": "[]", "allowed_uses": '["posts"]',
        "allow_reuse": "on", "duration_ms": "30000"})
    assert response.status_code == 302, response.content[:2000]
    assert ("sound", sound.pk) in _rows()
    user = UserFactory()
    IndexOutbox.objects.all().delete()
    account_services.users_set_verified(user_ids=[user.pk], verified=True, actor=staff)
    assert _rows() == {("account", user.pk)}


# --- the drain -----------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_one_drain_request_per_transaction_sent_after_its_commit(
        broker_unconsumed: None, settings: Any) -> None:
    settings.SWIPEME_SEARCH_DRAIN_ON_COMMIT = True  # off in tests (settings.test)
    author = UserFactory()
    asset = MediaAssetFactory(owner=author)
    drain = "apps.search.drain_index_outbox"
    with transaction.atomic():
        services.post_create(author=author, asset_id=asset.pk, caption="#one #two #three")
        account_services.user_profile_update(user=author, display_name="Three Tags")
        assert IndexOutbox.objects.count() >= 6  # video, sound, hashtags, account
        assert waiting_task_args(drain) == []  # nothing before the commit
    assert len(waiting_task_args(drain)) == 1


@pytest.mark.django_db(transaction=True)
def test_drain_indexes_the_current_state_and_deletes_its_rows(index: SearchBackend) -> None:
    wren = UserFactory(username="wrenfield", display_name="Wren Field")
    post = _publish(wren, "sunrise over the #harbour")
    sound = LibrarySoundFactory(title="Harbour Lights", artist="Mara Sol")
    services.sounds_take_down(sound_ids=[sound.pk], taken_down=False)  # no change: no row
    account_services.user_profile_update(user=wren, display_name="Wren Field")
    assert IndexOutbox.objects.exists()

    drained = pipeline.drain()

    assert drained > 0
    assert not IndexOutbox.objects.exists()
    assert _ids(index, "video", "sunrise") == [post.pk]
    assert _ids(index, "video", "harbour") == [post.pk]  # its hashtag
    assert _ids(index, "hashtag", "harbour") == [Hashtag.objects.get(name="harbour").pk]
    assert _ids(index, "account", "wren field") == [wren.pk]
    assert _ids(index, "sound", "harbour lights") == []  # library sound never announced

    # the video document carries the sound's title and artist
    other = UserFactory()
    tune = LibrarySoundFactory(title="Velvet Comet", artist="Ines Aurora")
    with_sound = _publish(other, "dance", sound_id=tune.pk)
    pipeline.drain()
    assert _ids(index, "video", "velvet comet") == [with_sound.pk]
    assert _ids(index, "video", "ines aurora") == [with_sound.pk]


@pytest.mark.django_db(transaction=True)
def test_take_down_edit_and_delete_leave_the_index(index: SearchBackend) -> None:
    author = UserFactory()
    removed = _publish(author, "glacier walk")
    private = _publish(author, "volcano hike")
    edited = _publish(author, "desert dunes")
    deleted = _publish(author, "canyon echo")
    pipeline.drain()
    assert _ids(index, "video", "glacier") == [removed.pk]

    services.post_remove(post_id=removed.pk)
    services.post_update(user=author, post_id=private.pk, visibility=Post.Visibility.PRIVATE)
    services.post_update(user=author, post_id=edited.pk, caption="ocean swell")
    services.post_delete(user=author, post_id=deleted.pk)
    pipeline.drain()

    assert _ids(index, "video", "glacier") == []
    assert _ids(index, "video", "volcano") == []
    assert _ids(index, "video", "desert") == []
    assert _ids(index, "video", "ocean swell") == [edited.pk]
    assert _ids(index, "video", "canyon") == []
    assert not IndexOutbox.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_failing_backend_write_keeps_the_rows(index: SearchBackend,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    post = _publish(UserFactory(), "lighthouse keeper")
    rows = IndexOutbox.objects.count()

    def broken(**kwargs: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(index, "apply", broken)
    with pytest.raises(OSError):
        pipeline.drain()
    assert IndexOutbox.objects.count() == rows  # nothing lost

    monkeypatch.undo()
    pipeline.drain()
    assert _ids(index, "video", "lighthouse") == [post.pk]
    assert not IndexOutbox.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_one_writer_at_a_time(index: SearchBackend) -> None:
    _publish(UserFactory(), "kite festival")
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:  # another process's rebuild holds the writer lock
            cursor.execute("SELECT pg_advisory_lock(%s)", [pipeline.WRITER_LOCK])
        assert pipeline.drain() == 0
        assert IndexOutbox.objects.exists()
        assert pipeline.rebuild(wait=False) is None
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [pipeline.WRITER_LOCK])
    finally:
        other.close()
    assert pipeline.drain() > 0
    assert _ids(index, "video", "kite") != []


# --- the rebuild ---------------------------------------------------------------------------

def _snapshot(backend: SearchBackend, probes: dict[str, list[str]]) -> dict[str, Any]:
    return {
        "counts": {kind: backend.count(kind) for kind in ("account", "video", "sound",
                                                          "hashtag")},
        "hits": {f"{kind}:{q}": sorted(_ids(backend, kind, q))  # type: ignore[arg-type]
                 for kind, queries in probes.items() for q in queries},
    }


@pytest.mark.django_db(transaction=True)
def test_rebuild_from_scratch_equals_the_incremental_index(index: SearchBackend) -> None:
    ada = UserFactory(username="adalace", display_name="Ada Lace")
    bo = UserFactory(username="bokeh", display_name="Bo Keh")
    account_changed(user_ids=[ada.pk, bo.pk])  # as their sign-up did (the factory skips it)
    tune = LibrarySoundFactory(title="Paper Planes", artist="Nova Reed")
    content_changed(kind="sound", ids=[tune.pk])  # as the admin's add did
    kept = _publish(ada, "street food tour #tacos", sound_id=tune.pk)
    _publish(bo, "rainy window #lofi")
    gone = _publish(bo, "old clip #tacos")
    services.post_remove(post_id=gone.pk)
    _publish(bo, "a draft #secret", publish="draft")
    account_services.user_profile_update(user=bo, display_name="Bo Kehlani")
    pipeline.drain()
    probes = {"video": ["street food", "tacos", "rainy", "old clip", "draft", "paper planes"],
              "account": ["ada lace", "bo kehlani", "bokeh"],
              "hashtag": ["tacos", "lofi", "secret"],
              "sound": ["paper planes", "original sound"]}
    incremental = _snapshot(index, probes)
    assert incremental["hits"]["video:tacos"] == [kept.pk]
    assert incremental["hits"]["hashtag:secret"] == []  # no published post counts it

    out = StringIO()
    call_command("search_rebuild", stdout=out)
    assert _snapshot(index, probes) == incremental
    assert index.is_built()
    lines = out.getvalue().splitlines()
    assert any(line.startswith("video: 2/2 (100.0 %), ") and line.endswith("docs/s")
               for line in lines), lines
    assert "index marked built" in lines[-1]


@pytest.mark.django_db(transaction=True)
def test_rebuild_streams_in_batches_and_one_kind_refreshes_only_that_kind(
        index: SearchBackend) -> None:
    users = [UserFactory(username=f"stream{i:02}") for i in range(7)]
    out = StringIO()
    call_command("search_rebuild", "--kind", "account", "--batch", "3", stdout=out)
    lines = out.getvalue().splitlines()
    progress = [line for line in lines if line.startswith("account: ")]
    assert [p.split(" (")[0] for p in progress] == [
        "account: 0/7", "account: 3/7", "account: 6/7", "account: 7/7"]
    assert index.count("account") == len(users)
    assert index.count("video") == 0
    assert "marked built" not in lines[-1]


@pytest.mark.django_db(transaction=True)
def test_rebuilding_one_kind_removes_its_stale_documents(index: SearchBackend) -> None:
    kept, deleted = UserFactory(username="keptuser"), UserFactory(username="deleteduser")
    live, banned = (LibrarySoundFactory(title="Stale Check Live"),
                    LibrarySoundFactory(title="Stale Check Banned"))
    call_command("search_rebuild", stdout=StringIO())
    assert {kept.pk, deleted.pk} <= index.ids("account")
    assert index.ids("sound") >= {live.pk, banned.pk}
    # Rows that went away, or are no longer candidates, without their change reaching the
    # index (a lost outbox row, a bulk SQL update): only a rebuild can notice.
    User.objects.filter(pk=deleted.pk).delete()
    Sound.objects.filter(pk=banned.pk).update(is_taken_down=True)
    IndexOutbox.objects.all().delete()

    out = StringIO()
    call_command("search_rebuild", "--kind", "account", "--kind", "sound", stdout=out)
    assert _ids(index, "account", "keptuser") == [kept.pk]
    assert _ids(index, "account", "deleteduser") == []
    assert deleted.pk not in index.ids("account")
    assert _ids(index, "sound", "stale check") == [live.pk]
    assert banned.pk not in index.ids("sound")
    lines = out.getvalue().splitlines()
    assert "stale account documents removed: 1" in lines
    assert "stale sound documents removed: 1" in lines


@pytest.mark.django_db(transaction=True)
def test_first_start_rebuilds_once(index: SearchBackend) -> None:
    post = _publish(UserFactory(), "aurora borealis")
    IndexOutbox.objects.all().delete()  # as if the rows were lost: the rebuild reads tables
    index.clear()
    assert not index.is_built()

    assert pipeline.ensure_built() is True
    assert index.is_built()
    assert _ids(index, "video", "aurora") == [post.pk]
    assert pipeline.ensure_built() is False  # built: nothing to do
    # checked again under the lock: a second first-start that waited does not rebuild
    assert pipeline.rebuild(wait=False, only_if_unbuilt=True) is None


# --- /readyz -------------------------------------------------------------------------------

@pytest.mark.django_db
def test_an_old_outbox_row_is_a_readyz_backlog(client: Client) -> None:
    row = IndexOutbox.objects.create(kind="video", object_id=1)
    assert health.check_backlogs()[1]["search_index_outbox"] == "ok"
    IndexOutbox.objects.filter(pk=row.pk).update(
        created_at=timezone.now() - timedelta(seconds=120))
    ok, found = health.check_backlogs()
    assert not ok
    assert found["search_index_outbox"] == "backlog (1 older than 60 s)"
    assert client.get("/readyz").json()["checks"]["search_index_outbox"] == (
        "backlog (1 older than 60 s)")


# --- the demo seed ---------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_the_demo_seed_announces_its_catalogue(index: SearchBackend) -> None:
    from apps.web.seed.catalogue import DEMO_USERS
    from apps.web.seed.media import TRACKS

    call_command("seed_demo", "--posts", "0", stdout=StringIO())
    pipeline.drain()  # what the workers do after `make run` starts the seed

    username, name = DEMO_USERS[0][0], DEMO_USERS[0][1]
    assert _ids(index, "account", name)[:1] == [User.objects.get(username=username).pk]
    assert index.count("account") >= len(DEMO_USERS)
    assert index.count("sound") == len(TRACKS)
    title, artist = TRACKS[0]
    found = _ids(index, "sound", f"{title} {artist}")
    assert found[:1] == list(Sound.objects.filter(title=title, artist=artist)
                             .values_list("pk", flat=True))
