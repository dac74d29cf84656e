"""Known-answer data for the fake OpenRouter: a few named models and 48 small closed ones, every day alike.

Tokens per day (the truth the fake ranks; 55 permaslugs, so the top 50 leave 5 fillers to `other`):

    openai/gpt-4o-2024-05-13                 500   closed (catalogued, no Hub id)
    qwen/qwen3-235b-a22b-04-28               200   open, Qwen/Qwen3-235B-A22B -> registry Qwen: CN
                                             400   from 2025-07-01 on
    qwen/qwen3-235b-a22b-04-28:free          100   the same model's free variant: CN
    meta-llama/llama-3.3-70b-instruct        100   open, meta-llama: US
    mistralai/mistral-small-3.1-24b-2503      50   open, mistralai: FR (Rest of world when CN,US are shown)
    stealth/horizon-alpha                     50   unknown (stealth)
    acme-labs/delisted-7b                     40   unknown (never in the catalogue)
    closedco/m-01 .. closedco/m-48         2 each  closed; ties rank alphabetically: m-01..m-43 in the top
                                                   50, m-44..m-48 summed into `other` = 5 x 2 = 10 (unknown)

Per day, before 2025-07-01: total T = 500 + 200 + 100 + 100 + 50 + 50 + 40 + 48 x 2 = 1136; unknown
U = 50 + 40 + 10 = 100; open: CN 300, US 100, FR 50 (O = 450); closed C = 500 + 43 x 2 = 586.
From 2025-07-01: Qwen +200, so T = 1336 and CN 500 (O = 650).
"""

from __future__ import annotations

import datetime as dt

from tests.fakeopenrouter import FakeOpenRouter, model_entry

KEY = "sk-or-v1-7e1f0c9a4b2d8e6f3a5c7b9d1e0f2a4c6b8d0e2f4a6c8e0b2d4f6a8c0e2b4d6f8"
GPT = "openai/gpt-4o-2024-05-13"
QWEN = "qwen/qwen3-235b-a22b-04-28"
QWEN_FREE = QWEN + ":free"
LLAMA = "meta-llama/llama-3.3-70b-instruct"
MISTRAL = "mistralai/mistral-small-3.1-24b-2503"
STEALTH = "stealth/horizon-alpha"
DELISTED = "acme-labs/delisted-7b"
FILLERS = [f"closedco/m-{n:02d}" for n in range(1, 49)]
QWEN_DOUBLES = dt.date(2025, 7, 1)

HUB_IDS = {
    QWEN: "Qwen/Qwen3-235B-A22B",
    LLAMA: "meta-llama/Llama-3.3-70B-Instruct",
    MISTRAL: "mistralai/Mistral-Small-3.1-24B-Instruct-2503",
}


def day_usage(day: dt.date) -> dict[str, int]:
    usage = {GPT: 500, QWEN: 400 if day >= QWEN_DOUBLES else 200, QWEN_FREE: 100, LLAMA: 100, MISTRAL: 50,
             STEALTH: 50, DELISTED: 40}
    return usage | dict.fromkeys(FILLERS, 2)


def load(fake: FakeOpenRouter, first: dt.date, last: dt.date) -> None:
    """Usage for every day in [first, last], and the catalogue (without the stealth and delisted models)."""
    day = first
    while day <= last:
        fake.usage[day] = day_usage(day)
        day += dt.timedelta(days=1)
    fake.catalogue = [model_entry(GPT, None), *(model_entry(s, h) for s, h in HUB_IDS.items())]
    fake.catalogue += [model_entry(slug, None) for slug in FILLERS]


def qwen_tokens_on_jan_20(rankings, vintage: dt.date) -> int:  # type: ignore[no-untyped-def]
    """Qwen's tokens of 2026-01-20 as the vintage `vintage` of a rankings store reports them (the day a
    second pull restates in the vintage tests)."""
    frame = rankings.read_snapshot(vintage)
    day = frame["observed_at"].dt.date == dt.date(2026, 1, 20)
    row = frame[(frame["channel_model_id"] == QWEN) & day]
    return int(row["value"].iloc[0])
