"""django.contrib.sites' Site row, which allauth's e-mails take their name and domain from
("Hello from example.com!" otherwise): kept equal to settings after every migrate (and
every flush, which re-sends post_migrate), so a changed SWIPEME_SITE_URL is picked up too."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS


def site_domain() -> str:
    return urlsplit(settings.SITE_URL).netloc or "localhost"


def sync_site(*, using: str = DEFAULT_DB_ALIAS, **kwargs: Any) -> None:
    from django.contrib.sites.models import Site

    # update_or_create saves the model, which clears Django's SITE_CACHE for the row
    Site.objects.using(using).update_or_create(
        pk=settings.SITE_ID,
        defaults={"domain": site_domain(), "name": settings.WAGTAIL_SITE_NAME})
