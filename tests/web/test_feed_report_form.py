from __future__ import annotations

import json
import re

import pytest

from apps.moderation.policies import Policy


@pytest.mark.django_db
def test_the_feed_report_form_links_each_reason_to_its_guidelines_page(client, user):
    # given: a signed-in viewer (the report item is for accounts)
    client.force_login(user)

    # when
    response = client.get("/")

    # then: every policy of the taxonomy is offered, each with its guideline page
    assert response.status_code == 200
    raw = re.search(r'<script id="report-policies" type="application/json">(.*?)</script>',
                    response.content.decode())
    assert raw is not None
    reasons = json.loads(raw.group(1))
    assert [r[0] for r in reasons] == [p.value for p in Policy]
    assert all(rule == f"/pages/community-guidelines/{value}/" for value, _, rule in reasons)
