"""Ads in For You end to end: the feed API's "ad" items (token, playback, click URL,
"Sponsored"), the ad load and brand safety across pages, targeting for signed-out viewers,
frequency caps, no ads (and still a feed) without Redis, and the page's query count."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from apps.ads.delivery import auction, auctionlog, serve, tokens
from apps.ads.models import DeliverySettings
from apps.feed import online, pools, ranking, serving
from tests.ads.core_helpers import live_ad
from tests.conftest import open_redis_breaker
from tests.factories import UserFactory
from tests.feed.conftest import make_post

pytestmark = pytest.mark.django_db
FOR_YOU = "/api/v1/feed/for-you"


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    for forget in (
        pools.forget,
        ranking.forget_model,
        online.reset,
        serving.forget_scored,
        serve.forget,
    ):
        forget()
    yield
    for forget in (
        pools.forget,
        ranking.forget_model,
        online.reset,
        serving.forget_scored,
        serve.forget,
    ):
        forget()


def _load(gap: int) -> None:
    DeliverySettings.objects.update_or_create(
        pk=1, defaults={"min_gap": gap, "max_gap": gap, "reserve_cpm_micros": 0}
    )
    serve.forget()


def _client(user: Any = None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def _pages(client: APIClient, params: dict[str, Any], pages: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    response = client.get(FOR_YOU, params)
    for _ in range(pages):
        assert response.status_code == 200, response.content
        items += response.json()["results"]
        if not response.json()["next"]:
            break
        response = client.get(response.json()["next"])
    return items


def test_an_ad_item_carries_the_token_playback_click_url_and_the_label() -> None:
    for _ in range(12):
        make_post(tags=("comedy",))
    ad = live_ad(group_kw={"bid_strategy": "cpm", "bid_micros": 4_000_000})
    _load(3)
    user = UserFactory()
    items = _pages(_client(user), {"limit": 8}, 1)
    ads = [i for i in items if i["type"] == "ad"]
    assert ads, [i["type"] for i in items]
    item = ads[0]
    assert item["id"] == str(ad.pk)
    assert item["sponsored"] is True
    assert item["label"] == "Sponsored"
    assert item["display_name"] == "Acme"
    assert item["cta"] == "learn_more"
    assert item["cta_label"] == "Learn more"
    assert item["landing_domain"] == "acme.example.com"
    assert {"hls", "mp4", "poster", "renditions"} <= set(item["playback"])  # as a post's
    assert "/ads/c/" in item["click_url"]
    assert item["reco"]["source"] == "ad"
    served = tokens.read_token(item["token"])
    assert (served.ad_id, served.viewer_key, served.billing_event) == (
        ad.pk,
        f"u:{user.pk}",
        "impression",
    )
    # Alone in its auction with no reserve: it pays nothing more than needed (0), never
    # above its bid per impression (4,000 micros).
    assert 0 <= served.price_micros <= 4_000
    assert all(i["type"] == "post" for i in items if i is not item)


def test_the_ad_load_holds_across_pages_and_ads_never_touch_or_sit_next_to_sensitive() -> None:
    for i in range(40):
        make_post(tags=("travel",), age_restricted=(i % 9 == 4), views_count=100 + i)
    live_ad(group_kw={"bid_strategy": "cpm", "bid_micros": 4_000_000})
    live_ad(group_kw={"bid_strategy": "cpc", "bid_micros": 500_000})
    _load(4)
    user = UserFactory()  # an adult: may see the age-restricted posts
    items = _pages(_client(user), {"limit": 8}, 6)
    kinds = ["A" if i["type"] == "ad" else "p" for i in items]
    text = "".join(kinds)
    assert "A" in text
    assert "AA" not in text
    runs = [len(r) for r in text.split("A")[1:-1]]
    assert all(r >= 4 for r in runs), text
    # never adjacent to a post flagged sensitive
    from apps.content.models import Post

    restricted = {
        str(pk) for pk in Post.objects.filter(age_restricted=True).values_list("pk", flat=True)
    }
    for n, item in enumerate(items):
        if item["type"] == "ad":
            assert items[n - 1]["id"] not in restricted
            if n + 1 < len(items):
                assert items[n + 1]["id"] not in restricted


def test_signed_out_viewers_get_only_contextually_targeted_ads() -> None:
    for _ in range(12):
        make_post(tags=("comedy",))
    contextual = live_ad(group_kw={"countries": ["US"], "languages": ["en"]})
    live_ad(group_kw={"interests": ["comedy"], "bid_micros": 9_000_000}, name="personal")
    _load(3)
    client = _client()
    seen: set[str] = set()
    for n in range(4):
        items = _pages(client, {"limit": 8, "session_id": f"sess-abcdefg{n}"}, 1)
        seen |= {i["id"] for i in items if i["type"] == "ad"}
    client.credentials(HTTP_CF_IPCOUNTRY="US", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.8")
    for n in range(4):
        items = _pages(client, {"limit": 8, "session_id": f"sess-hijklmn{n}"}, 1)
        seen |= {i["id"] for i in items if i["type"] == "ad"}
    assert seen == {str(contextual.pk)}
    token = next(i for i in items if i["type"] == "ad")["token"]
    assert tokens.read_token(token).viewer_key.startswith("d:sess-")


def test_a_daily_frequency_cap_holds_across_pages() -> None:
    for i in range(40):
        make_post(tags=("food",), views_count=10 + i)
    capped = live_ad(group_kw={"frequency_cap_day": 1, "bid_micros": 9_000_000})
    _load(3)
    items = _pages(_client(UserFactory()), {"limit": 8}, 5)
    shown = [i["id"] for i in items if i["type"] == "ad"]
    assert shown.count(str(capped.pk)) == 1


def test_without_redis_the_feed_serves_its_posts_and_no_ads() -> None:
    for _ in range(10):
        make_post(tags=("comedy",))
    live_ad()
    _load(3)
    user = UserFactory()
    serve.inventory()  # the eligible ads are cached; Redis goes away after
    open_redis_breaker()
    response = _client(user).get(FOR_YOU, {"limit": 8})
    assert response.status_code == 200
    results = response.json()["results"]
    assert results
    assert all(i["type"] == "post" for i in results)


def test_every_served_auction_replays_from_its_log() -> None:
    for _ in range(24):
        make_post(tags=("comedy",))
    for bid in (3_000_000, 5_000_000, 7_000_000):
        live_ad(group_kw={"bid_micros": bid})
    _load(3)
    _pages(_client(UserFactory()), {"limit": 8}, 3)
    auctionlog.flush()
    records = auctionlog.read(100)
    assert records
    assert auctionlog.replay(records)["identical"] == len(records)
    assert all(auction.replays_identically(r) for r in records)


def _queries(client: APIClient) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(FOR_YOU, {"limit": 8}).status_code == 200
    return len(ctx.captured_queries)


def test_ads_add_no_query_to_a_warm_page_whatever_the_number_of_ads() -> None:
    for i in range(60):
        make_post(tags=("dance",), views_count=i)
    user = UserFactory()
    DeliverySettings.objects.update_or_create(pk=1, defaults={"ads_enabled": False})
    serve.forget()
    off = _client(user)
    off.get(FOR_YOU, {"limit": 8})  # pools built, caches warm
    without_ads = _queries(off)
    live_ad()
    _load(3)
    on = _client(user)
    on.get(FOR_YOU, {"limit": 8})  # the ads' snapshot and the viewer's profile cached
    one_ad = _queries(on)
    for n in range(10):
        live_ad(group_kw={"bid_micros": 2_000_000 + n})
    serve.forget()
    on.get(FOR_YOU, {"limit": 8})
    eleven_ads = _queries(on)
    assert one_ad == without_ads
    assert eleven_ads == one_ad


def test_a_page_with_an_ad_conforms_to_the_served_schema() -> None:
    from tests.contract.helpers import call, served_schema, sign_in

    for _ in range(12):
        make_post(tags=("comedy",))
    live_ad()
    _load(3)
    me = UserFactory()
    response = call(
        "GET", "/api/v1/feed/for-you", token=sign_in(me.username), query_string={"limit": 8}
    )
    assert response.status_code == 200
    assert "ad" in {i["type"] for i in response.get_json()["results"]}
    served_schema()["/api/v1/feed/for-you"]["GET"].validate_response(response)


def test_minors_get_no_personalised_and_no_restricted_ads() -> None:
    from datetime import date

    for _ in range(12):
        make_post(tags=("comedy",))
    contextual = live_ad(group_kw={"countries": ["US"]})
    live_ad(group_kw={"interests": ["comedy"], "bid_micros": 9_000_000}, name="personal")
    live_ad(
        restricted_category="alcohol",
        group_kw={"bid_micros": 9_500_000, "age_bands": ["25-34"]},
        name="beer",
    )
    _load(3)
    today = date.today()
    minor = UserFactory(date_of_birth=date(today.year - 15, 1, 1), country="US")
    seen: set[str] = set()
    for _ in range(3):
        serving.forget_scored()
        items = _pages(_client(minor), {"limit": 8}, 1)
        seen |= {i["id"] for i in items if i["type"] == "ad"}
    assert seen == {str(contextual.pk)}


def test_an_experiment_arm_sets_the_ad_load_and_its_viewer_is_exposed() -> None:
    """The `ads.load` flag (one ad per N organic posts) overrides the staff setting for the
    viewers an experiment arm sets it for; the others keep the staff load."""
    from apps.experiments import config
    from apps.experiments import services as experiments
    from apps.experiments.evaluation import assign, unit_for
    from tests.events.helpers import logged_batches
    from tests.experiments.flag_helpers import STAFF, primary_metric

    config.forget()

    for i in range(40):
        make_post(tags=("travel",), views_count=100 + i)
    live_ad(group_kw={"bid_strategy": "cpm", "bid_micros": 4_000_000})
    live_ad(group_kw={"bid_strategy": "cpm", "bid_micros": 3_000_000})
    _load(3)
    experiments.flag_save(actor=STAFF, key="ads.load", kind="multivariate", default_value=0,
                          variations=[0, 12], client_visible=False)
    layer = experiments.layer_create(actor=STAFF, key="ads")
    exp = experiments.experiment_create(
        actor=STAFF, key="ad-load-12", layer=layer, traffic_percent=100, arms=[
            {"key": "control", "weight": 1, "values": {}},
            {"key": "light", "weight": 1, "values": {"ads.load": 12}}])
    primary_metric(exp)
    experiments.experiment_start(actor=STAFF, experiment=exp)
    users = [UserFactory() for _ in range(16)]
    arms = {u.pk: assign("ad-load-12", unit_for(u), expose=False) for u in users}
    light = next(u for u in users if arms[u.pk] == "light")
    control = next(u for u in users if arms[u.pk] == "control")

    def gaps(user: Any) -> list[int]:
        serving.forget_scored()
        text = "".join(
            "A" if i["type"] == "ad" else "p" for i in _pages(_client(user), {"limit": 8}, 5)
        )
        assert "A" in text, text
        return [len(r) for r in text.split("A")[1:-1]]

    light_gaps = gaps(light)
    # At least 12 - 1 organic posts between ads (more when pacing leaves a slot empty) ...
    assert light_gaps, "no two ads on the light arm's pages"
    assert min(light_gaps) >= 11, light_gaps
    # ... while the control arm keeps the staff load of 3.
    control_gaps = gaps(control)
    assert control_gaps, "no two ads on the control arm's pages"
    assert min(control_gaps) == 3, control_gaps
    exposed = {(b.user_id, e["data"]["arm"]) for b in logged_batches() for e in b.events
               if e["type"] == "exposure" and e["data"]["experiment"] == "ad-load-12"}
    assert {(light.pk, "light"), (control.pk, "control")} <= exposed
    config.forget()


def test_a_region_targeted_ad_reaches_signed_in_viewers_in_that_region_only() -> None:
    """The region comes from the CDN's geolocation headers (country + subdivision); it
    counts only inside the viewer's country, and never for a signed-out visitor."""
    for _ in range(12):
        make_post()
    californian = live_ad(group_kw={"countries": ["US"], "regions": ["US-CA"]})
    _load(3)

    def ads_for(client: APIClient, session: str, **headers: str) -> set[str]:
        client.credentials(**headers)
        items = _pages(client, {"limit": 8, "session_id": session}, 1)
        return {i["id"] for i in items if i["type"] == "ad"}

    def american() -> APIClient:  # a new one each time: 12 posts are two pages' worth
        return _client(UserFactory(country="US"))

    in_california = {"HTTP_CF_IPCOUNTRY": "US", "HTTP_CF_REGION_CODE": "CA"}
    assert ads_for(american(), "sess-region01") == set()  # region unknown
    assert ads_for(american(), "sess-region02", HTTP_CF_IPCOUNTRY="US",
                   HTTP_CLOUDFRONT_VIEWER_COUNTRY_REGION="NY") == set()
    assert ads_for(american(), "sess-region03", **in_california) == {str(californian.pk)}
    # a French account travelling in California, and a signed-out visitor there: no
    assert ads_for(_client(UserFactory(country="FR")), "sess-region04", **in_california) == set()
    assert ads_for(_client(), "sess-region05", **in_california) == set()


@pytest.mark.parametrize("who", ["signed_out", "minor"])
def test_content_topic_targeting_follows_the_posts_around_the_slot(who: str) -> None:
    """Signed-out viewers and minors get contextual criteria only: a content-topic group
    serves them, only in a slot next to a post of its topic (the posts' hashtags, the
    feed's topics table), a personal (interests) group never; every auction replays."""
    from datetime import date

    tags_of: dict[str, str] = {}
    for n in range(24):
        tag = "recipe" if n % 2 else "comedy"
        tags_of[str(make_post(tags=(tag,), views_count=n).pk)] = tag
    food = live_ad(group_kw={"topics": ["food"], "bid_micros": 9_000_000}, name="food")
    anyone = live_ad(group_kw={"bid_micros": 3_000_000}, name="anyone")
    live_ad(group_kw={"interests": ["food"], "bid_micros": 9_500_000}, name="personal")
    _load(3)
    today = date.today()
    minor = UserFactory(date_of_birth=date(today.year - 15, 1, 1), country="US")
    client = _client(minor if who == "minor" else None)
    params = {"limit": 8} if who == "minor" else {"limit": 8, "session_id": "sess-topics01"}
    items = _pages(client, params, 3)
    ads = [(k, i) for k, i in enumerate(items) if i["type"] == "ad"]
    assert {i["id"] for _, i in ads} <= {str(food.pk), str(anyone.pk)}
    food_at = [k for k, i in ads if i["id"] == str(food.pk)]
    assert food_at
    for k in food_at:
        assert "recipe" in {tags_of[items[k - 1]["id"]], tags_of[items[k + 1]["id"]]}
    auctionlog.flush()
    records = auctionlog.read(100)
    assert auctionlog.replay(records)["identical"] == len(records) > 0
    assert all("topics" in r.context for r in records)
