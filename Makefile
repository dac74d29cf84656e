# Open Weights Tracker: set-up and test entry points (see README.md).
# `make dashboard` installs everything and serves the dashboard; `make test` installs the test tools and runs the suite.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
DEBIAN_PACKAGES := chromium fonts-wqy-microhei
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: dashboard test install install-test system-deps lint

dashboard: install
	$(PY) app.py

test: install-test
	$(PY) -m ruff check .
	$(PY) -m pytest

install: system-deps $(VENV)/.installed
install-test: system-deps $(VENV)/.installed-test

# Debian packages: chromium (kaleido export, browser tests) and a CJK font (Chinese names in charts).
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
