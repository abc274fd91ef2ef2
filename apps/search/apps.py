from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "apps.search"
    label = "search"

    def ready(self) -> None:
        from apps.core.health import backlog_checks
        from apps.search.indexing import outbox, pipeline

        outbox.register()  # lower apps' change hooks -> the index outbox (same transaction)
        backlog_checks.register(pipeline.outbox_backlog)

        # accounts cannot import search: the history goes with the account, and is exported.
        from apps.accounts.hooks import register_account_removal_hook, register_export_section
        from apps.search.services import history

        register_account_removal_hook(history.history_purge_user)
        register_export_section("search_history")(history.history_export_user)
