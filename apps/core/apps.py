from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"

    def ready(self) -> None:
        # Registers the OpenAPI extension for our token authenticator, and the
        # field__any=values lookup (= ANY(array)) for the big id lists.
        from apps.core import authentication, lookups  # noqa: F401
