"""Generated hub-stats dumps (`models.parquet`) and a Hub dataset serving them from the fake Hub.

`write_dump(folder / "2025-06-01" / "models.parquet", models)` writes a file in the hub-stats schema
(Hub JSON field names, dates as `...Z` strings, `safetensors` and `baseModels` as structs, extra columns the
importer must ignore). `serve_dataset(fake_hub, "owner/name", folder)` adds the routes huggingface_hub uses
to list and read a dataset (`/api/datasets/{repo}[/revision/{rev}]`,
`/api/datasets/{repo}/tree/{rev}[/{path}]`
and `/datasets/{repo}/resolve/{rev}/{path}` with HTTP ranges) and records which byte ranges were read.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.parquet as pq

from tests.fakehub import FakeHub, FakeRequest, FakeResponse

COMMIT = "c0ffee" + "0" * 34

_SAFETENSORS = pa.struct([("total", pa.int64()), ("parameters", pa.map_(pa.string(), pa.int64()))])
_BASE_MODELS = pa.struct([("relation", pa.string()), ("models", pa.list_(pa.struct([("id", pa.string())])))])
DUMP_SCHEMA = pa.schema(
    [
        ("_id", pa.string()),
        ("id", pa.string()),
        ("author", pa.string()),
        ("downloads", pa.int64()),
        ("downloadsAllTime", pa.int64()),
        ("likes", pa.int64()),
        ("trendingScore", pa.float64()),
        ("createdAt", pa.string()),
        ("lastModified", pa.string()),
        ("pipeline_tag", pa.string()),
        ("library_name", pa.string()),
        ("tags", pa.list_(pa.string())),
        ("safetensors", _SAFETENSORS),
        ("baseModels", _BASE_MODELS),
        ("gated", pa.string()),
        ("cardData", pa.string()),  # a big, incompressible column the importer never needs
    ]
)


def dump_row(
    model_id: str,
    all_time: int | None,
    *,
    parents: tuple[str, ...] = (),
    relation: str = "finetune",
    params: int | None = 7_000_000_000,
    created: str = "2024-05-01T10:00:00.000Z",
) -> dict[str, Any]:
    """One hub-stats row as the dumps hold it."""
    return {
        "_id": hashlib.sha1(model_id.encode()).hexdigest()[:24],
        "id": model_id,
        "author": model_id.split("/")[0],
        "downloads": (all_time or 0) // 10,
        "downloadsAllTime": all_time,
        "likes": 3,
        "trendingScore": 0.5,
        "createdAt": created,
        "lastModified": created,
        "pipeline_tag": "text-generation",
        "library_name": "transformers",
        "tags": ["transformers", *(f"base_model:{relation}:{p}" for p in parents)],
        "safetensors": None if params is None else {"total": params, "parameters": [("BF16", params)]},
        "baseModels": {"relation": relation, "models": [{"id": p} for p in parents]} if parents else None,
        "gated": "false",
        "cardData": "".join(hashlib.sha256(f"{model_id}{i}".encode()).hexdigest() for i in range(2000)),
    }


def write_dump(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=DUMP_SCHEMA), path, row_group_size=max(len(rows), 1))
    return path


@dataclass
class ServedDataset:
    """What the fake Hub serves for one dataset, and what was fetched from it."""

    repo: str
    folder: Path
    sha: str = COMMIT
    ranges: list[tuple[str, int, int]] = field(default_factory=list)  # (path, first byte, last byte)

    def files(self) -> list[str]:
        return sorted(p.relative_to(self.folder).as_posix() for p in self.folder.rglob("*") if p.is_file())

    def bytes_read(self, path: str) -> int:
        return sum(last - first + 1 for p, first, last in self.ranges if p == path)


def serve_dataset(hub: FakeHub, repo: str, folder: Path) -> ServedDataset:
    """Serve `folder` as the dataset `repo` at one commit (any revision name resolves to it)."""
    served = ServedDataset(repo, folder)
    pattern = repo.replace(".", r"\.")

    def info(request: FakeRequest) -> FakeResponse:
        siblings = [{"rfilename": f} for f in served.files()]
        return FakeResponse.json(
            {
                "_id": "0" * 24,
                "id": repo,
                "sha": served.sha,
                "private": False,
                "siblings": siblings,
                "tags": [],
            }
        )

    def tree(request: FakeRequest) -> FakeResponse:
        prefix = unquote(request.match.group("path") or "").strip("/")
        recursive = request.param("recursive", "false").lower() == "true"
        entries, seen = [], set()
        for name in served.files():
            if prefix and not name.startswith(prefix + "/"):
                continue
            rest = name[len(prefix) + 1 :] if prefix else name
            if recursive or "/" not in rest:
                size = (folder / name).stat().st_size
                entries.append({"type": "file", "oid": hashlib.sha1(name.encode()).hexdigest(), "size": size,
                                "path": name})  # fmt: skip
            else:
                directory = f"{prefix}/{rest.split('/')[0]}" if prefix else rest.split("/")[0]
                if directory not in seen:
                    seen.add(directory)
                    entries.append({"type": "directory", "oid": "0" * 40, "size": 0, "path": directory})
        return FakeResponse.json(entries)

    def resolve(request: FakeRequest) -> FakeResponse:
        name = unquote(request.match.group("path"))
        path = folder / name
        if not path.is_file():
            return FakeResponse.error(404, "Entry not found", "EntryNotFound")
        data = path.read_bytes()
        headers = {
            "ETag": f'"{hashlib.sha1(data).hexdigest()}"',
            "X-Repo-Commit": served.sha,
            "Accept-Ranges": "bytes",
            "Content-Type": "application/octet-stream",
        }
        wanted = request.headers.get("range")
        if request.method == "GET" and wanted and wanted.startswith("bytes="):
            first_text, _, last_text = wanted[len("bytes=") :].partition("-")
            first = int(first_text)
            last = min(int(last_text) if last_text else len(data) - 1, len(data) - 1)
            served.ranges.append((name, first, last))
            headers["Content-Range"] = f"bytes {first}-{last}/{len(data)}"
            return FakeResponse(206, data[first : last + 1], headers)
        if request.method == "GET":
            served.ranges.append((name, 0, len(data) - 1))
        return FakeResponse(200, data, headers)

    hub.add_route("GET", rf"^/api/datasets/{pattern}(?:/revision/[^/]+)?$", info, name="dataset-info")
    hub.add_route("GET", rf"^/api/datasets/{pattern}/tree/[^/]+(?P<path>/.*)?$", tree, name="dataset-tree")
    for method in ("GET", "HEAD"):
        hub.add_route(
            method, rf"^/datasets/{pattern}/resolve/[^/]+/(?P<path>.+)$", resolve, name="dataset-file"
        )
    return served
