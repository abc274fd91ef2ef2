import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "swipeme_site.settings.dev")

app = Celery("swipeme")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
