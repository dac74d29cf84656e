"""Every measure and series rule, written once: the text charts show as subtitles and Methodology prints.

A chart never describes its own numbers: it names a measure id from `MEASURES`, and its subtitle is that
measure's `definition`; the Methodology page lists `explanation` for all of them. The numeric rules that
the warehouse applies live here too, next to their text: the SQL of size classes and of gap spreading is
generated here (`size_class_sql`, `spread_share_sql`, `grouped_spread_sql`), and the plain Python of every
series rule (`size_class`, `spread`, `model_facts`, `daily_downloads`) is the reference that
tests/test_rules_properties.py compares the warehouse's production SQL with on generated inputs.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pipelines.registry import INDIVIDUAL, INTERNATIONAL, ISO_COUNTRIES

HUB_API = "Hugging Face Hub API (/api/models), dated snapshots taken by this project"
HUB_STATS = "Hugging Face Hub metadata dumps (hub-stats models.parquet), imported as snapshots"
OPENROUTER = "OpenRouter Data API (rankings-daily, /models), CC BY 4.0, daily vintages pulled by this project"
ATOM = "ATOM Project (Lambert & Brand, arXiv 2604.07190), tracked-models list, Apache-2.0"
REGISTRY = "Open Weights Tracker organisation registry (data/orgs.csv)"
MODELSCOPE_API = "ModelScope OpenAPI v1 (/openapi/v1/models), dated snapshots taken by this project"

#: The crossover: A leads B when A's value is at least (1 + CROSSOVER_MARGIN) times B's, and the lead must
#: last this many complete periods (see the `crossover` measure).
CROSSOVER_MARGIN = 0.02
CROSSOVER_PERIODS = 3
_PERIOD_WORDS = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six"}


@dataclass(frozen=True)
class Measure:
    """One measure or rule: `definition` fits under a chart title, `explanation` goes to Methodology."""

    id: str
    label: str
    unit: str
    definition: str
    explanation: str
    source: str
    kind: str = "measure"  # "measure" | "dimension" | "rule"


_ALL: tuple[Measure, ...] = (
    Measure(
        "downloads_30d",
        "30-day downloads",
        "downloads",
        "The Hub's rolling count of downloads over the 30 days before each snapshot, as reported.",
        "The `downloads` field of the Hub API: a rolling 30-day count at the moment the snapshot was taken. "
        "It is shown as reported, never recomputed. Summing it across days double counts (each day overlaps "
        "the previous 29), so it is only ever summed across models at one date.",
        HUB_API,
    ),
    Measure(
        "downloads_all_time",
        "All-time downloads",
        "downloads",
        "Cumulative downloads since the repository was created, as reported by the Hub at each snapshot.",
        "The `downloadsAllTime` field of the Hub API (returned only when requested with `expand`). It "
        "includes downloads from before this store's first snapshot. Charts of cumulative downloads use the "
        "cleaned cumulative count (see the clamping rule): equal to the reported value until the Hub ever "
        "reports a decrease for a model, after which the decrease is not subtracted.",
        HUB_API,
    ),
    Measure(
        "downloads_period",
        "Downloads in the period",
        "downloads",
        "Growth of all-time downloads between consecutive snapshots (downloads in between).",
        "The Hub keeps no history, so downloads in a day, week or month are the differences of "
        "`downloadsAllTime` between consecutive snapshots of the same model, placed on the days the later "
        "snapshot holds that the earlier one did not (day-label rule). Differences spanning several "
        "days are spread evenly over those days (gap rule), negative differences count as zero (clamping "
        "rule), and a model's first count is attributed as stated in the first-seen rule. A period's total "
        "is the sum over its days.",
        HUB_API,
    ),
    Measure(
        "cumulative",
        "Cumulative downloads",
        "downloads",
        "Sum of all-time downloads of the models in each group at each snapshot date.",
        "The cleaned all-time count (see All-time downloads) summed over the models of a group on each "
        "snapshot date. It includes every download the Hub counted before the first snapshot, so it starts "
        "above zero. It is the running sum of the daily series plus those first counts, so it agrees with "
        "the period charts: a model absent from some snapshots keeps its last count, and the growth seen "
        "when it returns is spread over the days of its absence (gap rule). Snapshot dates before the view's "
        "first all-time count (files with 30-day counts only) have no cumulative figure.",
        HUB_API,
    ),
    Measure(
        "share",
        "Share of downloads",
        "%",
        "A group's downloads in the period divided by the downloads of all models in view in that period.",
        "Shares are computed within the current view (scope, task and size filters applied), over every "
        "attributed country including individuals and unattributed organisations, so the groups shown sum to"
        " 100% together with 'Rest of world' and 'Unattributed'.",
        HUB_API,
    ),
    Measure(
        "token_share",
        "Share of OpenRouter tokens",
        "%",
        "A group's tokens over all OpenRouter tokens of the period; the bar above adds the tokens no model "
        "is known for.",
        "Tokens are prompt plus completion tokens per UTC day as OpenRouter's rankings-daily dataset reports "
        "them: the day's 50 models with the most tokens, plus one 'other' row summing all the rest. Public "
        "traffic only (private models and endpoints and zero-data-retention traffic are excluded at source), "
        "and each provider counts with its own tokenizer, so shares are comparable, token counts across "
        "models less so. A period's share is the group's tokens summed over its days divided by all tokens "
        "of those days. Tokens that cannot be attributed (the 'other' row, stealth and router models, "
        "models delisted before the first pull) could belong to any group, so each share is a range: at "
        "least the attributed tokens' share (the line), at most that plus every unattributed token (the top "
        "of the bar). OpenRouter restates recent days as its figures settle: every daily pull is kept as "
        "an immutable vintage and each day is read from the newest vintage holding it. Tokens are never "
        "added to downloads.",
        OPENROUTER,
    ),
    Measure(
        "openrouter_attribution",
        "OpenRouter attribution",
        "",
        "Open: OpenRouter links the model to a Hugging Face model; closed: it links none. Variants (:free) "
        "count as their base.",
        "Each ranked permaslug loses its variant suffix (:free, :beta, ...) and is looked up as the "
        "canonical_slug of OpenRouter's /models catalogue, in the newest daily catalogue that lists it (a "
        "model delisted since keeps its last known link). Its hugging_face_id decides open (a Hub model) or "
        "closed (none); an open model's country is the registry country of that Hub id's namespace "
        "(publisher rule). The 'other' row, stealth and router models (stealth/..., openrouter/...) and "
        "permaslugs no catalogue ever listed stay unattributed.",
        OPENROUTER,
        "rule",
    ),
    Measure(
        "publisher_country",
        "Publisher country",
        "",
        "The country of the organisation that owns the repository's namespace (e.g. Qwen/... is CN).",
        "ATOM's rule: a repository belongs to the country of the organisation that publishes it, taken from "
        "the organisation registry; never inherited from a base model. Namespaces not in the registry are "
        "counted as 'Unattributed' (an organisation we have not researched yet) or individuals, never "
        "guessed.",
        REGISTRY,
        "dimension",
    ),
    Measure(
        "lineage_country",
        "Lineage country",
        "",
        "The publisher country of the root of the model's base-model chain (a re-upload of Qwen counts for "
        "CN).",
        "Follows the `base_model` tags (finetune, quantized, adapter, merge) up to the original model and "
        "takes that model's publisher country. A model without a base model is its own root. This answers "
        "'whose models are being used', including through third-party quantisations and fine-tunes.",
        REGISTRY,
        "dimension",
    ),
    Measure(
        "derivative_share",
        "New derivatives",
        "models",
        "Models that declare a base model (fine-tunes, quantisations, adapters, merges), by creation date.",
        "Counts repositories first created in the period (by `createdAt`) that declare a base model through "
        "a `base_model:<relation>:<id>` tag, grouped by the lineage country of that base and by relation. "
        "Shares are of all new derivatives in the view.",
        HUB_API,
    ),
    Measure(
        "size_class",
        "Size class",
        "",
        "ATOM's classes by total parameters; 5-7B counts as 1-5B below 6B and as 7-9B from 6B.",
        "ATOM's labels <1B, 1-5B, 7-9B, 10-50B, 50-100B, 100-250B, 250B+ leave gaps. Here every class is a "
        "half-open interval of total parameters: <1B, [1B, 6B), [6B, 10B), [10B, 50B), [50B, 100B), [100B, "
        "250B), 250B and above. Nominal 7-9B models weigh up to about 9.6B, hence the 10B bound; the 5-7B "
        "gap is split at 6B. Models without a parameter count (no safetensors metadata) have no class.",
        ATOM,
        "dimension",
    ),
    Measure(
        "ram_v2",
        "Relative Adoption Metric (v2)",
        "ratio",
        "Downloads t days after release / its size class's reference: the highest 10th-best count at ages up "
        "to t.",
        "ATOM's Relative Adoption Metric, v2 (May 2026). For a model of age t days, the numerator is its "
        "all-time downloads at age t. The denominator is the size class's reference curve: at each age, the "
        "10th-highest all-time downloads among models of the same size class whose count at that age is in "
        "the store, then the running maximum of that over ages up to t. The raw 10th-best is not monotone: "
        "the models with a count at one age are not those at the next (models released on different days, "
        "gaps in the snapshots), and a drop of the 10th-best made a model's RAM jump overnight without a "
        "download more. All-time downloads never fall, so a reference that never falls is the faithful one; "
        "the curve rises with the class and stays flat where the raw 10th-best dips. RAM above 1 means a "
        "top-10 trajectory for its size. Undefined until 10 comparable models have a count at some age.",
        ATOM,
    ),
    Measure(
        "hhi",
        "Concentration (HHI)",
        "index 0-10,000",
        "Herfindahl-Hirschman index of organisations' download shares in each period (0-10,000).",
        "Sum of squared percentage shares of downloads across publishing organisations in each period (the "
        "registry's organization: renamed namespaces such as THUDM and zai-org count as one; an unregistered "
        "namespace is its own). 10,000 means one organisation has every download; below 1,500 is usually "
        "called unconcentrated.",
        HUB_API,
    ),
    Measure(
        "gini",
        "Concentration (Gini)",
        "index 0-1",
        "Gini coefficient of downloads across organisations with downloads in each period (0-1).",
        "0 means every organisation with downloads in the period has the same number; values close to 1 mean"
        " a few organisations have almost all of them. Organisations with no downloads in the period are "
        "left out.",
        HUB_API,
    ),
    Measure(
        "growth",
        "Growth",
        "%",
        "Change of downloads over the previous period of the same length, in percent.",
        "(downloads in this period / downloads in the previous period) - 1. Undefined when the previous "
        "period had no downloads or is not covered by snapshots.",
        HUB_API,
    ),
    Measure(
        "momentum",
        "Momentum",
        "%",
        "Share of a group's monthly downloads going to models released that month or the two before.",
        "A group with high momentum is winning with new releases rather than living off older models. A "
        "release is new in its calendar month and the two following ones (about 90 days); momentum is "
        "computed per month whatever the period of the view. Release date is the Hub's `createdAt` (older "
        "repositories all carry 2022-03-02, so they never count as new).",
        HUB_API,
    ),
    Measure(
        "crossover",
        "Crossover",
        "date",
        f"The first complete period after which A's downloads stay at least {CROSSOVER_MARGIN:.0%} above B's "
        f"for at least {_PERIOD_WORDS[CROSSOVER_PERIODS]} complete periods.",
        "Read on the downloads per period of the view (its period, attribution and dates). A is ahead in a "
        f"period when its downloads exceed B's by at least {CROSSOVER_MARGIN:.0%}, so a near tie is not a "
        f"lead. The crossover is the first period of a run of at least {_PERIOD_WORDS[CROSSOVER_PERIODS]} "
        "periods with A "
        "ahead that follows a period without A ahead. Only complete periods count: a period the snapshots "
        "cover in part (the running month) is never used. When A leads from the first complete period "
        f"shown, or no lead lasts {_PERIOD_WORDS[CROSSOVER_PERIODS]} periods, there is no crossover in the "
        "selected dates. The chart of downloads per period marks the crossover it finds.",
        HUB_API,
    ),
    Measure(
        "incomplete_period",
        "Incomplete period",
        "",
        "A period the snapshots cover only in part (e.g. the running month): drawn dashed or hatched, "
        "labelled.",
        "Downloads of a period are summed over the days the snapshots cover, so a period the snapshots "
        "cover in part (the running month, a week still under way, a first period starting before the first "
        "snapshot or the chosen start date) has a low total for that reason alone, not because downloads "
        "fell. Such a period is drawn dashed (lines) or hatched (bars) with a label such as 'Dec 2026 to "
        "date, 3 of 31 days', carries `complete = false` in the chart's CSV, and is never used for a "
        "headline card, a crossover or a change on the period before. New derivatives per period follow the "
        "same rule: the running period counts only the models created up to the last snapshot.",
        HUB_API,
        "rule",
    ),
    Measure(
        "coverage",
        "Attribution coverage",
        "%",
        "Share of 30-day downloads whose publisher (or lineage) country is known.",
        "Known means a country: the registry gives the organisation an ISO country code. International "
        "organisations (no single country), registered organisations whose country is not confirmed, "
        "individuals and unregistered namespaces are not known. Shown beside charts so a reader can judge "
        "how much of the total is explained.",
        REGISTRY,
    ),
    Measure(
        "gap_rule",
        "Gap rule",
        "",
        "Each model's downloads between snapshots more than a day apart are spread evenly over the days "
        "in between.",
        "When consecutive snapshots of a model are d days apart (missing days, weekly dumps, the model "
        "missing from some snapshots), that model's all-time difference D is spread over those d days in "
        "whole downloads: day i of the gap gets floor(i*D/d) - floor((i-1)*D/d), so the days add up exactly"
        " to D. Each model is spread on its own, then models are added up (a group's days are the sum of "
        "its models' days, not a spread of the group's sum). Nothing is invented beyond the reported "
        "totals; periods that end inside a gap get the days' share.",
        HUB_API,
        "rule",
    ),
    Measure(
        "day_label_rule",
        "Day-label rule",
        "",
        "A snapshot dated D holds the downloads up to the end of day D-1; growth goes on the days it holds.",
        "A snapshot's counts are the Hub's totals at its fetch time. The scheduled snapshot runs at 02:30 "
        "UTC and public dumps are taken early on their date, so a snapshot dated D holds the downloads up to "
        "about the end of day D-1. The growth between snapshots dated P and D is therefore placed on the "
        "days P to D-1 (the gap rule spreads it over them), a first count on day D-1, and the cumulative "
        "count shown at D is the one D reported. Monthly snapshots on the 1st thus give each calendar month "
        "its own downloads, and daily snapshots give each day the downloads of the day before their date. "
        "A model created on its first snapshot's own date has its first count placed on the day before.",
        HUB_API,
        "rule",
    ),
    Measure(
        "clamping_rule",
        "Clamping rule",
        "",
        "A decrease of all-time downloads is flagged and counted as zero; the lower value becomes the "
        "reference.",
        "The Hub's counts are not guaranteed monotonic (counting rules change retroactively). A negative "
        "difference is kept in the warehouse's anomalies table with both raw values, counted as zero "
        "downloads, and later differences are taken from the new, lower count. Flags are countable per "
        "snapshot.",
        HUB_API,
        "rule",
    ),
    Measure(
        "first_seen_rule",
        "First-seen rule",
        "",
        "A model's first count is history (not in any period) unless it was created after the previous "
        "snapshot.",
        "The first time a model appears, its all-time count covers everything before. If the model was "
        "created after the previous snapshot date, that count is downloads of the interval from its creation"
        " day to the last day this snapshot holds (spread by the gap rule; see the day-label rule). "
        "Otherwise (the store's first snapshot, or an older model appearing late) it is a baseline: it "
        "counts in cumulative charts but in no period.",
        HUB_API,
        "rule",
    ),
    Measure(
        "rolling_average",
        "Rolling average",
        "downloads",
        "Each day: the mean of the downloads of the N days ending that day; a day without downloads "
        "counts 0.",
        "Daily series are noisy (weekly cycles, one-day spikes), so daily views can show an N-day rolling "
        "average instead (`rolling=7` or `rolling=28` in the URL, `--rolling` on the command line): each "
        "day's value is the sum of the downloads of the N days ending that day, divided by N. A country "
        "group without downloads on one of those days counts 0 for it. To average the first days of the "
        "selected dates, the N-1 days before them are read too; a day whose N days reach before the first "
        "day the store counts has no value (so a series starting at the store's first day starts N-1 days "
        "later). It applies to day periods only; weeks and months already sum whole periods.",
        HUB_API,
        "rule",
    ),
    Measure(
        "date_presets",
        "Date presets",
        "",
        "Last 30 days, 3 or 12 months, year to date or all, counted back from the last day the store counts.",
        "The date presets end on the last day the store's newest snapshot counts (the day before its date, "
        "day-label rule), not on today: 'last 30 days' is that day and the 29 before it; 'last 3 months' "
        "and 'last 12 months' start the day after the same day 3 or 12 months earlier (the month's last "
        "day when that month is shorter); 'year to date' starts on 1 January of that day's year (on 1 "
        "January it is that one day); 'all' is every date. A link with a preset (`range=30d|3m|12m|ytd|all`) "
        "keeps meaning 'the latest N days' as new snapshots arrive; a link with dates (`from=...&to=...`) "
        "keeps its dates. When both are given, the preset wins.",
        HUB_API,
        "rule",
    ),
    Measure(
        "missing_rule",
        "Missing values rule",
        "",
        "A missing all-time count is skipped; the next reported count is compared with the last known one.",
        "When a snapshot has no `downloadsAllTime` for a model (or the model is missing from it), nothing is"
        " attributed to that day; the next reported value is differenced against the last reported value and"
        " spread by the gap rule over the whole interval.",
        HUB_API,
        "rule",
    ),
    Measure(
        "synthetic",
        "Synthetic data",
        "",
        "Generated demo data: realistic in shape, not real downloads.",
        "Snapshots written by `python -m pipelines demo` carry `synthetic: true` in their provenance. They "
        "mimic the public figures' shape (China overtaking the US in 2025) with real organisation names, but"
        " every number is generated. Any chart built on them says so.",
        "Open Weights Tracker demo generator",
        "rule",
    ),
    Measure(
        "channel_downloads",
        "Downloads by channel",
        "downloads",
        "Each channel's own download count, shown per channel and never added across channels into one "
        "unlabelled total.",
        "Hugging Face counts a download when a model's query file (config.json and the like) is fetched; "
        "ModelScope publishes one cumulative `downloads` counter per model whose counting rule is "
        "unpublished (its SDK marks each snapshot download with its own id, which suggests one download per "
        "snapshot). They are not the same measure, so charts show them side by side or stacked with the "
        "channel named. ModelScope's downloads per period are differences of its cumulative counter "
        "between this project's dated snapshots, with the Hub's rules (day-label, gap, clamping, first-seen)."
        " A ModelScope model counts for the organisation behind its weights: official owners through "
        "data/modelscope_namespaces.csv; re-uploads in ModelScope-run mirror namespaces (LLM-Research, "
        "AI-ModelScope) through the Hub model they link, else the registered Hub model of the same name "
        "(the earliest created when several organisations have one); others are unattributed. "
        "Hub-only filters (scope, task, size class) do not apply to ModelScope's series.",
        MODELSCOPE_API,
    ),
    # ---- issue 13, points 3-4: organisations compared, the leader vs the next N, shares over a window ----
    Measure(
        "window_share",
        "Share of downloads over the selected dates",
        "%",
        "A group's downloads over the whole selected dates divided by the downloads of all models in view.",
        "One number per country group for the whole date range (the form of published figures such as "
        "'Aug 2024 - Aug 2025: China 17.1%, US 15.8%'): the group's downloads in the range (differences of "
        "all-time counts, as in every period chart) over all downloads in the view in the range, so the rows "
        "add up to 100%. Beside it: the downloads, the models of the group in the range's last snapshot, and "
        "the coverage of the range, the share of its downloads whose country is known (an ISO code).",
        HUB_API,
    ),
    Measure(
        "organisation_downloads",
        "Downloads of an organisation",
        "downloads",
        "Downloads of the models in all the organisation's namespaces (registry organisation), per period.",
        "An organisation is every namespace the registry gives the same `organization` (THUDM and zai-org "
        "are one), or a namespace on its own when it is not registered. Its downloads per period are those "
        "of its models (downloads in the period, as everywhere); its cumulative downloads add its models' "
        "first counts (first-seen rule) to them; its share is of all downloads in the view in the period.",
        REGISTRY,
    ),
    Measure(
        "models_released",
        "Models released",
        "models",
        "Models created in the period in the organisation's namespaces (by the Hub's createdAt).",
        "Every repository of the organisation counts in the period of its `createdAt`, originals and its "
        "own fine-tunes or quantisations alike. Repositories created before the Hub stored creation dates "
        "all carry 2 March 2022.",
        HUB_API,
    ),
    Measure(
        "organisation_derivatives",
        "Derivatives of an organisation's models",
        "models",
        "Others' models created in the period whose lineage root is in the organisation's namespaces.",
        "A derivative counts for the base organisation that owns the root of its base-model chain (the "
        "namespace of the lineage root), in the period of its `createdAt`; the organisation's own "
        "derivatives of its models are left out (as on the organisation page).",
        HUB_API,
    ),
    Measure(
        "leader_vs_next",
        "The leading organisation vs the next N",
        "downloads",
        "Per period: the organisation with the most downloads, and the next N organisations combined.",
        "ATOM's chart ('Qwen 153.6M vs 71.2M for the next eight orgs combined'): in each period the "
        "organisations of the view are ranked by their downloads in that period; the first is the leader "
        "(it can change from one period to the next, and its name is in the data), ranks 2 to N+1 are "
        "summed. Organisations as in the organisation comparison (registry organisation, else namespace).",
        REGISTRY,
    ),
    Measure(
        "individuals_grouping",
        "Individuals grouped as International/Online",
        "",
        "Individuals, communities and international organisations are one group: International/Online.",
        "Economies of Open Intelligence groups unaffiliated individuals as 'International/Online' (23.8% of "
        "downloads, Aug 2024 - Aug 2025). With this grouping (view option individuals=international-online)"
        " the models attributed to individuals or communities (INDIVIDUAL: registered as such, or "
        "unregistered namespaces that read like a person's) and to international organisations (INTL: no "
        "single country) form that group, instead of being counted in Unattributed and Rest of world. "
        "Unregistered organisations stay Unattributed.",
        REGISTRY,
        "rule",
    ),
    Measure(
        "derivative_downloads",
        "Downloads of new derivatives",
        "downloads",
        "Downloads in the selected dates of the derivatives created in the selected dates.",
        "The downloads in the period (same rules: day-label, gap, clamping, first-seen) of the models "
        "counted as new derivatives, summed over the days of the selected dates; per period, a period's "
        "derivatives are those created in it and their downloads are counted from their creation to the end"
        " of the selected dates. Without dates, every derivative in the store and all of its downloads "
        "between the first and the last snapshot.",
        HUB_API,
    ),
    Measure(
        "cross_border",
        "Cross-border derivative",
        "",
        "A derivative whose publisher country is known (an ISO code) and differs from its lineage country "
        "(also known).",
        "A derivative (a model declaring a base model) is cross-border when the country of its publisher "
        "and the country at the root of its base-model chain are both ISO country codes and differ, e.g. a "
        "fine-tune of Llama (US) published by a Chinese university. Derivatives by individuals, unregistered "
        "organisations or international organisations, or of such bases, are never called cross-border (the "
        "country is not known), but they are not dropped: the flow matrix shows them in their own rows and "
        "columns (Individual / community, Unregistered organisation, International). Countries not selected"
        " in the view are grouped as Rest of world, so a Rest-of-world cell on the diagonal can hold "
        "cross-border derivatives (e.g. French-published derivatives of German bases).",
        REGISTRY,
        "rule",
    ),
    Measure(
        "base_family",
        "Base family",
        "",
        "The organisation of the root of a derivative's base-model chain (Meta for Llama, Alibaba for Qwen).",
        "A derivative's family is the registry organisation of its lineage root's namespace (so Llama "
        "models, under meta-llama, are the Meta family; Qwen/ the Alibaba Cloud (Qwen team) family); a root "
        "whose namespace is not in the registry gives its namespace as the family. Organisations with "
        "several namespaces (THUDM and zai-org) are one family.",
        REGISTRY,
        "rule",
    ),
    Measure(
        "flow_row_share",
        "Share of the row",
        "%",
        "Each cell divided by its row's total: where one publisher country's derivatives come from.",
        "In the flow matrix (derivative publisher country x base lineage country), a row share is the cell's"
        " new derivatives (or their downloads) divided by all of that publisher group's, so each row sums to"
        " 100%.",
        HUB_API,
    ),
)

MEASURES: dict[str, Measure] = {m.id: m for m in _ALL}

#: How individuals and international organisations are grouped on country charts (the view's
#: `individuals`): "unattributed" (the default: individuals in Unattributed, international organisations in
#: Rest of world) or "international-online" (both as INTERNATIONAL_ONLINE; measure `individuals_grouping`).
INDIVIDUAL_GROUPINGS: tuple[str, ...] = ("unattributed", "international-online")
INTERNATIONAL_ONLINE = "International/Online"
#: The attribution values that the international-online grouping puts together.
INTERNATIONAL_ONLINE_CODES: tuple[str, ...] = (INDIVIDUAL, INTERNATIONAL)
#: The organisation comparison shows at most this many organisations.
MAX_COMPARED = 8
#: The leader-vs-next chart sums this many organisations after the leader by default (ATOM's eight).
LEADER_NEXT_DEFAULT = 8
LEADER_NEXT_MAX = 50


def measure(measure_id: str) -> Measure:
    """The measure with this id (KeyError naming the known ids otherwise)."""
    try:
        return MEASURES[measure_id]
    except KeyError:
        raise KeyError(f"unknown measure {measure_id!r}; known: {', '.join(MEASURES)}") from None


#: (label, lower bound inclusive, upper bound exclusive) in parameters; see the `size_class` measure.
SIZE_CLASS_BOUNDS: tuple[tuple[str, float, float], ...] = (
    ("<1B", 0, 1e9),
    ("1-5B", 1e9, 6e9),
    ("7-9B", 6e9, 10e9),
    ("10-50B", 10e9, 50e9),
    ("50-100B", 50e9, 100e9),
    ("100-250B", 100e9, 250e9),
    ("250B+", 250e9, math.inf),
)


def size_class(params_total: float | None) -> str | None:
    """ATOM size class of a parameter count (None when the count is unknown or not positive)."""
    if params_total is None or not params_total > 0:
        return None
    for label, low, high in SIZE_CLASS_BOUNDS:
        if low <= params_total < high:
            return label
    return None


def size_class_sql(column: str) -> str:
    """The same classification as a SQL CASE over a trusted column name (for the warehouse build)."""
    bounded = [(label, high) for label, _low, high in SIZE_CLASS_BOUNDS if high != math.inf]
    arms = " ".join(f"WHEN {column} < {high:.0f} THEN '{label}'" for label, high in bounded)
    top = SIZE_CLASS_BOUNDS[-1][0]
    return f"CASE WHEN {column} IS NULL OR {column} <= 0 THEN NULL {arms} ELSE '{top}' END"


def ram_reference_curve(tenth_best: Sequence[tuple[int, float | None]]) -> list[tuple[int, float | None]]:
    """The RAM reference curve of one size class from (age, 10th-best count or None) pairs: at each age the
    highest 10th-best at that age or before (None until there is one). The warehouse's SQL
    (`pipelines.warehouse.ram_reference_curve_sql`) must agree with this reference."""
    curve: list[tuple[int, float | None]] = []
    best: float | None = None
    for age, value in sorted(tenth_best, key=lambda pair: pair[0]):
        if value is not None and (best is None or value > best):
            best = value
        curve.append((age, best))
    return curve


def spread(total: int, days: int) -> list[int]:
    """The gap rule, for one model: whole downloads per day of a `days`-long gap, adding up exactly to
    `total` (the reference the warehouse's SQL, `spread_share_sql`, is tested against)."""
    if days < 1:
        raise ValueError("a gap spans at least one day")
    return [(i * total) // days - ((i - 1) * total) // days for i in range(1, days + 1)]


def spread_share_sql(day: str, total: str, days: str) -> str:
    """`spread` as SQL: the share of day `day` (1..days) of `total` over `days`, over trusted expressions."""
    return f"(({day}) * ({total})) // ({days}) - ((({day}) - 1) * ({total})) // ({days})"


def grouped_spread_sql(day: str, total: str, models: str, remainder: str, days: str) -> str:
    """The sum of `spread` over `models` models that share a gap of `days` days and the same remainder
    `total_m % days`, given their summed `total`: each model's share of day i is its quotient plus the
    spread of its remainder, so the group's is (total - models*remainder)/days + models * spread(remainder).
    Equal to spreading each model and adding (tested with hypothesis), with one row per remainder instead
    of one per model."""
    quotient = f"(({total}) - ({models}) * ({remainder})) // ({days})"
    return f"({quotient} + ({models}) * ({spread_share_sql(day, remainder, days)}))"


#: The day-label rule: a snapshot dated D holds the downloads the Hub counted up to its fetch time, which
#: for a snapshot taken early on D (the scheduled one runs at 02:30 UTC; public dumps on the 1st of a month)
#: is about the end of day D-1. So what a snapshot adds is placed on days up to D - SNAPSHOT_DAY_OFFSET.
SNAPSHOT_DAY_OFFSET = 1


def last_counted_day(snapshot_date: dt.date) -> dt.date:
    """The last calendar day whose downloads a snapshot of this date holds (day-label rule)."""
    return snapshot_date - dt.timedelta(days=SNAPSHOT_DAY_OFFSET)


@dataclass(frozen=True)
class Fact:
    """One sighting of a model after the series rules: `inc` downloads on the `span` days ending at `date`,
    `baseline` a first count that belongs to no period, `cum` the cleaned all-time count."""

    date: dt.date
    inc: int
    span: int
    baseline: int
    cum: int
    flag: str  # "ok" | "clamped" | "missing" | "baseline" | "new"


def model_facts(
    sightings: Sequence[tuple[dt.date, int | None, dt.date | None]], snapshot_dates: Sequence[dt.date]
) -> list[Fact]:
    """The clamping, first-seen and missing-values rules for one model, written plainly: the reference the
    warehouse's differencing SQL is tested against. `sightings` are (snapshot date, reported all-time count
    or None, creation day or None) in date order; `snapshot_dates` are every snapshot date of the store."""
    facts: list[Fact] = []
    last: tuple[dt.date, int] | None = None  # the last reported count and its date
    cum = 0
    for date, raw, created in sightings:
        if raw is None:
            facts.append(Fact(date, 0, 0, 0, cum, "missing"))
            continue
        inc = span = baseline = 0
        if last is None:
            earlier = [d for d in snapshot_dates if d < date]
            if earlier and created is not None and created > max(earlier):
                flag, inc, span = "new", raw, max((last_counted_day(date) - created).days + 1, 1)
            else:
                flag, baseline = "baseline", raw
        elif raw < last[1]:
            flag = "clamped"
        else:
            flag, inc, span = "ok", raw - last[1], (date - last[0]).days
        cum += baseline + inc
        facts.append(Fact(date, inc, span, baseline, cum, flag))
        last = (date, raw)
    return facts


def daily_downloads(facts: Iterable[Fact]) -> dict[dt.date, int]:
    """Each fact's growth spread over the days of its gap (gap rule) ending on the fact's last counted day
    (day-label rule): day -> downloads, days with any."""
    days: dict[dt.date, int] = {}
    for fact in facts:
        if fact.inc > 0:
            for back, share in enumerate(reversed(spread(fact.inc, fact.span))):
                day = last_counted_day(fact.date) - dt.timedelta(days=back)
                days[day] = days.get(day, 0) + share
    return days


def spread_between(total: int, days: int, first: int, last: int) -> int:
    """The gap rule's downloads on days `first`..`last` (1-based, clipped to 1..`days`) of one gap: the
    part of a spread growth that falls inside a range of dates."""
    return sum(spread(total, days)[max(first, 1) - 1 : max(min(last, days), 0)])


def spread_between_sql(first: str, last: str, total: str, days: str) -> str:
    """`spread_between` as SQL, over trusted expressions: the spread's shares telescope, so days a..b of a
    gap hold floor(b*G/d) - floor((a-1)*G/d) (0 when the clipped range is empty)."""
    a, b = f"greatest({first}, 1)", f"least({last}, {days})"
    telescoped = f"(({b}) * ({total})) // ({days}) - ((({a}) - 1) * ({total})) // ({days})"
    return f"(CASE WHEN {b} >= {a} THEN {telescoped} ELSE 0 END)"


def is_cross_border(publisher_country: str | None, lineage_country: str | None) -> bool:
    """The cross-border rule (measure `cross_border`): both countries known ISO codes, and different."""
    known = publisher_country in ISO_COUNTRIES and lineage_country in ISO_COUNTRIES
    return known and publisher_country != lineage_country


def cross_border_sql(publisher: str, lineage: str) -> str:
    """`is_cross_border` as SQL over two trusted column expressions (binds nothing)."""
    codes = ", ".join(f"'{code}'" for code in sorted(ISO_COUNTRIES))
    known = f"{publisher} IN ({codes}) AND {lineage} IN ({codes})"
    return f"coalesce({known} AND {publisher} <> {lineage}, false)"


def base_family(lineage_root: str, organisation: str | None) -> str:
    """The base-family rule (measure `base_family`): the root namespace's organisation, else the namespace."""
    return organisation or lineage_root.split("/")[0]


def base_family_sql(lineage_root: str, organisation: str) -> str:
    """`base_family` as SQL over trusted column expressions."""
    return f"coalesce({organisation}, split_part({lineage_root}, '/', 1))"


#: Calendar months (the period's and the ones before) within which a release counts as new (momentum).
MOMENTUM_MONTHS = 3
#: RAM v2 compares with the model ranked this high in its size class at the same age.
RAM_REFERENCE_RANK = 10


#: The ATOM tracked-models files shipped with the project (see data/ATTRIBUTION.md).
ATOM_DIR = Path(__file__).resolve().parent.parent / "data" / "atom"


def atom_dir() -> Path | None:
    """The directory holding ATOM's `models.csv` (None when no copy is available)."""
    return ATOM_DIR if (ATOM_DIR / "models.csv").is_file() else None


def atom_tracked_ids() -> list[str]:
    """Model ids in ATOM's tracked set (`models.csv` + `extra_models.csv`): the `atom` scope."""
    folder = atom_dir()
    if folder is None:
        return []
    ids: list[str] = []
    for name in ("models.csv", "extra_models.csv"):
        path = folder / name
        if path.is_file():
            with open(path, newline="", encoding="utf-8") as handle:
                ids.extend(row["modelId"].strip() for row in csv.DictReader(handle) if row.get("modelId"))
    return sorted(set(ids))


#: Rolling-average windows a daily view may use (days); see the `rolling_average` measure.
ROLLING_WINDOWS = (7, 28)


def rolling_average(
    daily: Mapping[dt.date, float], first: dt.date, last: dt.date, window: int
) -> dict[dt.date, float]:
    """The `rolling_average` rule for one series: for each day from `first + window - 1` to `last`, the mean
    of `daily` over the `window` days ending that day, a day missing from `daily` counting 0. `first` is the
    first day counted (no value before a whole window of counted days)."""
    out: dict[dt.date, float] = {}
    day = first + dt.timedelta(days=window - 1)
    while day <= last:
        total = sum(daily.get(day - dt.timedelta(days=back), 0) for back in range(window))
        out[day] = total / window
        day += dt.timedelta(days=1)
    return out


#: Date presets (URL `range=`), in the order the control lists them; see the `date_presets` measure.
DATE_PRESETS: dict[str, str] = {
    "30d": "Last 30 days",
    "3m": "Last 3 months",
    "12m": "Last 12 months",
    "ytd": "Year to date",
    "all": "All dates",
}


def _months_before(day: dt.date, months: int) -> dt.date:
    """The same day `months` months earlier, or that month's last day when it is shorter."""
    index = day.year * 12 + day.month - 1 - months
    year, month = index // 12, index % 12 + 1
    following = dt.date(year + (month == 12), month % 12 + 1, 1)
    return dt.date(year, month, min(day.day, (following - dt.timedelta(days=1)).day))


def preset_dates(preset: str, last_day: dt.date) -> tuple[dt.date | None, dt.date | None]:
    """(first, last) day of a date preset ending on `last_day` (the store's last counted day);
    (None, None) for 'all'. See the `date_presets` measure."""
    if preset == "all":
        return None, None
    if preset == "30d":
        return last_day - dt.timedelta(days=29), last_day
    if preset in ("3m", "12m"):
        return _months_before(last_day, int(preset[:-1])) + dt.timedelta(days=1), last_day
    if preset == "ytd":
        return last_day.replace(month=1, day=1), last_day
    raise ValueError(f"unknown date preset {preset!r}; expected one of {', '.join(DATE_PRESETS)}")
