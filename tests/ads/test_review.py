"""Ad review: automated checks at submit (ad rules, the landing page fetched from a local
HTTP server, the moderation detectors), the ad-ops queue in the Django admin (approve /
reject with reasons; one audit row each), and the advertiser told in words."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.test import Client, override_settings

from apps.accounts.models import User
from apps.ads.models import Ad, BlockedDomain, Membership
from apps.ads.services import landing as landing_module
from apps.ads.services import review
from apps.ads.services.landing import check_landing
from apps.core.errors import ApplicationError, ConflictError, ForbiddenError
from apps.core.models import AuditEvent
from apps.notifications.models import Notification
from tests.ads.core_helpers import ad_for, campaign_for, group_for, org_with
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


class _Landing(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        port = int(self.server.server_address[1])  # type: ignore[index]
        routes = {
            "/ok": (200, None),
            "/same": (302, "/ok"),
            "/away": (302, f"http://localhost:{port}/ok"),
            "/loop": (302, "/loop"),
            "/gone": (404, None),
        }
        status, location = routes.get(self.path, (404, None))
        self.send_response(status)
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"hi")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def landing() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Landing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    with override_settings(SWIPEME_ADS_LANDING_TEST_HOSTS=("127.0.0.1", "localhost"),
                           SWIPEME_ADS_LANDING_TIMEOUT_S=2.0):
        yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _ad(landing_url: str, **kw: Any) -> tuple[Ad, User]:
    org, admin = org_with()
    ad = ad_for(group_for(campaign_for(org, admin), admin), admin, landing_url=landing_url,
                **kw)
    return ad, admin


def test_landing_pages_are_fetched_and_redirects_judged(landing: str) -> None:
    assert check_landing(f"{landing}/ok", redirect_disclosed=False).ok
    same = check_landing(f"{landing}/same", redirect_disclosed=False)
    assert same.ok
    assert same.chain == [f"{landing}/same", f"{landing}/ok"]
    away = check_landing(f"{landing}/away", redirect_disclosed=False)
    assert not away.ok
    assert "redirects to another site (localhost)" in away.reason
    disclosed = check_landing(f"{landing}/away", redirect_disclosed=True)
    assert disclosed.ok
    assert disclosed.other_domain == "localhost"
    assert "HTTP 404" in check_landing(f"{landing}/gone", redirect_disclosed=False).reason
    assert "too many times" in check_landing(f"{landing}/loop", redirect_disclosed=False).reason


def test_private_addresses_are_never_fetched() -> None:
    # Outside the test hosts, a host is fetched only when every address it resolves to is
    # global: loopback and private addresses (our own network) are refused.
    assert not landing_module._public("localhost", 443)
    assert not landing_module._public("127.0.0.1", 80)
    assert not landing_module._public("10.1.2.3", 443)
    assert not landing_module._public("no-such-host.invalid", 443)
    result = check_landing("https://localhost.localdomain.example.invalid/",
                           redirect_disclosed=False)
    assert not result.ok
    assert "could not be reached from the internet" in result.reason


def test_a_clean_ad_waits_for_ad_ops_and_an_undeclared_redirect_is_rejected(
        landing: str) -> None:
    ad, admin = _ad(f"{landing}/same")
    review.ad_submit(user=admin, ad=ad)
    ad.refresh_from_db()
    assert (ad.review_state, ad.review_reasons, ad.landing_final_url) == (
        "pending", [], f"{landing}/ok")
    assert {c["check"] for c in ad.review_checks} == {
        "prohibited_category", "landing_page", "domain_blocklist", "creative_scan", "text"}
    with pytest.raises(ConflictError):
        review.ad_submit(user=admin, ad=ad)

    away, owner = _ad(f"{landing}/away")
    review.ad_submit(user=owner, ad=away)
    away.refresh_from_db()
    assert away.review_state == "rejected"
    assert "redirects to another site (localhost)" in away.review_reasons[0]
    note = Notification.objects.get(recipient=owner, type="ad_review")
    assert note.data["title"] == f"Your ad “{away.name}” was not approved"
    assert "redirects to another site" in note.data["body"]
    row = AuditEvent.objects.get(app="ads", verb="ad_auto_reject")
    assert (row.actor_id, row.target_id) == (None, away.pk)


@override_settings(SWIPEME_ADS_LANDING_CHECK=False)
def test_prohibited_categories_and_blocked_domains_are_rejected_in_words() -> None:
    BlockedDomain.objects.create(domain="scam.example", reason="Known phishing.")
    ad, admin = _ad("https://shop.scam.example/deal")
    review.ad_submit(user=admin, ad=ad)
    ad.refresh_from_db()
    assert ad.review_reasons == ["Links to scam.example are not allowed: Known phishing."]
    vape, owner = _ad("https://acme.example.com/", display_name="Best vape deals")
    review.ad_submit(user=owner, ad=vape)
    vape.refresh_from_db()
    assert vape.review_state == "rejected"
    assert vape.review_reasons == ["Ads for tobacco are not allowed on SwipeMe."]


@override_settings(SWIPEME_ADS_LANDING_CHECK=False)
def test_only_editors_and_admins_submit() -> None:
    analyst = UserFactory()
    ad, _admin = _ad("https://acme.example.com/")
    Membership.objects.create(org=ad.ad_group.campaign.org, user=analyst, role="analyst")
    with pytest.raises(ForbiddenError):
        review.ad_submit(user=analyst, ad=ad)


@pytest.fixture
def staff_web() -> tuple[Client, User]:
    staff = UserFactory(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(staff)
    return client, staff


@override_settings(SWIPEME_ADS_LANDING_CHECK=False)
def test_the_admin_queue_approves_and_rejects_with_reasons(
        staff_web: tuple[Client, User]) -> None:
    web, staff = staff_web
    first, owner = _ad("https://acme.example.com/a")
    second, other = _ad("https://acme.example.com/b")
    editor = UserFactory()
    Membership.objects.create(org=first.ad_group.campaign.org, user=editor, role="editor")
    for ad, user in ((first, owner), (second, other)):
        review.ad_submit(user=user, ad=ad)
    queue = web.get("/django-admin/ads/ad/?review=pending")
    assert queue.status_code == 200
    assert first.name in queue.content.decode()

    # Rejecting needs the words the advertiser will read.
    response = web.post("/django-admin/ads/ad/", {
        "action": "reject_ads", "_selected_action": [str(second.pk)], "reason": ""},
        follow=True)
    assert "Write the reason the advertiser will read" in response.content.decode()
    assert Ad.objects.get(pk=second.pk).review_state == "pending"

    web.post("/django-admin/ads/ad/", {"action": "approve_ads",
                                       "_selected_action": [str(first.pk)], "reason": "ok"})
    web.post("/django-admin/ads/ad/", {
        "action": "reject_ads", "_selected_action": [str(second.pk)],
        "reason": "The video shows a medical claim we cannot verify."})
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.review_state, first.reviewed_by_id) == ("approved", staff.pk)
    assert (second.review_state, second.review_reasons) == (
        "rejected", ["The video shows a medical claim we cannot verify."])
    assert review.outcome_words(second) == (
        f"Your ad “{second.name}” was not approved",
        "The video shows a medical claim we cannot verify.")
    rows = {(r.action_name, r.target_id, r.actor_id)
            for r in AuditEvent.objects.filter(app="ads", verb__in=("ad_approve", "ad_reject"))}
    assert rows == {("ads.ad_approve", first.pk, staff.pk), ("ads.ad_reject", second.pk, staff.pk)}
    # The org's admins and editors are told; analysts and other orgs are not.
    told = set(Notification.objects.filter(type="ad_review").values_list("recipient_id",
                                                                          flat=True))
    assert told == {owner.pk, editor.pk, other.pk}
    # A rejected ad, changed, can be submitted again; an approved one cannot be re-decided
    # after a change without a new submission.
    with pytest.raises(ApplicationError, match="reasons"):
        review.ad_reject(actor=staff, ad_id=first.pk, reasons=[" "])
