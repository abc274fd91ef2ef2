"""Admin: ranker versions (metrics, activation) and "why was this post shown?"."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils.html import format_html

from apps.accounts.models import User
from apps.core.admin import AuditedModelAdmin, ReasonActionForm, action_reason
from apps.core.audit import request_ip
from apps.feed import online, services
from apps.feed.models import NotInterested, PostEmbedding, RankerModel, UserInterests


def _metric(row: RankerModel, policy: str, name: str) -> Any:
    return (row.metrics or {}).get(policy, {}).get(name)


@admin.register(RankerModel)
class RankerModelAdmin(AuditedModelAdmin):
    list_display = ("version", "is_active", "auc", "ndcg", "recall", "baseline_ndcg",
                    "created_at", "activated_at")
    readonly_fields = ("version", "artifact", "is_active", "pretty_metrics", "feature_names",
                       "pretty_trained_on", "created_at", "activated_at")
    exclude = ("metrics", "trained_on")
    actions = ("activate",)
    action_form = ReasonActionForm
    change_list_template = "admin/feed/rankermodel_changelist.html"

    @admin.display(description="AUC (completion)")
    def auc(self, row: RankerModel) -> Any:
        return _metric(row, "ranker", "auc_completion")

    @admin.display(description="NDCG@10")
    def ndcg(self, row: RankerModel) -> Any:
        return _metric(row, "ranker", "ndcg@10")

    @admin.display(description="recall@50")
    def recall(self, row: RankerModel) -> Any:
        return _metric(row, "ranker", "recall@50")

    @admin.display(description="NDCG@10 popularity / chronological")
    def baseline_ndcg(self, row: RankerModel) -> str:
        return f"{_metric(row, 'popularity', 'ndcg@10')} / " \
               f"{_metric(row, 'chronological', 'ndcg@10')}"

    @admin.display(description="Offline metrics (held-out events, split by time)")
    def pretty_metrics(self, row: RankerModel) -> str:
        return format_html("<pre>{}</pre>", json.dumps(row.metrics, indent=2))

    @admin.display(description="Trained on")
    def pretty_trained_on(self, row: RankerModel) -> str:
        return format_html("<pre>{}</pre>", json.dumps(row.trained_on, indent=2))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # versions come from training (`manage.py feed_train`, the reco task)

    @admin.action(description="Make the selected version the active ranker")
    def activate(self, request: HttpRequest, queryset: QuerySet[RankerModel]) -> None:
        rows = list(queryset[:2])
        if len(rows) != 1:
            self.message_user(request, "Select exactly one version.", messages.ERROR)
            return
        services.ranker_activate(version=rows[0].version, actor=request.user,
                                 reason=action_reason(request), ip=request_ip(request))
        self.message_user(request, f"Ranker v{rows[0].version} is active; serving picks it "
                                   "up within seconds.", messages.SUCCESS)

    def get_urls(self) -> list[URLPattern]:
        extra = [path("explain/", self.admin_site.admin_view(self.explain_view),
                      name="feed_explain")]
        return extra + super().get_urls()  # type: ignore[operator]

    def explain_view(self, request: HttpRequest) -> HttpResponse:
        """Why was a post shown to someone: source, ranker scores and heads, the features
        that mattered and what re-ranking did — from the impression log (7 days)."""
        who = request.GET.get("user", "").strip()
        post = request.GET.get("post", "").strip()
        entries: list[dict[str, Any]] = []
        error = ""
        key = None
        if who:
            user = None
            if who.isdigit():
                user = User.objects.filter(pk=int(who)).first()
            user = user or User.objects.filter(username__iexact=who).first()
            if user is not None:
                key = online.viewer_key(user_id=int(user.pk), session_id=None)
            elif who.startswith("s:"):
                key = who
            else:
                error = "No such user."
        if key is not None:
            entries = online.explanations(key, post_id=int(post) if post.isdigit() else None)
            if not entries:
                error = "Nothing logged for this viewer (and post) in the last 7 days."
        for entry in entries:
            entry["pretty"] = json.dumps({k: v for k, v in entry.items()
                                          if k not in ("post_id", "position", "source")},
                                         indent=1)
        context = {**self.admin_site.each_context(request), "title": "Why was this shown?",
                   "who": who, "post": post, "entries": entries, "error": error,
                   "opts": self.model._meta}
        return TemplateResponse(request, "admin/feed/explain.html", context)


@admin.register(UserInterests)
class UserInterestsAdmin(AuditedModelAdmin):
    list_display = ("user", "interests", "updated_at")
    raw_id_fields = ("user",)
    show_full_result_count = False


@admin.register(NotInterested)
class NotInterestedAdmin(AuditedModelAdmin):
    list_display = ("user", "post", "author_id", "created_at")
    raw_id_fields = ("user", "post")
    show_full_result_count = False


@admin.register(PostEmbedding)
class PostEmbeddingAdmin(AuditedModelAdmin):
    list_display = ("post", "text_hash", "updated_at")
    raw_id_fields = ("post",)
    exclude = ("vector",)
    show_full_result_count = False
