"""The multilingual text heads (issue 25): their wiring into the policy engine with
per-surface thresholds staff edit (audited), the evidence on the review page, moderators'
decisions becoming labels, the re-training command, disposable sign-up addresses as a
spam signal, the quality bench's quick run, and the shipping gate: everyday messages in
the eight languages are held, refused or removed on no surface. The committed trained
artefact is used (loaded once per process); the re-training test trains on a tiny slice."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from apps.accounts.models import User
from apps.comments.models import Comment
from apps.core.ids import allocate_ids
from apps.core.models import AuditEvent
from apps.moderation import services as moderation
from apps.moderation.detection import engine, heads, services
from apps.moderation.detection.models import Outcome, SurfaceThreshold, TextLabel
from apps.moderation.detection.services import text_heads
from apps.moderation.models import Case
from apps.moderation.policies import Policy
from tests.bench_scripts import load_bench
from tests.content.factories import PostFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[3]
THREAT_ES = "sé dónde vives y mañana te voy a matar con un cuchillo"
GROOMING = "how old are you? 12? send me a pic in your underwear and don't tell your mom"
SELF_HARM_FR = "je ne veux plus vivre, ce soir je vais en finir avec mes médicaments"
GAMING = "that boss killed me five times lol, next run I'm destroying him"
# the shipping gate's everyday messages (`text_heads.everyday_gate`)
EVERYDAY = text_heads.EVERYDAY_PATH
EVERYDAY_MAX_LIMITED = text_heads.EVERYDAY_MAX_LIMITED


def _decisions(verdict: object) -> dict[str, str]:
    """The heads' decisions that do something (allow is left out)."""
    return {
        d.source: d.outcome
        for d in verdict.decisions  # type: ignore[attr-defined]
        if d.source.startswith("text_head:") and d.outcome != Outcome.ALLOW
    }


def test_heads_score_every_language_and_each_surface_has_its_thresholds():
    verdict = services.text_verdict(content=THREAT_ES, author=None, language="es", field="text")
    assert (verdict.outcome, verdict.policy) == (Outcome.REVIEW, Policy.VIOLENCE_GRAPHIC)
    assert _decisions(verdict)["text_head:threat"] == Outcome.REVIEW
    # a minor's safety: held on a comment, refused outright in a direct message
    on_comment = services.text_verdict(content=GROOMING, author=None, language="en", field="text")
    in_dm = services.text_verdict(content=GROOMING, author=None, language="en", field="message")
    assert (on_comment.outcome, on_comment.policy) == (Outcome.REVIEW, Policy.MINOR_SAFETY)
    assert (in_dm.outcome, in_dm.policy) == (Outcome.BLOCK, Policy.MINOR_SAFETY)
    # self-harm asks a person to look on a comment; a DM or a live-chat line is never refused
    assert (
        services.text_verdict(content=SELF_HARM_FR, author=None, language="fr", field="text").policy
        == Policy.SELF_HARM
    )
    for field in ("message", "live_chat"):
        verdict = services.text_verdict(
            content=SELF_HARM_FR, author=None, language="fr", field=field
        )
        assert Policy.SELF_HARM not in {d.policy for d in verdict.decisions}
    # gaming talk is a hard negative
    assert not _decisions(
        services.text_verdict(content=GAMING, author=None, language="en", field="live_chat")
    )
    # an inactive policy rule silences its heads everywhere
    from apps.moderation.detection.models import PolicyRule

    PolicyRule.objects.filter(policy=Policy.VIOLENCE_GRAPHIC).update(is_active=False)
    assert (
        services.text_verdict(content=THREAT_ES, author=None, language="es", field="text").outcome
        == Outcome.ALLOW
    )


def test_staff_change_a_surface_threshold_in_the_admin_and_it_is_audited():
    staff = UserFactory(is_staff=True, is_superuser=True)
    web = Client()
    web.force_login(staff)
    response = web.post(
        "/django-admin/moderation_detection/surfacethreshold/add/",
        {
            "category": "threat",
            "surface": "comment",
            "hold_at": "",
            "remove_at": "",
            "limit_at": "0.5",
            "is_active": "on",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    row = SurfaceThreshold.objects.get()
    event = AuditEvent.objects.get(app="moderation_detection", verb="surfacethreshold_add")
    assert (event.actor_id, event.target_id) == (staff.pk, row.pk)
    on_comment = services.text_verdict(content=THREAT_ES, author=None, language="es", field="text")
    on_caption = services.text_verdict(
        content=THREAT_ES, author=None, language="es", field="caption"
    )
    assert _decisions(on_comment)["text_head:threat"] == Outcome.LIMIT_REACH
    assert _decisions(on_caption)["text_head:threat"] == Outcome.REVIEW


def test_a_flagged_comment_shows_its_evidence_and_the_decision_becomes_a_label(
    moderator: Callable[..., User], web_for: Callable[[User], Client]
):
    post = PostFactory()
    comment = Comment.objects.create(
        id=allocate_ids(1)[0],
        post=post,
        author=UserFactory(),
        text=THREAT_ES,
        created_at=timezone.now(),
        rank=0,
    )
    assert services.comment_scan(comment_id=comment.pk) == Outcome.REVIEW
    case = Case.objects.get(target_type="comment", target_id=comment.pk)
    entry = case.evidence[-1]
    assert entry["head_categories"] == ["threat"]
    assert entry["text"] == THREAT_ES
    mod = moderator("Moderators", "Senior moderators")
    moderation.case_claim(case_id=case.pk, moderator=mod)
    page = web_for(mod).get(f"/moderation/cases/{case.pk}/").content.decode()
    assert "heads.threat" in page
    assert "text_head:threat" in page
    moderation.case_decide(case_id=case.pk, moderator=mod, decision="no_violation")
    label = TextLabel.objects.get()
    assert (label.text, label.positive, label.negative, label.case_id) == (
        THREAT_ES,
        [],
        ["threat"],
        case.pk,
    )


def test_the_retraining_command_trains_on_a_slice_with_moderators_labels(tmp_path: Path, capsys):
    TextLabel.objects.create(
        text="te espero a la salida para partirte la cara", language="es", positive=["threat"]
    )
    out = tmp_path / "heads.json"
    call_command(
        "moderation_train_text_heads", "--limit", "21", "--test-limit", "6", "--output", str(out),
        "--ignore-gate",
    )
    printed = capsys.readouterr().out
    assert "trained on 21 rows (1 from moderators' decisions)" in printed
    assert "everyday gate:" in printed
    assert "before:" in printed
    assert "after:" in printed
    assert "F1 threat" in printed
    trained = heads.Heads.from_json(json.loads(out.read_text()))
    assert trained.categories == list(heads.CATEGORIES)
    assert trained.meta["positives"]["threat"] >= 1
    heads.load_heads.cache_clear()  # the committed artefact again for the next tests


def test_heads_that_fail_the_everyday_gate_are_not_written(tmp_path: Path, capsys):
    # a bad batch of moderators' labels: everyday plans marked as threats
    for text in ("see you tomorrow at 5", "nos vemos mañana a las cinco", "bis morgen um 5",
                 "à demain 17h", "yarın 5'te görüşürüz", "明日5時にね",
                 "let me know when you get home"):
        TextLabel.objects.create(text=text, language="en", positive=["threat"])
    out = tmp_path / "heads.json"
    call_command(
        "moderation_train_text_heads", "--limit", "21", "--test-limit", "6", "--output", str(out)
    )
    printed = capsys.readouterr().out
    assert "everyday gate:" in printed
    assert "FAILED" in printed
    assert "not written: the new heads failed the everyday gate" in printed
    assert not out.exists()
    # the shipped heads pass the same gate
    shipped = heads.load_heads()
    assert shipped is not None
    assert text_heads.everyday_gate(shipped).passed


def test_a_new_account_at_a_disposable_domain_is_a_spam_risk_not_a_ban():
    new = UserFactory(
        email="someone@mailinator.com", date_joined=timezone.now() - timedelta(hours=1)
    )
    old = UserFactory(email="other@mailinator.com", date_joined=timezone.now() - timedelta(days=90))
    conf = services.detection_settings()
    fresh = services._spam_signal(
        author=new, content="hello there", exclude_post_id=None, exclude_comment_id=None, conf=conf
    )
    assert fresh["disposable_email"] is True
    assert fresh["score"] == pytest.approx(0.3)
    assert (
        services._spam_signal(
            author=old,
            content="hello there",
            exclude_post_id=None,
            exclude_comment_id=None,
            conf=conf,
        )["score"]
        == 0
    )
    assert (
        services.text_verdict(
            content="hello there", author=new, language="en", field="text"
        ).outcome
        == Outcome.ALLOW
    )


def test_the_quality_bench_prints_per_category_and_language(capsys):
    bench = load_bench("moderation_quality")
    bench.text_quality(quick=True, concept=False)
    printed = capsys.readouterr().out
    assert "held-out split" in printed
    totals = [line.split() for line in printed.splitlines() if " all " in line]
    assert {row[0] for row in totals} >= {"hate", "threat", "self_harm"}
    assert all(0.0 <= float(row[4]) <= 1.0 for row in totals)  # F1


def _everyday() -> list[dict[str, str]]:
    lines = EVERYDAY.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _normalised(text: str) -> str:
    return " ".join(text.casefold().split())


def test_the_everyday_messages_are_not_in_the_labelled_set():
    rows = _everyday()
    assert len(rows) >= 100
    assert {row["lang"] for row in rows} == set(heads.LANGUAGES)
    labelled = {_normalised(ex.text) for ex in heads.load_examples()}
    assert [row["text"] for row in rows if _normalised(row["text"]) in labelled] == []


def test_the_shipped_heads_hold_refuse_or_remove_no_everyday_message_on_any_surface():
    field_of = {surface: field for field, surface in text_heads.FIELD_SURFACE.items()}
    stopped: list[tuple[str, str, str, object]] = []
    limited: dict[str, tuple[str, str, str, object]] = {}
    for row in _everyday():
        for surface, field in sorted(field_of.items()):
            signals, _ = text_heads.head_findings(row["text"], field=field)
            verdict = engine.evaluate(signals, [], {})
            said = (row["lang"], row["text"], surface, verdict.as_json())
            if verdict.outcome in (Outcome.BLOCK, Outcome.REVIEW):
                stopped.append(said)
            elif verdict.outcome != Outcome.ALLOW:
                limited.setdefault(row["text"], said)
    assert stopped == []
    assert len(limited) <= EVERYDAY_MAX_LIMITED, list(limited.values())
