"""The ingest's nginx config, rendered from `nginx.conf.template` into var/ (or a test's
directory) with this machine's ports, paths and secret.

- RTMP on the configured port, application `live`: `on_publish` asks Django (the key is the
  stream name); a yes is a 302 whose Location renames the stream to the live's id, so the key
  never reaches a path, a process list or a log (access_log off); `on_publish_done` tells it
  the publisher left. Only loopback may play (the transcoder): viewers watch HLS through the
  visibility rule, never RTMP.
- `exec_push` starts the transcoder (`apps.live.ingest.transcoder`) for each publish; nginx
  SIGTERMs it when the publisher goes.
- An HTTP server on a loopback port with nginx-rtmp's control module (`control.kick` drops
  a publisher).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from string import Template

from django.conf import settings

from apps.core.supervision import StackProcess

MODULE = Path("/usr/lib/nginx/modules/ngx_rtmp_module.so")
TEMPLATE = Path(__file__).with_name("nginx.conf.template")
STATE_FILE = ".ingest.json"  # under the live root: the running ingest's ports


def nginx_exe() -> str | None:
    found = shutil.which("nginx")
    if found:
        return found
    return "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None


def available() -> str | None:
    """Why the ingest cannot run here (None: it can)."""
    if nginx_exe() is None:
        return "nginx is not installed (make setup installs Debian's nginx)"
    if not MODULE.exists():
        return ("nginx's RTMP module is not installed (make setup installs Debian's "
                "libnginx-mod-rtmp)")
    return None


def stack_process(*, python: str, web_url: str) -> StackProcess:
    """What `runstack` runs as `live-ingest` (calling its web server back), when it can."""
    missing = available()
    if missing is not None:
        return StackProcess("live-ingest", None, missing)
    return StackProcess("live-ingest", [python, str(settings.BASE_DIR / "manage.py"),
                                        "live_ingest", "--callback-url", web_url])


def ingest_secret() -> str:
    """The shared secret of nginx's callbacks: SWIPEME_LIVE_INGEST_SECRET, else one derived
    from SECRET_KEY (every process of a deployment derives the same)."""
    configured = str(settings.SWIPEME_LIVE_INGEST_SECRET)
    if configured:
        return configured
    return hmac.new(str(settings.SECRET_KEY).encode(), b"swipeme.live.ingest",
                    hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class IngestConfig:
    rtmp_bind: str
    rtmp_port: int
    control_port: int
    srt_bind: str
    srt_ports: tuple[int, int]
    callback_url: str
    live_root: str
    run_dir: str
    instance: str  # tells this nginx's client ids from an earlier one's

    @property
    def rtmp_local(self) -> str:
        return f"rtmp://127.0.0.1:{self.rtmp_port}/live"

    @property
    def control_url(self) -> str:
        return f"http://127.0.0.1:{self.control_port}"


def parse_ports(text: str) -> tuple[int, int]:
    first, _, last = text.partition("-")
    return int(first), int(last or first)


def from_settings(**overrides: object) -> IngestConfig:
    values: dict[str, object] = {
        "rtmp_bind": settings.SWIPEME_LIVE_RTMP_BIND,
        "rtmp_port": settings.SWIPEME_LIVE_RTMP_PORT,
        "control_port": settings.SWIPEME_LIVE_CONTROL_PORT,
        "srt_bind": settings.SWIPEME_LIVE_SRT_BIND,
        "srt_ports": parse_ports(settings.SWIPEME_LIVE_SRT_PORTS),
        "callback_url": settings.SWIPEME_LIVE_CALLBACK_URL,
        "live_root": str(Path(settings.SWIPEME_LIVE_ROOT).resolve()),
        "run_dir": str(Path(settings.SWIPEME_LIVE_ROOT).resolve() / ".ingest"),
        "instance": os.urandom(4).hex(),
    }
    values.update({k: v for k, v in overrides.items() if v is not None})
    return IngestConfig(**values)  # type: ignore[arg-type]


def render(config: IngestConfig) -> str:
    from apps.media.transcode import ffmpeg_exe

    callback = config.callback_url.rstrip("/") + "/internal/live"
    query = f"secret={ingest_secret()}&instance={config.instance}"
    run_dir = Path(config.run_dir)
    transcoder = " ".join([
        sys.executable, "-m", "apps.live.ingest.transcoder", "--live-id", "$name",
        "--root", config.live_root, "--source", f"{config.rtmp_local}/$name",
        "--ffmpeg", ffmpeg_exe(), "--preset", str(settings.SWIPEME_LIVE_X264_PRESET),
        "--packager", str(settings.SWIPEME_LIVE_PACKAGER),
        "--log", str(run_dir / "transcode-$name.log"),
    ])
    return Template(TEMPLATE.read_text()).substitute(
        module=MODULE, user="user root;" if os.geteuid() == 0 else "",
        run_dir=run_dir, pythonpath=settings.BASE_DIR,
        rtmp_listen=f"{config.rtmp_bind}:{config.rtmp_port}",
        control_listen=f"{settings.SWIPEME_LIVE_CONTROL_BIND}:{config.control_port}",
        on_publish=f"{callback}/on_publish?{query}",
        on_publish_done=f"{callback}/on_publish_done?{query}",
        transcoder=transcoder,
    )


def write(config: IngestConfig) -> Path:
    run_dir = Path(config.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / "nginx.conf"
    path.write_text(render(config))
    path.chmod(0o600)  # it holds the callbacks' secret
    return path


def publish_state(config: IngestConfig) -> None:
    """Where the running ingest listens, for the web processes (`control.kick`, the SRT
    URLs): a test's ingest picks free ports the web server cannot know in advance."""
    root = Path(config.live_root)
    root.mkdir(parents=True, exist_ok=True)
    temp = root / f".{STATE_FILE}.tmp"
    temp.write_text(json.dumps(asdict(config)))
    os.replace(temp, root / STATE_FILE)


def running_state() -> dict[str, object] | None:
    try:
        data = json.loads((Path(settings.SWIPEME_LIVE_ROOT) / STATE_FILE).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
