# camdensity: `make demo` runs the product, `make test` runs the tests. Both set everything up.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# The checkout's own embedded cluster (data, socket, log), whatever the environment says: two
# checkouts on one machine (a developer's and CI's fresh clone) never share one. An installed
# camdensity uses the per-user data directory instead (README: Install).
export CAMDENSITY_HOME := $(CURDIR)/.camdensity

.PHONY: setup system demo test serve lint bench bench-publish db-stop clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

system:
	scripts/install-system.sh

setup: system $(STAMP)

## Start PostGIS, load the bundled data, build, serve on http://127.0.0.1:$${PORT:-8000}
demo: setup
	$(BIN)/camdensity demo

## Run the whole test suite against a real PostGIS
test: $(STAMP)
	scripts/install-system.sh --test
	$(BIN)/ruff check camdensity ingest tiles service sql evidence tests bench
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

serve: setup
	$(BIN)/camdensity serve

lint: $(STAMP)
	$(BIN)/ruff check camdensity ingest tiles service sql evidence tests bench

## Benchmarks (on demand, not part of `make test`): the whole table of README "Performance"
## (bench/run.py: ingest/build/export, then tiles and coverage vs tipg and the SQL floor)
bench: setup
	scripts/install-system.sh --bench
	$(BIN)/python -m bench.run

## Publish US-West z0-14 and serve it: static PMTiles (nginx) vs the live endpoint under wrk
bench-publish: setup
	scripts/install-system.sh --bench
	$(BIN)/python -m bench.publish_serving

db-stop:
	$(BIN)/camdensity db stop

clean: db-stop
	rm -rf $(VENV) .camdensity
