from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.documents import urls as wagtaildocs_urls

from apps.core import views as core_views
from apps.notifications.digest import views as digest_views
from apps.web import service_worker as web_service_worker
from apps.web import views_notices as web_notices

api_v1 = [
    path("", include("apps.core.api.urls")),
    path("", include("apps.accounts.api.urls")),
    path("", include("apps.social.api.urls")),
    path("", include("apps.media.api.urls")),
    path("", include("apps.content.api.urls")),
    path("", include("apps.engagement.api.urls")),
    path("", include("apps.comments.api.urls")),
    path("", include("apps.events.api.urls")),
    path("", include("apps.experiments.api.urls")),
    path("", include("apps.analytics.api.urls")),
    path("", include("apps.feed.api.urls")),
    path("", include("apps.search.api.urls")),
    path("", include("apps.notifications.api.urls")),
    path("", include("apps.messaging.api.urls")),
    path("", include("apps.studio.api.urls")),
    path("", include("apps.payments.api.urls")),
    path("", include("apps.monetization.api.urls")),
    path("", include("apps.moderation.api.urls")),
    path("", include("apps.live.api.urls")),
    path("", include("apps.ads.api.urls")),
    path("", include("apps.marketplace.api.urls")),
]

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path("metrics", core_views.metrics, name="metrics"),
    # the service worker: Web Push and the feed's offline cache (root scope)
    path("sw.js", web_service_worker.service_worker, name="service-worker"),
    # An e-mail's unsubscribe link and RFC 8058 one-click POST (signed token, no sign-in)
    path("email/unsubscribe/<str:token>/", digest_views.unsubscribe, name="email-unsubscribe"),
    path("api/v1/", include((api_v1, "api"), namespace="v1")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("_allauth/", include("apps.accounts.headless_urls")),  # allauth's, minus phone
    # allauth's "This account is inactive", replaced by the page that says why (web)
    path("accounts/inactive/", web_notices.account_inactive, name="account-inactive"),
    path("accounts/", include("allauth.urls")),
    path("account-data/", include("apps.accounts.urls")),
    path("django-admin/", admin.site.urls),
    path("moderation/", include("apps.moderation.urls")),
    path("payments/", include("apps.payments.urls")),  # the local test provider's pages
    path("", include("apps.live.urls")),  # HLS playback, the ingest's internal callbacks
    path("cms/", include(wagtailadmin_urls)),
    path("documents/", include(wagtaildocs_urls)),
    # the click redirect /ads/c/<token> and the conversion pixel /ads/px, then the portal
    path("ads/", include("apps.ads.urls")),
    path("ads/", include("apps.adsportal.urls")),  # the advertisers' portal
    path("", include("apps.web.urls")),
    path("pages/", include(wagtail_urls)),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
elif settings.SWIPEME_SERVE_PUBLIC_MEDIA:
    # The test server has no nginx in front: public media (avatars, covers, stickers) as
    # docker/nginx.conf serves it; videos only through the play endpoint's grants.
    from django.urls import re_path
    from django.views.static import serve

    urlpatterns += [re_path(r"^media/(?!assets/)(?P<path>.+)$", serve,
                            {"document_root": settings.MEDIA_ROOT})]

handler404 = "apps.core.views.api_not_found"
handler500 = "apps.core.views.api_server_error"
