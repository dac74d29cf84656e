# Open Weights Tracker: set-up and test entry points (see README.md).
# `make dashboard` installs everything and serves the dashboard; `make test` installs the test tools and runs the suite.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
DEBIAN_PACKAGES := chromium fonts-wqy-microhei postgresql redis-server
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: dashboard test install install-test system-deps lint mutation

dashboard: install
	$(PY) app.py

# Two workers, each taking whole test files (`--dist loadfile`: a file's fixtures, servers and stores stay in
# one process): much of the suite waits on browsers, servers and subprocesses, so two overlap well on 2 cores.
test: install-test
	$(PY) -m ruff check .
	$(PY) -m pytest -n 2 --dist loadfile

install: system-deps $(VENV)/.installed
install-test: system-deps $(VENV)/.installed-test

# Debian packages: chromium (kaleido export, browser tests), a CJK font (Chinese names in charts), and the
# PostgreSQL and Redis servers the scale-out tests start on loopback (never as system services).
system-deps:
	@missing=""; for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt $(VENV)/bin/python
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.installed-test: requirements.txt requirements-test.txt $(VENV)/bin/python
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-test.txt
	touch $(VENV)/.installed $@

lint: install-test
	$(PY) -m ruff check .

# Mutation testing of the rule modules (not part of `make test`; long: see README "Mutation testing"). Files and
# tests: pyproject.toml [tool.mutmut]; functions: MUTATION_TARGETS. The last progress line of `mutmut run` counts
# killed and surviving mutants; `mutmut results` lists the survivors, `mutmut show NAME` shows one.
MUTATION_TARGETS := "pipelines.definitions.*" "pipelines.lineage.x_*" \
	"pipelines.attribution.x_attribute__mutmut_*" "pipelines.attribution.xǁ_Publishersǁof__mutmut_*" \
	"pipelines.attribution.x_looks_like_organisation__mutmut_*" "pipelines.attribution.x_namespace_of__mutmut_*" \
	"pipelines.attribution.x_unknown_relations__mutmut_*" "pipelines.attribution.x_coverage__mutmut_*" \
	"pipelines.snapshot.*_first_sightings__mutmut_*" "dashboards.query.*_top_among_candidates__mutmut_*" \
	"dashboards.query.*_top_unfiltered__mutmut_*" "dashboards.query.*ǁcoverage__mutmut_*" \
	"dashboards.metrics.x_first_crossover__mutmut_*" "dashboards.metrics.x_period_coverage__mutmut_*"
mutation: install-test
	rm -rf mutants
	$(VENV)/bin/mutmut run --max-children 2 $(MUTATION_TARGETS)
	$(VENV)/bin/mutmut results | grep -v ": not checked$$" || true
