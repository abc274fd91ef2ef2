from django.apps import AppConfig


class DetectionConfig(AppConfig):
    name = "apps.moderation.detection"
    label = "moderation_detection"
