# Two commands for a newcomer: `make run` and `make test`. Everything else is set-up.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
REQS := requirements/base.txt requirements/dev.txt requirements/lock.txt requirements/nodeps.txt
MANAGE := $(PY) manage.py

.PHONY: run test setup frontend system-packages chromium media-tools services-start services-stop lint lint-js typecheck checks pytest browser clean-var bench bench-search bench-notifications bench-all bench-all-inner

$(VENV)/bin/python:
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is needed (python3.11 on PATH)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip wheel

$(STAMP): $(VENV)/bin/python $(REQS)
	$(PY) -m pip install --quiet -r requirements/dev.txt -c requirements/lock.txt
	$(PY) -m pip install --quiet --no-deps -r requirements/nodeps.txt
	touch $(STAMP)

## The web client: npm packages (package-lock.json) bundled into static/dist, and Debian's
## chromium for the browser tests (apt-get, only when it is missing; sudo unless root).
NODE_STAMP := node_modules/.installed
DIST_STAMP := static/dist/.built
$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "Node.js and npm are needed (apt-get install nodejs npm)"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

$(DIST_STAMP): $(NODE_STAMP) $(shell find static/js -name '*.js' -o -name '*.mjs' 2>/dev/null)
	npm run --silent build
	touch $(DIST_STAMP)

frontend: $(DIST_STAMP)

## Debian's packages, one apt-get for whatever is missing (sudo unless root): chromium for the
## browser tests; clamav-daemon, nginx, libnginx-mod-rtmp, espeak-ng and
## fonts-noto-color-emoji for the media tests: a real clamd with a project-made signature
## database (no freshclam), docker/nginx.conf's media locations run for real, the live
## ingest (nginx-rtmp: `manage.py live_ingest`, which `make run` starts when it is
## installed), the spoken clips that auto-captions are measured on (apps.media.asr_clips) and
## the studio's colour emoji in text overlays (apps.studio.textimage); tesseract-ocr-ara
## (with tesseract-ocr) for Arabic on-screen text (apps.moderation.detection.ocr) and
## fonts-kacst-one, the Arabic font its tests and bench/ocr_quality.py draw with.
system-packages:
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	{ command -v clamd >/dev/null || [ -x /usr/sbin/clamd ]; } || missing="$$missing clamav-daemon"; \
	{ command -v nginx >/dev/null || [ -x /usr/sbin/nginx ]; } || missing="$$missing nginx"; \
	[ -f /usr/lib/nginx/modules/ngx_rtmp_module.so ] || missing="$$missing libnginx-mod-rtmp"; \
	command -v espeak-ng >/dev/null || missing="$$missing espeak-ng"; \
	[ -f /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || missing="$$missing fonts-noto-color-emoji"; \
	command -v tesseract >/dev/null || missing="$$missing tesseract-ocr"; \
	ls /usr/share/tesseract-ocr/*/tessdata/ara.traineddata >/dev/null 2>&1 || missing="$$missing tesseract-ocr-ara"; \
	[ -f /usr/share/fonts/truetype/kacst-one/KacstOne-Bold.ttf ] || missing="$$missing fonts-kacst-one"; \
	[ -z "$$missing" ] || { SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; }

chromium media-tools: system-packages

## The three installs (pip, npm, apt-get) wait on the network and on different disks' work:
## they run side by side (a minute or two less on a new machine).
setup:
	@$(MAKE) --no-print-directory -j3 $(STAMP) frontend system-packages

## make run: embedded PostgreSQL + Redis, migrate, seed, web server, workers, beat. It needs
## neither the browser nor the media test tools, so it does not apt-get them.
run: $(STAMP) frontend
	DJANGO_SETTINGS_MODULE=swipeme_site.settings.dev $(MANAGE) runstack

services-start: setup
	$(MANAGE) services start

services-stop: setup
	$(MANAGE) services stop

## lint, typecheck and checks need only the venv: no apt-get of browsers or media tools.
lint: $(STAMP)
	$(VENV)/bin/ruff check .

## The web client's JavaScript: ESLint (eslint.config.js) over static/js; needs only npm's packages.
lint-js: $(NODE_STAMP)
	npm run --silent lint:js

typecheck: $(STAMP)
	$(VENV)/bin/mypy .

## Checks that need the database: migrations up to date, deploy check of production settings.
checks: $(STAMP)
	DJANGO_SETTINGS_MODULE=swipeme_site.settings.test $(MANAGE) makemigrations --check --dry-run
	DJANGO_SETTINGS_MODULE=swipeme_site.settings.production DJANGO_SECRET_KEY=check-deploy-$$(openssl rand -hex 32 2>/dev/null || date +%s%N)-key-for-the-check-only DJANGO_ALLOWED_HOSTS=swipeme.example \
		$(MANAGE) check --deploy --fail-level WARNING
	DJANGO_SETTINGS_MODULE=swipeme_site.settings.test $(MANAGE) spectacular --validate --fail-on-warn --file /dev/null
	$(VENV)/bin/lint-imports

## pytest in two phases: the suite on PYTEST_WORKERS processes (pytest-xdist, a whole file to
## a worker; each worker has its own database, Redis db and media root, see
## swipeme_site/settings/test.py), then the tests marked `serial` (tests/faults) alone. Both
## phases run and both must pass; a phase that PYTEST_ARGS leaves without tests (exit 5) is
## fine as long as the other ran some. PYTEST_WORKERS=0 runs the first phase in one process.
## The serial phase collects only SERIAL_TESTS (or the paths in PYTEST_ARGS). Every test
## database is cloned from one migrated first (tests/template_db.py).
## Two workers by default (one per core of the 2-core CI machine); PYTEST_WORKERS=0 runs the
## first phase in one process. Where two workers differ from one: files meet in another
## order, so a test may follow a transactional test's flush, a paused session worker or a
## browser test's Playwright loop in its process (tests/conftest.py handles each).
PYTEST_WORKERS ?= 2
SERIAL_TESTS := tests/faults
PYTEST_DB := $${SWIPEME_TEST_DB_NAME:-test_swipeme}
PYTEST := DJANGO_SETTINGS_MODULE=swipeme_site.settings.test SWIPEME_TEST_DB_TEMPLATE=$(PYTEST_DB)_template $(VENV)/bin/pytest
pytest: setup
	$(PY) -m tests.template_db $(PYTEST_DB)_template
	$(PYTEST) -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS) -m "not serial"; parallel=$$?; \
	$(PYTEST) $(PYTEST_ARGS) -m serial $(if $(filter tests%,$(PYTEST_ARGS)),,$(SERIAL_TESTS)); serial=$$?; \
	$(PY) -m tests.template_db --drop $(PYTEST_DB)_template; \
	echo "make pytest: parallel phase exit $$parallel, serial phase exit $$serial"; \
	case "$$parallel:$$serial" in 0:0|0:5|5:0) exit 0;; *) exit 1;; esac

## make test: the same set-up, then the whole suite with the real embedded services.
test: setup
	$(MANAGE) services run -- $(MAKE) --no-print-directory test-inner

## The lint and checks (a minute) and then mypy (two to three minutes from a clean clone, one
## core) run beside the test database's migration and the first tests, which wait on
## browsers and servers as much as they compute; their reports are printed after pytest's,
## and any of them failing fails the run. (`make lint`, `make checks`, `make typecheck` alone
## answer sooner.)
test-inner:
	@mkdir -p var/log; ( ($(MAKE) --no-print-directory lint lint-js checks > var/log/checks.log 2>&1; \
		echo $$? > var/log/checks.rc); \
		($(VENV)/bin/mypy . > var/log/mypy.log 2>&1; echo $$? > var/log/mypy.rc) ) & \
	$(MAKE) --no-print-directory pytest; tests=$$?; wait; \
	echo "== lint and checks"; cat var/log/checks.log; checked=$$(cat var/log/checks.rc); \
	echo "== mypy"; cat var/log/mypy.log; typed=$$(cat var/log/mypy.rc); \
	echo "make test: lint and checks exit $$checked, mypy exit $$typed, pytest exit $$tests"; \
	test "$$checked" = 0 && test "$$typed" = 0 && test "$$tests" = 0

## make bench: embedded services, migrate + seed_demo, the web server as `make run` starts it,
## then ping vs profile on loopback. BENCH_ARGS="--duration 20 --concurrency 16" to vary.
bench: setup
	$(MANAGE) services run -- $(PY) bench/api_latency.py $(BENCH_ARGS)

## make bench-search: search (issue 13) with both engines, tantivy and PostgreSQL, in one run
## on a 1,000,000-account/1,000,000-video catalogue in its own database `bench_search` (made
## once, about 15 minutes, and both indexes once, about 85, on 2 busy cores; kept by --reuse),
## engine and HTTP level, medians of 3 runs; JSON under var/bench/. BENCH_ARGS="--small" to
## try it in a few minutes.
bench-search: setup
	mkdir -p var/bench
	$(MANAGE) services run -- $(PY) bench/search_speed.py --reuse --json var/bench/search_speed.json $(BENCH_ARGS)

## make bench-notifications: notifications (issue 14): the new-post fan-out to 1,000,000
## followers against a plain multi-row INSERT of the same rows, and the inbox read p99 with
## 10,000 notifications against the no-op ping, in one run, in their own database
## `bench_notifications` (COPY-seeded; kept by --reuse). BENCH_ARGS="--small" to try it.
bench-notifications: setup
	mkdir -p var/bench
	$(MANAGE) services run -- $(PY) bench/notifications.py --reuse --json var/bench/notifications.json $(BENCH_ARGS)

## make bench-all: the fast benchmarks (API latency, event ingest, pre-publish scan) and
## search, each with its default --runs (medians, min-max, load average); JSON under
## var/bench/. About 12 minutes on a quiet machine, plus search's (about 45 minutes with its
## catalogue and indexes kept; the first time about 100 more to make them). The slow ones are run by hand: docs/benchmarks.md.
bench-all: setup
	mkdir -p var/bench
	$(MANAGE) services run -- $(MAKE) --no-print-directory bench-all-inner

bench-all-inner:
	$(PY) bench/api_latency.py --json var/bench/api_latency.json
	$(PY) bench/events_ingest.py --json var/bench/events_ingest.json
	$(PY) bench/moderation_scan.py --json var/bench/moderation_scan.json
	$(PY) bench/search_speed.py --reuse --json var/bench/search_speed.json

clean-var:
	rm -rf var
