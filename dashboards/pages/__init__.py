"""The dashboard's pages, one URL each. Each module declares `PAGE` (the `dash.register_page` arguments),
a `layout(**url_values)` and, when it has its own interactions, `register_callbacks(app)`.

Pages are registered explicitly (not by Dash's folder scan, which re-executes modules on every app
instance) so that several apps can live in one process, as they do in the tests.
"""

from __future__ import annotations

import dash
from dash import Dash

from dashboards.pages import (
    compare,
    derivatives,
    inference,
    methodology,
    model,
    models,
    organisation,
    organisations,
    overview,
    report,
    segments,
)

#: In navigation order; detail pages (`nav: False`) are reached from the lists.
PAGE_MODULES = (
    overview,
    organisations,
    compare,  # before `organisation`, whose /organisations/<namespace> would take /organisations/compare
    organisation,
    models,
    model,
    derivatives,
    segments,
    inference,
    methodology,
    report,
)


def register_pages(app: Dash) -> None:
    for module in PAGE_MODULES:
        dash.register_page(module.__name__, layout=module.layout, **module.PAGE)
        register_callbacks = getattr(module, "register_callbacks", None)
        if register_callbacks is not None:
            register_callbacks(app)
