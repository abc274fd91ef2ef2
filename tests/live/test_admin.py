"""Live in the admin: staff end a live and revoke a key through the actions (each an audit
row with the reason), the pages show without per-row queries, and the rows themselves are
read-only (no add, no delete; the policy is one row)."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.core.models import AuditEvent
from apps.live.models import LivePolicy, LiveStream, StreamKey
from tests.factories import UserFactory
from tests.live.live_helpers import host, on_air

pytestmark = pytest.mark.django_db(transaction=True)


def policy_form(policy: LivePolicy) -> dict[str, int]:
    """The policy's change form as it stands (every field is required in the admin)."""
    return {field.name: getattr(policy, field.name) for field in LivePolicy._meta.fields
            if field.editable and not field.primary_key}


@pytest.fixture
def staff_client() -> Client:
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_staff_end_lives_and_revoke_keys_with_the_reason_audited(staff_client):
    live, _ = on_air(host())
    other, _ = on_air(host())
    for url in ("/django-admin/live/livestream/", "/django-admin/live/streamkey/",
                f"/django-admin/live/livestream/{live.pk}/change/",
                "/django-admin/live/livepolicy/"):
        assert staff_client.get(url).status_code == 200
    assert staff_client.get("/django-admin/live/livestream/add/").status_code == 403

    response = staff_client.post("/django-admin/live/livestream/", {
        "action": "end_lives", "_selected_action": [str(live.pk)],
        "reason": "a report we confirmed"})
    assert response.status_code == 302
    live.refresh_from_db()
    assert live.state == LiveStream.State.ENDED
    assert live.end_reason == LiveStream.EndReason.MODERATOR
    audit = AuditEvent.objects.get(app="live", verb="end")
    assert (audit.target_id, audit.reason) == (live.pk, "a report we confirmed")

    key = StreamKey.objects.get(user_id=other.host_id, revoked_at__isnull=True)
    staff_client.post("/django-admin/live/streamkey/", {
        "action": "revoke_keys", "_selected_action": [str(key.pk)], "reason": "leaked"})
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert LiveStream.objects.get(pk=other.pk).end_reason == LiveStream.EndReason.KEY_REVOKED
    assert AuditEvent.objects.get(app="live", verb="key_revoke").reason == "leaked"


def test_the_policy_is_one_audited_row(staff_client):
    policy = LivePolicy.current()
    assert staff_client.get("/django-admin/live/livepolicy/add/").status_code == 403
    response = staff_client.post(f"/django-admin/live/livepolicy/{policy.pk}/change/", {
        **policy_form(policy), "min_age": 21, "min_followers": 100})
    assert response.status_code == 302
    assert LivePolicy.current().min_followers == 100
    audit = AuditEvent.objects.get(app="live", verb="livepolicy_change")
    assert audit.data["changed"] == {"min_age": 21, "min_followers": 100}
