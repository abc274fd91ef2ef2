from django.apps import AppConfig


class ExperimentsConfig(AppConfig):
    name = "apps.experiments"
    label = "experiments"
    verbose_name = "Flags and experiments"

    def ready(self) -> None:
        from apps.experiments import media_flags
        from apps.media import hooks as media_hooks

        media_hooks.register_av1_threshold_hook(media_flags.av1_view_threshold)
