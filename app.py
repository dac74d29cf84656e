"""The Open Weights Tracker dashboard: `python app.py` (development) or `gunicorn app:server` (production).

The store comes from `--store`, else env `OWT_STORE`, else `data/store`. While that store has no snapshot,
the dashboard serves a generated demo store (`data/demo-store`, made once on first start) and says so on
every page, with the commands that pull real data.

It listens on 127.0.0.1 only by default. The dashboard is read-only and has no login; to share it, keep it
on loopback and put a TLS reverse proxy (nginx, Caddy) with whatever access control you need in front of
it, rather than binding it to 0.0.0.0 on an untrusted network.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
from pathlib import Path

import flask
from dash import Dash
from filelock import FileLock

from dashboards import components, layout, pages
from dashboards.limits import install_limits
from dashboards.query import open_warehouse
from dashboards.state import AppState, install_app_state, state_of
from pipelines.demo import generate_demo_store
from pipelines.store import Store, resolve_store

PROJECT_DIR = Path(__file__).resolve().parent
DEMO_STORE_DIR = PROJECT_DIR / "data" / "demo-store"
#: The stylesheet, and plotly.js's basic bundle (npm plotly.js-basic-dist-min, the version plotly.py bundles;
#: scatter and bar traces, all the charts use), a quarter of the full one to load. The bundle is not in every
#: page: plotly-basic.js points dcc.Graph at it, which loads it with the first chart.
ASSETS_DIR = PROJECT_DIR / "dashboards" / "assets"
LAZY_ASSETS = r"plotly-basic\.min\.js$"
#: The demo store: enough models for every chart to look like the real thing, every day since 2024-01-01 (so
#: the 2025 crossover is in it); about half a minute to generate and index on a laptop, once.
DEMO_MODELS = 1000
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8050
#: How long browsers may keep an asset whose URL carries its file's modification time (`?m=`, Dash's) or
#: version (`?v=`): a new file, a new URL.
ASSET_MAX_AGE_S = 365 * 24 * 3600

log = logging.getLogger("owt.app")


def ensure_demo_store(
    target: Path = DEMO_STORE_DIR, *, models: int = DEMO_MODELS, days: int | None = None
) -> Store:
    """The demo store, generated on first use into a temporary directory and renamed into place.

    A file lock makes concurrent first starts (several gunicorn workers) generate it once; the rename means
    an interrupted generation never leaves a half-made store behind.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if Store(target).dates():
            return Store(target)
        staging = target.with_name(f".{target.name}.tmp-{os.getpid()}")
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(target, ignore_errors=True)
        log.warning("store is empty: generating the synthetic demo store in %s (once)", target)
        generate_demo_store(Store(staging), models=models, days=days, progress=True)
        os.rename(staging, target)
    return Store(target)


def create_app(
    store: Store | str | os.PathLike[str] | None = None, *, demo_store: Path = DEMO_STORE_DIR
) -> Dash:
    """The dashboard over `store` (path, Store, or None for OWT_STORE / data/store); while that store has no
    snapshot, over the demo store at `demo_store` (generated on first use)."""
    configured = store if isinstance(store, Store) else resolve_store(store)
    serving = configured if configured.dates() else ensure_demo_store(demo_store)
    warehouse = open_warehouse(serving)
    app = Dash(
        __name__,
        use_pages=True,
        pages_folder="",
        assets_folder=str(ASSETS_DIR),
        assets_ignore=LAZY_ASSETS,
        compress=True,
        title="Open Weights Tracker",
        update_title=None,
        suppress_callback_exceptions=True,
    )
    install_app_state(
        app.server,
        AppState(
            store=serving,
            warehouse=warehouse,
            demo=serving != configured,
            configured_store=configured,
            tasks=tuple(warehouse.tasks()),
        ),
    )
    pages.register_pages(app)
    app.layout = layout.shell
    layout.register_callbacks(app)
    components.register_callbacks(app)
    components.register_routes(app.server)
    app.server.after_request(_cache_versioned_assets)
    install_limits(app)
    return app


def _cache_versioned_assets(response: flask.Response) -> flask.Response:
    """Let browsers keep versioned `/assets/` files (the stylesheet, plotly.js) instead of asking again on
    every page load."""
    args = flask.request.args
    versioned = flask.request.path.startswith("/assets/") and ("m" in args or "v" in args)
    if versioned and response.status_code == 200:
        response.cache_control.no_cache = None  # Flask's default for files: ask again every time
        response.cache_control.public = True
        response.cache_control.max_age = ASSET_MAX_AGE_S
    return response


def __getattr__(name: str) -> object:
    """`app.server` for `gunicorn app:server`, built once on first access (importing app.py stays cheap)."""
    if name == "server":
        built = create_app().server
        globals()["server"] = built
        return built
    raise AttributeError(name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Serve the Open Weights Tracker dashboard (development server; "
        "use `gunicorn app:server` in production).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help="interface to listen on; keep loopback and put a TLS reverse proxy in front to share",
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="TCP port")
    parser.add_argument(
        "--store",
        default=None,
        help="snapshot store directory (default: env OWT_STORE, else data/store; "
        "an empty store shows the generated demo store)",
    )
    parser.add_argument("--debug", action="store_true", help="Dash dev tools and reload (never when exposed)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    app = create_app(args.store)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        log.warning(
            "listening on %s: anyone who can reach this port sees the dashboard (no login, no TLS)", args.host
        )
    print(
        f"Open Weights Tracker on http://{args.host}:{args.port}/ (store {state_of(app.server).store.root})",
        file=sys.stderr,
    )
    app.run(host=args.host, port=args.port, debug=args.debug)
    return 0


if __name__ == "__main__":
    sys.exit(main())
