from django.apps import AppConfig


class AdsConfig(AppConfig):
    name = "apps.ads"
    label = "ads"
    verbose_name = "Ads"

    def ready(self) -> None:
        from apps.ads import notices
        from apps.ads.services import funding
        from apps.payments import hooks as payments_hooks

        notices.register_types()  # ad_review
        payments_hooks.payment_event.register(funding.on_payment_event)  # top-ups

        from apps.ads.delivery import admin as _delivery_admin  # noqa: F401 - registers
        from apps.ads.delivery import serve
        from apps.ads.delivery import tasks as _delivery_tasks  # noqa: F401 - registers
        from apps.feed import hooks as feed_hooks

        feed_hooks.ad_slots.register(serve.fill_ad_slots)  # ads in For You
