"""Delivery's staff side: the ad load edited in the admin (audited, served within the
cache's seconds), training the predictor from ad events (command and task), replaying the
auction log offline (command)."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from apps.ads.delivery import auction, auctionlog, predict, serve, snapshot, tasks
from apps.ads.delivery.redis_client import client as ads_redis
from apps.ads.models import AdEvent, AdPredictor, DeliverySettings
from apps.core.ids import allocate_ids
from apps.core.models import AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def web() -> Client:
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_staff_change_the_ad_load_in_the_admin_and_it_is_audited(web: Client) -> None:
    assert web.get("/django-admin/ads/deliverysettings/").status_code == 200
    response = web.post(
        "/django-admin/ads/deliverysettings/add/",
        {"ads_enabled": "on", "min_gap": "5", "max_gap": "9", "reserve_cpm_micros": "250000"},
    )
    assert response.status_code == 302, response.content.decode()[:500]
    row = DeliverySettings.objects.get()
    assert (row.min_gap, row.max_gap, row.reserve_cpm_micros) == (5, 9, 250_000)
    audit = AuditEvent.objects.get()
    assert audit.action_name == "ads.deliverysettings_add"
    serve.forget()
    load = snapshot.load_settings()
    assert (load.min_gap, load.max_gap, load.reserve_cpm_micros) == (5, 9, 250_000)
    # A gap below one or a max below the min is refused, in words, and changes nothing.
    bad = web.post(
        f"/django-admin/ads/deliverysettings/{row.pk}/change/",
        {"ads_enabled": "on", "min_gap": "8", "max_gap": "3", "reserve_cpm_micros": "0"},
    )
    assert bad.status_code == 200
    assert "max gap" in bad.content.decode().lower() or "constraint" in bad.content.decode()
    assert DeliverySettings.objects.get().max_gap == 9


def _events(n: int) -> None:
    """Impressions of 5 ads with click rates 1-9 %, and their clicks and 2 s views."""
    rng = random.Random(5)
    now = timezone.now()
    rows = []
    ids = iter(allocate_ids(3 * n))
    for auction_id in range(1, n + 1):
        ad = auction_id % 5 + 1
        common = {
            "auction_id": auction_id,
            "org_id": 1,
            "campaign_id": 1,
            "ad_group_id": ad,
            "ad_id": ad,
            "viewer_key": f"u:{auction_id % 97}",
            "user_id": auction_id % 97,
            "age_band": "25-34",
            "served_at": now - timedelta(hours=1),
            "created_at": now - timedelta(hours=1),
        }
        rows.append(AdEvent(id=next(ids), kind="impression", **common))
        if rng.random() < 0.02 * ad - 0.01:
            rows.append(AdEvent(id=next(ids), kind="click", **common))
        if rng.random() < 0.1 * ad:
            rows.append(AdEvent(id=next(ids), kind="view_2s", **common))
    AdEvent.objects.bulk_create(rows)


def test_training_from_ad_events_stores_an_active_calibrated_version() -> None:
    _events(3000)
    out = StringIO()
    call_command("ads_train_predictor", "--days", "2", stdout=out)
    made = AdPredictor.objects.get(active=True)
    assert made.version == 1
    assert made.trained_rows == 3000
    assert set(made.metrics) >= {"click", "view_2s", "rows"}
    assert made.metrics["view_2s"]["auc"] > 0.6  # the ads' view rates differ a lot
    predict.forget()
    current = predict.current()
    assert current.version == 1
    low, high = current.predict([1, 5], age_band="25-34", signed_in=True).p_view_2s
    assert low < high
    # The daily task trains the next version and makes it the active one.
    assert tasks.train_predictor(days=2) == 2
    assert list(AdPredictor.objects.filter(active=True).values_list("version", flat=True)) == [2]


def test_training_without_enough_events_says_so() -> None:
    with pytest.raises(CommandError, match="too few"):
        call_command("ads_train_predictor")
    assert tasks.train_predictor() == 0
    assert not AdPredictor.objects.exists()


def test_replaying_the_log_offline(tmp_path: Path) -> None:
    # The log buffers per process: auctions that earlier tests on this worker ran are
    # pushed and cleared first, so the log holds this test's thirty only.
    auctionlog.flush()
    ads_redis().delete(auctionlog.KEY)
    rng = random.Random(1)
    for n in range(30):
        cands = [
            auction.Candidate(
                ad_id=i,
                ad_group_id=i,
                campaign_id=i,
                strategy="cpm",
                bid_micros=rng.randint(1_000_000, 9_000_000),
                p_click=0.01,
                p_view_2s=0.3,
                quality=rng.uniform(0.3, 1.0),
            )
            for i in range(1, 6)
        ]
        out = auction.run(cands, auction_id=str(n), reserve_cpm_micros=1_000_000)
        auctionlog.log(auction.record(cands, out, auction_id=str(n), reserve_cpm_micros=1_000_000))
    auctionlog.flush()
    saved = tmp_path / "auctions.jsonl"
    stdout = StringIO()
    call_command("ads_replay_auctions", "--save", str(saved), stdout=stdout)
    assert json.loads(stdout.getvalue()) == {"replayed": 30, "identical": 30, "mismatched": []}
    # A record changed in the file (a price that the maths would not give) is caught.
    lines = saved.read_text().splitlines()
    first = json.loads(lines[0])
    first["outcome"]["placements"][0]["price_micros"] += 7
    saved.write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")
    with pytest.raises(CommandError, match="1 auctions replayed differently"):
        call_command("ads_replay_auctions", "--file", str(saved), stdout=StringIO())
