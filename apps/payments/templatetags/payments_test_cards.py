"""`{% load payments_test_cards %}{% local_test_cards %}`: the local test provider's cards,
for a page where people pay (the coins page, subscribing). Renders nothing unless the local
provider is the one in use, so a real deployment never shows them."""

from __future__ import annotations

from django import template
from django.conf import settings

from apps.payments.providers.local import FAILING_DESTINATION, TEST_CARDS

register = template.Library()


@register.inclusion_tag("payments/_test_cards.html")
def local_test_cards(payouts: bool = False) -> dict[str, object]:
    return {"enabled": settings.SWIPEME_PAYMENT_PROVIDER == "local",
            "cards": list(TEST_CARDS.items()), "payouts": payouts,
            "failing_destination": FAILING_DESTINATION}
