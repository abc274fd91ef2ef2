"""The ingest's wiring without processes: runstack gets the ingest through core's hook, the
rendered nginx config (no playing RTMP from outside, no access log, callbacks with the
secret), and the callbacks refuse a caller without the secret or with a wrong key."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from apps.core.supervision import stack_processes
from apps.live.ingest import config


def test_runstack_runs_the_ingest_through_cores_hook() -> None:
    assert config.stack_process in stack_processes
    found = config.stack_process(python="/py", web_url="http://127.0.0.1:8000")
    assert found.name == "live-ingest"
    if config.available() is None:
        assert found.argv is not None
        assert found.argv[0] == "/py"
        assert found.argv[-3:] == ["live_ingest", "--callback-url", "http://127.0.0.1:8000"]
    else:
        assert found.argv is None
        assert "libnginx-mod-rtmp" in found.reason or "nginx" in found.reason


def test_rendered_config() -> None:
    text = config.render(config.from_settings(rtmp_port=19350, control_port=19351,
                                              callback_url="http://127.0.0.1:8000/"))
    secret = config.ingest_secret()
    assert secret not in str(settings.SECRET_KEY)
    assert f"on_publish http://127.0.0.1:8000/internal/live/on_publish?secret={secret}&" in text
    assert "allow play 127.0.0.1;\n            deny play all;" in text
    assert "access_log off;  # the stream name is the key" in text
    assert "listen 127.0.0.1:19351;" in text  # the control API: loopback only
    assert "--source rtmp://127.0.0.1:19350/live/$name" in text
    assert "$" not in text.replace("$name", "")  # every placeholder filled


@pytest.mark.django_db
def test_callbacks_refuse_without_the_secret_or_with_a_wrong_key() -> None:
    client = Client()
    form = {"name": "live_" + "x" * 43, "clientid": "7", "app": "live", "call": "publish"}
    answer = client.post("/internal/live/on_publish?secret=nope", form)
    assert answer.status_code == 403
    answer = client.post("/internal/live/on_publish_done", form)
    assert answer.status_code == 403
    answer = client.post(f"/internal/live/on_publish?secret={config.ingest_secret()}", form)
    assert answer.status_code == 403
    assert answer.content.decode() == "This stream key does not exist."
    assert client.get(f"/internal/live/on_publish?secret={config.ingest_secret()}"
                      ).status_code == 405
