"""Landing URLs: the static rules at save time, and the fetch at submit.

Static: https only, a host name (no user:password@, no IP literal, no localhost), at most
2,000 characters. At submit the page is fetched (GET, short timeout, redirects followed by
hand so each hop is checked; every address the host resolves to must be public, so an
advertiser cannot make our server call into our own network). The chain's final
registrable domain must be the landing URL's, unless the advertiser declared the
redirect (`redirect_disclosed`). `SWIPEME_ADS_LANDING_TEST_HOSTS` lets tests use a local
plain-http server."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import requests

from apps.ads.conf import conf
from apps.core.errors import ApplicationError

# Two-label public suffixes common enough to matter (no public-suffix list is installed):
# "shop.example.co.uk" and "example.co.uk" are one site, "a.co.uk" and "b.co.uk" are not.
_TWO_LABEL_SUFFIXES = frozenset(
    {
        "co.uk",
        "org.uk",
        "ac.uk",
        "gov.uk",
        "com.au",
        "net.au",
        "org.au",
        "co.nz",
        "co.jp",
        "ne.jp",
        "or.jp",
        "com.br",
        "com.mx",
        "com.ar",
        "co.in",
        "co.za",
        "com.tr",
        "com.cn",
        "com.hk",
        "com.sg",
        "co.kr",
        "com.tw",
        "github.io",
        "herokuapp.com",
        "web.app",
        "pages.dev",
        "vercel.app",
        "netlify.app",
        "blogspot.com",
        "appspot.com",
    }
)


def _test_hosts() -> set[str]:
    return {str(h).lower() for h in conf("SWIPEME_ADS_LANDING_TEST_HOSTS")}


def registrable_domain(host: str) -> str:
    host = host.lower().rstrip(".")
    labels = host.split(".")
    if len(labels) <= 2 or _is_ip(host):
        return host
    if ".".join(labels[-2:]) in _TWO_LABEL_SUFFIXES:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def validate_landing_url(url: str) -> str:
    """The URL, stripped, or ApplicationError in words."""
    url = url.strip()
    if not url:
        raise ApplicationError("Enter the landing page's address.", code="invalid_url")
    if len(url) > 2000:
        raise ApplicationError(
            "The address is too long (2,000 characters at most).", code="invalid_url"
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ApplicationError("That is not a web address.", code="invalid_url") from None
    host = (parts.hostname or "").lower()
    test_host = host in _test_hosts()
    if parts.scheme != "https" and not (test_host and parts.scheme == "http"):
        raise ApplicationError("The landing page must use https://.", code="invalid_url")
    if not host:
        raise ApplicationError("That is not a web address.", code="invalid_url")
    if parts.username or parts.password:
        raise ApplicationError(
            "The address may not contain a user name or password.", code="invalid_url"
        )
    if not test_host:
        if _is_ip(host) or "." not in host or host.endswith((".local", ".localhost", ".internal")):
            raise ApplicationError("Use the landing page's public domain name.", code="invalid_url")
        if port not in (None, 443):
            raise ApplicationError("Use the standard https port.", code="invalid_url")
    if any(ch.isspace() for ch in url):
        raise ApplicationError("The address may not contain spaces.", code="invalid_url")
    return url


def _public(host: str, port: int) -> bool:
    if host in _test_hosts():
        return True
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(info[4][0]).is_global for info in infos)


@dataclass
class LandingCheck:
    ok: bool
    final_url: str = ""
    chain: list[str] = field(default_factory=list)
    reason: str = ""  # in words for the advertiser when not ok
    other_domain: str = ""  # the redirect's domain when it leaves the landing URL's


def check_landing(url: str, *, redirect_disclosed: bool) -> LandingCheck:
    """Fetch the landing page, follow its redirects hop by hop, and judge the chain."""
    try:
        url = validate_landing_url(url)
    except ApplicationError as exc:
        return LandingCheck(ok=False, reason=exc.message)
    start = registrable_domain(urlsplit(url).hostname or "")
    timeout = float(conf("SWIPEME_ADS_LANDING_TIMEOUT_S"))
    chain = [url]
    current = url
    session = requests.Session()
    session.trust_env = False  # no proxies from the environment
    for _ in range(int(conf("SWIPEME_ADS_LANDING_MAX_REDIRECTS")) + 1):
        parts = urlsplit(current)
        host = (parts.hostname or "").lower()
        if not _public(host, parts.port or (443 if parts.scheme == "https" else 80)):
            return LandingCheck(
                ok=False,
                chain=chain,
                reason=(
                    f"The landing page's address {host} could not be reached from the internet."
                ),
            )
        try:
            response = session.get(
                current,
                allow_redirects=False,
                timeout=timeout,
                stream=True,
                headers={"User-Agent": "SwipeMe-AdReview/1"},
            )
            response.close()
        except requests.RequestException:
            return LandingCheck(
                ok=False,
                chain=chain,
                reason=(
                    "We could not load the landing page (no answer within "
                    f"{timeout:g} seconds). Check that it is online."
                ),
            )
        location = response.headers.get("Location")
        if response.is_redirect and location:
            current = urljoin(current, location)
            try:
                current = validate_landing_url(current)
            except ApplicationError as exc:
                return LandingCheck(
                    ok=False,
                    chain=chain,
                    reason=(
                        f"The landing page redirects to an address we cannot accept: {exc.message}"
                    ),
                )
            chain.append(current)
            continue
        if response.status_code >= 400:
            return LandingCheck(
                ok=False,
                chain=chain,
                final_url=current,
                reason=(f"The landing page answered with an error (HTTP {response.status_code})."),
            )
        final = registrable_domain(urlsplit(current).hostname or "")
        if final != start and not redirect_disclosed:
            return LandingCheck(
                ok=False,
                chain=chain,
                final_url=current,
                other_domain=final,
                reason=(
                    f"The landing page redirects to another site ({final}). "
                    "Link to it directly, or declare the redirect."
                ),
            )
        return LandingCheck(
            ok=True, chain=chain, final_url=current, other_domain=final if final != start else ""
        )
    return LandingCheck(ok=False, chain=chain, reason="The landing page redirects too many times.")
