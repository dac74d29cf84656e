"""The loopback test servers of tests/services.py: Redis answers and is gone after stop (PostgreSQL and moto
are exercised by tests/test_iceberg_store.py)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests import services


def test_redis_serves_on_loopback_without_persistence_and_stops(tmp_path: Path) -> None:
    import redis

    try:
        context = services.redis(tmp_path / "redis")
        server = context.__enter__()
    except services.ServiceUnavailable as error:
        pytest.skip(str(error))
    try:
        client = redis.Redis.from_url(server.url)
        assert client.ping()
        assert client.config_get("save") == {"save": ""} and client.config_get("bind")["bind"] == "127.0.0.1"
        client.set("k", "v")
        assert client.get("k") == b"v"
    finally:
        context.__exit__(None, None, None)
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", server.port), timeout=2):
        pass
