"""A real-shaped public download history, written out as the monthly CSV files such trackers keep.

One organisation (Qwen, CN in the registry), 12 models, 19 snapshots 18-47 days apart (irregular, like a
tracker run by hand), as a reader can check by hand from the tables below:

- `DATES[i]` is the date of snapshot i; `ALL_TIME[model][i]` and `THIRTY_DAY[model][i]` its counts there,
  `None` where the model is not in that file (not yet created, or absent);
- `Qwen/Qwen2-7B-Instruct` is absent from snapshots 6 and 7: 61 days between its counts of 2024-06-04 and
  2024-08-04;
- `Qwen/Qwen2.5-Coder-7B` (from snapshot 11) and `Qwen/QwQ-32B` (from 12) appear without `createdAt`; the
  other models' creation dates are in `CREATED`;
- `Qwen/Qwen2-0.5B` reports 700 fewer all-time downloads at snapshot 12 than at 11 (a Hub recount);
- snapshots 0-2 (an older layout: `model_id,downloads_last_month`) and 10 (`downloadsAllTime` left out)
  hold 30-day counts only (`THIRTY_DAY_ONLY`): their all-time counts are not in the files.

The values follow a pattern (each model gains a fixed number of downloads a day), but the tables are the
definition: Qwen2-72B's counts at 2024-05-05, 2024-09-09 and 2025-02-15 and Qwen2-57B-A14B's at 2024-05-05 and
2024-09-09 are a few downloads off it, so that their gaps leave leftovers for the gap rule to place.
`write_history(folder)` writes the files; `expected_rows(i)` is what snapshot i must hold.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
from pathlib import Path

ORGANISATION = "Qwen"

DATES = tuple(
    dt.date.fromisoformat(day)
    for day in (
        "2024-01-01", "2024-02-01", "2024-03-01", "2024-03-19", "2024-05-05", "2024-06-04", "2024-06-24",
        "2024-07-15", "2024-08-04", "2024-09-09", "2024-10-04", "2024-11-17", "2024-12-18", "2025-01-06",
        "2025-02-15", "2025-03-15", "2025-04-17", "2025-05-09", "2025-06-13",
    )
)  # fmt: skip
GAPS = tuple((later - earlier).days for earlier, later in itertools.pairwise(DATES))

#: Snapshots whose files carry 30-day counts only.
THIRTY_DAY_ONLY = (0, 1, 2, 10)
#: Snapshots in the older layout (`model_id`, `downloads_last_month`; no createdAt, task or library).
OLD_LAYOUT = (0, 1, 2)

#: createdAt as the files give it; None: the files leave it empty.
CREATED = {
    "Qwen/Qwen2-0.5B": "2023-12-20T09:00:00.000Z",
    "Qwen/Qwen2-1.5B": "2023-12-20T09:00:00.000Z",
    "Qwen/Qwen2-7B": "2023-12-20T09:00:00.000Z",
    "Qwen/Qwen2-7B-Instruct": "2023-12-22T09:00:00.000Z",
    "Qwen/Qwen2-72B": "2023-12-22T09:00:00.000Z",
    "Qwen/Qwen2-57B-A14B": "2024-02-10T09:00:00.000Z",
    "Qwen/Qwen2.5-0.5B": "2024-09-18T09:00:00.000Z",
    "Qwen/Qwen2.5-7B": "2024-09-18T09:00:00.000Z",
    "Qwen/Qwen2.5-14B": "2024-09-18T09:00:00.000Z",
    "Qwen/Qwen2.5-72B-Instruct": "2024-09-18T09:00:00.000Z",
    "Qwen/Qwen2.5-Coder-7B": None,
    "Qwen/QwQ-32B": None,
}

# Position i of each tuple is snapshot DATES[i] (ten on the first line, nine on the second).
ALL_TIME: dict[str, tuple[int | None, ...]] = {
    "Qwen/Qwen2-0.5B": (
        5000, 14300, 23000, 28400, 42500, 51500, 57500, 63800, 69800, 80600,
        88100, 101300, 100600, 106300, 118300, 126700, 136600, 143200, 153700,
    ),
    "Qwen/Qwen2-1.5B": (
        8000, 14200, 20000, 23600, 33000, 39000, 43000, 47200, 51200, 58400,
        63400, 72200, 78400, 82200, 90200, 95800, 102400, 106800, 113800,
    ),
    "Qwen/Qwen2-7B": (
        20000, 51000, 80000, 98000, 145000, 175000, 195000, 216000, 236000, 272000,
        297000, 341000, 372000, 391000, 431000, 459000, 492000, 514000, 549000,
    ),
    "Qwen/Qwen2-7B-Instruct": (
        12000, 27500, 42000, 51000, 74500, 89500, None, None, 120000, 138000,
        150500, 172500, 188000, 197500, 217500, 231500, 248000, 259000, 276500,
    ),
    "Qwen/Qwen2-72B": (
        3000, 4550, 6000, 6900, 9263, 10750, 11750, 12800, 13800, 15611,
        16850, 19050, 20600, 21550, 23551, 24950, 26600, 27700, 29450,
    ),
    "Qwen/Qwen2-57B-A14B": (
        None, None, 800, 1520, 3401, 4600, 5400, 6240, 7040, 8491,
        9480, 11240, 12480, 13240, 14840, 15960, 17280, 18160, 19560,
    ),
    "Qwen/Qwen2.5-0.5B": (
        None, None, None, None, None, None, None, None, None, None,
        12800, 48000, 72800, 88000, 120000, 142400, 168800, 186400, 214400,
    ),
    "Qwen/Qwen2.5-7B": (
        None, None, None, None, None, None, None, None, None, None,
        32000, 120000, 182000, 220000, 300000, 356000, 422000, 466000, 536000,
    ),
    "Qwen/Qwen2.5-14B": (
        None, None, None, None, None, None, None, None, None, None,
        9600, 36000, 54600, 66000, 90000, 106800, 126600, 139800, 160800,
    ),
    "Qwen/Qwen2.5-72B-Instruct": (
        None, None, None, None, None, None, None, None, None, None,
        14400, 54000, 81900, 99000, 135000, 160200, 189900, 209700, 241200,
    ),
    "Qwen/Qwen2.5-Coder-7B": (
        None, None, None, None, None, None, None, None, None, None,
        None, 4200, 25900, 39200, 67200, 86800, 109900, 125300, 149800,
    ),
    "Qwen/QwQ-32B": (
        None, None, None, None, None, None, None, None, None, None,
        None, None, 30000, 58500, 118500, 160500, 210000, 243000, 295500,
    ),
}
THIRTY_DAY: dict[str, tuple[int | None, ...]] = {
    "Qwen/Qwen2-0.5B": (
        5000, 9000, 9000, 9000, 9000, 9000, 9000, 9000, 9000, 9000,
        9000, 9000, 9000, 9000, 9000, 9000, 9000, 9000, 9000,
    ),
    "Qwen/Qwen2-1.5B": (
        6000, 6000, 6000, 6000, 6000, 6000, 6000, 6000, 6000, 6000,
        6000, 6000, 6000, 6000, 6000, 6000, 6000, 6000, 6000,
    ),
    "Qwen/Qwen2-7B": (
        20000, 30000, 30000, 30000, 30000, 30000, 30000, 30000, 30000, 30000,
        30000, 30000, 30000, 30000, 30000, 30000, 30000, 30000, 30000,
    ),
    "Qwen/Qwen2-7B-Instruct": (
        12000, 15000, 15000, 15000, 15000, 15000, None, None, 15000, 15000,
        15000, 15000, 15000, 15000, 15000, 15000, 15000, 15000, 15000,
    ),
    "Qwen/Qwen2-72B": (
        1500, 1500, 1500, 1500, 1500, 1500, 1500, 1500, 1500, 1500,
        1500, 1500, 1500, 1500, 1500, 1500, 1500, 1500, 1500,
    ),
    "Qwen/Qwen2-57B-A14B": (
        None, None, 800, 1200, 1200, 1200, 1200, 1200, 1200, 1200,
        1200, 1200, 1200, 1200, 1200, 1200, 1200, 1200, 1200,
    ),
    "Qwen/Qwen2.5-0.5B": (
        None, None, None, None, None, None, None, None, None, None,
        12800, 24000, 24000, 24000, 24000, 24000, 24000, 24000, 24000,
    ),
    "Qwen/Qwen2.5-7B": (
        None, None, None, None, None, None, None, None, None, None,
        32000, 60000, 60000, 60000, 60000, 60000, 60000, 60000, 60000,
    ),
    "Qwen/Qwen2.5-14B": (
        None, None, None, None, None, None, None, None, None, None,
        9600, 18000, 18000, 18000, 18000, 18000, 18000, 18000, 18000,
    ),
    "Qwen/Qwen2.5-72B-Instruct": (
        None, None, None, None, None, None, None, None, None, None,
        14400, 27000, 27000, 27000, 27000, 27000, 27000, 27000, 27000,
    ),
    "Qwen/Qwen2.5-Coder-7B": (
        None, None, None, None, None, None, None, None, None, None,
        None, 4200, 21000, 21000, 21000, 21000, 21000, 21000, 21000,
    ),
    "Qwen/QwQ-32B": (
        None, None, None, None, None, None, None, None, None, None,
        None, None, 30000, 45000, 45000, 45000, 45000, 45000, 45000,
    ),
}


def file_name(index: int) -> str:
    return f"qwen-models-{DATES[index].isoformat()}.csv"


def expected_rows(index: int) -> dict[str, tuple[int | None, int | None]]:
    """model -> (all-time, 30-day) as snapshot `index` must store them (all-time None where the file has
    30-day counts only)."""
    return {
        model: (None if index in THIRTY_DAY_ONLY else counts[index], THIRTY_DAY[model][index])
        for model, counts in ALL_TIME.items()
        if counts[index] is not None
    }


def write_history(folder: Path) -> Path:
    """Write one CSV per snapshot into `folder` (created), in the layout each era of the tracker used."""
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(len(DATES)):
        rows = expected_rows(index)
        if index in OLD_LAYOUT:
            header = ["model_id", "downloads_last_month"]
        else:
            header = ["modelId", "createdAt", "pipeline_tag", "library_name", "likes", "downloads"]
            header += [] if index in THIRTY_DAY_ONLY else ["downloadsAllTime"]
        with open(folder / file_name(index), "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            for model, (all_time, thirty_day) in rows.items():
                values = {
                    "model_id": model,
                    "modelId": model,
                    "downloads_last_month": thirty_day,
                    "downloads": thirty_day,
                    "downloadsAllTime": all_time,
                    "createdAt": CREATED[model] or "",
                    "pipeline_tag": "text-generation",
                    "library_name": "transformers",
                    "likes": 10,
                }
                writer.writerow(["" if values[name] is None else values[name] for name in header])
    return folder
