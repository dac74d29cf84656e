"""A hand-made store of known cross-border derivatives, shared by tests/test_crossborder.py and the
browser test of the cross-border views.

Snapshots S1 2025-03-01, S2 2025-04-01, S3 2025-05-01. A model created after the previous snapshot is new at
its first snapshot: its first count is downloads of the days from its creation to the day before the
snapshot (day-label rule), spread evenly (gap rule: days a..b of a G-download, d-day gap hold
floor(b*G/d) - floor((a-1)*G/d)). Countries (test registry): BAAI, Qwen, deepseek-ai CN; meta-llama, google,
unsloth, nvidia US; mistralai FR; bigcode no single country (International); alice an individual; acme-ai
an unregistered organisation.

    #   derivative                       created  base (lineage root)        S2    S3   publisher->lineage
    1   BAAI/Llama-zh                    Mar 10   meta-llama/Llama-3.1-8B    220   520  CN -> US  Meta
    2   BAAI/Gemma-zh                    Apr  5   google/gemma-3-4b           -    260  CN -> US  Google
    3   deepseek-ai/R1-Distill-Llama     Apr 10   meta-llama/Llama-3.1-8B     -    210  CN -> US  Meta
    4   nvidia/Qwen-Nemo                 Mar 20   Qwen/Qwen3-8B              120   220  US -> CN  Qwen
    5   unsloth/Qwen3-8B-GGUF            Apr 15   Qwen/Qwen3-8B               -    160  US -> CN  Qwen
    6   unsloth/Llama-3.1-8B-GGUF        Mar  5   meta-llama/Llama-3.1-8B    270   570  US -> US
    7   alice/qwen-lora                  Apr  2   Qwen/Qwen3-8B               -    290  Individual -> CN
    8   Qwen/Qwen3-8B-Instruct           Mar 15   Qwen/Qwen3-8B              170   470  CN -> CN
    9   mistralai/Mistral-Llama          Apr 20   meta-llama/Llama-3.1-8B     -    110  FR -> US
    10  bigcode/qwen-code                Mar 25   Qwen/Qwen3-8B               70   370  International -> CN
    11  BAAI/Llama-zh-GGUF (of #1)       Apr 25   meta-llama/Llama-3.1-8B     -     60  CN -> US  Meta
    12  nvidia/Llama-Old                 2024     meta-llama/Llama-3.1-8B  (in every snapshot; never new here)
    13  acme-ai/Qwen-acme                Mar 12   Qwen/Qwen3-8B              200   500  Unregistered -> CN

Each first gap is 10 downloads a day (#1: Mar 10..31 = 22 days, 220); each S2->S3 gap (Apr 1..30, 30
days) is 300, i.e. 10 a day, except #4's 100 (floor(10*100/30) = 33 in Apr 1..10).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pipelines.store import Store
from tests.snapshots import model, write_snapshot

S1, S2, S3 = dt.date(2025, 3, 1), dt.date(2025, 4, 1), dt.date(2025, 5, 1)
LLAMA, QWEN, GEMMA = "meta-llama/Llama-3.1-8B", "Qwen/Qwen3-8B", "google/gemma-3-4b"


def created(month: int, day: int) -> dt.datetime:
    return dt.datetime(2025, month, day, tzinfo=dt.UTC)


#: (id, base, relation, created, all-time count at S2 or None, at S3); see the module's table.
DERIVATIVES = (
    ("BAAI/Llama-zh", LLAMA, "finetune", created(3, 10), 220, 520),
    ("BAAI/Gemma-zh", GEMMA, "finetune", created(4, 5), None, 260),
    ("deepseek-ai/R1-Distill-Llama", LLAMA, "finetune", created(4, 10), None, 210),
    ("nvidia/Qwen-Nemo", QWEN, "finetune", created(3, 20), 120, 220),
    ("unsloth/Qwen3-8B-GGUF", QWEN, "quantized", created(4, 15), None, 160),
    ("unsloth/Llama-3.1-8B-GGUF", LLAMA, "quantized", created(3, 5), 270, 570),
    ("alice/qwen-lora", QWEN, "adapter", created(4, 2), None, 290),
    ("Qwen/Qwen3-8B-Instruct", QWEN, "finetune", created(3, 15), 170, 470),
    ("mistralai/Mistral-Llama", LLAMA, "finetune", created(4, 20), None, 110),
    ("bigcode/qwen-code", QWEN, "finetune", created(3, 25), 70, 370),
    ("BAAI/Llama-zh-GGUF", "BAAI/Llama-zh", "quantized", created(4, 25), None, 60),
    ("acme-ai/Qwen-acme", QWEN, "finetune", created(3, 12), 200, 500),
)


#: Registry rows the test registry adds; bigcode as a lab without a country is International.
EXTRA_REGISTRY_ROWS = (
    "BAAI,Beijing Academy of Artificial Intelligence,CN,china,lab,https://www.baai.ac.cn,",
    "nvidia,NVIDIA,US,us,company,https://www.nvidia.com,",
    "bigcode,BigCode,,unknown,lab,https://www.bigcode-project.org,international open collaboration",
)


def write_crossborder_store(root: Path) -> Store:
    """The three snapshots of the table above in a new store at `root`."""
    store = Store(root)
    old = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)
    originals = [model(name, downloads_all_time=1000, created_at=old) for name in (LLAMA, QWEN, GEMMA)]
    always = [*originals, model("nvidia/Llama-Old", parents=[LLAMA], downloads_all_time=900, created_at=old)]
    snapshot_rows: dict[dt.date, list[dict]] = {S1: list(always), S2: list(always), S3: list(always)}
    for model_id, base, relation, made, at_s2, at_s3 in DERIVATIVES:
        for date, count in ((S2, at_s2), (S3, at_s3)):
            if count is not None:
                row = model(
                    model_id, parents=[base], relation=relation, downloads_all_time=count, created_at=made
                )
                snapshot_rows[date].append(row)
    for date, snapshot in snapshot_rows.items():
        write_snapshot(store, date, snapshot)
    return store
