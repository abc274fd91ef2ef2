"""HTTP through Django, websockets through Channels, one process."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "swipeme_site.settings.dev")
django_asgi_app = get_asgi_application()  # sets Django up; pages and async views use it

from apps.core.asgi import OneHopASGIHandler  # noqa: E402

# /api/ calls to sync views: the middleware chain and the view in one thread hop
http_app = OneHopASGIHandler(django_asgi_app)

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from swipeme_site.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": http_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
