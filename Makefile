# Two commands a newcomer needs: `make demo` and `make test`. Everything else is what they call.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed

.PHONY: setup demo test test-fast lint bench widgets node chromium php plugin migrate clean messages

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP) widgets chromium php messages
	mkdir -p var

# Debian's Chromium for the browser tests; a test tool's own browser download does not work here.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; }

# Debian's php-cli: the WordPress plugin's tests run `php -l` and render its markup with it.
php:
	@command -v php >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq php-cli >/dev/null; }

# The admin's words: locale/<lang>/LC_MESSAGES/django.po compiled to the .mo files Django reads (build output, not
# committed). Babel, already a dependency, compiles them: no system gettext (msgfmt) to install on any machine.
# Editing the catalogue: `manage.py makemessages -l es --no-location ...` needs GNU gettext's xgettext.
messages: $(STAMP)
	$(VENV)/bin/pybabel -q compile -d locale -D django

# The installable WordPress plugin zip (dist/personalize-<version>.zip).
plugin: $(STAMP)
	$(PY) -m integrations.woocommerce.plugin_build dist

# Debian's Node.js and npm: the widgets' build and the Lighthouse bench (bench/lighthouse/) install from npm's registry.
node:
	@command -v npm >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq nodejs npm >/dev/null; }

widgets: node
	@if [ -f widgets/package.json ]; then \
	  cd widgets && { [ -d node_modules ] || npm ci --no-audit --no-fund --silent; } && npm run --silent build; \
	fi

migrate: $(STAMP)
	mkdir -p var
	$(PY) manage.py migrate --noinput

# The demo runs in demo mode: its secrets are generated once into var/demo-secrets.env (see backend/config/safety.py).
demo: export DEMO_MODE ?= 1
demo: setup migrate
	$(PY) manage.py demo

test: setup
	$(VENV)/bin/pytest -n 2 --dist loadgroup -q

test-fast: $(STAMP) messages
	$(VENV)/bin/pytest -q -x -m "not browser"

lint: $(STAMP)
	$(VENV)/bin/ruff check .

bench: export DEMO_MODE ?= 1
bench: setup
	$(PIP) install -q -e '.[bench]'
	@for f in bench/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

# Every admin screen as PNGs for reviewers, es/en, desktop/phone, into var/screenshots/ (bench/screenshots.py).
.PHONY: screenshots
screenshots: export DEMO_MODE ?= 1
screenshots: setup
	$(PY) bench/screenshots.py $(ARGS)

# One figure: `make bench-shopify_sync`, `make bench-widget_api ARGS=--quick`, ...
bench-%: export DEMO_MODE ?= 1
bench-%: setup
	$(PIP) install -q -e '.[bench]'
	$(PY) bench/bench_$*.py $(ARGS)

clean:
	rm -rf $(VENV) var widgets/node_modules widgets/dist
