# fangkong: `make demo` sets everything up and runs the demo; `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.bench-installed
VENDOR := src/fangkong/web/static/vendor
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo test lint typecheck contracts migrations-check unit browser bench bench-deps assets setup \
	browser-deps clean serve

setup: $(STAMP) assets

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,spark]'
	touch $(STAMP)

# Browser assets come from the npm registry at set-up and are served by fangkong (no CDN).
assets: $(VENDOR)/.installed

$(VENDOR)/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p $(VENDOR)/swagger-ui
	cp node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/
	cp node_modules/swagger-ui-dist/swagger-ui-bundle.js node_modules/swagger-ui-dist/swagger-ui.css \
		$(VENDOR)/swagger-ui/
	touch $@

demo: setup
	$(BIN)/fangkong demo --host $(HOST) --port $(PORT)

serve: setup
	$(BIN)/fangkong serve --host $(HOST) --port $(PORT)

lint: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: setup
	$(BIN)/mypy

contracts: setup
	$(BIN)/lint-imports

migrations-check: setup
	FANGKONG_DATABASE_URL=sqlite:///$(CURDIR)/var/alembic-check.db $(BIN)/fangkong db upgrade
	FANGKONG_DATABASE_URL=sqlite:///$(CURDIR)/var/alembic-check.db $(BIN)/fangkong db check
	rm -f var/alembic-check.db var/alembic-check.db-wal var/alembic-check.db-shm

# Debian's chromium drives the browser tests (Playwright never downloads a browser of its own);
# the CJK fonts make the Chinese pages legible in the screenshots kept for review.
browser-deps:
	@{ command -v chromium >/dev/null 2>&1 && fc-list :lang=zh | grep -q .; } || { \
		echo "installing Debian chromium and CJK fonts for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; }

unit: setup
	$(BIN)/pytest -m "not browser"

browser: setup browser-deps
	$(BIN)/pytest -m browser

test: setup browser-deps lint typecheck contracts migrations-check
	$(BIN)/pytest -n 2

# Covasim (the epidemic model's reference) is a bench-only extra.
$(BENCH_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,spark,bench]'
	touch $@

# The sampling benchmark's load generator is Debian's wrk, in a process of its own.
bench-deps:
	@command -v wrk >/dev/null 2>&1 || { \
		echo "installing Debian wrk for the sampling benchmark"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }

bench: setup $(BENCH_STAMP) bench-deps
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) node_modules $(VENDOR) var .mypy_cache .ruff_cache .pytest_cache
