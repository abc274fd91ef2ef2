from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate


class WebConfig(AppConfig):
    name = "apps.web"
    label = "web"

    def ready(self) -> None:
        from apps.web.site import sync_site

        # Sent per app with models (web has none): on the sites app's signal, connected after
        # (so run after) its own handler that creates the example.com row.
        post_migrate.connect(sync_site, sender=apps.get_app_config("sites"),
                             dispatch_uid="web.sync_site")
