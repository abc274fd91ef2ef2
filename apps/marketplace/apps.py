from django.apps import AppConfig


class MarketplaceConfig(AppConfig):
    name = "apps.marketplace"
    label = "marketplace"
    verbose_name = "Creator marketplace"

    def ready(self) -> None:
        from apps.ads import hooks as ads_hooks
        from apps.marketplace import notices
        from apps.marketplace.services import spark

        notices.register_types()  # a deal's thread told to both sides

        ads_hooks.creative_grants.register(spark.asset_granted)  # spark ads
        ads_hooks.creative_revocations.register(spark.asset_revoked)
