# Two commands for a newcomer: `make demo` and `make test`. Everything they need is
# installed from the project's own pinned files (requirements.lock, package-lock.json).
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PYTHON := $(shell scripts/find-python)
VENDOR := dangjian/static/vendor
CHROMIUM := /usr/bin/chromium

.PHONY: install assets demo test test-sqlite check bench bench-province chromium clean serve

install: $(VENV)/.installed assets

$(VENV)/.installed: requirements.lock pyproject.toml
	@test -n "$(PYTHON)" || { echo "需要 Python 3.12+"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

assets: node_modules/.package-lock.json
	@mkdir -p $(VENDOR)
	cp node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/
	cp node_modules/bootstrap/dist/css/bootstrap.min.css $(VENDOR)/
	cp node_modules/bootstrap/dist/js/bootstrap.bundle.min.js $(VENDOR)/
	cp node_modules/echarts/dist/echarts.min.js $(VENDOR)/

demo: install
	$(BIN)/dangjian migrate --noinput -v0
	$(BIN)/dangjian demo --if-empty
	$(BIN)/dangjian runserver 127.0.0.1:8000

# The production stack in the foreground: gunicorn and the job worker against
# DANGJIAN_DATABASE_URL, after migrate and collectstatic (docs/deploy.md).
serve: install
	scripts/serve

# Debian's Chromium for the browser tests (never a downloaded browser build).
chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	fi

test: install chromium check
	scripts/test-all-dbs

test-sqlite: install
	$(BIN)/pytest

# Lint, and every model change has its migration.
check: install
	$(BIN)/ruff check dangjian tests bench
	$(BIN)/python -m django makemigrations --check --dry-run --settings=tests.settings

bench: install
	$(BIN)/python bench/run.py

# On demand, not in CI: every benchmark at 10k, 100k and 1M members on PostgreSQL (hours).
bench-province: install
	bench/province

clean:
	rm -rf $(VENV) node_modules $(VENDOR) var
