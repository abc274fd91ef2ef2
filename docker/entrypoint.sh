#!/bin/sh
# SwipeMe container entrypoint: one image, one role per container.
#
#   web                  uvicorn swipeme_site.asgi:application (HTTP + websockets)
#   worker <queue>       one Celery worker consuming one queue (default, media, media-bulk,
#                        reco, notifications)
#   beat                 Celery beat with django-celery-beat's DatabaseScheduler (run ONE)
#   migrate              manage.py migrate (a one-shot job run before web/workers/beat)
#   manage <args...>     any manage.py command, e.g. `manage createsuperuser`
#   healthcheck [web | worker <queue>]
#                        exit 0 when healthy (used by HEALTHCHECK and compose)
#   anything else        exec'd as is (e.g. `sh`)
#
# Variables read here (all optional; the Django settings read their own, see README.md):
#   PORT                  web listen port (8000)
#   WEB_HOST              web listen address (0.0.0.0)
#   WEB_CONCURRENCY       uvicorn worker processes (2)
#   FORWARDED_ALLOW_IPS   proxies whose X-Forwarded-* uvicorn trusts ("*": the web port
#                         is reachable only from nginx on the internal network)
#   STATIC_EXPORT_DIR     web copies the collected static files here for nginx (unset: no copy)
#   WORKER_CONCURRENCY    Celery pool size for `worker` (2)
#   WORKER_MAX_TASKS_PER_CHILD  recycle a pool process after N tasks (unset: never)
#   CELERY_LOG_LEVEL      INFO
set -eu

APP_DIR="${APP_DIR:-/app}"
cd "$APP_DIR"

log() { printf '%s entrypoint: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }

role="${1:-web}"
[ "$#" -gt 0 ] && shift

case "$role" in
  web)
    if [ -n "${STATIC_EXPORT_DIR:-}" ]; then
      # Hashed names (ManifestStaticFilesStorage) let old and new releases' files coexist;
      # -u skips files that are already there and not older.
      log "exporting static files to $STATIC_EXPORT_DIR"
      cp -R -u --preserve=timestamps "${SWIPEME_STATIC_ROOT:-$APP_DIR/staticfiles}/." \
        "$STATIC_EXPORT_DIR/"
    fi
    log "web: uvicorn on ${WEB_HOST:-0.0.0.0}:${PORT:-8000}, ${WEB_CONCURRENCY:-2} worker(s)"
    # The same flags as `make run` (runstack), plus proxy headers from nginx.
    exec uvicorn swipeme_site.asgi:application \
      --host "${WEB_HOST:-0.0.0.0}" --port "${PORT:-8000}" \
      --workers "${WEB_CONCURRENCY:-2}" \
      --lifespan off --ws websockets --no-access-log \
      --proxy-headers --forwarded-allow-ips "${FORWARDED_ALLOW_IPS:-*}" \
      --timeout-graceful-shutdown 30 \
      "$@"
    ;;

  worker)
    queue="${1:-}"
    [ "$#" -gt 0 ] && shift
    case "$queue" in
      "" | *[!A-Za-z0-9_-]*)
        log "usage: worker <queue>   (queues: default media media-bulk reco notifications)"
        exit 64
        ;;
    esac
    set -- --concurrency "${WORKER_CONCURRENCY:-2}" "$@"
    if [ -n "${WORKER_MAX_TASKS_PER_CHILD:-}" ]; then
      set -- --max-tasks-per-child "$WORKER_MAX_TASKS_PER_CHILD" "$@"
    fi
    log "worker: queue $queue, concurrency ${WORKER_CONCURRENCY:-2}"
    # %h is the container hostname, so scaled replicas get distinct node names.
    exec celery -A swipeme_site worker -Q "$queue" -n "${queue}@%h" \
      --loglevel "${CELERY_LOG_LEVEL:-INFO}" --without-gossip --without-mingle "$@"
    ;;

  beat)
    log "beat: DatabaseScheduler (exactly one beat per deployment)"
    exec celery -A swipeme_site beat \
      --scheduler django_celery_beat.schedulers:DatabaseScheduler \
      --loglevel "${CELERY_LOG_LEVEL:-INFO}" --pidfile= "$@"
    ;;

  migrate)
    log "migrate: checking the deployment settings, then applying migrations"
    python manage.py check --deploy --fail-level WARNING
    exec python manage.py migrate --noinput "$@"
    ;;

  manage)
    exec python manage.py "$@"
    ;;

  healthcheck)
    what="${1:-web}"
    case "$what" in
      web)
        # Host: the first DJANGO_ALLOWED_HOSTS entry, so ALLOWED_HOSTS need not list
        # localhost. /healthz is exempt from the HTTPS redirect (production settings).
        exec python - <<'PY'
import os, sys, urllib.request
hosts = [h.strip() for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "").split(",") if h.strip()]
host = (hosts[0].lstrip(".") if hosts and hosts[0] != "*" else "localhost")
req = urllib.request.Request(f"http://127.0.0.1:{os.environ.get('PORT', '8000')}/healthz",
                             headers={"Host": host, "X-Forwarded-Proto": "https"})
try:
    with urllib.request.urlopen(req, timeout=4) as resp:
        sys.exit(0 if resp.status == 200 else 1)
except Exception as exc:
    print(f"healthz: {exc}", file=sys.stderr)
    sys.exit(1)
PY
        ;;
      worker)
        queue="${2:-}"
        [ -n "$queue" ] || { log "usage: healthcheck worker <queue>"; exit 64; }
        exec celery -A swipeme_site inspect ping --destination "${queue}@$(hostname)" \
          --timeout 10
        ;;
      *)
        log "usage: healthcheck [web | worker <queue>]"
        exit 64
        ;;
    esac
    ;;

  *)
    exec "$role" "$@"
    ;;
esac
