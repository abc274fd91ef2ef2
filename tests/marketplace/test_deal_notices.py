"""Each line on a deal's thread reaches the deal's other people in their inbox (the
creator; the brand's admins and editors), never the person who did or wrote it, with the
thread's words and a link to the deal where that person reads it."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest

from apps.marketplace.services import deals
from apps.notifications.services.texts import path_of, sentence
from tests.marketplace.helpers import brand, invite, opted_in
from tests.notifications.inbox_helpers import inbox_of

pytestmark = pytest.mark.django_db


def test_the_invitation_acceptance_and_messages_reach_the_other_side(
    django_capture_on_commit_callbacks: Callable[..., AbstractContextManager[Any]],
) -> None:
    org, admin = brand(name="Acme Foods")
    maker = opted_in()
    with django_capture_on_commit_callbacks(execute=True):
        deal = invite(org, admin, maker)
    (note,) = inbox_of(maker.pk)
    assert note.type == "marketplace_deal"
    assert sentence(note, {})[0] == "Brand deal “Spring menu”"
    assert "Acme Foods invited" in sentence(note, {})[1]
    assert path_of(note, {}) == f"/studio/marketplace/deals/{deal.pk}"
    assert inbox_of(admin.pk) == []  # the brand did it

    with django_capture_on_commit_callbacks(execute=True):
        deals.deal_accept(user=maker, deal_id=deal.pk)
        deals.deal_message(user=maker, deal_id=deal.pk, body="Filming on Friday!")
    told = inbox_of(admin.pk)
    assert [sentence(n, {})[1] for n in reversed(told)][-1] == "Filming on Friday!"
    assert sentence(told[0], {})[0] == f"@{maker.username} on “Spring menu”"
    assert any("Accepted for" in sentence(n, {})[1] for n in told)
    assert {path_of(n, {}) for n in told} == {f"/ads/o/{org.pk}/deals/{deal.pk}"}
    assert len(inbox_of(maker.pk)) == 1  # nothing of their own doing
