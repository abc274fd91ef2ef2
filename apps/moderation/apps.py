"""Trust and safety: reports, cases, review, enforcement, appeals, audience rules."""
from django.apps import AppConfig


class ModerationConfig(AppConfig):
    name = "apps.moderation"
    label = "moderation"

    def ready(self) -> None:
        # accounts and content cannot import moderation; they call it through their hooks.
        from apps.accounts.hooks import register_access_gate, register_account_created_hook
        from apps.content.hooks import register_publish_gate
        from apps.moderation import hooks

        register_account_created_hook(hooks.account_created)
        register_access_gate(hooks.access_gate)
        register_publish_gate(hooks.publish_gate)
