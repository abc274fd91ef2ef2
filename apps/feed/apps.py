"""Following and For You feeds: candidate generation, learned ranking, re-ranking."""
from django.apps import AppConfig


class FeedConfig(AppConfig):
    name = "apps.feed"
    label = "feed"

    def ready(self) -> None:
        # The feed's numpy work (embeddings, scoring a few thousand candidates) is small per
        # call; multi-threaded BLAS only adds spinning threads that fight the web server,
        # PostgreSQL and Redis for the cores (measured: 12x slower embeddings on a busy
        # 2-core machine). One BLAS thread per process.
        from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

        threadpool_limits(limits=1, user_api="blas")
