#!/bin/sh
# Start or stop the scale-out test servers on loopback: PostgreSQL (throwaway cluster), moto S3, Redis.
#   scripts/services.sh start DIR   # then: . DIR/env.sh  (OWT_STORE, AWS_*, OWT_REDIS_URL)
#   scripts/services.sh stop DIR
# Same code as the pytest fixtures (tests/services.py).
set -eu
cd "$(dirname "$0")/.."
exec "${PYTHON:-.venv/bin/python}" -m tests.services "$@"
