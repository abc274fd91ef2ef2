from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"

    def ready(self) -> None:
        # Registers the OpenAPI extension for our token authenticator, and the
        # field__any=values lookup (= ANY(array)) for the big id lists; the deploy check
        # of the page-only middleware's protections.
        from apps.core import authentication, checks, lookups  # noqa: F401
