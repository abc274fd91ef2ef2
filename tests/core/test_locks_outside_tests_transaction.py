"""Every entry point (API endpoint, web view, admin action, task, command) whose code takes a
row lock, run with `transaction=True`: no test transaction wraps the request, so a
`select_for_update` outside `transaction.atomic()` fails here as it does in production
(issue 11: appeals were a 500 for everyone, while the tests passed).

Each case names the lock sites (the functions in apps/ that call `select_for_update`) its
call must reach, and the test checks they were reached; a static test then requires every
`select_for_update` in apps/ to be named by some case, so a new lock cannot be added without
a transactional test of the entry point above it. (tests/conftest.py also refuses a lock
whose only open transaction is the test case's, for every other test.)"""

from __future__ import annotations

import ast
import io
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection
from django.db.transaction import TransactionManagementError
from django.test import Client
from django.utils import timezone
from PIL import Image
from rest_framework.test import APIClient

from apps.accounts.models import Device, User
from apps.comments.models import Comment, CommentFilter, CommentLike
from apps.content.models import Post
from apps.engagement.models import Collection
from apps.moderation import services as moderation
from apps.moderation.groups import setup_groups
from apps.moderation.models import Appeal, Case, EnforcementAction, Standing
from apps.social.models import Follow, FollowRequest
from tests.accounts.conftest import reauthenticated_api_client
from tests.content.factories import MediaAssetFactory, PostFactory
from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parents[2]
APPS = ROOT / "apps"

pytestmark = pytest.mark.django_db(transaction=True)


# --- the lock sites, found in the source ---------------------------------------------------


def lock_sites_in_source() -> set[str]:
    """`apps/<path>::<function>` for every function in apps/ that calls select_for_update."""
    sites: set[str] = set()
    for path in sorted(APPS.rglob("*.py")):
        if "migrations" in path.parts:
            continue

        def visit(node: ast.AST, function: str | None, path: Path = path) -> None:
            for child in ast.iter_child_nodes(node):
                name = (child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
                        else function)
                if isinstance(child, ast.Attribute) and child.attr == "select_for_update":
                    sites.add(f"{path.relative_to(ROOT)}::{function or '<module>'}")
                visit(child, name)

        visit(ast.parse(path.read_text()), None)
    return sites


def _innermost_app_function() -> str | None:
    frame = sys._getframe(2)
    while frame is not None:
        filename = Path(frame.f_code.co_filename)
        if (filename.is_relative_to(APPS) and not frame.f_code.co_name.startswith("<")):
            return f"{filename.relative_to(ROOT)}::{frame.f_code.co_name}"
        frame = frame.f_back  # type: ignore[assignment]
    return None


@pytest.fixture
def reached() -> Iterator[set[str]]:
    """The lock sites whose SELECT ... FOR UPDATE ran during the test (in this thread)."""
    seen: set[str] = set()

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if " FOR UPDATE" in sql or " FOR NO KEY UPDATE" in sql:
            site = _innermost_app_function()
            if site is not None:
                seen.add(site)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        yield seen


# --- arrangements ----------------------------------------------------------------------------


def api(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def web(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def moderator(*groups: str, **kwargs: Any) -> User:
    setup_groups()
    user = UserFactory(is_staff=True, **kwargs)
    for name in groups or ("Moderators",):
        user.groups.add(Group.objects.get(name=name))
    return User.objects.get(pk=user.pk)


def png() -> io.BytesIO:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), "teal").save(buffer, "PNG")
    buffer.seek(0)
    buffer.name = "avatar.png"
    return buffer


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.content[:500])
    return response


def published_post(caption: str = "mine #locks") -> Post:
    """Published through content's service, so its hashtags are counted (and locked)."""
    from apps.content import services as content

    author = UserFactory()
    post = content.post_create(author=author, asset_id=MediaAssetFactory(owner=author).pk,
                               caption=caption)
    assert post.status == Post.Status.PUBLISHED
    return post


def reported_post(status: str = Post.Status.PUBLISHED) -> tuple[Post, Case]:
    post = published_post("reported #locks")
    Post.objects.filter(pk=post.pk).update(status=status)
    case = moderation.case_open_or_merge(target_type="post", target_id=post.pk,
                                         source=Case.Source.AUTOMATED, policy="spam_scam")
    return post, case


def decided(decision: str) -> tuple[Post, Case, User]:
    """A post a moderator decided (through the services; the web view has its own case)."""
    post, case = reported_post()
    mod = moderator("Moderators", "Senior moderators")
    moderation.case_claim(case_id=case.pk, moderator=mod)
    moderation.case_decide(case_id=case.pk, moderator=mod, decision=decision)
    return post, case, mod


def web_decide(mod: User, case: Case, decision: str) -> Case:
    client = web(mod)
    ok(client.post(f"/moderation/cases/{case.pk}/claim"), 302)
    ok(client.post(f"/moderation/cases/{case.pk}/decide",
                   {"decision": decision, "policy": case.policy, "reason": "checked"}), 302)
    return Case.objects.get(pk=case.pk)


# --- the cases -------------------------------------------------------------------------------

ACC = "apps/accounts/services/"
COM = "apps/comments/services/"
CON = "apps/content/services/"
ENG = "apps/engagement/services.py::"
MED = "apps/media/services/"
MOD_CASES = "apps/moderation/services/cases.py::"
MOD_DECISIONS = "apps/moderation/services/decisions.py::"
MOD_STANDING = "apps/moderation/services/standing.py::"
MOD_APPEALS = "apps/moderation/services/appeals.py::"
DET = "apps/moderation/detection/services/"
SOC = "apps/social/services.py::_lock_users"


@dataclass(frozen=True)
class LockCase:
    name: str  # the entry point
    sites: tuple[str, ...]
    run: Callable[[], None]


CASES: list[LockCase] = []


def case(name: str, *sites: str) -> Callable[[Callable[[], None]], Callable[[], None]]:
    def register(run: Callable[[], None]) -> Callable[[], None]:
        CASES.append(LockCase(name, sites, run))
        return run

    return register


# accounts


@case("PATCH /api/v1/me (private to public approves pending requests)",
      ACC + "profile.py::user_profile_update", SOC)
def _() -> None:
    owner = UserFactory(is_private=True)
    FollowRequest.objects.create(requester=UserFactory(), target=owner)
    ok(api(owner).patch("/api/v1/me", {"is_private": False, "bio": "hi"}, format="json"))
    assert Follow.objects.filter(followee=owner).count() == 1


@case("POST /api/v1/me/username", ACC + "profile.py::user_username_change")
def _() -> None:
    user = UserFactory()
    client = reauthenticated_api_client(user)  # renaming needs a recent re-authentication
    ok(client.post("/api/v1/me/username", {"username": "renamed_one"}, format="json"))


@case("PATCH /api/v1/me/devices/<id>", ACC + "devices.py::device_update")
def _() -> None:
    user = UserFactory()
    client = APIClient()
    client.force_login(user)  # a push token is set only from the device's own session
    device = Device.objects.create(user=user, device_identifier="phone-1",
                                   session_key=client.session.session_key or "")
    ok(client.patch(f"/api/v1/me/devices/{device.pk}", {"push_token": "tok"}, format="json"))


@case("POST and DELETE /api/v1/me/avatar", ACC + "avatars.py::user_avatar_set",
      ACC + "avatars.py::user_avatar_delete")
def _() -> None:
    client = api(UserFactory())
    ok(client.post("/api/v1/me/avatar", {"file": png()}, format="multipart"), 202)
    ok(client.delete("/api/v1/me/avatar"))


@case("POST /settings/account, /settings/avatar, /settings/privacy (web; going private "
      "retires the public media URLs)", ACC + "profile.py::user_profile_update",
      ACC + "avatars.py::user_avatar_set",
      CON + "public_media.py::posts_public_media_changed")
def _() -> None:
    user = UserFactory()
    client = web(user)
    ok(client.post("/settings/account", {"display_name": "Web", "bio": "", "country": "GB",
                                         "language": "en"}), 302)
    ok(client.post("/settings/avatar", {"file": png()}), 302)
    ok(client.post("/settings/privacy", {"is_private": "on"}), 302)
    user.refresh_from_db()
    assert (user.display_name, user.is_private, bool(user.avatar)) == ("Web", True, True)


@case("task accounts.purge_due_deletions (and every app's removal hook)",
      ACC + "lifecycle.py::users_purge_due", SOC, CON + "accounts.py::content_purge_user",
      CON + "counters.py::_move_hashtag_counts",
      COM + "accounts.py::comments_purge_user")
def _() -> None:
    from apps.accounts import tasks

    leaving = UserFactory()
    Follow.objects.create(follower=leaving, followee=UserFactory())
    PostFactory(author=leaving, caption="mine #leaving")
    from apps.content import services as content

    content.post_create(author=leaving, asset_id=MediaAssetFactory(owner=leaving).pk,
                        caption="published #leaving")
    other_post = PostFactory()
    comment = Comment.objects.create(post=other_post, author=other_post.author, text="hi",
                                     rank=0)
    CommentLike.objects.create(user=leaving, comment=comment)
    User.objects.filter(pk=leaving.pk).update(
        deletion_scheduled_for=timezone.now() - timedelta(minutes=1))
    assert tasks.purge_due_deletions.apply().get() == 1
    assert not User.objects.filter(pk=leaving.pk).exists()


# comments


def _comment_world(*, text: str = "first") -> tuple[User, User, Post, Comment]:
    creator, fan = UserFactory(), UserFactory()
    post = PostFactory(author=creator)
    response = ok(api(fan).post(f"/api/v1/posts/{post.pk}/comments", {"text": text},
                                format="json"), 201)
    return creator, fan, post, Comment.objects.get(pk=response.json()["id"])


@case("POST /api/v1/posts/<id>/comments (a reply)", COM + "_common.py::_lock_comment")
def _() -> None:
    creator, _fan, post, comment = _comment_world()
    ok(api(creator).post(f"/api/v1/posts/{post.pk}/comments",
                         {"text": "thanks", "parent_id": str(comment.pk)}, format="json"), 201)


@case("DELETE /api/v1/comments/<id>", COM + "_common.py::_lock_comment")
def _() -> None:
    _creator, fan, _post, comment = _comment_world()
    ok(api(fan).delete(f"/api/v1/comments/{comment.pk}"), 204)


@case("POST and DELETE /api/v1/comments/<id>/hide", COM + "_common.py::_lock_comment")
def _() -> None:
    creator, _fan, _post, comment = _comment_world()
    client = api(creator)
    ok(client.post(f"/api/v1/comments/{comment.pk}/hide"), 204)
    ok(client.delete(f"/api/v1/comments/{comment.pk}/hide"), 204)


@case("POST /api/v1/comments/<id>/approve and /reject", COM + "_common.py::_lock_comment")
def _() -> None:
    creator = UserFactory()
    CommentFilter.objects.create(creator=creator, keyword="spoiler")
    post = PostFactory(author=creator)
    fan = api(UserFactory())
    held = [ok(fan.post(f"/api/v1/posts/{post.pk}/comments", {"text": f"spoiler {n}"},
                        format="json"), 201).json()["id"] for n in (1, 2)]
    assert Comment.objects.filter(pk__in=held, status=Comment.Status.HELD).count() == 2
    ok(api(creator).post(f"/api/v1/comments/{held[0]}/approve"), 204)
    ok(api(creator).post(f"/api/v1/comments/{held[1]}/reject"), 204)


@case("POST /api/v1/comments/<id>/pin", COM + "pins.py::comment_pin",
      COM + "_common.py::_lock_comment")
def _() -> None:
    creator, _fan, _post, comment = _comment_world()
    ok(api(creator).post(f"/api/v1/comments/{comment.pk}/pin"), 204)


@case("POST and DELETE /api/v1/comments/<id>/like", COM + "_common.py::_lock_comment",
      COM + "likes.py::comment_like_delete")
def _() -> None:
    creator, _fan, _post, comment = _comment_world()
    client = api(creator)
    ok(client.post(f"/api/v1/comments/{comment.pk}/like"), 204)
    ok(client.delete(f"/api/v1/comments/{comment.pk}/like"), 204)


@case("POST /api/v1/me/comment-filters", COM + "filters.py::comment_filter_create")
def _() -> None:
    ok(api(UserFactory()).post("/api/v1/me/comment-filters", {"keyword": "spoiler"},
                               format="json"), 201)


# content


@case("POST /api/v1/posts (published at once, with a hashtag)", CON + "posts.py::post_create",
      CON + "counters.py::_move_hashtag_counts")
def _() -> None:
    author = UserFactory()
    asset = MediaAssetFactory(owner=author)
    response = ok(api(author).post("/api/v1/posts", {"asset_id": str(asset.pk),
                                                     "caption": "new #locks"},
                                   format="json"), 201)
    assert response.json()["status"] == "published"


def _own_post() -> tuple[User, Post]:
    post = published_post()
    return post.author, post


@case("PATCH /api/v1/posts/<id> (new hashtags)", CON + "posts.py::_own_post_locked",
      CON + "counters.py::_move_hashtag_counts")
def _() -> None:
    author, post = _own_post()
    ok(api(author).patch(f"/api/v1/posts/{post.pk}", {"caption": "now #other"},
                         format="json"))


@case("DELETE /api/v1/posts/<id>", CON + "posts.py::_own_post_locked",
      CON + "counters.py::_move_hashtag_counts")
def _() -> None:
    author, post = _own_post()
    ok(api(author).delete(f"/api/v1/posts/{post.pk}"), 204)


@case("POST and DELETE /api/v1/posts/<id>/pin", CON + "posts.py::post_pin",
      CON + "posts.py::_own_post_locked")
def _() -> None:
    author, post = _own_post()
    ok(api(author).post(f"/api/v1/posts/{post.pk}/pin"))
    ok(api(author).delete(f"/api/v1/posts/{post.pk}/pin"))


@case("task content.publish_due_posts", CON + "publishing.py::posts_publish_due",
      CON + "counters.py::_move_hashtag_counts")
def _() -> None:
    from apps.content import services as content
    from apps.content import tasks

    author = UserFactory()
    due = content.post_create(author=author, asset_id=MediaAssetFactory(owner=author).pk,
                              caption="later #locks",
                              publish=timezone.now() + timedelta(hours=1))
    Post.objects.filter(pk=due.pk).update(scheduled_for=timezone.now() - timedelta(minutes=1))
    assert tasks.publish_due_posts.apply().get() == 1
    due.refresh_from_db()
    assert due.status == Post.Status.PUBLISHED


# engagement


@case("POST /api/v1/me/collections; PATCH and DELETE /api/v1/me/collections/<id>",
      ENG + "collection_create", ENG + "_own_collection")
def _() -> None:
    client = api(UserFactory())
    made = ok(client.post("/api/v1/me/collections", {"name": "Keep"}, format="json"), 201)
    pk = made.json()["id"]
    ok(client.patch(f"/api/v1/me/collections/{pk}", {"name": "Kept"}, format="json"))
    ok(client.delete(f"/api/v1/me/collections/{pk}"), 204)
    assert not Collection.objects.exists()


# feed


@case("admin action: activate a ranker version", "apps/feed/services.py::ranker_activate")
def _() -> None:
    from apps.feed.models import RankerModel

    row = RankerModel.objects.create(version=7, artifact="feed/models/v7.joblib")
    admin = UserFactory(is_staff=True, is_superuser=True)
    ok(web(admin).post("/django-admin/feed/rankermodel/",
                       {"action": "activate", "_selected_action": [str(row.pk)]}), 302)
    row.refresh_from_db()
    assert row.is_active


@case("admin actions: approve and reject ads in the ad-ops queue",
      "apps/ads/services/review.py::_decide")
def _() -> None:
    from django.test import override_settings

    from apps.ads.models import Ad
    from apps.ads.services import review
    from tests.ads.core_helpers import ad_for, campaign_for, group_for, org_with

    org, owner = org_with()
    group = group_for(campaign_for(org, owner), owner)
    ads = [ad_for(group, owner, name=f"Ad {n}") for n in range(2)]
    with override_settings(SWIPEME_ADS_LANDING_CHECK=False):
        for ad in ads:
            review.ad_submit(user=owner, ad=ad)
    admin = UserFactory(is_staff=True, is_superuser=True)
    for action, ad in (("approve_ads", ads[0]), ("reject_ads", ads[1])):
        ok(web(admin).post("/django-admin/ads/ad/", {
            "action": action, "_selected_action": [str(ad.pk)], "reason": "checked"}), 302)
    assert [Ad.objects.get(pk=ad.pk).review_state for ad in ads] == ["approved", "rejected"]


# media


@case("POST /api/v1/media/uploads", MED + "uploads.py::upload_create")
def _() -> None:
    ok(api(UserFactory()).post("/api/v1/media/uploads",
                               {"size": 1000, "content_type": "video/mp4"}, format="json"), 201)


@case("task media.recipe_changed (content's post_save enqueues it)",
      MED + "recipe.py::asset_recipe_changed")
def _() -> None:
    from apps.media import tasks

    asset = MediaAssetFactory()
    assert tasks.recipe_changed.apply(args=[asset.pk]).get() == []


@case("manage.py media_reprocess --av1 (and a post past the AV1 view threshold)",
      MED + "av1.py::asset_av1_request")
def _() -> None:
    from django.core.management import call_command

    from apps.media.models import ProcessingStep

    asset = MediaAssetFactory(state="ready", probe={"width": 360, "height": 640})
    call_command("media_reprocess", "--av1", "--id", str(asset.pk), stdout=io.StringIO())
    assert ProcessingStep.objects.filter(asset=asset, name="av1").exists()


@case("PATCH /api/v1/posts/<id> publish now: a draft whose upload runs its one-decode ladder",
      MED + "early_playback.py::asset_playback_wanted")
def _() -> None:
    from apps.media.models import ProcessingStep

    author = UserFactory()
    asset = MediaAssetFactory(owner=author, state="processing", probe={
        "container": "mp4", "video_codec": "h264", "pix_fmt": "yuv420p", "coded_width": 1080,
        "coded_height": 1920, "rotation": 0, "width": 1080, "height": 1920,
        "duration_s": 15.0, "frame_rate": 30.0, "variable_frame_rate": False,
        "bit_depth": 8, "hdr": False, "has_audio": True, "audio_codec": "aac"})
    ProcessingStep.objects.create(asset=asset, name="ladder", state="running")
    post = PostFactory(author=author, asset=asset, status=Post.Status.DRAFT, published_at=None)
    ok(api(author).patch(f"/api/v1/posts/{post.pk}", {"publish": "now"}, format="json"))
    assert ProcessingStep.objects.filter(asset=asset, name="rendition-240").exists()


@case("PUT, POST and DELETE /api/v1/media/assets/<id>/captions[/<lang>]",
      MED + "captions.py::_publish", MED + "captions.py::caption_track_request_auto",
      MED + "captions.py::caption_track_delete")
def _() -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from apps.media import storage
    from apps.media.models import CaptionTrack

    author = UserFactory()
    asset = MediaAssetFactory(owner=author, duration_ms=15_000,
                              outputs={"hls": "hls/master.m3u8", "renditions": [{
                                  "short_edge": 240, "width": 240, "height": 426,
                                  "bandwidth": 300000, "average_bandwidth": 250000,
                                  "codecs": "avc1.64001e,mp4a.40.2", "frame_rate": 30.0}]})
    (storage.asset_dir(asset.pk) / "hls" / "240").mkdir(parents=True)
    (storage.asset_dir(asset.pk) / "hls" / "master.m3u8").write_text("#EXTM3U\n240/index.m3u8\n")
    client = api(author)
    try:
        url = f"/api/v1/media/assets/{asset.pk}/captions"
        vtt = b"WEBVTT\n\n00:00:01.000 --> 00:00:02.500\nHello everyone\n"
        ok(client.put(f"{url}/en", {"file": SimpleUploadedFile("subs.vtt", vtt, "text/vtt")},
                      format="multipart"))
        ok(client.post(url, {"language": "en"}, format="json"), 202)
        ok(client.delete(f"{url}/en"), 204)
        assert not CaptionTrack.objects.filter(asset=asset).exists()
    finally:
        storage.remove_asset_files(asset.pk)


# moderation


@case("POST /api/v1/reports", MOD_CASES + "_open_case")
def _() -> None:
    post = PostFactory()
    for reporter in (UserFactory(), UserFactory()):  # the second one merges
        ok(api(reporter).post("/api/v1/reports", {"target_type": "post",
                                                  "target_id": str(post.pk),
                                                  "policy": "spam_scam"}, format="json"), 201)
    assert Case.objects.get().reports_count == 2


@case("POST /api/v1/appeals", MOD_APPEALS + "_decision_group")
def _() -> None:
    post, _case, _mod = decided("remove")
    removal = EnforcementAction.objects.get(action="remove", target_id=post.pk)
    response = ok(api(post.author).post("/api/v1/appeals", {
        "action_id": str(removal.pk), "statement": "It was fine."}, format="json"), 201)
    assert Appeal.objects.get().pk == int(response.json()["id"])
    # a second appeal of the same decision (its strike) is refused in words, not a 500
    strike = EnforcementAction.objects.get(action="strike", subject_id=post.author_id)
    again = ok(api(post.author).post("/api/v1/appeals", {"action_id": str(strike.pk)},
                                     format="json"), 409)
    assert again.json()["error"]["code"] == "already_appealed"


@case("POST /moderation/appeal/<token>/ (web, signed out)", MOD_APPEALS + "_decision_group")
def _() -> None:
    post, _case, _mod = decided("suspend")
    suspension = EnforcementAction.objects.get(action="suspend")
    token = moderation.appeal_token_for(suspension)
    response = ok(Client().post(f"/moderation/appeal/{token}/", {"statement": "Sorry."}))
    assert 'id="appeal-received"' in response.content.decode()
    assert Appeal.objects.get().appellant_id == post.author_id


@case("POST /moderation/next (web)", MOD_CASES + "case_claim_next")
def _() -> None:
    _post, case = reported_post()
    mod = moderator()
    response = ok(web(mod).post("/moderation/next", {"queue": case.queue}), 302)
    assert response["Location"] == f"/moderation/cases/{case.pk}/"


@case("POST /moderation/cases/<id>/decide remove (web)", MOD_CASES + "_locked_claimed",
      CON + "removal.py::post_remove", CON + "counters.py::_move_hashtag_counts")
def _() -> None:
    post, case = reported_post()
    assert web_decide(moderator(), case, "remove").status == Case.Status.CLOSED
    post.refresh_from_db()
    assert post.status == Post.Status.REMOVED


@case("POST /moderation/cases/<id>/decide age_restrict (web)", MOD_CASES + "_locked_claimed",
      CON + "public_media.py::posts_public_media_changed")
def _() -> None:
    post, case = reported_post()
    assert web_decide(moderator(), case, "age_restrict").status == Case.Status.CLOSED
    post.refresh_from_db()
    assert post.age_restricted


@case("POST /moderation/cases/<id>/decide suspend (web)", MOD_CASES + "_locked_claimed",
      MOD_STANDING + "_standing")
def _() -> None:
    post, case = reported_post()
    assert web_decide(moderator("Senior moderators"), case, "suspend").status == "closed"
    assert Standing.objects.get(user_id=post.author_id).state == Standing.State.SUSPENDED


@case("POST /moderation/cases/<id>/decide no_violation after an automated block (web)",
      MOD_CASES + "_locked_claimed", MOD_DECISIONS + "_undo_automation",
      CON + "removal.py::post_reinstate", CON + "removal.py::post_release_from_review",
      CON + "counters.py::_move_hashtag_counts", CON + "removal.py::post_remove")
def _() -> None:
    post, case = reported_post(Post.Status.REVIEWING)
    moderation.enforce(action="remove", target_type="post", target_id=post.pk, policy="spam_scam",
                       reason="automated block", actor=None, case=case)
    assert web_decide(moderator(), case, "no_violation").status == Case.Status.CLOSED
    post.refresh_from_db()
    assert post.status == Post.Status.PUBLISHED


@case("POST /moderation/cases/<id>/decide overturn an appeal (web)", MOD_CASES + "_locked_claimed",
      MOD_APPEALS + "_decide_appeal", MOD_APPEALS + "_decision_group", MOD_STANDING + "_standing",
      CON + "removal.py::post_reinstate")
def _() -> None:
    post, _case, _first = decided("remove")
    removal = EnforcementAction.objects.get(action="remove", target_id=post.pk)
    appeal = moderation.appeal_create(user=post.author, action_id=removal.pk)
    other = moderator("Appeals reviewers")
    assert web_decide(other, appeal.case, "overturn").status == Case.Status.CLOSED
    post.refresh_from_db()
    assert post.status == Post.Status.PUBLISHED


@case("POST /moderation/cases/<id>/decide escalate (web)", MOD_CASES + "_locked_claimed")
def _() -> None:
    _post, case = reported_post()
    ok(web(moderator()).post(f"/moderation/cases/{case.pk}/claim"), 302)
    web(moderator()).post(f"/moderation/cases/{case.pk}/claim")  # held by the first: refused
    mod = Case.objects.get(pk=case.pk).assigned_to
    assert mod is not None
    ok(web(mod).post(f"/moderation/cases/{case.pk}/decide", {"decision": "escalate"}), 302)
    assert Case.objects.get(pk=case.pk).queue == "senior"


@case("admin actions: close as no violation, escalate", MOD_CASES + "_locked_claimed")
def _() -> None:
    (_p1, first), (_p2, second) = reported_post(), reported_post()
    mod = moderator()
    User.objects.filter(pk=mod.pk).update(is_superuser=True)
    client = web(mod)
    for action, case_ in (("close_no_violation", first), ("escalate", second)):
        ok(client.post("/django-admin/moderation/case/",
                       {"action": action, "_selected_action": [str(case_.pk)]}), 302)
    assert Case.objects.get(pk=first.pk).status == Case.Status.CLOSED
    assert Case.objects.get(pk=second.pk).queue == "senior"


@case("service enforce(action='restore') (no entry point calls it yet)",
      MOD_APPEALS + "_restore_target", CON + "removal.py::post_reinstate")
def _() -> None:
    post, _case, _mod = decided("remove")
    moderation.enforce(action="restore", target_type="post", target_id=post.pk, policy="spam_scam",
                       reason="restored by staff")
    post.refresh_from_db()
    assert post.status == Post.Status.PUBLISHED


@case("task moderation.standings_sweep", MOD_STANDING + "_standing")
def _() -> None:
    from apps.moderation import tasks

    user = UserFactory(is_active=False)
    Standing.objects.create(user=user, state=Standing.State.SUSPENDED,
                            suspended_until=timezone.now() - timedelta(minutes=1))
    assert tasks.standings_sweep.apply().get() == 1
    user.refresh_from_db()
    assert user.is_active


@case("tasks moderation.detection.scan_asset and rescan_assets", DET + "scans.py::asset_scan",
      DET + "rescans.py::rescan_batch")
def _() -> None:
    from apps.moderation.detection import services as detection
    from apps.moderation.detection import tasks
    from apps.moderation.detection.models import AssetCheck
    from tests.moderation.detection.conftest import arrange_upload, make_clip

    detection.policy_rules_seed()  # the rows a migration seeds; a flush removed them
    clip = make_clip(Path(tempfile.mkdtemp()) / "clip.mp4", seconds=2)
    asset = arrange_upload(UserFactory(), clip)
    assert tasks.scan_asset.apply(args=[asset.pk]).get() == "allow"
    tasks.rescan_assets.apply(args=[0, "a rule changed"]).get()
    assert AssetCheck.objects.get(asset_id=asset.pk).state == AssetCheck.State.DONE


@case("task moderation.detection.settle_post (a held post whose upload is clean)",
      CON + "removal.py::post_release_from_review", CON + "counters.py::_move_hashtag_counts")
def _() -> None:
    from apps.moderation.detection import services as detection
    from apps.moderation.detection import tasks

    detection.policy_rules_seed()
    post = published_post()
    Post.objects.filter(pk=post.pk).update(status=Post.Status.REVIEWING)
    tasks.settle_post.apply(args=[post.pk]).get()
    post.refresh_from_db()
    assert post.status == Post.Status.PUBLISHED


@case("tasks moderation.detection.scan_comment and scan_profile (term lists)",
      COM + "_common.py::_lock_comment", MOD_CASES + "_open_case")
def _() -> None:
    from apps.moderation.detection import services as detection
    from apps.moderation.detection import tasks
    from apps.moderation.detection.models import Outcome, TermList

    detection.policy_rules_seed()
    TermList.objects.create(name="scams", language="", policy="spam_scam",
                            terms="crypto doubler", outcome=Outcome.BLOCK)
    _creator, fan, _post, comment = _comment_world(text="my crypto doubler works")
    tasks.scan_comment.apply(args=[comment.pk]).get()
    assert Comment.objects.get(pk=comment.pk).status != Comment.Status.VISIBLE
    User.objects.filter(pk=fan.pk).update(bio="ask me about crypto doubler")
    tasks.scan_profile.apply(args=[fan.pk, ["bio"]]).get()
    assert Case.objects.filter(target_type="user", target_id=fan.pk).exists()


@case("task moderation.detection.scan_asset (a crash, last retry)",
      DET + "scans.py::asset_scan_failed")
def _() -> None:
    from apps.moderation.detection import services as detection

    post = PostFactory(status=Post.Status.REVIEWING, published_at=None)
    detection.asset_scan_failed(asset_id=post.asset_id, error="boom", final=True)
    assert Case.objects.filter(target_id=post.pk).exists()


# social


@case("POST and DELETE /api/v1/users/<username>/follow", SOC)
def _() -> None:
    follower, followee = UserFactory(), UserFactory()
    ok(api(follower).post(f"/api/v1/users/{followee.username}/follow"))
    ok(api(follower).delete(f"/api/v1/users/{followee.username}/follow"), 204)


@case("DELETE /api/v1/me/followers/<username>", SOC)
def _() -> None:
    follower, followee = UserFactory(), UserFactory()
    ok(api(follower).post(f"/api/v1/users/{followee.username}/follow"))
    ok(api(followee).delete(f"/api/v1/me/followers/{follower.username}"), 204)


@case("POST /api/v1/me/follow-requests/<id>/approve and /approve-all", SOC)
def _() -> None:
    owner = UserFactory(is_private=True)
    first = FollowRequest.objects.create(requester=UserFactory(), target=owner)
    FollowRequest.objects.create(requester=UserFactory(), target=owner)
    ok(api(owner).post(f"/api/v1/me/follow-requests/{first.pk}/approve"))
    ok(api(owner).post("/api/v1/me/follow-requests/approve-all"))
    assert Follow.objects.filter(followee=owner).count() == 2


@case("POST /api/v1/users/<username>/block", SOC)
def _() -> None:
    blocker, blocked = UserFactory(), UserFactory()
    ok(api(blocker).post(f"/api/v1/users/{blocked.username}/block"), 204)


@case("manage.py social_recount", SOC)
def _() -> None:
    Follow.objects.create(follower=UserFactory(), followee=UserFactory())
    call_command("social_recount", stdout=io.StringIO())


@case("a task through the outbox, and task core.outbox_dispatch",
      "apps/core/outbox.py::_send_one", "apps/core/outbox.py::outbox_dispatch")
def _() -> None:
    from django.db import transaction

    from apps.core import outbox
    from apps.core.models import OutboxTask
    from apps.core.tasks import outbox_dispatch
    from apps.media.tasks import process_asset

    with transaction.atomic():
        outbox.enqueue_on_commit(process_asset, 1)
    OutboxTask.objects.create(task=process_asset.name, args=[2])  # its send failed
    outbox_dispatch.run()
    assert not OutboxTask.objects.filter(dispatched_at__isnull=True).exists()


@case("task events.drain_spool", "apps/events/spool.py::spool_drain")
def _() -> None:
    from apps.events.models import SpooledBatch
    from apps.events.tasks import drain_spool

    SpooledBatch.objects.create(received_ms=1, events=[{"id": "e1"}], dedupe_keys=[
        "events:{log}:dedupe:u:1:e1"], token="t")
    assert drain_spool.run() == 1
    assert not SpooledBatch.objects.exists()


@case("task apps.search.drain_index_outbox", "apps/search/indexing/pipeline.py::drain")
def _() -> None:
    from apps.search.engine import get_backend
    from apps.search.models import IndexOutbox
    from apps.search.tasks import drain_index_outbox

    get_backend().mark_built()  # else the task starts the first-start rebuild instead
    published_post("indexed #locks")
    assert drain_index_outbox.run() > 0
    assert not IndexOutbox.objects.exists()


MSG = "apps/messaging/services/"


@case("POST /api/v1/conversations/{id}/messages, PUT .../reaction, DELETE a message",
      MSG + "_common.py::lock_conversation")
def _() -> None:
    from apps.messaging import services as messaging
    from tests.social.factories import FollowFactory

    a, b = UserFactory(), UserFactory()
    FollowFactory(follower=b, followee=a)
    conversation = messaging.start_direct(a, b)
    url = f"/api/v1/conversations/{conversation.pk}/messages"
    sent = ok(api(a).post(url, {"client_id": "c1", "kind": "text", "body": "hi"},
                          format="json"), 201).json()
    ok(api(b).put(f"{url}/{sent['id']}/reaction", {"emoji": "👍"}, format="json"))
    ok(api(a).delete(f"{url}/{sent['id']}"))


@case("POST /api/v1/conversations/{id}/read", MSG + "conversations.py::mark_read")
def _() -> None:
    from apps.messaging import services as messaging
    from tests.social.factories import FollowFactory

    a, b = UserFactory(), UserFactory()
    FollowFactory(follower=b, followee=a)
    conversation = messaging.start_direct(a, b)
    messaging.send_message(a, conversation.pk, client_id="c1", kind="text", body="hi")
    read = ok(api(b).post(f"/api/v1/conversations/{conversation.pk}/read", {"seq": 1},
                          format="json")).json()
    assert read["unread_count"] == 0


@pytest.mark.parametrize("lock_case", CASES, ids=[c.name for c in CASES])
def test_each_entry_point_that_takes_a_row_lock_works_outside_a_test_transaction(
        lock_case: LockCase, reached: set[str]) -> None:
    lock_case.run()
    missing = set(lock_case.sites) - reached
    assert not missing, f"{lock_case.name} did not reach {missing} (reached {reached})"


# Validating and rendering an upload run on a real worker, with no test transaction, in
# tests/media/test_pipeline.py (and, non-transactionally, under the conftest guard in
# test_publishing_is_progressive_and_never_half_done). Named so the static check knows.
COVERED_ELSEWHERE = {
    "apps/monetization/services/kyc.py::_locked_profile":
        "tests/monetization/test_kyc.py (transaction=True: upload, delete, submit through the "
        "API; staff decisions through the admin)",
    "apps/monetization/services/kyc.py::kyc_documents_rotate_keys":
        "tests/monetization/test_kyc.py::test_files_encrypted_rotated_and_old_plaintext_"
        "encrypted (transaction=True, the management command)",
    "apps/monetization/services/tax.py::tax_forms_rotate_keys":
        "tests/monetization/test_tax_forms.py::test_sealed_at_rest_and_rotated "
        "(transaction=True, the management command)",
    "apps/monetization/services/payouts.py::_create":
        "tests/monetization/test_payouts.py (transaction=True, the API and threads)",
    "apps/monetization/services/payouts.py::_locked":
        "tests/monetization/test_payouts.py (transaction=True: the provider's webhook "
        "delivered through payments' processing)",
    "apps/monetization/services/payouts.py::_open_review":
        "tests/monetization/test_fraud_holds.py (transaction=True: release and refuse from "
        "the admin queue)",
    MED + "validation.py::asset_process":
        "tests/media/test_pipeline.py (a real worker: no test transaction)",
    MED + "steps.py::asset_step_run": "tests/media/test_pipeline.py",
    MED + "recipe.py::_plan_title":
        "tests/media/test_pipeline.py (a real worker's ladder step stores the per-title plan)",
    "apps/notifications/services/fanout.py::_fan_out":
        "tests/notifications/test_fanout.py (transaction=True, and a SIGKILLed process); "
        "tests/live/test_notify_and_rings.py (a live's start, resumed; transaction=True)",
    **dict.fromkeys((
        "apps/live/services/keys.py::_lock_owner", "apps/live/services/lifecycle.py::_locked",
        "apps/live/services/lifecycle.py::live_create",
        "apps/live/services/lifecycle.py::publish_started",
        "apps/live/services/lifecycle.py::publish_stopped",
        "apps/live/services/lifecycle.py::end_if_not_back",
        "apps/live/services/lifecycle.py::sweep_stale"),
        "tests/live/test_lifecycle.py, test_api.py, test_admin.py (the key API in threads, "
        "the ingest's callbacks, the window's timer, the sweep, the API's writes and the "
        "admin's actions; transaction=True)"),
    "apps/live/services/replay.py::make_replay":
        "tests/live/test_notify_and_rings.py::test_the_recording_becomes_a_replay_post_"
        "through_the_vod_pipeline (transaction=True)",
    "apps/notifications/digest/services.py::digests_send":
        "tests/notifications/test_digests.py (two concurrent senders, transaction=True)",
    "apps/notifications/services/delivery.py::held_pushes_release":
        "tests/notifications/test_quiet_hours_hold.py (the release sweep, transaction=True)",
    "apps/messaging/services/messages.py::reject_pending":
        "tests/messaging/test_safety_media.py (the media checks on a real worker, "
        "transaction=True)",
    "apps/studio/services.py::_latest_locked":
        "tests/studio/test_pipeline.py (the render endpoint, transaction=True)",
    "apps/studio/services.py::version_render_run":
        "tests/studio/test_pipeline.py (the render task on a real worker)",
    "apps/studio/takedown.py::_strip":
        "tests/studio/test_derived_takedown.py (the original taken down, transaction=True)",
    "apps/content/services/derived.py::post_clear_derived":
        "tests/studio/test_derived_takedown.py (the credit cleared, transaction=True)",
    "apps/studio/switching.py::switch_settle":
        "tests/studio/test_post_versions.py (media's and detection's hooks, transaction=True)",
    "apps/content/services/versions.py::post_switch_asset":
        "tests/studio/test_post_versions.py (a post switched or held, transaction=True)",
    **dict.fromkeys((
        f"apps/monetization/services/subscriptions/{name}" for name in (
            "tiers.py::tier_create", "tiers.py::tier_update", "events.py::on_payment_event",
            "renewal.py::_charge_next", "renewal.py::_end", "choices.py::_own_locked",
            "choices.py::on_blocked")),
        "tests/monetization/test_subscriptions.py (subscribe, webhooks, renewals, retries, "
        "expiry, cancel, a block: transaction=True)"),
    **dict.fromkeys((
        "apps/monetization/services/coins.py::purchase_start",
        "apps/monetization/services/coins.py::on_payment_event"),
        "tests/monetization/test_coins.py (the purchase API and the local provider's "
        "webhooks, transaction=True)"),
    "apps/monetization/services/chargebacks.py::_plan":
        "tests/monetization/test_chargebacks.py (disputes and refunds by webhook, "
        "transaction=True)",
    "apps/monetization/services/chargebacks.py::spending_bar_lift":
        "tests/monetization/test_chargebacks.py (the admin's lift action, transaction=True)",
    "apps/payments/services/webhooks.py::_locked_row":
        "tests/payments/test_webhooks.py (the webhook route, and concurrent deliveries), "
        "test_providers_local.py, test_providers_stripe.py (payouts; transaction=True)",
    "apps/payments/services/payments.py::refund_payment":
        "tests/payments/test_providers_local.py (refunds, the admin action and the command, "
        "transaction=True)",
    "apps/payments/providers/local.py::answer_approval":
        "tests/payments/test_providers_local.py (the approval page, transaction=True), "
        "tests/browser/test_payment_approval.py (the live server)",
    "apps/payments/providers/local.py::_charge":
        "tests/payments/test_providers_local.py (local refunds and disputes: the command, "
        "the admin, pm_card_dispute; transaction=True)",
    "apps/ads/services/orgs.py::_lock_org":
        "tests/ads/test_orgs_roles.py::test_role_changes_take_the_orgs_lock_inside_a_"
        "transaction (transaction=True)",
    "apps/experiments/services/experiments.py::_free_slice":
        "tests/experiments/test_layer_lock.py (two experiments racing for one layer's "
        "traffic in threads, transaction=True)",
    "apps/ads/services/funding.py::on_payment_event":
        "tests/ads/test_funding.py (the local provider's webhooks, transaction=True)",
    "apps/content/services/branding.py::post_set_branded":
        "tests/marketplace/test_deals_locks.py (a deal's post published with its label, "
        "transaction=True)",
    **dict.fromkeys((
        "apps/marketplace/services/deals/rules.py::_locked",
        "apps/marketplace/services/optin.py::_locked_profile"),
        "tests/marketplace/test_deals_locks.py (the whole deal and a double approval in "
        "threads, transaction=True)"),
    "apps/payments/services/ledger.py::_resolve":
        "tests/payments/test_ledger_concurrency.py (posts, voids and the expired-hold sweep "
        "racing on one hold in threads, transaction=True)",
    "apps/monetization/services/clearing.py::release_due":
        "tests/monetization/test_clearing.py (the beat task's release, four runs at once in "
        "threads, transaction=True)",
    **dict.fromkeys((
        "apps/monetization/services/clearing.py::lock_open",
        "apps/monetization/services/clearing.py::give_back"),
        "tests/monetization/test_clearing.py and test_subscriptions.py (disputes during "
        "clearing and won disputes by the local provider's webhooks, transaction=True)"),
    "apps/monetization/services/clearing.py::release_all_of":
        "tests/monetization/test_closure.py (a purge releases what still clears, "
        "transaction=True)",
    "apps/monetization/services/clawback_holds.py::_open_payouts":
        "tests/monetization/test_clawback_holds.py (disputes by webhook on payouts held or "
        "not sent yet, and racing the send task in threads, transaction=True)",
}


@pytest.mark.django_db(transaction=False)
def test_every_lock_in_apps_is_exercised_by_a_transactional_case() -> None:
    in_source = lock_sites_in_source()
    named = {site for c in CASES for site in c.sites} | set(COVERED_ELSEWHERE)
    assert in_source - named == set(), "a select_for_update with no transactional test above it"
    assert named - in_source == set(), "a named lock site no longer exists"


@pytest.mark.django_db(transaction=False)
def test_a_lock_outside_atomic_fails_even_inside_a_plain_django_db_test() -> None:
    """The guard in tests/conftest.py: the test case's transaction does not count."""
    with pytest.raises(TransactionManagementError, match=r"outside transaction\.atomic"):
        list(User.objects.select_for_update().all())
    from django.db import transaction

    with transaction.atomic():
        assert list(User.objects.select_for_update().all()) == []
