"""The org registry: which country (and region) stands behind each Hub namespace.

`data/orgs.csv` is the shipped, curated registry (UTF-8, one row per namespace, header
`namespace,organization,country,region,kind,source,notes`). A user's own override file, named by
`--registry FILE` or env `OWT_REGISTRY`, has the same columns; its rows replace or add namespaces.

`organization` is the organisation's identity, not a label of the namespace: namespaces of one organisation
(renamed ones such as THUDM -> zai-org, moved checkpoints such as google-bert, a company's several
namespaces) carry exactly the same value (compared case-insensitively), and the dashboard counts them as one
organisation. They must then agree on the country.

Attribution is derived from this file at read time, never baked into snapshots, so correcting one row
changes every result for every past snapshot. `Registry.digest` identifies the effective content and is the
cache key of every derived table.

A registry with any error is refused as a whole (`RegistryError` lists every problem as `file:line:
message`), so nothing downstream runs on half a registry.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # pandas costs 0.7 s to import: the pipelines that only read the registry skip it
    import pandas as pd

SHIPPED_REGISTRY = Path(__file__).resolve().parent.parent / "data" / "orgs.csv"
OVERRIDE_ENV = "OWT_REGISTRY"

COLUMNS = ("namespace", "organization", "country", "region", "kind", "source", "notes")

#: Values of the attributed country columns besides ISO 3166-1 alpha-2 codes. This module is the source;
#: `dashboards.filters` mirrors them for display.
INTERNATIONAL = "INTL"  # registered, no single country (reason in the registry notes)
UNATTRIBUTED_ORG = "UNATTRIBUTED_ORG"  # namespace not in the registry, looks like an organisation
INDIVIDUAL = "INDIVIDUAL"  # unregistered, looks personal; or registered individual/community without country
SPECIAL_COUNTRIES = (INTERNATIONAL, UNATTRIBUTED_ORG, INDIVIDUAL)
#: Written in a registry row's country column when the organisation's country is not confirmed: the row is
#: attributed UNATTRIBUTED_ORG (unknown), never INTL, which an empty country means for an organisation.
UNKNOWN_COUNTRY = "unknown"
#: Notes saying a country is not confirmed; on an INTL row (empty country, organisation kind) they are an
#: error, because an unconfirmed country is unknown, not international.
_UNCONFIRMED_RE = re.compile(
    r"\b(?:unconfirmed|unverified|undisclosed|not (?:been )?(?:confirmed|verified|known|disclosed))\b",
    re.IGNORECASE,
)

REGIONS = ("us", "china", "eu", "other", "unknown")
KINDS = ("company", "lab", "university", "government", "community", "individual")
#: Kinds whose rows without a country count as individual/community rather than an international organisation.
PERSONAL_KINDS = frozenset({"community", "individual"})


def _codes(packed: str) -> frozenset[str]:
    """Two-letter codes written back to back (compact, sorted, one table)."""
    return frozenset(packed[i : i + 2] for i in range(0, len(packed), 2))


#: ISO 3166-1 alpha-2, the 249 officially assigned codes.
ISO_COUNTRIES = _codes(
    "ADAEAFAGAIALAMAOAQARASATAUAWAXAZBABBBDBEBFBGBHBIBJBLBMBNBOBQBRBSBTBVBWBYBZCACCCDCFCGCHCICKCLCMCN"
    "COCRCUCVCWCXCYCZDEDJDKDMDODZECEEEGEHERESETFIFJFKFMFOFRGAGBGDGEGFGGGHGIGLGMGNGPGQGRGSGTGUGWGYHKHM"
    "HNHRHTHUIDIEILIMINIOIQIRISITJEJMJOJPKEKGKHKIKMKNKPKRKWKYKZLALBLCLILKLRLSLTLULVLYMAMCMDMEMFMGMHMK"
    "MLMMMNMOMPMQMRMSMTMUMVMWMXMYMZNANCNENFNGNINLNONPNRNUNZOMPAPEPFPGPHPKPLPMPNPRPSPTPWPYQARERORSRURW"
    "SASBSCSDSESGSHSISJSKSLSMSNSOSRSSSTSVSXSYSZTCTDTFTGTHTJTKTLTMTNTOTRTTTVTWTZUAUGUMUSUYUZVAVCVEVGVI"
    "VNVUWFWSYEYTZAZMZW"
)

_CHINA = frozenset({"CN", "HK", "MO"})
#: Europe as in the UN M49 geoscheme (incl. GB, CH, NO, IS, RU, UA), plus Cyprus (EU member; M49 says Asia).
_EUROPE = _codes(
    "ADALATAXBABEBGBYCHCYCZDEDKEEESFIFOFRGBGGGIGRHRHUIEIMISITJELILTLULVMCMDMEMKMTNLNOPLPTRORSRUSESISJ"
    "SKSMUAVA"
)

_NAMESPACE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def region_of(country: str | None) -> str:
    """Reduce a country to ATOM's coarse buckets: US -> us; CN/HK/MO -> china; Europe -> eu; else other.

    Empty, special values (INTL, UNATTRIBUTED_ORG, INDIVIDUAL) and unknown codes reduce to `unknown`.
    """
    if not country or country not in ISO_COUNTRIES:
        return "unknown"
    if country == "US":
        return "us"
    if country in _CHINA:
        return "china"
    if country in _EUROPE:
        return "eu"
    return "other"


def region_map() -> dict[str, str]:
    """Every country value the attributed tables can hold -> its region (for vectorised mapping)."""
    mapping = {code: region_of(code) for code in ISO_COUNTRIES}
    mapping.update(dict.fromkeys(SPECIAL_COUNTRIES, "unknown"))
    return mapping


@dataclass(frozen=True)
class Org:
    """One registry row."""

    namespace: str
    organization: str
    country: str  # ISO 3166-1 alpha-2, UNKNOWN_COUNTRY, or "" (no single country; reason in notes)
    region: str
    kind: str
    source: str
    notes: str

    @property
    def attributed_country(self) -> str:
        """The value attributed tables hold: the country; UNATTRIBUTED_ORG when it is not confirmed; else
        (no single country) INDIVIDUAL or INTL by kind."""
        if self.country == UNKNOWN_COUNTRY:
            return UNATTRIBUTED_ORG
        if self.country:
            return self.country
        return INDIVIDUAL if self.kind in PERSONAL_KINDS else INTERNATIONAL


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a registry file; `line` is 1-based (0 when it concerns the whole file)."""

    path: Path
    line: int
    message: str
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else str(self.path)
        prefix = "" if self.severity == "error" else "warning: "
        return f"{where}: {prefix}{self.message}"


class RegistryError(ValueError):
    """A registry that cannot be used; `problems` holds every error found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        lines = "\n".join(str(p) for p in problems)
        super().__init__(f"the org registry has {len(problems)} error(s); fix them and retry:\n{lines}")


@dataclass(frozen=True, eq=False)
class Registry:
    """The effective registry: shipped rows, override rows layered on top; keyed by lower-case namespace.

    Equal (and hashed) by content digest, so it can key caches such as `functools.lru_cache`.
    """

    orgs: Mapping[str, Org]
    files: tuple[Path, ...]
    digest: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "orgs", MappingProxyType(dict(self.orgs)))
        object.__setattr__(self, "digest", _digest(self.orgs.values()))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Registry) and other.digest == self.digest

    def __hash__(self) -> int:
        return hash(self.digest)

    def __len__(self) -> int:
        return len(self.orgs)

    def lookup(self, namespace: str) -> Org | None:
        """The row for a namespace, matched case-insensitively (Hub namespaces are case-insensitive)."""
        return self.orgs.get(namespace.lower())

    def to_frame(self) -> pd.DataFrame:
        """One row per namespace, with the registry's columns, sorted by namespace."""
        import pandas as pd

        rows = sorted(self.orgs.values(), key=lambda org: org.namespace.lower())
        return pd.DataFrame([[getattr(org, c) for c in COLUMNS] for org in rows], columns=list(COLUMNS))


def _digest(orgs: object) -> str:
    """sha256 of the rows' content in a canonical order: edits to layout or row order do not change it."""
    hasher = hashlib.sha256()
    for org in sorted(orgs, key=lambda o: o.namespace.lower()):  # type: ignore[attr-defined]
        hasher.update("\x1f".join(getattr(org, c) for c in COLUMNS).encode("utf-8"))
        hasher.update(b"\x1e")
    return hasher.hexdigest()


def resolve_override(path: str | os.PathLike[str] | None = None) -> Path | None:
    """The user's override file: an explicit path, else env `OWT_REGISTRY`, else none."""
    chosen = path or os.environ.get(OVERRIDE_ENV)
    return Path(chosen).expanduser() if chosen else None


def _decode_lines(path: Path, problems: list[Problem]) -> str:
    """The file's text; lines that are not UTF-8 are reported by number and decoded with replacements."""
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    for number, chunk in enumerate(raw.split(b"\n"), start=1):
        try:
            chunk.decode("utf-8")
        except UnicodeDecodeError as exc:
            problems.append(
                Problem(path, number, f"not UTF-8 (byte {chunk[exc.start]:#04x} at column {exc.start + 1}); "
                        "save the file as UTF-8")
            )
    return raw.decode("utf-8", errors="replace")


def table_rows(path: Path, text: str, columns: Sequence[str],
               problems: list[Problem]) -> Iterator[tuple[int, dict[str, str]]] | None:
    """(line number, stripped row by column) for each non-blank row of a CSV table with header `columns`.

    The project's curated tables (registry, events, ModelScope namespaces) share one reading rule, kept
    here so their messages agree: a wrong or missing header (recorded, None returned: nothing to read),
    rows with the wrong column count (recorded, skipped, with the quoting hint) and fields with
    leading/trailing spaces (a warning; the row is used stripped) go to `problems`.
    """
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None or [h.strip() for h in header] != list(columns):
        shown = "empty file" if header is None else f"missing or wrong header {','.join(header)!r}"
        problems.append(Problem(path, 1, f"{shown}: the first line must be {','.join(columns)}"))
        return None

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        end_of_previous = reader.line_num
        for values in reader:
            line, end_of_previous = end_of_previous + 1, reader.line_num
            if not any(v.strip() for v in values):
                continue
            if len(values) != len(columns):
                message = f"{len(values)} columns, expected {len(columns)} ({','.join(columns)})"
                problems.append(Problem(path, line, f"{message}; quote fields that contain commas"))
                continue
            if any(v != v.strip() for v in values):
                message = "leading/trailing spaces in a field (ignored)"
                problems.append(Problem(path, line, message, "warning"))
            yield line, dict(zip(columns, (v.strip() for v in values), strict=True))

    return rows()


def _organisation_conflicts(orgs: list[tuple[int, Org]]) -> list[tuple[int, str]]:
    """(line of the last row involved, message) for each organisation whose namespaces disagree on the
    country: one organisation is counted under one country."""
    members: dict[str, list[tuple[int, Org]]] = {}
    for line, org in orgs:
        members.setdefault(org.organization.casefold(), []).append((line, org))
    conflicts = []
    for rows in members.values():
        if len({org.attributed_country for _, org in rows}) > 1:
            listed = ", ".join(f"{org.namespace} ({org.attributed_country})" for _, org in rows)
            conflicts.append((
                max(line for line, _ in rows),
                f"organization {rows[0][1].organization!r} has namespaces in different countries: {listed}; "
                "give them one country, or name the organisations differently",
            ))  # fmt: skip
    return conflicts


def _check_row(path: Path, line: int, row: dict[str, str], problems: list[Problem]) -> None:
    def error(message: str) -> None:
        problems.append(Problem(path, line, message))

    namespace, country, notes = row["namespace"], row["country"], row["notes"]
    if not namespace:
        error("namespace is empty")
    elif not _NAMESPACE_RE.match(namespace):
        error(f"namespace {namespace!r} is not a Hub namespace (letters, digits, '-', '_', '.')")
    if not row["organization"]:
        error("organization is empty")
    if country == UNKNOWN_COUNTRY:
        if not notes:
            error(f"country is {UNKNOWN_COUNTRY!r} without a reason: say in notes what is not confirmed")
    elif country:
        if country not in ISO_COUNTRIES:
            if country.upper() in ISO_COUNTRIES:
                hint = f" (did you mean {country.upper()!r}?)"
            elif country.lower() == UNKNOWN_COUNTRY:
                hint = f" (did you mean {UNKNOWN_COUNTRY!r}?)"
            else:
                hint = ""
            error(f"country {country!r} is not an ISO 3166-1 alpha-2 code or {UNKNOWN_COUNTRY!r}{hint}")
    elif not notes:
        error("country is empty without a reason: say why in notes (e.g. distributed collaboration)")
    elif row["kind"] not in PERSONAL_KINDS and _UNCONFIRMED_RE.search(notes):
        error(f"country is empty, which makes a {row['kind']} international ({INTERNATIONAL}), but the notes "
              f"say its country is not confirmed: write {UNKNOWN_COUNTRY!r} in country (counted as unknown)")
    if row["region"] not in REGIONS:
        error(f"region {row['region']!r} is not one of {', '.join(REGIONS)}")
    elif country in (*ISO_COUNTRIES, "", UNKNOWN_COUNTRY) and row["region"] != region_of(country):
        error(f"region {row['region']!r} does not match country {country or '(empty)'}: "
              f"expected {region_of(country)!r}")
    if row["kind"] not in KINDS:
        error(f"kind {row['kind']!r} is not one of {', '.join(KINDS)}")
    if not row["source"]:
        error("source is empty: give a URL or citation for the country choice")


def _parse(path: Path) -> tuple[list[tuple[int, Org]], list[Problem]]:
    """Rows (with their line numbers) and every problem found in one registry file."""
    problems: list[Problem] = []
    if not path.is_file():
        return [], [Problem(path, 0, "registry file not found")]
    table = table_rows(path, _decode_lines(path, problems), COLUMNS, problems)
    if table is None:
        return [], problems
    rows: list[tuple[int, Org]] = []
    first_seen: dict[str, int] = {}
    for line, row in table:
        count_before = len(problems)
        _check_row(path, line, row, problems)
        key = row["namespace"].lower()
        if key in first_seen:
            problems.append(Problem(path, line, f"duplicate namespace {row['namespace']!r} "
                                                f"(first at line {first_seen[key]}; case-insensitive)"))
        elif key:
            first_seen[key] = line
        if not any(p.severity == "error" for p in problems[count_before:]):
            rows.append((line, Org(**row)))
    problems += [Problem(path, line, message) for line, message in _organisation_conflicts(rows)]
    return rows, sorted(problems, key=lambda p: p.line)


def check_registry(path: Path) -> list[Problem]:
    """Every problem in one registry file (errors and warnings), in file order."""
    return _parse(Path(path))[1]


def load_registry(path: Path | None = None, override: Path | None = None) -> Registry:
    """The effective registry: `path` (default: the shipped data/orgs.csv), with `override` layered on top.

    `override` defaults to `resolve_override()` (env `OWT_REGISTRY`), so every consumer honours a user's
    override without extra plumbing. Raises RegistryError listing every error of both files.
    """
    files = [Path(path) if path else SHIPPED_REGISTRY]
    chosen_override = override if override is not None else resolve_override()
    if chosen_override:
        files.append(Path(chosen_override))
    orgs: dict[str, Org] = {}
    errors: list[Problem] = []
    for file in files:
        rows, problems = _parse(file)
        errors += [p for p in problems if p.severity == "error"]
        orgs.update((org.namespace.lower(), org) for _, org in rows)
    if not errors and len(files) > 1:  # an override may move one namespace of an organisation, not the others
        merged = [(0, org) for org in orgs.values()]
        errors += [Problem(files[-1], 0, message) for _, message in _organisation_conflicts(merged)]
    if errors:
        raise RegistryError(errors)
    return Registry(orgs=orgs, files=tuple(files))
