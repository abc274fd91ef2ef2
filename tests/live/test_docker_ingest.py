"""docker/compose.yaml's live-ingest service agrees with the settings and the other services
(no Docker engine here: the file is read, not run)."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import yaml

from apps.live.ingest import config

DOCKER = Path(__file__).resolve().parents[2] / "docker"


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    return loaded


def test_the_ingest_service_runs_live_ingest_with_its_ports_and_the_shared_live_volume(
) -> None:
    compose = _compose()
    services = compose["services"]
    ingest = services["live-ingest"]
    assert ingest["command"] == ["manage", "live_ingest"]
    env = ingest["environment"]
    srt_ports = env["SWIPEME_LIVE_SRT_PORTS"]
    assert srt_ports == "${LIVE_SRT_PORTS:-9000-9031}"
    # RTMP and the SRT range published as they are inside (the URL names the port)
    assert ingest["ports"] == ["${LIVE_RTMP_PORT:-1935}:1935",
                               f"{srt_ports}:{srt_ports}/udp"]
    assert (env["SWIPEME_LIVE_RTMP_BIND"], env["SWIPEME_LIVE_RTMP_PORT"]) == ("0.0.0.0", "1935")
    assert env["SWIPEME_LIVE_CONTROL_BIND"] == "0.0.0.0"
    assert "1936" not in str(ingest["ports"])  # the control is never published
    assert ingest["depends_on"]["web"] == {"condition": "service_healthy"}
    assert ingest["deploy"]["replicas"] == 1
    assert "1935" in str(ingest["healthcheck"]["test"])
    # it calls web back, and web calls its control, by service name
    assert env["SWIPEME_LIVE_CALLBACK_URL"] == "http://web:8000"
    assert env["SWIPEME_LIVE_CONTROL_HOST"] == "live-ingest"
    assert env["SWIPEME_LIVE_CONTROL_PORT"] == "1936"
    assert "web" in services["web"]["environment"]["DJANGO_ALLOWED_HOSTS"].split(",")
    # everyone who reads or writes live media mounts the one volume where the settings say
    assert "live" in compose["volumes"]
    for name, service in services.items():
        root = (service.get("environment") or {}).get("SWIPEME_LIVE_ROOT")
        if root is None or name == "beat":
            continue
        assert f"live:{root}" in service["volumes"], name
    for name in ("web", "live-ingest", "worker-default", "worker-media"):
        assert "live:/data/live" in services[name]["volumes"], name


def test_the_image_has_the_rtmp_module_and_production_lets_the_callbacks_in() -> None:
    dockerfile = (DOCKER / "Dockerfile").read_text()
    assert "libnginx-mod-rtmp" in dockerfile
    assert str(config.MODULE) in dockerfile
    assert "/data/live" in dockerfile
    production = Path(__file__).resolve().parents[2] / "swipeme_site/settings/production.py"
    exempt = re.search(r"SECURE_REDIRECT_EXEMPT = (\[.*\])", production.read_text())
    assert exempt is not None
    patterns = ast.literal_eval(exempt.group(1))
    assert any(re.search(p, "internal/live/on_publish") for p in patterns)
    assert not any(re.search(p, "api/v1/live") for p in patterns)
