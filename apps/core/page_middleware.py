"""The middleware only web pages need, skipped on the API's token and cookieless calls.

Every entry of `settings.MIDDLEWARE` that a program calling `/api/` with a token never
uses (the cookie session, CSRF, the cookie user, messages, X-Frame-Options, CSP,
Wagtail's redirects) is listed there as one of the classes below: the
same middleware, wrapped by `page_only`, which passes the request straight on when
`skips_page_middleware` says so. One rule, in one place:

- only under `/api/`, its HTML docs page aside (never `/_allauth/`, whose browser
  client logs in with the cookie session, nor the pages);
- and the request carries a token (`X-Session-Token`, or `Authorization` for the ads
  conversions API key), or carries no cookie at all.

Why that keeps the security of before: a cookie is the only ambient credential the site
has. When a request skips, its cookies are never read (no session is loaded, the user is
the anonymous one until DRF's token authentication sets it), so a forged cross-site
request gains nothing by riding on them, and CSRF has nothing to protect; and since no
session is saved, the answer sets no cookie. A call with the web client's session cookie
and no token takes the whole chain: session, the cookie user, and CSRF on writes (DRF's
SessionAuthentication enforces it), exactly as before.

A skipped request still gets what code below may read: `request.session` (an empty store
that is never saved) and `request.user` (anonymous until DRF authenticates). Messages are
not set up: adding one on an API call fails loudly, as it should. allauth's session
activity (`apps.accounts.middleware`, which core may not import) stays in the chain and
does nothing there: the empty session has no key.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from django.utils.module_loading import import_string

_DECISION = "_swipeme_skips_page_middleware"
TOKEN_HEADERS = ("HTTP_X_SESSION_TOKEN", "HTTP_AUTHORIZATION")
# HTML under /api/ (the Swagger UI): a page, with the page middleware (CSP, frame options)
API_PAGES = ("/api/docs/",)


def skips_page_middleware(request: HttpRequest) -> bool:
    """True for an `/api/` call with a token or without any cookie (decided once)."""
    decided = getattr(request, _DECISION, None)
    if decided is None:
        meta = request.META
        path = request.path
        decided = (
            path.startswith("/api/")
            and not path.startswith(API_PAGES)
            and (any(meta.get(header) for header in TOKEN_HEADERS) or not meta.get("HTTP_COOKIE"))
        )
        setattr(request, _DECISION, decided)
    return bool(decided)


def _empty_session(request: HttpRequest) -> None:
    # An unsaved store without a key: reads find nothing, nothing is written, no cookie.
    engine = import_string(settings.SESSION_ENGINE)
    request.session = engine.SessionStore(None)


def _anonymous_user(request: HttpRequest) -> None:
    request.user = AnonymousUser()


Hook = Callable[..., Any]


def page_only(path: str, on_skip: Callable[[HttpRequest], None] | None = None) -> type:
    """A subclass of `path`'s middleware (so Django's and the admin's checks still find
    it) that does nothing for a skipping API call, hooks included."""
    base = import_string(path)

    def call(self: Any, request: HttpRequest) -> Any:
        if skips_page_middleware(request):
            if on_skip is not None:
                on_skip(request)
            # In async mode get_response is a coroutine function: its awaitable goes back.
            return self.get_response(request)
        return base.__call__(self, request)

    namespace: dict[str, Any] = {"__call__": call, "wrapped": path, "__module__": __name__}
    for hook in ("process_view", "process_exception", "process_template_response"):
        if hasattr(base, hook):
            namespace[hook] = _unless_skipping(getattr(base, hook), hook)
    name = path.rsplit(".", 1)[1]
    return type(name, (base,), namespace)


def _unless_skipping(method: Hook, hook: str) -> Hook:
    def skipping_aware(self: Any, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if skips_page_middleware(request):
            # process_template_response hands the response back; the others pass.
            return args[0] if hook == "process_template_response" else None
        return method(self, request, *args, **kwargs)

    return skipping_aware


SessionMiddleware = page_only(
    "django.contrib.sessions.middleware.SessionMiddleware", on_skip=_empty_session
)
CsrfViewMiddleware = page_only("django.middleware.csrf.CsrfViewMiddleware")
AuthenticationMiddleware = page_only(
    "django.contrib.auth.middleware.AuthenticationMiddleware", on_skip=_anonymous_user
)
MessageMiddleware = page_only("django.contrib.messages.middleware.MessageMiddleware")
XFrameOptionsMiddleware = page_only("django.middleware.clickjacking.XFrameOptionsMiddleware")
CSPMiddleware = page_only("csp.middleware.CSPMiddleware")
RedirectMiddleware = page_only("wagtail.contrib.redirects.middleware.RedirectMiddleware")

# What settings.MIDDLEWARE names instead of the originals (tests check they all are used).
WRAPPED = {
    cls.wrapped: f"{__name__}.{name}"
    for name, cls in list(globals().items())
    if isinstance(cls, type) and hasattr(cls, "wrapped")
}
