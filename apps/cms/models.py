from __future__ import annotations

from typing import Any

from django.db import models
from wagtail.admin.panels import FieldPanel
from wagtail.fields import RichTextField
from wagtail.models import Page

from apps.moderation.policies import Policy


class HelpPage(Page):
    """Help-centre and policy pages that staff write in Wagtail (/cms/)."""

    summary = models.CharField(max_length=300, blank=True)
    body = RichTextField(blank=True)

    content_panels = [*Page.content_panels, FieldPanel("summary"), FieldPanel("body")]


class GuidelinePage(Page):
    """One community-guidelines rule per policy of `apps.moderation.policies.Policy`; its
    slug is the policy value, so enforcement notices and the report form link to
    /pages/community-guidelines/<policy>/. Staff edit the text in Wagtail."""

    policy = models.CharField(max_length=32, choices=Policy.choices, unique=True,
                              help_text="The rule this page explains (reports and "
                                        "decisions use the same list).")
    summary = models.CharField(max_length=300, blank=True)
    body = RichTextField(blank=True)
    enforcement = RichTextField(blank=True, help_text="What happens when the rule is broken.")

    content_panels = [*Page.content_panels, FieldPanel("policy"), FieldPanel("summary"),
                      FieldPanel("body"), FieldPanel("enforcement")]
    parent_page_types = ["cms.HelpPage"]
    subpage_types: list[str] = []

    def full_clean(self, *args: Any, **kwargs: Any) -> None:
        # The page lives at the policy's slug: notices link there.
        if self.policy:
            self.slug = self.policy
        super().full_clean(*args, **kwargs)
