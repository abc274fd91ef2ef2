"""Live safety: reports of a live and of a chat message keep the live's latest frame and the
chat around the report and go to the live queue (P1 while on air); the review page plays
the stream through its own route (any audience, moderators of the live queue only) or
shows the kept frame, with the chat; a moderator ends the live, bans the key (no new key
until lifted) and strikes the account, each audited and told to the host in words; the
sampled frames go through the nudity check (an alert opens or raises the case; nothing
runs when nobody is live); minors can neither go live nor send gifts (through the API).
Row locks (live_end, key_revoke, claims): transaction=True."""

from __future__ import annotations

import io
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone
from PIL import Image

from apps.live.models import LiveChatMessage, LiveStream, StreamKey
from apps.live.safety import evidence, frames
from apps.moderation.detection.models import PolicyRule, SurfaceThreshold
from apps.moderation.models import (
    AuditEvent,
    Case,
    EnforcementAction,
    LiveChatEvidence,
    LiveEvidence,
    Notice,
    Priority,
    Queue,
    Strike,
)
from apps.moderation.services import appeal_create, case_claim, case_decide, decisions_for
from apps.monetization.models import GiftSend
from tests.conftest import waiting_task_args
from tests.factories import UserFactory
from tests.live.live_helpers import client_for, host, on_air
from tests.moderation import conftest as moderation_fixtures
from tests.moderation.conftest import error_of
from tests.moderation.detection.conftest import drawn_face

pytestmark = pytest.mark.django_db(transaction=True)

# the moderation tests' fixtures: staff in the real groups, a signed-in web client
groups = moderation_fixtures.groups
moderator = moderation_fixtures.moderator
web_for = moderation_fixtures.web_for


def _frame(live: LiveStream, colour: tuple[int, int, int] = (40, 90, 160)) -> bytes:
    """What the transcoder writes every few seconds: frames/latest.jpg."""
    path = evidence.frame_path(live.pk)
    path.parent.mkdir(parents=True, exist_ok=True)
    out = io.BytesIO()
    Image.new("RGB", (320, 180), colour).save(out, "JPEG")
    path.write_bytes(out.getvalue())
    return out.getvalue()


def _chat(live: LiveStream, n: int) -> list[LiveChatMessage]:
    people = [UserFactory(), UserFactory()]
    return [LiveChatMessage.objects.create(live=live, author=people[i % 2], text=f"chat-{i:02d}")
            for i in range(1, n + 1)]


def _report(user: Any, live: LiveStream, **body: Any) -> Any:
    return client_for(user).post(f"/api/v1/live/{live.pk}/report",
                                 {"policy": "nudity_sexual", **body}, format="json")


def test_a_report_of_a_live_keeps_its_frame_and_chat_and_the_review_page_shows_the_stream(
        moderator: Any, web_for: Any) -> None:
    creator = host()
    live, _ = on_air(creator, title="Late night set")
    frame = _frame(live)
    _chat(live, 25)
    viewer = UserFactory()

    answer = _report(viewer, live, details="she is undressing on air")
    assert answer.status_code == 201, answer.content
    assert answer.json()["target_type"] == "live"
    case = Case.objects.get(target_type="live", target_id=live.pk)
    assert (case.queue, case.priority, case.subject_id) == (Queue.LIVE, Priority.HIGH,
                                                            creator.pk)
    assert case.sla_due_at <= timezone.now() + timedelta(hours=1)  # P1 in the live queue
    kept = LiveEvidence.objects.get(case=case)
    assert kept.frame is not None
    assert bytes(kept.frame) == frame
    assert kept.title == "Late night set"
    assert kept.report is not None
    assert kept.report.reporter_id == viewer.pk
    copied = list(LiveChatEvidence.objects.filter(evidence=kept).order_by("sent_at")
                  .values_list("text", flat=True))
    assert copied == [f"chat-{i:02d}" for i in range(6, 26)]  # the latest 20

    # again by the same viewer: 409 in words; the host: 400; a live they cannot see: 404
    again = _report(viewer, live)
    assert again.status_code == 409
    assert "already reported" in error_of(again)["message"]
    own = _report(creator, live)
    assert own.status_code == 400
    assert error_of(own)["message"] == "You cannot report your own live."
    private_host = host()
    hidden, _ = on_air(private_host, audience=LiveStream.Audience.FOLLOWERS)
    unseen = _report(viewer, hidden)
    assert unseen.status_code == 404
    assert error_of(unseen)["message"] == "This live isn't available. It may have ended."
    signed_out = client_for(None).post(f"/api/v1/live/{live.pk}/report",
                                       {"policy": "nudity_sexual"}, format="json")
    assert signed_out.status_code == 401
    assert not Case.objects.filter(target_id=hidden.pk).exists()

    # on the web, a viewer reports from the player page's button; the host has none
    assert b"data-live-report" in web_for(viewer).get(f"/live/{live.pk}").content
    assert b"data-live-report" not in web_for(creator).get(f"/live/{live.pk}").content

    # the review page: the live on air plays through the page's own route, with the chat
    playlist = evidence.live_dir(live.pk) / "index.m3u8"
    playlist.write_text("#EXTM3U\n#EXT-X-VERSION:7\n")
    (evidence.live_dir(live.pk) / "recording.flv").write_bytes(b"FLV")
    mod = moderator()
    web = web_for(mod)
    page = web.get(f"/moderation/cases/{case.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    hls = f"/moderation/cases/{case.pk}/live/index.m3u8"
    assert f'data-hls="{hls}"' in html
    assert "on air" in html
    assert "chat-25" in html
    assert "chat-05" not in html
    assert "she is undressing on air" in html
    served = web.get(hls)
    assert served.status_code == 200
    assert served["Content-Type"] == "application/vnd.apple.mpegurl"
    assert b"".join(served.streaming_content).startswith(b"#EXTM3U")
    for outside in ("../../etc/passwd", "recording.flv", "frames/latest.jpg", ".%2e/x.m3u8"):
        assert web.get(f"/moderation/cases/{case.pk}/live/{outside}").status_code == 404
    shown = web.get(f"/moderation/cases/{case.pk}/live-frames/{kept.pk}.jpg")
    assert shown.status_code == 200
    assert shown.content == frame
    # a moderator without the live queue sees neither the page nor the stream
    other = web_for(moderator("Copyright agents"))
    assert other.get(f"/moderation/cases/{case.pk}/").status_code == 403
    assert other.get(hls).status_code == 403

    # once the live ended, the page shows the kept frame instead of the stream
    live.state = LiveStream.State.ENDED
    live.save(update_fields=["state"])
    html = web.get(f"/moderation/cases/{case.pk}/").content.decode()
    assert "data-hls" not in html
    assert f"/moderation/cases/{case.pk}/live-frames/{kept.pk}.jpg" in html


def test_a_chat_message_report_keeps_the_chat_around_it_and_removing_it_tells_its_author(
        moderator: Any) -> None:
    creator = host()
    live, _ = on_air(creator)
    _frame(live)
    messages = _chat(live, 30)
    reported = messages[14]  # chat-15
    viewer = UserFactory()
    answer = _report(viewer, live, message_id=str(reported.pk), policy="hate_harassment")
    assert answer.status_code == 201, answer.content
    case = Case.objects.get(target_type="live_message", target_id=reported.pk)
    assert (case.queue, case.subject_id) == (Queue.LIVE, reported.author_id)
    copies = list(LiveChatEvidence.objects.filter(evidence__case=case).order_by("sent_at"))
    assert [c.text for c in copies] == [f"chat-{i:02d}" for i in range(5, 26)]
    assert [c.text for c in copies if c.reported] == ["chat-15"]
    # one's own message, or one filters hid, cannot be reported
    own = _report(reported.author, live, message_id=str(reported.pk))
    assert own.status_code == 400
    messages[3].hidden = LiveChatMessage.Hidden.FILTERED
    messages[3].save(update_fields=["hidden"])
    assert _report(viewer, live, message_id=str(messages[3].pk)).status_code == 404

    mod = moderator()
    assert "remove_live_message" in [name for name, _ in decisions_for(case)]
    case_claim(case_id=case.pk, moderator=mod)
    case_decide(case_id=case.pk, moderator=mod, decision="remove_live_message",
                reason="Slurs in the chat.")
    reported.refresh_from_db()
    assert reported.hidden == LiveChatMessage.Hidden.REMOVED
    assert Strike.objects.filter(user_id=reported.author_id).count() == 1
    notice = Notice.objects.get(user_id=reported.author_id, kind="remove")
    assert notice.title == "Your live chat message was removed"
    assert "“chat-15”" in notice.body
    assert "removed from the chat for everyone" in notice.body

    # an appeal granted puts it back
    action = EnforcementAction.objects.get(case=case, action="remove")
    appeal = appeal_create(user=reported.author, action_id=action.pk)
    senior = moderator("Appeals reviewers")
    case_claim(case_id=appeal.case_id, moderator=senior)
    case_decide(case_id=appeal.case_id, moderator=senior, decision="overturn", reason="Quote.")
    reported.refresh_from_db()
    assert reported.hidden == ""


def test_a_moderator_ends_the_live_bans_the_key_and_strikes_the_host_each_audited_and_told(
        moderator: Any) -> None:
    creator = host()
    live, _ = on_air(creator, title="Morning show")
    _frame(live)
    assert _report(UserFactory(), live).status_code == 201
    case = Case.objects.get(target_type="live", target_id=live.pk)
    names = [name for name, _ in decisions_for(case)]
    assert {"end_live", "end_live_strike", "key_ban", "strike"} <= set(names)
    mod = moderator()
    case_claim(case_id=case.pk, moderator=mod)
    case_decide(case_id=case.pk, moderator=mod, decision="end_live_strike",
                reason="Sexual content on air.")
    live.refresh_from_db()
    assert (live.state, live.end_reason) == (LiveStream.State.ENDED,
                                             LiveStream.EndReason.MODERATOR)
    assert Strike.objects.filter(user=creator).count() == 1
    verbs = set(AuditEvent.objects.filter(case=case, actor=mod).values_list("verb", flat=True))
    assert {"enforce_end_live", "enforce_strike", "case_decided"} <= verbs
    told = Notice.objects.get(user=creator, kind="end_live")
    assert told.title == "Your live was ended"
    assert "A moderator ended your live “Morning show”" in told.body
    assert "Sexual content on air." in told.body
    assert told.appealable_until is None  # an ended live cannot go back on air

    # the next live: the key is banned (revoked, no new one until lifted)
    live2, _ = on_air(creator, title="Back again")
    _frame(live2)
    assert _report(UserFactory(), live2).status_code == 201
    case2 = Case.objects.get(target_type="live", target_id=live2.pk)
    case_claim(case_id=case2.pk, moderator=mod)
    case_decide(case_id=case2.pk, moderator=mod, decision="key_ban", reason="Again.")
    live2.refresh_from_db()
    assert live2.state == LiveStream.State.ENDED
    assert not StreamKey.objects.filter(user=creator, revoked_at__isnull=True).exists()
    ban = EnforcementAction.objects.get(case=case2, action="key_ban")
    assert ban.expires_at is not None
    assert ban.expires_at > timezone.now() + timedelta(days=29)
    assert AuditEvent.objects.filter(action=ban, verb="enforce_key_ban", actor=mod).exists()
    told = Notice.objects.get(user=creator, kind="key_ban")
    assert told.title == "You cannot go live for now"
    assert f"until {ban.expires_at:%d %B %Y}" in told.body
    client = client_for(creator)
    said = client.get("/api/v1/live/eligibility").json()
    assert said["can_go_live"] is False
    assert said["code"] == "key_banned"
    assert "banned your stream key" in said["message"]
    refused = client.post("/api/v1/live/key")
    assert refused.status_code == 403
    assert "banned your stream key" in error_of(refused)["message"]

    # an appeal granted lifts the ban: a new key can be made
    appeal = appeal_create(user=creator, action_id=ban.pk, statement="It was a costume.")
    reviewer = moderator("Appeals reviewers")
    case_claim(case_id=appeal.case_id, moderator=reviewer)
    case_decide(case_id=appeal.case_id, moderator=reviewer, decision="overturn", reason="ok")
    assert client.post("/api/v1/live/key").status_code == 201


def _nudity_rule(**thresholds: float | None) -> None:
    PolicyRule.objects.update_or_create(policy="nudity_sexual", defaults={
        "block_at": 0.85, "review_at": 0.6, "age_restrict_at": 0.45, **thresholds})


def test_sampled_frames_go_through_the_nudity_check_and_a_high_score_alerts_the_queue(
        django_assert_max_num_queries: Any) -> None:
    creator = host()
    live, _ = on_air(creator, title="Gym stream")
    cache.clear()
    assert frames.frame_check(live.pk) == "no_frame"
    _nudity_rule()
    _frame(live)
    assert frames.frame_check(live.pk) == "clean"  # a plain colour scores nothing
    assert frames.frame_check(live.pk) == "seen"  # the same frame is not checked twice
    assert not Case.objects.filter(target_type="live").exists()

    # staff's rule decides what is high: at review level the queue is alerted at P1
    _nudity_rule(review_at=0.0)
    frame = _frame(live, (200, 150, 120))
    assert frames.frame_check(live.pk) == "alerted_p1"
    case = Case.objects.get(target_type="live", target_id=live.pk)
    assert (case.queue, case.priority, case.source, case.policy) == (
        Queue.LIVE, Priority.HIGH, "automated", "nudity_sexual")
    kept = LiveEvidence.objects.get(case=case, source="frames")
    assert kept.frame is not None
    assert bytes(kept.frame) == frame
    assert "explicit" in kept.nudity
    assert case.evidence[-1]["signal"] == "live_frame"
    _frame(live, (201, 150, 120))  # a new frame at the same level within the minute
    assert frames.frame_check(live.pk) == "held"
    # worse: block level raises the same case to P0
    _nudity_rule(review_at=0.0, block_at=0.0)
    _frame(live, (202, 150, 120))
    assert frames.frame_check(live.pk) == "alerted_p0"
    case.refresh_from_db()
    assert case.priority == Priority.URGENT
    assert Case.objects.filter(target_type="live").count() == 1
    live.state = LiveStream.State.ENDED
    live.save(update_fields=["state"])
    assert frames.frame_check(live.pk) == "off_air"


def test_live_frames_are_judged_for_gore_and_a_possible_minor_as_uploads_are(
        tmp_path: Path, moderator: Any, web_for: Any) -> None:
    """The same image signals as an upload's frames: a face with a sensitive score goes to a
    person as "possible minor" (review only), gore at staff's removal line alerts at P0."""
    live, _ = on_air(host(), title="Chatting")
    cache.clear()
    _nudity_rule()
    path = evidence.frame_path(live.pk)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.open(drawn_face(tmp_path / "face.png")).convert("RGB").save(path, "JPEG")
    # by default a face alone decides nothing (nothing sensitive, no gore)
    assert frames.frame_check(live.pk) == "clean"
    assert not Case.objects.filter(target_type="live").exists()

    SurfaceThreshold.objects.create(category="possible_minor", surface="", hold_at=0.0)
    cache.delete(frames._seen_key(live.pk))
    assert frames.frame_check(live.pk) == "alerted_p1"
    case = Case.objects.get(target_type="live", target_id=live.pk)
    # asked at P1; minor safety's priority floor makes every such case urgent
    assert (case.queue, case.priority, case.policy) == (Queue.LIVE, Priority.URGENT,
                                                        "minor_safety")
    entry = case.evidence[-1]
    assert (entry["signal"], entry["source"], entry["label"]) == (
        "live_frame", "possible_minor", "Possible minor")
    assert entry["possible_minor"]["faces"] >= 1
    assert entry["score"] == entry["possible_minor"]["sensitive"]
    kept = LiveEvidence.objects.get(case=case, source="frames")
    assert kept.nudity["image"]["faces_max"] >= 1
    # the moderator sees why: the label, the faces counted and the sensitive score
    html = web_for(moderator("Minor safety specialists")).get(
        f"/moderation/cases/{case.pk}/").content.decode()
    assert "Possible minor" in html
    assert "possible_minor.faces" in html
    assert "possible_minor.sensitive" in html

    SurfaceThreshold.objects.create(category="gore", surface="", remove_at=0.0)
    cache.delete(frames._seen_key(live.pk))
    assert frames.frame_check(live.pk) == "alerted_p0"
    case.refresh_from_db()
    assert (case.evidence[-1]["source"], case.evidence[-1]["policy"]) == (
        "gore", "violence_graphic")
    assert Case.objects.filter(target_type="live").count() == 1


def test_the_frame_sweep_costs_one_query_when_nobody_is_live_and_sends_a_check_per_live(
        broker_unconsumed: None, django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(1):
        assert frames.frames_sweep() == 0
    live, _ = on_air(host())
    assert frames.frames_sweep() == 1
    assert [str(live.pk)] in waiting_task_args("live.frame_check")


def _minor() -> Any:
    today = timezone.localdate()
    return host(date_of_birth=date(today.year - 16, 1, 1))


def test_minors_cannot_go_live() -> None:
    client = client_for(_minor())
    said = client.get("/api/v1/live/eligibility")
    assert said.status_code == 200
    assert said.json() == {"can_go_live": False, "code": "too_young",
                           "message": "Going live is for people 18 and over."}
    for attempt in (client.post("/api/v1/live/key"),
                    client.post("/api/v1/live", {"title": "Hi", "audience": "everyone"},
                                format="json")):
        assert attempt.status_code == 403
        assert error_of(attempt)["message"] == "Going live is for people 18 and over."
    assert not StreamKey.objects.exists()
    assert not LiveStream.objects.exists()


def test_minors_cannot_send_gifts_in_a_live() -> None:
    from tests.monetization.coin_helpers import gift

    live, _ = on_air(host())
    rose = gift()
    answer = client_for(_minor()).post(f"/api/v1/live/{live.pk}/gifts", {"gift_id": str(rose.pk)},
                                       format="json", HTTP_IDEMPOTENCY_KEY="minor-gift-1")
    assert answer.status_code == 403
    assert error_of(answer)["message"] == "Coins, gifts and tips are for people 18 and over."
    assert not GiftSend.objects.exists()
    live.refresh_from_db()
    assert live.gift_coins == 0


def test_live_files_are_found_only_inside_the_live_directory(tmp_path: Path) -> None:
    from apps.live.safety.moderation_hooks import hls_file

    live, _ = on_air(host())
    root = evidence.live_dir(live.pk)
    (root / "720p").mkdir(parents=True, exist_ok=True)
    (root / "720p" / "seg1.m4s").write_bytes(b"x")
    assert hls_file(live_id=live.pk, path="720p/seg1.m4s") == (root / "720p" / "seg1.m4s").resolve()
    for bad in ("/etc/passwd", "../x.m3u8", "720p/../../x.m3u8", ".hidden.m3u8", "720p//seg1.m4s",
                "720p/seg1.m4s\x00", "frames/latest.jpg", "missing.m3u8"):
        assert hls_file(live_id=live.pk, path=bad) is None
