"""What a warehouse build may use: DuckDB's memory limit (beyond it DuckDB spills to disk, in the version's
staging directory) and its threads, applied to every build connection, so a full rebuild of years of history
fits in a small machine's memory instead of needing more RAM each year."""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

import duckdb

from pipelines.warehouse.schema import WarehouseError

#: DuckDB's own default is 80% of the machine's RAM: with pandas and the OS on top, a large rebuild went past
#: it. At 1 GB a rebuild's peak RSS stays at 1.8-2.1 GB from 30 M to 300 M model-days in both measured shapes
#: (flat within 15%), and no slower at 300 M than at 2 GB, where it grew with history up to 2.6 GB
#: (README "Rebuilds at 30 M, 100 M and 300 M model-days").
DEFAULT_MEMORY_LIMIT = "1GB"
MEMORY_LIMIT_ENV = "OWT_MEMORY_LIMIT"
THREADS_ENV = "OWT_THREADS"
#: Where a build spills, inside its staging directory (removed before the version is swapped in).
SPILL_DIR = ".spill"
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB)", re.IGNORECASE)


@dataclasses.dataclass(frozen=True)
class BuildLimits:
    """DuckDB's memory limit (e.g. "2GB") and threads (None: DuckDB's default, one per core)."""

    memory_limit: str = DEFAULT_MEMORY_LIMIT
    threads: int | None = None

    @classmethod
    def resolve(cls, memory_limit: str | None = None, threads: int | None = None) -> BuildLimits:
        """The limits asked for (`--memory-limit`, `--threads`), else $OWT_MEMORY_LIMIT / $OWT_THREADS, else
        the defaults; a malformed value is a WarehouseError saying what is expected."""
        memory = memory_limit or os.environ.get(MEMORY_LIMIT_ENV) or DEFAULT_MEMORY_LIMIT
        if threads is None and os.environ.get(THREADS_ENV):
            threads = _threads(os.environ[THREADS_ENV], f"${THREADS_ENV}")
        if threads is not None and threads < 1:
            raise WarehouseError(f"threads {threads}: expected a whole number of at least 1")
        return cls(parse_memory_limit(memory), threads)


def parse_memory_limit(text: str) -> str:
    """"2GB", "512 MiB", "1.5gb" -> DuckDB's spelling ("2GB", "512MiB", "1.5GB")."""
    match = _SIZE.fullmatch(text.strip())
    if match is None:
        raise WarehouseError(
            f"memory limit {text!r}: expected a size such as 2GB, 512MB or 1.5GiB "
            f"(--memory-limit or ${MEMORY_LIMIT_ENV})"
        )
    number, unit = match.groups()
    unit = unit.upper().replace("I", "i")
    if float(number) <= 0:
        raise WarehouseError(f"memory limit {text!r}: must be more than 0")
    return f"{number}{unit}"


def _threads(text: str, origin: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise WarehouseError(f"{origin} {text!r}: expected a whole number of threads") from None


def apply_limits(con: duckdb.DuckDBPyConnection, limits: BuildLimits, staging: Path) -> None:
    """Bound this build connection's memory; what does not fit spills to `staging/SPILL_DIR`."""
    spill = str(staging / SPILL_DIR).replace("'", "''")
    con.execute(f"SET memory_limit = '{limits.memory_limit}'; SET temp_directory = '{spill}'")
    if limits.threads is not None:
        con.execute(f"SET threads = {int(limits.threads)}")
