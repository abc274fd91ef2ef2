"""Moderators' pages (staff only, server-rendered): the queues, one review page per case
with keyboard shortcuts, the dashboard and the transparency export. Every write goes
through `apps.moderation.services`; these views only parse, call and redirect."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.accounts.models import User
from apps.core.errors import ApplicationError, ForbiddenError, NotFoundError
from apps.media import storage
from apps.moderation import conf, live_hooks, selectors, services
from apps.moderation.models import Case, Queue, TargetType
from apps.moderation.policies import Policy

View = Callable[..., HttpResponseBase]


def _staff(view: View) -> View:
    """Signed-in, active staff only (others go to log-in, or get a 403)."""

    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not (isinstance(user, User) and user.is_active and user.is_staff):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


def _moderator(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _case_for(request: HttpRequest, case_id: int) -> Case:
    case = (Case.objects.select_related("assigned_to", "resolved_by", "subject",
                                        "appealed_action")
            .filter(pk=case_id).first())
    if case is None:
        raise Http404("No such case.")
    if not services.can_work_queue(_moderator(request), case.queue):
        raise PermissionDenied("You may not work this queue.")
    return case


@require_GET
@_staff
def queues(request: HttpRequest) -> HttpResponse:
    """The moderator's start page: their queues with counts and a "next case" button."""
    moderator = _moderator(request)
    mine = (Case.objects.filter(status=Case.Status.OPEN, assigned_to=moderator,
                                claim_expires_at__gt=timezone.now()).order_by("sla_due_at"))
    return render(request, "moderation/queues.html", {
        "counts": selectors.queue_counts(moderator), "mine": mine,
        "can_see_dashboard": moderator.has_perm("moderation.view_dashboard"),
    })


@require_POST
@_staff
def next_case(request: HttpRequest) -> HttpResponse:
    """Claim the most urgent unclaimed case of a queue and open it."""
    queue = request.POST.get("queue", "")
    if queue not in Queue.values:
        return HttpResponse("Unknown queue.", status=400)
    try:
        case = services.case_claim_next(queue=queue, moderator=_moderator(request))
    except ForbiddenError as exc:
        raise PermissionDenied(exc.message) from None
    if case is None:
        messages.info(request, f"The {Queue(queue).label} queue is empty.")
        return redirect("moderation:queues")
    return redirect("moderation:case", case_id=case.pk)


def _score_rows(values: Any, prefix: str = "") -> list[tuple[str, Any, int | None]]:
    """(name, value, bar percent) rows: numbers in [0, 1] get a bar; nested dicts are
    flattened one level; other values are shown as text."""
    rows: list[tuple[str, Any, int | None]] = []
    if not isinstance(values, dict):
        return rows
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, bool) or value is None:
            rows.append((name, value, None))
        elif isinstance(value, int | float):
            pct = round(value * 100) if 0 <= value <= 1 else None
            rows.append((name, round(value, 4) if isinstance(value, float) else value, pct))
        elif isinstance(value, dict) and not prefix:
            rows += _score_rows(value, prefix=f"{name}.")
        elif isinstance(value, list) and value and all(isinstance(v, dict) and "why" in v
                                                       for v in value):
            # the policy engine's decisions: which signal, what it decided and why
            rows.append((name, "; ".join(
                f"{d.get('source')} → {d.get('outcome')} ({d.get('why')})" for d in value),
                None))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            rows.append((name, f"{len(value)} items (see the frames table)", None))
        else:
            rows.append((name, json.dumps(value, default=str)[:300], None))
    return rows


def _evidence(case: Case, detection: Any) -> dict[str, Any]:
    """Automated evidence arranged for the page: the case's own entries (what detection
    sent with the flag) and, when the detection app is there, its upload check and scans."""
    shown: dict[str, Any] = {
        "case": [_score_rows(entry) for entry in case.evidence if isinstance(entry, dict)],
        "upload": None, "nudity": [], "upload_matches": "", "scans": []}
    if not isinstance(detection, dict):
        return shown
    upload = detection.get("upload")
    if isinstance(upload, dict):
        shown["upload"] = upload
        shown["nudity"] = [
            {**frame, "explicit_pct": round(float(frame.get("explicit") or 0) * 100)}
            for frame in upload.get("nudity_frames") or [] if isinstance(frame, dict)]
        if upload.get("matches"):
            shown["upload_matches"] = json.dumps(upload["matches"], indent=1, default=str)[:3000]
    for scan in detection.get("scans") or []:
        if isinstance(scan, dict):
            shown["scans"].append({
                **scan, "scores": _score_rows(scan.get("scores")),
                "matches": json.dumps(scan["matches"], indent=1, default=str)[:2000]
                if scan.get("matches") else ""})
    return shown


@require_GET
@_staff
def case_review(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case_for(request, case_id)
    moderator = _moderator(request)
    # Copies of private messages: each look is on the audit trail (before the page's log).
    services.message_evidence_viewed(case=case, moderator=moderator)
    ctx = selectors.review_context_for(case)
    now = timezone.now()
    claimed_by_me = (case.assigned_to_id == moderator.pk and case.claim_expires_at is not None
                     and case.claim_expires_at > now)
    claimed_by_other = (case.assigned_to_id not in (None, moderator.pk)
                        and case.claim_expires_at is not None and case.claim_expires_at > now)
    frames = (ctx.post.asset.outputs.get("moderation_frames") or {}) if ctx.post else {}
    return render(request, "moderation/review.html", {
        "case": case, "ctx": ctx, "now": now,
        "claimed_by_me": claimed_by_me, "claimed_by_other": claimed_by_other,
        "decisions": [
            {"name": name, "key": d.key, "label": d.label,
             "allowed": not ({"suspend", "ban"} & {name}) or moderator.has_perm(
                 f"moderation.enforce_{name}"),
             "confirm": name in ("ban", "suspend")}
            for name, d in services.decisions_for(case)],
        "policies": Policy.choices,
        "frame_numbers": range(1, int(frames.get("count", 0)) + 1),
        "overdue": case.status == Case.Status.OPEN and case.sla_due_at < now,
        "evidence": _evidence(case, ctx.detection),
        # a live on air plays through the page's own route (any audience); else its frames
        "live_hls": (reverse("moderation:live-file", args=[case.pk, "index.m3u8"])
                     if ctx.live is not None and ctx.live.on_air else ""),
    })


@require_POST
@_staff
def case_claim(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case_for(request, case_id)
    try:
        services.case_claim(case_id=case.pk, moderator=_moderator(request))
    except ForbiddenError as exc:
        messages.error(request, exc.message)
    except ApplicationError as exc:
        messages.warning(request, exc.message)
    return redirect("moderation:case", case_id=case.pk)


@require_POST
@_staff
def case_release(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case_for(request, case_id)
    services.case_release(case_id=case.pk, moderator=_moderator(request))
    return redirect("moderation:queues")


@require_POST
@_staff
def case_decide(request: HttpRequest, case_id: int) -> HttpResponse:
    """The decision a shortcut key (or button) posts. Then on to the next case of the queue."""
    case = _case_for(request, case_id)
    moderator = _moderator(request)
    decision = request.POST.get("decision", "")
    try:
        services.case_decide(case_id=case.pk, moderator=moderator, decision=decision,
                             policy=request.POST.get("policy", ""),
                             reason=request.POST.get("reason", "")[:1000])
    except ForbiddenError as exc:
        messages.error(request, exc.message)
        return redirect("moderation:case", case_id=case.pk)
    except ApplicationError as exc:
        messages.warning(request, exc.message)
        return redirect("moderation:case", case_id=case.pk)
    label = services.DECISIONS[decision].label
    messages.success(request, f"Case {case.pk}: {label}.")
    if request.POST.get("then") == "next":
        try:
            following = services.case_claim_next(queue=case.queue, moderator=moderator)
        except ForbiddenError:
            following = None
        if following is not None:
            return redirect("moderation:case", case_id=following.pk)
    return redirect("moderation:queues")


@require_GET
@_staff
def case_frame(request: HttpRequest, case_id: int, number: int) -> HttpResponse:
    """A frame the pipeline sampled for moderation (not servable through playback)."""
    case = _case_for(request, case_id)
    ctx = selectors.review_context_for(case) if case.target_type != "user" else None
    if ctx is None or ctx.post is None or not 1 <= number <= 30:
        raise Http404
    data = storage.read_output(ctx.post.asset_id, f"moderation/frame_{number:03d}.jpg")
    if data is None:
        raise Http404
    response = HttpResponse(data, content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=300"
    return response


def _live_id_of(case: Case) -> int | None:
    if case.target_type == TargetType.LIVE:
        return case.target_id
    if case.target_type == TargetType.LIVE_MESSAGE:
        return (case.live_evidence.order_by("-id").values_list("live_id", flat=True).first())
    return None


@require_GET
@_staff
def case_live_frame(request: HttpRequest, case_id: int, evidence_id: int) -> HttpResponse:
    """The frame of a live a report or the frame sampler kept with the case."""
    case = _case_for(request, case_id)
    data = selectors.live_frame_of(case=case, evidence_id=evidence_id)
    if data is None:
        raise Http404
    response = HttpResponse(data, content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=300"
    return response


_LIVE_TYPES = {".m3u8": "application/vnd.apple.mpegurl", ".mp4": "video/mp4",
               ".m4s": "video/iso.segment", ".m4v": "video/mp4", ".m4a": "audio/mp4",
               ".ts": "video/mp2t", ".jpg": "image/jpeg"}


@require_GET
@_staff
def case_live_file(request: HttpRequest, case_id: int, path: str) -> HttpResponseBase:
    """The live's HLS output for the review page's preview, to the moderators of the case's
    queue whatever the live's audience (live finds the file and checks the path)."""
    case = _case_for(request, case_id)
    live_id = _live_id_of(case)
    suffix = "." + path.rsplit(".", 1)[-1].lower() if "." in path else ""
    found = (live_hooks.live_file(live_id=live_id, path=path)
             if live_id is not None and suffix in _LIVE_TYPES else None)
    if found is None:
        raise Http404
    response = FileResponse(found.open("rb"), content_type=_LIVE_TYPES[suffix])
    response["Cache-Control"] = "no-store" if suffix == ".m3u8" else "private, max-age=60"
    return response


def _period(request: HttpRequest) -> tuple[datetime, datetime]:
    """`since` and `until` (dates, until exclusive); default the last 30 days."""
    today = timezone.localdate()
    try:
        since = date.fromisoformat(request.GET.get("since") or str(today - timedelta(days=30)))
        until = date.fromisoformat(request.GET.get("until") or str(today + timedelta(days=1)))
    except ValueError:
        raise ApplicationError("Dates are YYYY-MM-DD.", code="invalid_date") from None
    if until <= since or (until - since).days > 366:
        raise ApplicationError("A period of one day to one year.", code="invalid_period")
    tz = timezone.get_current_timezone()
    return (datetime.combine(since, time.min, tzinfo=tz),
            datetime.combine(until, time.min, tzinfo=tz))


def _dashboard_user(request: HttpRequest) -> None:
    if not _moderator(request).has_perm("moderation.view_dashboard"):
        raise PermissionDenied("The dashboard is for senior moderators and leads.")


@require_GET
@_staff
def dashboard(request: HttpRequest) -> HttpResponse:
    _dashboard_user(request)
    try:
        since, until = _period(request)
    except ApplicationError as exc:
        return HttpResponse(exc.message, status=400)
    data = selectors.dashboard(since=since, until=until)
    policy_labels = dict(Policy.choices)
    for row in data["by_policy"]:
        row["label"] = policy_labels.get(row["policy"], row["policy"])
    top = max((r["n"] for r in data["by_policy"]), default=0)
    return render(request, "moderation/dashboard.html", {
        "d": data, "top": top, "since": since.date(), "until": until.date(),
        "open_total": sum(q["open"] for q in data["queues"]),
        "export_url": reverse("moderation:transparency") + "?" + request.GET.urlencode(),
    })


@require_GET
@_staff
def transparency_csv(request: HttpRequest) -> HttpResponse:
    _dashboard_user(request)
    try:
        since, until = _period(request)
    except ApplicationError as exc:
        return HttpResponse(exc.message, status=400)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = f"transparency-{since:%Y%m%d}-{until:%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    writer = csv.writer(response)
    writer.writerow(["period_start", "period_end", "policy", "measure", "detail", "count"])
    for row in selectors.transparency_rows(since=since, until=until):
        writer.writerow([since.date().isoformat(), until.date().isoformat(), *row])
    return response


@require_http_methods(["GET", "POST"])
def appeal_by_link(request: HttpRequest, token: str) -> HttpResponse:
    """The appeal form a suspended or banned person reaches from the e-mail (they cannot
    sign in). The signed token names the decision; no account is needed."""
    try:
        action = services.action_for_appeal_token(token)
    except NotFoundError as exc:
        return render(request, "moderation/appeal_form.html", {"error": exc.message},
                      status=404)
    context: dict[str, Any] = {"action": action, "policy": Policy(action.policy).label,
                               "guideline_url": conf.guideline_url(action.policy)}
    if request.method == "POST":
        assert action.subject is not None
        try:
            services.appeal_create(user=action.subject, action_id=action.pk,
                                   statement=request.POST.get("statement", "")[:2000])
        except ApplicationError as exc:
            context["error"] = exc.message
            return render(request, "moderation/appeal_form.html", context,
                          status=exc.status_code)
        context["received"] = True
    return render(request, "moderation/appeal_form.html", context)
