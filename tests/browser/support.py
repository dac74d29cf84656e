"""What the app tests share: a small synthetic store and the pages with the charts each must show."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from pipelines.demo import generate_demo_store
from pipelines.runs import utc_today
from pipelines.store import Store

#: Small enough to generate and load in about a second, long enough (14 months) for monthly series.
DEMO_MODELS = 300
DEMO_DAYS = 420

#: Path -> chart ids the page must show (the detail pages are reached from the lists in their own tests).
PAGE_CHARTS: dict[str, tuple[str, ...]] = {
    "/": ("cumulative-by-country", "downloads-by-country", "share-by-country"),
    "/organisations": ("top-organisations",),
    "/models": (),
    "/derivatives": (
        "derivatives-by-country",
        "derivatives-by-relation",
        "top-base-models",
        "derivative-flows",
        "crossborder-series",
        "crossborder-families",
    ),
    "/inference": ("openrouter-open-share-by-country", "openrouter-open-vs-closed"),
    "/segments": ("size-by-country", "task-by-country", "library-by-country", "window-share"),
    "/organisations/compare": (
        "organisations-compare-downloads",
        "organisations-compare-cumulative",
        "organisations-compare-share",
        "organisations-compare-releases",
        "organisations-compare-derivatives",
        "leader-vs-next",
    ),
    "/methodology": (),
    "/report": (),
}

#: Path -> ids of the grids (tables) the page must fill.
PAGE_GRIDS: dict[str, tuple[str, ...]] = {
    "/organisations": ("organisations-grid",),
    "/models": ("models-grid",),
    "/methodology": ("registry-grid", "snapshot-grid"),
}


def store_end(today: dt.date | None = None) -> dt.date:
    """The small store's last snapshot: today, or yesterday on the first of a month, so that the last day it
    holds (the day before its date: day-label rule) is never a month's last day: the store always ends
    mid-month (its last month is running, drawn and counted as incomplete)."""
    today = today or utc_today()
    return today - dt.timedelta(days=1) if today.day == 1 else today


def small_demo_store(root: Path) -> Store:
    """A fresh synthetic store under `root` ending mid-month (deterministic for a given day).

    Five test modules each want one: it is generated once per test session and day, beside `root` (in the
    session's pytest temp dir), and copied (3.5 s of CPU to generate, 0.3 s to copy; the store holds no path
    of its own)."""
    end = store_end()
    template = root.parent / f"small-demo-store-template-{end.isoformat()}"
    if not template.is_dir():
        building = root.parent / f"{template.name}.building"
        shutil.rmtree(building, ignore_errors=True)
        generate_demo_store(Store(building), models=DEMO_MODELS, days=DEMO_DAYS, end=end)
        building.rename(template)  # whole or not at all
    shutil.copytree(template, root, dirs_exist_ok=True)
    return Store(root)
