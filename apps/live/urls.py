"""Live's routes outside the API: HLS playback and covers (`playback.hls`, `playback.cover`:
the visibility rule) and
nginx-rtmp's internal callbacks (`ingest.views`, a shared secret; not in the API schema)."""

from django.urls import URLPattern, path

from apps.live import playback
from apps.live.ingest import views as ingest

urlpatterns: list[URLPattern] = [
    path("live/<str:live_id>/hls/<path:path>", playback.hls, name="live-hls"),
    path("live/<str:live_id>/cover", playback.cover, name="live-cover"),
    path("internal/live/on_publish", ingest.on_publish, name="live-ingest-on-publish"),
    path("internal/live/on_publish_done", ingest.on_publish_done,
         name="live-ingest-on-publish-done"),
]
