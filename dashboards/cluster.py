"""What several dashboard replicas share, read from the environment.

One process on one machine needs none of this. Several replicas (`gunicorn app:server` processes on one or
more hosts behind a load balancer) share the store (a folder on shared storage, or an Iceberg store), one
secret key, and one Redis that holds the chart cache and the queue of long work (reports, whole-view
exports) that Celery workers run (`dashboards.jobs`).

- `OWT_REDIS_URL` (e.g. `redis://127.0.0.1:6379/0`): the shared cache and job queue. Unset: each process
  keeps its own results per warehouse version (`dashboards.query.per_version`) and does its own long work,
  as a single process always has.
- `OWT_SECRET_KEY`: Flask's `secret_key`, the same on every replica (anything signed by one replica is then
  accepted by the others). Unset: Flask's default (nothing is signed today).
- `OWT_CACHE_TTL`: seconds a cached chart is kept (default one day). Cache keys carry the warehouse version,
  so a new snapshot is never answered from the cache of an older one, whatever the TTL.

The Redis URL may hold a password: it is never logged (`describe` shows it without).
"""

from __future__ import annotations

import logging
import os
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import flask

REDIS_URL_ENV = "OWT_REDIS_URL"
SECRET_KEY_ENV = "OWT_SECRET_KEY"
CACHE_TTL_ENV = "OWT_CACHE_TTL"
DEFAULT_CACHE_TTL_S = 24 * 3600
#: Every key this project writes to Redis starts with this, so one Redis may serve other applications too.
KEY_PREFIX = "owt:"
_SHARED_CACHE_KEY = "OWT_SHARED_CACHE"

log = logging.getLogger("owt.cluster")

T = TypeVar("T")


class SettingsError(ValueError):
    """An environment setting that cannot be used (the message names it)."""


@dataclass(frozen=True)
class ClusterSettings:
    """The replica settings of this process."""

    redis_url: str | None
    secret_key: str | None
    cache_ttl_s: int

    @classmethod
    def from_environment(cls, environ: dict[str, str] | None = None) -> ClusterSettings:
        env = os.environ if environ is None else environ
        redis_url = env.get(REDIS_URL_ENV, "").strip() or None
        if redis_url and urlsplit(redis_url).scheme not in ("redis", "rediss", "unix"):
            raise SettingsError(f"{REDIS_URL_ENV} must be a redis://, rediss:// or unix:// URL")
        ttl_text = env.get(CACHE_TTL_ENV, "").strip()
        try:
            ttl = int(ttl_text) if ttl_text else DEFAULT_CACHE_TTL_S
        except ValueError:
            message = f"{CACHE_TTL_ENV} must be a whole number of seconds, not {ttl_text!r}"
            raise SettingsError(message) from None
        if ttl <= 0:
            raise SettingsError(f"{CACHE_TTL_ENV} must be positive, not {ttl}")
        return cls(redis_url=redis_url, secret_key=env.get(SECRET_KEY_ENV) or None, cache_ttl_s=ttl)

    @property
    def shared(self) -> bool:
        """True when replicas share a cache and a job queue (Redis configured)."""
        return self.redis_url is not None

    def describe(self) -> str:
        """The settings in words for the log: never the password or the secret key."""
        if not self.redis_url:
            return "single process: no shared cache or job queue (set OWT_REDIS_URL for several replicas)"
        parts = urlsplit(self.redis_url)
        host = parts.hostname or ""
        netloc = host + (f":{parts.port}" if parts.port else "")
        safe = urlunsplit((parts.scheme, netloc, parts.path, "", ""))
        key = "set" if self.secret_key else "NOT set (set OWT_SECRET_KEY, the same on every replica)"
        return f"shared cache and job queue on {safe}; secret key {key}"


class SharedCache:
    """Chart results kept in Redis for every replica. A Redis that cannot be reached costs a recomputation
    and a log line, never a failed page."""

    def __init__(self, redis_url: str, ttl_s: int) -> None:
        import redis

        self._client = redis.Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=5)
        self._ttl_s = ttl_s

    def get_or_compute(self, key: str, compute: Callable[[], T]) -> tuple[T, bool]:
        """The value kept under `key`, or `compute()` kept for next time; and whether it was kept already."""
        import redis

        full_key = KEY_PREFIX + "cache:" + key
        try:
            kept = self._client.get(full_key)
        except redis.RedisError as error:
            log.warning("shared cache unavailable, computing instead: %s", error)
            return compute(), False
        if kept is not None:
            return pickle.loads(kept), True  # written by this project's own replicas only
        value = compute()
        try:
            self._client.set(full_key, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL), ex=self._ttl_s)
        except redis.RedisError as error:
            log.warning("shared cache unavailable, result not kept: %s", error)
        return value, False


def install_cluster(server: flask.Flask, settings: ClusterSettings | None = None) -> ClusterSettings:
    """Apply the replica settings to the app's server: its secret key and, with Redis, the shared cache."""
    settings = settings or ClusterSettings.from_environment()
    if settings.secret_key:
        server.secret_key = settings.secret_key
    server.config[_SHARED_CACHE_KEY] = (
        SharedCache(settings.redis_url, settings.cache_ttl_s) if settings.redis_url else None
    )
    server.after_request(_mark_cache_use)
    log.info("replicas: %s", settings.describe())
    return settings


def _mark_cache_use(response: flask.Response) -> flask.Response:
    """`X-OWT-Cache: hit` when every chart of the response came from the shared cache, `miss` otherwise
    (no header without a shared cache, or when the response drew no chart): what an operator checks to see
    that the replicas share it."""
    hits = flask.g.get("owt_cache")
    if hits and flask.current_app.config.get(_SHARED_CACHE_KEY) is not None:
        response.headers["X-OWT-Cache"] = "hit" if all(hits) else "miss"
    return response


def cached(key: str, compute: Callable[[], T]) -> tuple[T, bool]:
    """`compute()` through the shared cache of the current app when it has one; and whether it was a hit."""
    cache: Any = flask.current_app.config.get(_SHARED_CACHE_KEY)
    if cache is None:
        return compute(), False
    return cache.get_or_compute(key, compute)
