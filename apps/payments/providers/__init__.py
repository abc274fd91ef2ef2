"""Payment providers behind one interface (`base.PaymentProvider`): the local test provider
(`local`, what `make run` and the tests use) and Stripe (`stripe`, the official library).
`get_provider(name)` picks one; `SWIPEME_PAYMENT_PROVIDER` names the default."""

from __future__ import annotations

from django.conf import settings

from apps.payments.providers.base import PaymentProvider, WebhookRefusedError


def get_provider(name: str | None = None) -> PaymentProvider:
    name = name or settings.SWIPEME_PAYMENT_PROVIDER
    if name == "local":
        if settings.SWIPEME_PAYMENT_PROVIDER != "local":  # never beside a real provider
            raise WebhookRefusedError("The local test provider is not enabled here.",
                                      code="unknown_provider", status_code=404)
        from apps.payments.providers.local import LocalProvider

        return LocalProvider()
    if name == "stripe":
        from apps.payments.providers.stripe import StripeProvider

        return StripeProvider()
    raise WebhookRefusedError(f"Unknown payment provider {name!r}.", code="unknown_provider",
                              status_code=404)


__all__ = ["PaymentProvider", "WebhookRefusedError", "get_provider"]
