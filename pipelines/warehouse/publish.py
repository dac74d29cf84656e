"""The warehouse published into an Iceberg store, so that dashboard replicas read it instead of building it.

The host that builds (the scheduler's `warehouse` job, or `python -m pipelines warehouse` by hand)
publishes each new version; a replica with the same store URL and a published warehouse never builds: it
fetches the current published version into its local cache (`<local>/mirror/warehouse/`, the layout a build
writes), opens it read-only like a version built there, and follows newer published versions without
restart.

In the store (`<namespace>.warehouse_versions`, an Iceberg table; files beside it under its location)::

    <table location>/objects/<sha256>
        every file of every published version, named by its content: a file unchanged between versions
        (the facts, hard-linked locally) is stored once
    rows (seq, version, published_at, manifest)
        one per published version kept; `manifest` (JSON) lists every file under the version's directory
        (relative path, bytes, SHA-256) and carries the version's own manifest.json

Publishing uploads every file first and commits the row last: the commit is the pointer, so a reader sees a
version whole or not at all, and a publish interrupted before its commit leaves readers on the version before
(its uploaded objects are reused by the next publish or deleted when no kept version lists them). The commit
also drops rows beyond `KEEP_VERSIONS` (the newest kept, like local versions); objects that only dropped
versions used are deleted after it, never one a kept version lists.

One publisher per store is the design (the scheduler), but two hosts publishing at once lose nothing: a
commit is made only on top of the version its upload started from (checked, and enforced by Iceberg's
optimistic commit, which must not be retried: the three tables here set `commit.retry.num-retries` to 0,
since PyIceberg 0.12 and other engines otherwise commit a refused change again on the newer table), so of two
racing publishes one commits and the other fails with a PublishError saying so; its next run fetches the
winner's version (a local build of the same name that is not the published one is replaced) and builds on
it. Registering a version in the facts and models tables is skipped once a newer version is published.

A fetch downloads only the files the local cache lacks: a file whose SHA-256 a cached version already has is
hard-linked from it (`<warehouse>/published/<version>.json` keeps each cached version's file list), every
download is checked against its size and SHA-256, the version is assembled in `.<version>.fetching` and
renamed into place before the local pointer is swapped, so the local readers never see it half fetched either.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import json
import logging
import os
import re
import shutil
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from filelock import FileLock

from pipelines.runs import redact
from pipelines.store import Store, StoreError, write_json_atomic
from pipelines.warehouse import versions
from pipelines.warehouse.schema import POINTER, SNAPSHOTS, WarehouseError
from pipelines.warehouse.versions import Version, _prune, current_name, current_version, warehouse_root

if TYPE_CHECKING:
    from pyiceberg.table import Table

    from pipelines.iceberg_store import IcebergStore

log = logging.getLogger(__name__)

VERSIONS_TABLE = "warehouse_versions"
#: The facts of the current published version as an Iceberg table, for other engines (files registered in
#: place: the same objects the versions list).
FACTS_TABLE = "warehouse_facts"
#: The attributed dimensions of every model of the current published version (its `dims`), for other engines
#: to join `warehouse_facts` on `key`: model names, publisher and lineage countries, organisation, size...
MODELS_TABLE = "warehouse_models"
#: The snapshot property naming the published version a commit of the tables above holds.
VERSION_PROPERTY = "owt.warehouse-version"
#: Tags this module names after published versions (and removes when the version is no longer kept).
_VERSION_TAG = re.compile(r"v\d{6,}")
#: Tries of a registration step whose commit another host's same step got in before.
_REGISTER_ATTEMPTS = 3
#: The Iceberg table property (honoured by PyIceberg >= 0.12, Spark, Trino...) of how often a commit the
#: catalog refused is retried on the newer table: never, for the tables here (see the module docstring).
COMMIT_RETRIES_PROPERTY = "commit.retry.num-retries"
OBJECTS_DIR = "objects"
#: This host's copy of each cached version's published file list: `<warehouse>/published/<version>.json`.
INDEX_DIR = "published"
#: Seconds between a replica's checks for a newer published version (env override, e.g. 5 in tests).
POLL_ENV = "OWT_WAREHOUSE_POLL_S"
DEFAULT_POLL_S = 60.0
#: Where the app keeps its Follower (`server.extensions[...]`), to stop it.
FOLLOWER_EXTENSION = "owt.warehouse_follower"
_CHUNK = 1 << 20

_SCHEMA = pa.schema(
    [
        pa.field("seq", pa.int64(), nullable=False),
        pa.field("version", pa.string(), nullable=False),
        pa.field("published_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("manifest", pa.string(), nullable=False),
    ]
)


class PublishError(WarehouseError):
    """A publish or a fetch that cannot go ahead (a download that does not match its checksum, ...)."""


@dataclasses.dataclass(frozen=True)
class Published:
    """One published version: its commit order, name and files (path relative to the version, bytes,
    sha256), and the version's own manifest."""

    seq: int
    version: str
    files: list[dict[str, Any]]
    manifest: dict[str, Any]
    published_at: dt.datetime | None = None

    @property
    def bytes(self) -> int:
        return sum(int(entry["bytes"]) for entry in self.files)

    def index(self) -> dict[str, Any]:
        return {"seq": self.seq, "version": self.version, "files": self.files, "manifest": self.manifest}


@dataclasses.dataclass(frozen=True)
class Fetched:
    """What a fetch did: the version now current locally, files downloaded and reused, bytes downloaded."""

    published: Published
    downloaded: int
    reused: int
    downloaded_bytes: int

    def line(self) -> str:
        return (
            f"warehouse: serving the published version {self.published.version} (no build): "
            f"{self.downloaded} file(s) downloaded ({self.downloaded_bytes:,} bytes), {self.reused} reused"
        )


# ---------------------------------------------------------------------------------------------- the table


def versions_table(store: IcebergStore) -> Table:
    """The table of published versions, created on first use."""
    return store._table(VERSIONS_TABLE, _SCHEMA, partitioned=False)


def published_versions(store: IcebergStore) -> list[Published]:
    """Every published version kept, oldest first (empty when nothing was ever published)."""
    if not store.catalog.table_exists(store._identifier(VERSIONS_TABLE)):
        return []
    rows = versions_table(store).scan().to_arrow().to_pylist()
    found = []
    for row in rows:
        body = json.loads(row["manifest"])
        found.append(
            Published(row["seq"], row["version"], body["files"], body["manifest"], row["published_at"])
        )
    return sorted(found, key=lambda p: p.seq)


def current_published(store: IcebergStore) -> Published | None:
    """The version replicas serve: the last one committed."""
    found = published_versions(store)
    return found[-1] if found else None


def _object_uri(table: Table, sha256: str) -> str:
    return f"{table.location()}/{OBJECTS_DIR}/{sha256}"


# ---------------------------------------------------------------------------------------------- local index


def _index_path(root: Path, name: str) -> Path:
    return root / INDEX_DIR / f"{name}.json"


def _read_index(root: Path, name: str) -> dict[str, Any] | None:
    try:
        return json.loads(_index_path(root, name).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def _cached_files(root: Path) -> dict[str, Path]:
    """sha256 -> a file of a cached version holding those bytes (checked by size: files are never edited)."""
    found: dict[str, Path] = {}
    for index_file in sorted((root / INDEX_DIR).glob("v*.json")):
        index = _read_index(root, index_file.stem)
        for entry in (index or {}).get("files", []):
            path = root / index_file.stem / entry["path"]
            if entry["sha256"] not in found and path.is_file() and path.stat().st_size == int(entry["bytes"]):
                found[entry["sha256"]] = path
    return found


def _forget_pruned(root: Path) -> None:
    """Index files of versions pruned since (their directory is gone)."""
    for index_file in (root / INDEX_DIR).glob("v*.json"):
        if not (root / index_file.stem).is_dir():
            index_file.unlink(missing_ok=True)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def describe_version(version: Version) -> list[dict[str, Any]]:
    """Every file under the version's directory (path, bytes, sha256), whatever files a version holds. A
    file hard-linked from a version published before (the facts) keeps the checksum computed then."""
    root = version.path.parent
    known: dict[tuple[int, int, int], str] = {}
    for index_file in (root / INDEX_DIR).glob("v*.json"):
        for entry in (_read_index(root, index_file.stem) or {}).get("files", []):
            try:
                stat = (root / index_file.stem / entry["path"]).stat()
            except FileNotFoundError:
                continue
            known[(stat.st_dev, stat.st_ino, stat.st_size)] = entry["sha256"]
    files = []
    for path in sorted(p for p in version.path.rglob("*") if p.is_file()):
        stat = path.stat()
        sha = known.get((stat.st_dev, stat.st_ino, stat.st_size)) or _sha256(path)
        relative = path.relative_to(version.path).as_posix()
        files.append({"path": relative, "bytes": stat.st_size, "sha256": sha})
    return files


# ---------------------------------------------------------------------------------------------- publishing


def upload(store: IcebergStore, version: Version) -> Published:
    """The first half of a publish: every file of `version` the store lacks, uploaded. Nothing is visible to
    readers until `commit`; returns what to commit."""
    table = versions_table(store)
    latest = current_published(store)
    if latest is not None and latest.version >= version.path.name:
        raise PublishError(
            f"the store's published warehouse is at {latest.version}, not older than this host's "
            f"{version.path.name}: fetch it first (the warehouse command does) and build on top of it"
        )
    files = describe_version(version)
    for entry in files:
        uri = _object_uri(table, entry["sha256"])
        target = table.io.new_input(uri)
        if target.exists() and len(target) == int(entry["bytes"]):
            continue  # the same bytes, published before
        with (
            open(version.path / entry["path"], "rb") as source,
            table.io.new_output(uri).create(overwrite=True) as out,
        ):
            shutil.copyfileobj(source, out, _CHUNK)
    seq = latest.seq + 1 if latest is not None else 1
    return Published(seq, version.path.name, files, version.manifest)


def commit(store: IcebergStore, published: Published) -> None:
    """The second half: one Iceberg commit adds the version's row (the pointer readers follow) and drops the
    rows beyond KEEP_VERSIONS; then the objects only dropped versions listed are deleted."""
    from pyiceberg.exceptions import CommitFailedException
    from pyiceberg.expressions import In

    from pipelines.iceberg_store import _replacing

    table = _refused_commits_not_retried(versions_table(store))  # loaded before the check: a commit after
    before = published_versions(store)  # it is refused by the catalog
    if before and before[-1].seq >= published.seq:
        raise _lost_race(published, before[-1].version)
    kept = before[-(versions.KEEP_VERSIONS - 1) :] if versions.KEEP_VERSIONS > 1 else []
    dropped = [p for p in before if p not in kept]
    body = json.dumps({"files": published.files, "manifest": published.manifest}, sort_keys=True)
    row = pa.table(
        {
            "seq": [published.seq],
            "version": [published.version],
            "published_at": [dt.datetime.now(dt.UTC)],
            "manifest": [body],
        },
        schema=_SCHEMA,
    )
    try:
        with _replacing(), table.transaction() as tx:
            if dropped:
                tx.delete(In("seq", [p.seq for p in dropped]))
            tx.append(row, snapshot_properties={VERSION_PROPERTY: published.version})
    except CommitFailedException as error:
        latest = current_published(store)
        raise _lost_race(published, latest.version if latest else "another version") from error
    register_facts(store, published)
    in_use = {entry["sha256"] for p in [*kept, published] for entry in p.files}
    for sha in {entry["sha256"] for p in dropped for entry in p.files} - in_use:
        table.io.delete(_object_uri(table, sha))


def publish(store: IcebergStore, local: Store) -> Published | None:
    """Publish the current local version unless it is the published one already; None before any build."""
    version = current_version(local)
    if version is None:
        return None
    root = warehouse_root(local)
    latest = current_published(store)
    if latest is not None and latest.version == version.path.name:
        if not _is_local_copy(root, version, latest):
            raise PublishError(
                f"the store's published {latest.version} was built by another host, not this one's "
                f"{version.path.name}: run the same command again (it fetches the published version first "
                "and builds on it)"
            )
        # a publish stopped after its version's commit finishes here
        register_facts(store, latest)
        register_models(store, version)
        _remember(root, latest)
        return latest
    published = upload(store, version)
    commit(store, published)
    register_models(store, version)
    _remember(root, published)
    log.info(
        "warehouse: published %s (%d files, %d bytes)",
        published.version,
        len(published.files),
        published.bytes,
    )
    return published


def _lost_race(published: Published, winner: str) -> PublishError:
    return PublishError(
        f"another host published {winner} while this one was publishing {published.version}: nothing of "
        f"this publish is visible to readers; run the same command again (it fetches {winner} and builds "
        "on it)"
    )


def _is_local_copy(root: Path, version: Version, published: Published) -> bool:
    """Whether the local `version` holds exactly the files of `published` (this host published or fetched
    it), not another host's build of the same name."""
    if _read_index(root, version.path.name) == published.index():
        return True
    return describe_version(version) == published.files


def _remember(root: Path, published: Published) -> None:
    """This host's copy of a version's published file list (what fetches and publishes reuse), and no
    stale ones."""
    if _read_index(root, published.version) != published.index():
        (root / INDEX_DIR).mkdir(exist_ok=True)
        write_json_atomic(_index_path(root, published.version), published.index())
    _forget_pruned(root)


def _refused_commits_not_retried(table: Table) -> Table:
    """`table`, with its commits made compare-and-swaps: a commit the catalog refuses (another host committed
    since `table` was loaded) fails instead of being committed again on top of the other host's change (set
    once per table, in a commit of its own; another host setting it at the same moment is fine)."""
    from pyiceberg.exceptions import CommitFailedException

    attempts = 0
    while table.properties.get(COMMIT_RETRIES_PROPERTY) != "0":
        attempts += 1
        try:
            table = table.transaction().set_properties({COMMIT_RETRIES_PROPERTY: "0"}).commit_transaction()
        except CommitFailedException:
            if attempts == _REGISTER_ATTEMPTS:
                raise
            table.refresh()
    return table


def _kept_if_newest(store: IcebergStore, version: str) -> list[str] | None:
    """The names of the published versions kept, if `version` is the newest of them, else None: a newer
    version's publisher registers that one. Read after loading the table to register in, so that a version
    published after this read makes the registration's commit fail, and its retry skip."""
    kept = [p.version for p in published_versions(store)]
    return kept if kept and kept[-1] == version else None


def _facts_table(store: IcebergStore) -> Table:
    from pipelines.warehouse.schema import FACT_SCHEMA

    return store._table(FACTS_TABLE, FACT_SCHEMA, partitioned=False)


def _holds(table: Table, version: str) -> bool:
    current = table.current_snapshot()
    return current is not None and (current.summary or {}).get(VERSION_PROPERTY) == version


def _retried_on_conflict(step: Callable[..., None]) -> Callable[..., None]:
    """Run a registration step again when its commit is refused: another host may be doing the same step at
    the same moment (the publisher registering its version while a host that fetched it resumes), and the
    steps are idempotent, so the second try finds the work done or does it on the fresh table (PyIceberg's own
    retry of an expiry whose commits the other host expired first ends in a ValidationException)."""
    from pyiceberg.exceptions import CommitFailedException, ValidationException

    @functools.wraps(step)
    def retried(*args: Any) -> None:
        for attempt in range(1, _REGISTER_ATTEMPTS + 1):
            try:
                return step(*args)
            except (CommitFailedException, ValidationException):
                if attempt == _REGISTER_ATTEMPTS:
                    raise

    return retried


@_retried_on_conflict
def register_facts(store: IcebergStore, published: Published) -> None:
    """Make `<namespace>.warehouse_facts` hold exactly the facts files of `published` (one commit: the old
    files out, these in, registered where they are with PyIceberg's add_files), so other engines can query the
    facts (columns: pipelines.warehouse.schema.FACT_SCHEMA; `key` joins `warehouse_models`). Does nothing when
    it holds them already, or when a newer version is published."""
    from pyiceberg.expressions import AlwaysTrue

    from pipelines.iceberg_store import _replacing

    facts = _refused_commits_not_retried(_facts_table(store))
    kept = _kept_if_newest(store, published.version)
    if kept is None:
        return
    if not _holds(facts, published.version):
        objects = versions_table(store)
        uris = [_object_uri(objects, e["sha256"]) for e in published.files if e["path"].startswith("facts/")]
        with _replacing(), facts.transaction() as tx:
            tx.delete(AlwaysTrue())  # whole files only: never a rewrite
            properties = {VERSION_PROPERTY: published.version}
            tx.add_files(uris, snapshot_properties=properties, check_duplicate_files=False)
    _tag_current(facts, published.version)
    _drop_unkept_commits(facts, kept)


@_retried_on_conflict
def register_models(store: IcebergStore, version: Version) -> None:
    """Make `<namespace>.warehouse_models` hold the attributed dimensions of every model of `version` (its
    `dims`: key, model_id, namespace, organization, publisher and lineage countries, size class, task...),
    replaced per published version (a table anew when the dims' columns changed), and keep only the commits
    of the versions kept. Does nothing when it holds them already, or when a newer version is published."""
    import duckdb
    from pyiceberg.expressions import AlwaysTrue

    from pipelines.iceberg_store import _replacing
    from pipelines.warehouse.schema import DIMS

    identifier = store._identifier(MODELS_TABLE)
    models = None
    if store.catalog.table_exists(identifier):
        models = _refused_commits_not_retried(store.catalog.load_table(identifier))
    kept = _kept_if_newest(store, version.path.name)
    if kept is None:
        return
    if models is not None and _holds(models, version.path.name):  # a publish resumed after this step: no
        _tag_current(models, version.path.name)  # need to read the dims
        _drop_unkept_commits(models, kept)
        return
    con = duckdb.connect(str(version.tables), read_only=True)
    try:
        rows = con.sql(f"SELECT * FROM {DIMS} ORDER BY key").to_arrow_table()
    finally:
        con.close()
    models = store._table(MODELS_TABLE, rows.schema, partitioned=False)
    if models.schema().column_names != rows.schema.names:  # the dims changed columns: a table anew
        store.catalog.drop_table(identifier)
        models = store._table(MODELS_TABLE, rows.schema, partitioned=False)
    models = _refused_commits_not_retried(models)
    with _replacing(), models.transaction() as tx:
        tx.delete(AlwaysTrue())  # untagged: only the commit holding the rows names the version
        tx.append(rows, snapshot_properties={VERSION_PROPERTY: version.path.name})
    _tag_current(models, version.path.name)
    _drop_unkept_commits(models, kept)


def _tag_current(table: Table, version: str) -> None:
    """Name the table's current commit after the published version it holds (an Iceberg tag): other engines
    time travel by it (`FOR VERSION AS OF 'v000002'`), and no expiry (`maintain`'s included) removes a tagged
    commit, however long publishing stops."""
    current = table.current_snapshot()
    if current is None:
        return
    ref = table.metadata.refs.get(version)
    if ref is not None and ref.snapshot_id != current.snapshot_id:  # a name reused: the table was made anew
        table.manage_snapshots().remove_tag(version).commit()
    if ref is None or ref.snapshot_id != current.snapshot_id:
        table.manage_snapshots().create_tag(current.snapshot_id, version).commit()


def _drop_unkept_commits(table: Table, kept: list[str]) -> None:
    """Remove the version tags of versions no longer kept and expire the commits of `table` that hold no
    kept version (nor are its current one, nor tagged by someone else): time travel on it reaches exactly the
    kept versions, whose files are all still in the store."""
    from pyiceberg.table.refs import SnapshotRefType

    stale = [
        name
        for name, ref in table.metadata.refs.items()
        if ref.snapshot_ref_type == SnapshotRefType.TAG and _VERSION_TAG.fullmatch(name) and name not in kept
    ]
    if stale:
        manage = table.manage_snapshots()
        for name in stale:
            manage = manage.remove_tag(name)
        manage.commit()
    protected = {ref.snapshot_id for ref in table.metadata.refs.values()}  # the current one among them
    dropped = [
        snapshot.snapshot_id
        for snapshot in table.metadata.snapshots
        if (snapshot.summary or {}).get(VERSION_PROPERTY) not in kept
        and snapshot.snapshot_id not in protected
    ]
    if dropped:
        _expire(table, dropped)


def _expire(table: Table, snapshot_ids: list[int]) -> None:
    """Expire these commits of `table`. Another host dropping the same commits may have expired some first:
    PyIceberg then refuses the whole expiry with a ValueError naming a missing commit, which is a conflict
    like any other (CommitFailedException: the registration step runs again on the fresh table)."""
    from pyiceberg.exceptions import CommitFailedException

    try:
        table.maintenance.expire_snapshots().by_ids(snapshot_ids).commit()
    except ValueError as error:
        table.refresh()
        if all(table.metadata.snapshot_by_id(snapshot_id) is not None for snapshot_id in snapshot_ids):
            raise
        raise CommitFailedException(f"another host expired some of these commits first ({error})") from error


# ---------------------------------------------------------------------------------------------- fetching


def fetch(store: IcebergStore, local: Store) -> Fetched | None:
    """Make the current published version the local current one, downloading only the files the local cache
    lacks; None when nothing is published (the caller builds as before)."""
    latest = current_published(store)
    if latest is None:
        return None
    root = warehouse_root(local)
    root.mkdir(parents=True, exist_ok=True)
    with FileLock(str(root / ".lock")):  # the build's lock: one writer of this cache at a time
        target = root / latest.version
        index = _read_index(root, latest.version)
        complete = index is not None and index["seq"] == latest.seq and (target / "manifest.json").is_file()
        downloaded = reused = size = 0
        if not complete:
            if target.exists():  # an older local build of the same name: not the published one
                retired = root / f".{latest.version}.retired-{os.getpid()}"
                os.rename(target, retired)
                shutil.rmtree(retired, ignore_errors=True)
            downloaded, reused, size = _assemble(store, latest, root)
        if current_name(local) != latest.version:
            write_json_atomic(root / POINTER, {"version": latest.version})
        _prune(root, keep=latest.version)
        _remember(root, latest)
    return Fetched(latest, downloaded, reused, size)


def _assemble(store: IcebergStore, published: Published, root: Path) -> tuple[int, int, int]:
    """Build `published`'s directory from cached files and downloads; (downloaded, reused, bytes)."""
    table = versions_table(store)
    cached = _cached_files(root)
    staging = root / f".{published.version}.fetching"
    shutil.rmtree(staging, ignore_errors=True)
    downloaded = reused = size = 0
    try:
        for entry in published.files:
            path = staging / entry["path"]
            path.parent.mkdir(parents=True, exist_ok=True)
            if entry["sha256"] in cached:
                os.link(cached[entry["sha256"]], path)
                reused += 1
                continue
            _download(table, entry, path)
            downloaded += 1
            size += int(entry["bytes"])
        os.rename(staging, root / published.version)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return downloaded, reused, size


def _download(table: Table, entry: dict[str, Any], path: Path) -> None:
    """One object into `path`, hashed as it is written: a mismatch is an error, never a served file."""
    digest, written = hashlib.sha256(), 0
    with table.io.new_input(_object_uri(table, entry["sha256"])).open() as source, open(path, "wb") as out:
        for block in iter(lambda: source.read(_CHUNK), b""):
            digest.update(block)
            written += len(block)
            out.write(block)
    if written != int(entry["bytes"]) or digest.hexdigest() != entry["sha256"]:
        raise PublishError(
            f"published file {entry['path']} ({entry['sha256'][:16]}...) came down as {written} bytes with "
            f"sha256 {digest.hexdigest()[:16]}...: the store's copy is damaged; publish the warehouse again"
        )


def catch_up(store: IcebergStore, local: Store) -> Fetched | None:
    """Before a build on the publishing host: fetch the published version when this host has none, an older
    one (a new or reinstalled scheduler host) or its own build of the same name (it lost a publishing race),
    so the build continues the published history instead of starting over or forking it."""
    latest = current_published(store)
    name = current_name(local)
    if latest is None or (name is not None and name > latest.version):
        return None  # nothing published, or built here since and not published yet
    current = current_version(local)
    root = warehouse_root(local)
    if current is not None and name == latest.version and _is_local_copy(root, current, latest):
        return None  # the published one already (another build of that name is fetched over)
    fetched = fetch(store, local)
    if fetched is not None:
        log.info(fetched.line())
    return fetched


# ---------------------------------------------------------------------------------------------- following


class Follower:
    """Keeps a replica on the current published version: a daemon thread (started once per process, on
    first use: gunicorn workers fork after the app is made) checks every `interval` seconds and, when a
    newer version was committed, brings the snapshot mirror up to date and fetches it; the readers then
    open it on their next query, as after a local build."""

    def __init__(self, store: IcebergStore, local: Store, interval: float | None = None) -> None:
        self.store, self.local = store, local
        configured = float(os.environ.get(POLL_ENV) or DEFAULT_POLL_S)
        self.interval = interval if interval is not None else configured
        self._started_in: int | None = None
        self._lock = threading.Lock()
        self._stopped = threading.Event()

    def ensure_running(self) -> None:
        with self._lock:
            if self._started_in == os.getpid():
                return
            self._started_in = os.getpid()
        threading.Thread(target=self._loop, name="owt-warehouse-follower", daemon=True).start()

    def check(self) -> Fetched | None:
        """Fetch the current published version when it is not the local one; None when nothing changed.
        A stateless reader's channel mirrors are brought up to date at every check: a channel's commits do not
        wait for the next warehouse version."""
        if isinstance(self.local, StatelessReader):
            self.store.mirror_channels()
        latest = current_published(self.store)
        if latest is None:
            return None
        index = _read_index(warehouse_root(self.local), latest.version)
        if current_name(self.local) == latest.version and index is not None and index["seq"] == latest.seq:
            return None
        if not isinstance(self.local, StatelessReader):  # a mirror's reader lists the mirror's dates
            self.store.mirror()
        fetched = fetch(self.store, self.local)
        if fetched is not None:
            log.info(fetched.line())
        return fetched

    def stop(self) -> None:
        """End the checks (the thread exits after its current one)."""
        self._stopped.set()

    def _loop(self) -> None:
        while not self._stopped.wait(self.interval):
            try:
                self.check()
            except Exception as error:  # the store unreachable for a while: keep serving, try again later
                log.error("warehouse: checking for a newer published version failed: %s", redact(str(error)))


# ---------------------------------------------------------------------------------------------- readers


def published_source(local: Store, source: Store | None = None) -> IcebergStore | None:
    """The Iceberg store whose published warehouse `local` serves: `source` when it is one, else the store
    OWT_STORE names when `local` is its folder mirror (exports and job workers open the mirror only)."""
    from pipelines.iceberg_store import IcebergStore
    from pipelines.store import StoreError, resolve_store

    if isinstance(local, StatelessReader):  # it knows its store (an export given --store, no OWT_STORE)
        return local.source
    if source is None and os.environ.get("OWT_STORE", "").startswith("iceberg+"):
        try:
            source = resolve_store(None)
        except StoreError:
            return None
    if isinstance(source, IcebergStore) and source.root / "mirror" == local.root:
        return source
    return None


def follower_for(local: Store, source: Store | None = None) -> Follower | None:
    """A Follower for a long-running reader of `local` (an app process, a job worker) when `local` is the
    mirror of an Iceberg store (see `published_source`); None otherwise (a folder store, the demo store)."""
    iceberg = published_source(local, source)
    return Follower(iceberg, local) if iceberg is not None else None


def fetch_for_readers(source: IcebergStore, local: Store) -> tuple[bool, tuple[str | None, str] | None]:
    """For `refresh_for_readers`: (whether a published version is served instead of a build, the failure to
    report as it does). A failed fetch serves the version cached before; with none, WarehouseError."""
    try:
        fetched = fetch(source, local)
    except Exception as error:  # the store unreachable, a damaged object: serve what is cached
        if current_version(local) is None:
            raise WarehouseError(
                redact(f"cannot fetch the published warehouse of {source}: {type(error).__name__}: {error}")
            ) from error
        served, why = current_name(local), redact(f"{type(error).__name__}: {error}")
        log.error("fetching the published warehouse failed, serving the cached version %s: %s", served, why)
        return True, (served, why)
    if fetched is None:
        return False, None
    log.info(fetched.line())
    return True, None


@dataclasses.dataclass(frozen=True)
class StatelessReader(Store):
    """What a replica of an Iceberg store with a published warehouse reads: no snapshot files at all. `root`
    is the folder a mirror would be (`<local>/mirror`), where only the fetched warehouse lives (`warehouse/`);
    the snapshot dates are those of the warehouse version served (its manifest's), and each date's provenance
    is the summary that version keeps (tables.duckdb's `snapshots` table), so what the pages say about the
    snapshots always matches the numbers they show. A day's rows, when a reader needs them, are scanned from
    the Iceberg tables (`source`); nothing is written here but the warehouse cache."""

    source: IcebergStore = dataclasses.field(kw_only=True, compare=False, repr=False)

    def dates(self) -> list[dt.date]:
        version = current_version(self)
        listed = version.manifest.get("snapshots") or {} if version is not None else {}
        return sorted(dt.date.fromisoformat(day) for day in listed)

    def has_snapshot(self, date: dt.date) -> bool:
        return date in self.dates()

    def provenance(self, date: dt.date) -> dict[str, Any]:
        version = current_version(self)
        found = _snapshot_summaries(str(version.tables)).get(date) if version is not None else None
        if found is None:
            raise StoreError(f"no snapshot for {date.isoformat()} in the published warehouse ({self.source})")
        return dict(found)

    def read_table(self, date: dt.date, columns: Iterable[str] | None = None) -> pa.Table:
        return self.source.read_table(date, columns)

    def data_files(self, date: dt.date) -> list[Path]:
        raise StoreError(
            f"a replica of {self.source} keeps no snapshot files: read a day's rows with read_table (a scan)"
        )

    def publish(
        self, staged: Path, date: dt.date, provenance: dict[str, Any], *, replace: bool = False
    ) -> Path:
        raise StoreError(f"a replica of {self.source} only reads: snapshots are written to the store itself")


@functools.lru_cache(maxsize=4)
def _snapshot_summaries(tables: str) -> dict[dt.date, dict[str, Any]]:
    """date -> the provenance a warehouse version keeps of it (rows, source, synthetic, scope, times), read
    once per version (a version's files never change)."""
    import duckdb

    con = duckdb.connect(tables, read_only=True)
    try:
        rows = con.execute(f"SELECT date, rows, synthetic, source, provenance FROM {SNAPSHOTS}").fetchall()
    finally:
        con.close()
    return {
        date: {
            **json.loads(summary),
            "date": date.isoformat(),
            "rows": n,
            "synthetic": synthetic,
            "source": json.loads(source),
        }
        for date, n, synthetic, source, summary in rows
    }


def reader_store(store: Store) -> Store:
    """The store readers (the app, exports, job workers) open for `store`: for an Iceberg store whose
    warehouse is published, a `StatelessReader` (no Hub snapshot mirrored; the channels' tables, which
    are small and which no warehouse holds, mirrored into `<local>/mirror/channels/`); otherwise
    `readable_store` as before (a folder store itself, an Iceberg store without a published warehouse
    its mirror, to build from)."""
    from pipelines.iceberg_store import IcebergStore
    from pipelines.store import readable_store

    if isinstance(store, IcebergStore) and current_published(store) is not None:
        store.mirror_channels()  # the channels' snapshots are small: mirrored beside the reader
        return StatelessReader(store.root / "mirror", source=store)
    return readable_store(store)


def status(store: IcebergStore) -> dict[str, Any]:
    """The published warehouse, for `python -m pipelines status`: the version replicas serve."""
    found = published_versions(store)
    if not found:
        return {"versions": 0}
    latest = found[-1]
    return {
        "versions": len(found),
        "version": latest.version,
        "published_at": latest.published_at.isoformat(timespec="seconds") if latest.published_at else None,
        "files": len(latest.files),
        "bytes": latest.bytes,
        "snapshots": len(latest.manifest.get("snapshots") or {}),
    }
