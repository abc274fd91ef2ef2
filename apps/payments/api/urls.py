from django.urls import URLPattern, URLResolver, path

from apps.payments.api.webhooks import PaymentWebhookApi

urlpatterns: list[URLPattern | URLResolver] = [
    path("payments/webhooks/<str:provider>", PaymentWebhookApi.as_view(),
         name="payments-webhook"),
]
