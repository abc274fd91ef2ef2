"""Automated detection: classifiers, perceptual and audio hash matching, the policy engine."""
from django.apps import AppConfig


class DetectionConfig(AppConfig):
    name = "apps.moderation.detection"
    label = "moderation_detection"
    verbose_name = "Moderation: automated detection"

    def ready(self) -> None:
        # Lower apps call upward only through their hook registries.
        from apps.accounts.hooks import register_profile_changed_hook
        from apps.comments.hooks import register_comment_created_hook
        from apps.content.hooks import register_publish_gate
        from apps.media.hooks import register_asset_step_done_hook
        from apps.moderation.decision_hooks import register_case_decided_hook
        from apps.moderation.detection import hooks
        from apps.moderation.detection.services import text_config

        register_asset_step_done_hook(hooks.asset_step_done)
        register_publish_gate(hooks.publish_gate)
        register_comment_created_hook(hooks.comment_created)
        register_profile_changed_hook(hooks.profile_changed)
        register_case_decided_hook(hooks.case_decided)
        # a staff edit of the text checks' configuration reaches every process's kept copy
        text_config.connect()
