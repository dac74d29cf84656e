"""The published figures this tool is compared with, and how to come closest to each: the texts of the
Methodology section "Reproducing published figures" and of the README's summary, written once.

Each figure names the options of this tool that come closest (scope, attribution, dates, grouping of
individuals), the exact `python -m dashboards export` command that produces it, and why the numbers can
differ. tests/test_compare_hand.py runs every command, so they stay valid.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PublishedFigure:
    """A published figure and the closest view of this tool."""

    figure: str
    value: str
    source: str
    options: str
    command: str
    differences: str


PUBLISHED_FIGURES: tuple[PublishedFigure, ...] = (
    PublishedFigure(
        figure="Download share by developer country, Aug 2024 - Aug 2025",
        value="China 17.1%, US 15.8%, International/Online 23.8%",
        source="Economies of Open Intelligence (Longpre et al., arXiv 2512.03073)",
        options="Chart window-share (one share per country group over the dates); scope all models; "
        "attribution publisher (the developer's country); dates 2024-08-01 to 2025-08-31; individuals "
        "grouped as International/Online.",
        command="python -m dashboards export --chart window-share --scope all --attribution publisher "
        "--from 2024-08-01 --to 2025-08-31 --countries CN,US --individuals international-online "
        "--format csv --out eoi-shares.csv",
        differences="The paper annotates developers' countries by hand over all ~851K models; this tool "
        "attributes only namespaces in its registry and tells individuals from unregistered organisations "
        "by name, so more downloads stay Unattributed (see the coverage column). Its downloads are weekly "
        "differences of downloadsAllTime; ours are differences between the store's snapshots, spread over "
        "the days between them, so a window edge between two snapshots takes a share of that gap. Its "
        "International/Online group may hold organisations that our registry places in a country.",
    ),
    PublishedFigure(
        figure="Cumulative downloads, China vs US: the crossover in summer 2025; 1.15B vs 723M by Mar 2026",
        value="China 1.15B, US 723M (tracked set, March 2026)",
        source="ATOM Report (Lambert & Brand, arXiv 2604.07190) and its summaries",
        options="Chart cumulative-by-country; scope atom (ATOM's tracked LLMs); attribution publisher "
        "(ATOM's rule: never inherited from the base); countries CN,US; up to 2026-03-31.",
        command="python -m dashboards export --chart cumulative-by-country --scope atom "
        "--attribution publisher --countries CN,US --to 2026-03-31 --format csv --out atom-cumulative.csv",
        differences="ATOM adds up a private daily download history supplied by Hugging Face from 2023; this "
        "tool starts from each model's all-time count at the store's first snapshot and adds the growth "
        "between snapshots, so the totals agree only as far as the store's history and the Hub's (partly "
        "retroactive) counting rules do. ATOM's tracked list changes between releases; the store holds the "
        "copy in data/atom. ATOM groups by region (EU as one), this tool by country.",
    ),
    PublishedFigure(
        figure="Monthly downloads, Feb 2026: the leading organisation vs the next eight",
        value="Qwen 153.6M vs 71.2M for the next eight organisations combined",
        source="ATOM talk slides",
        options="Chart leader-vs-next; next 8; period month; scope atom; dates 2026-02-01 to 2026-02-28. "
        "The leader is the organisation with the most downloads in each period (it can change from month "
        "to month); the next eight are that month's ranks 2 to 9.",
        command="python -m dashboards export --chart leader-vs-next --next 8 --period month --scope atom "
        "--from 2026-02-01 --to 2026-02-28 --format csv --out atom-leader-vs-next.csv",
        differences="Organisations here are registry organisations (all their namespaces together, e.g. "
        "THUDM and zai-org), ATOM's are its own org labels. Monthly downloads come from the store's "
        "snapshots (a month with snapshots only every few weeks takes its share of each gap); ATOM's from "
        "its private daily history.",
    ),
    PublishedFigure(
        figure="New derivatives by the origin of their base: China 10% -> 70%, Europe 58% -> 4%",
        value="China's share of new derivatives rose from 10% to 70%; Europe's fell from 58% to 4%",
        source="ATOM talk slides",
        options="Chart derivatives-by-country (new derivatives per period by the lineage country of their "
        "base); scope atom (derivatives whose lineage root is a tracked model); countries CN,US and the "
        "European countries to show; period month.",
        command="python -m dashboards export --chart derivatives-by-country --scope atom "
        "--countries CN,US,FR,DE,GB --period month --format csv --out atom-derivatives.csv",
        differences="ATOM counts only derivatives with more than 5 downloads and groups Europe as one "
        "region; this tool counts every derivative the snapshots list (by creation date) and shows "
        "countries, so Europe is the sum of the European countries shown. Repositories created before "
        "the Hub stored creation dates carry 2 March 2022 and are not placed in their real period.",
    ),
    PublishedFigure(
        figure="Qwen vs Llama cumulative downloads, mid-December 2025",
        value="~385M vs ~346M (family totals)",
        source="Press coverage of Stanford HAI, 'Beyond DeepSeek'",
        options="Chart organisations-compare-cumulative; orgs Qwen,meta-llama (all their namespaces); scope "
        "all; up to 2025-12-15.",
        command="python -m dashboards export --chart organisations-compare-cumulative --orgs Qwen,meta-llama "
        "--to 2025-12-15 --format csv --out qwen-vs-llama.csv",
        differences="'Family totals' may include re-uploads and quantisations by others; this comparison "
        "counts the organisations' own namespaces (derivatives by others are in "
        "organisations-compare-derivatives, counted, not their downloads).",
    ),
)
