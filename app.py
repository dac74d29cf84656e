"""The Open Weights Tracker dashboard: `python app.py` (development) or `gunicorn app:server` (production).

The store comes from `--store`, else env `OWT_STORE`, else `data/store`. While that store has no snapshot,
the dashboard serves a generated demo store (`data/demo-store`, made once on first start) and says so on
every page, with the commands that pull real data (`dashboards.serving`, the rule `python -m dashboards
export` follows too). A store named by `--store` or `OWT_STORE` that does not exist is an error.

It listens on 127.0.0.1 only by default. The dashboard is read-only and has no login; to share it, keep it
on loopback and put a TLS reverse proxy (nginx, Caddy) with whatever access control you need in front of
it, rather than binding it to 0.0.0.0 on an untrusted network.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from html import escape
from pathlib import Path

import flask
from dash import Dash, html

from dashboards import components, embed, layout, pages
from dashboards.cluster import install_cluster
from dashboards.jobs import install_jobs
from dashboards.limits import install_limits
from dashboards.query import Warehouse
from dashboards.serving import ensure_demo_store, serving_store  # noqa: F401  (ensure_demo_store: re-exported)
from dashboards.state import AppState, install_app_state, state_of
from pipelines.store import Store, StoreError, demo_store_path
from pipelines.warehouse import refresh_for_readers
from pipelines.warehouse.publish import FOLLOWER_EXTENSION, follower_for

PROJECT_DIR = Path(__file__).resolve().parent
#: The stylesheet, and plotly.js's basic bundle (npm plotly.js-basic-dist-min, the version plotly.py bundles;
#: scatter and bar traces, all the charts use), a quarter of the full one to load. The bundle is not in every
#: page: plotly-basic.js points dcc.Graph at it, which loads it with the first chart.
ASSETS_DIR = PROJECT_DIR / "dashboards" / "assets"
LAZY_ASSETS = r"plotly-basic\.min\.js$"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8050
#: How long browsers may keep an asset whose URL carries its file's modification time (`?m=`, Dash's) or
#: version (`?v=`): a new file, a new URL.
ASSET_MAX_AGE_S = 365 * 24 * 3600

log = logging.getLogger("owt.app")


def create_app(
    store: Store | str | os.PathLike[str] | None = None, *, demo_store: Path | None = None
) -> Dash:
    """The dashboard over `store` (path, Store, or None for OWT_STORE / data/store); while that store has no
    snapshot, over the demo store at `demo_store` (default `data/demo-store`, generated on first use)."""
    try:
        chosen = serving_store(store, demo_store=demo_store)
    except StoreError:
        raise  # a store named that does not exist: the caller's mistake, which `main` reports
    except Exception as error:  # the demo store could not be generated: the error page, a worker that boots
        log.exception("the demo store could not be generated")
        return _unavailable_app(Store(demo_store or demo_store_path()), error)
    serving, configured = chosen.store, chosen.configured
    try:
        # The app's start brings the warehouse up to date (dashboards/ only reads); when that fails, the
        # last version built is served and the banner says why.
        refresh_failure = refresh_for_readers(serving, source=configured)  # fetched when published
        warehouse = Warehouse(serving)
        warehouse.refresh_failure = refresh_failure
        tasks = tuple(warehouse.tasks())
    except Exception as error:  # no readable version at all: an error page, not a worker that won't boot
        log.exception("no warehouse version of %s can be served", serving.root)
        return _unavailable_app(serving, error)
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
            demo=chosen.demo,
            configured_store=configured,
            tasks=tasks,
        ),
    )
    install_jobs(app.server, install_cluster(app.server))
    pages.register_pages(app)
    app.layout = layout.shell
    layout.register_callbacks(app)
    components.register_callbacks(app)
    components.register_routes(app.server)
    embed.register_routes(app.server)
    app.server.after_request(_cache_versioned_assets)
    follower = follower_for(serving, configured)  # an Iceberg store: follow the warehouse published in it
    if follower is not None:
        app.server.extensions[FOLLOWER_EXTENSION] = follower
        app.server.before_request(follower.ensure_running)
    install_limits(app)
    return app


def _unavailable_app(store: Store, error: BaseException) -> Dash:
    """An app that answers every request with 503 and what to do: the store has no warehouse version that
    can be served (the process still starts, so a fixed store is served after a restart)."""
    app = Dash(__name__, title="Open Weights Tracker: unavailable")
    message = (
        f"The dashboard cannot serve the store {store.root}: no warehouse version could be built or opened "
        f"({type(error).__name__}: {error}). Run `python -m pipelines warehouse --store {store.root}` to see "
        "the error, `python -m pipelines verify` to check the snapshots, then restart the dashboard."
    )

    app.layout = html.Div(message)  # never served (every request gets the 503), but Dash wants one

    @app.server.before_request
    def unavailable() -> flask.Response:
        body = f"<!doctype html><title>Unavailable</title><h1>Dashboard unavailable</h1><p>{escape(message)}"
        return flask.Response(body, status=503, mimetype="text/html", headers={"Retry-After": "300"})

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
    try:
        app = create_app(args.store)
    except StoreError as error:
        parser.error(str(error))
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
