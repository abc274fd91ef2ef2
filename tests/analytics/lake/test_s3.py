"""The lake on S3 (a real HTTP S3 endpoint: moto's server mode on 127.0.0.1, as the media
tests use): the consumer's files land in the bucket, chdb reads them with s3(), compaction
and retention work on objects."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from apps.analytics.lake import engine, maintenance, writer
from tests.analytics.lake.helpers import send
from tests.content.factories import PostFactory
from tests.events.helpers import event, now_ms

pytestmark = pytest.mark.django_db

BUCKET = "swipeme-test-lake"
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                    "AWS_DEFAULT_REGION": "us-east-1"}
HOUR_MS = 3_600_000
H1 = (now_ms() // HOUR_MS - 3) * HOUR_MS + 60_000


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    saved = {name: os.environ.get(name) for name in FAKE_CREDENTIALS}
    os.environ.update(FAKE_CREDENTIALS)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture
def s3_lake(s3_endpoint: str, settings: Any) -> Iterator[Any]:
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    client.create_bucket(Bucket=BUCKET)
    settings.LAKE_S3_BUCKET = BUCKET
    settings.LAKE_S3_PREFIX = "lake"
    settings.SWIPEME_S3_ENDPOINT_URL = s3_endpoint
    settings.CLICKHOUSE_URL = ""
    yield client
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def keys(client: Any) -> list[str]:
    return sorted(item["Key"] for item in
                  client.list_objects_v2(Bucket=BUCKET).get("Contents", []))


def test_the_lake_in_a_bucket_is_written_read_compacted_and_expired(s3_lake, settings, user):
    post = PostFactory()
    old_ts = now_ms() - 3 * 24 * HOUR_MS
    send(user, [event("watch_end", post_id=post.pk, ts=H1, watched_ms=1_000,
                      duration_ms=5_000)])
    writer.lake_flush(consumer="t")
    send(user, [event("watch_end", post_id=post.pk, ts=H1 + 1, watched_ms=2_000,
                      duration_ms=5_000),
                event("watch_end", post_id=post.pk, ts=old_ts, watched_ms=4_000,
                      duration_ms=5_000)])
    writer.lake_flush(consumer="t")

    hour = datetime.fromtimestamp(H1 / 1000, tz=UTC)
    in_hour = [k for k in keys(s3_lake)
               if k.startswith(f"lake/events/date={hour:%Y-%m-%d}/hour={hour:%H}/part-")]
    assert len(in_hour) == 2
    assert len(keys(s3_lake)) == 3
    assert engine.run("SELECT count() AS n, sum(watched_ms) AS w FROM events") == \
        [(3, 7_000)]

    report = maintenance.lake_compact(now=hour + timedelta(hours=2))
    assert (report.files_in, report.rows_out) == (3, 3)  # two hours, each now one file
    assert len(keys(s3_lake)) == 2
    assert all("/compacted-" in k for k in keys(s3_lake))
    assert engine.run("SELECT sum(watched_ms) AS w FROM events") == [(7_000,)]

    settings.LAKE_RETENTION_DAYS = 2
    assert maintenance.lake_expire() == 1
    assert engine.run("SELECT sum(watched_ms) AS w FROM events") == [(3_000,)]
