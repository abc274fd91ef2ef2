from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"

    def ready(self) -> None:
        # Registers the OpenAPI extension for our token authenticator.
        from apps.core import authentication  # noqa: F401
