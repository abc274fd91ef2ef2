from django.apps import AppConfig


class AdsPortalConfig(AppConfig):
    """The advertisers' server-rendered portal under /ads/: pages only, no tables of its own
    (every write goes through apps.ads' services, every read through its selectors)."""

    name = "apps.adsportal"
    label = "adsportal"
