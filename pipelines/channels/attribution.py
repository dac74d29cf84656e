"""Attribution across channels: a model counts for the organisation behind its weights, not for its host.

On ModelScope an official owner (`Qwen`, `ZhipuAI`, `Shanghai_AI_Laboratory`) maps through the namespace table
to a registry namespace, hence an organisation and a country. A ModelScope-run mirror namespace
(`LLM-Research`, `AI-ModelScope`) re-hosts other organisations' models, so its models are matched to the
original Hub model: first by the Hub id the mirror links (its readme's `huggingface.co/<id>` link), then by
name (case-insensitive) among the Hub models of registered namespaces; when several registered organisations
publish a model of that name, the earliest created is the original (re-uploads come later). A Llama mirror
thus counts for Meta (US). Whatever cannot be matched stays unattributed, and `coverage` reports how much of
a channel's downloads that leaves.

Derived at read time from the snapshot, the namespace table and the registry, never stored: correcting a
row changes every past result, as for the Hub.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pipelines.channels.modelscope import Namespace
from pipelines.registry import UNATTRIBUTED_ORG, Registry

OFFICIAL = "official"  # an official owner of the namespace table
MIRROR_HUB_ID = "mirror-hub-id"  # a mirror, by the Hub id it links
MIRROR_NAME = "mirror-name"  # a mirror, by the name of the original Hub model
UNMATCHED = "unattributed"
METHODS = (OFFICIAL, MIRROR_HUB_ID, MIRROR_NAME, UNMATCHED)


@dataclass(frozen=True)
class Attributed:
    """Who stands behind one channel model, and how that was decided."""

    channel_model_id: str
    namespace: str | None  # the registry namespace of the organisation
    organization: str | None
    country: str  # the registry's attributed country; UNATTRIBUTED_ORG when unmatched
    method: str  # one of METHODS
    upstream: str | None  # the Hub model a mirror stands for


class HubNames:
    """The Hub models of registered namespaces by lower-case name, to find the original of a mirror."""

    def __init__(self, hub_models: Iterable[tuple[str, dt.datetime | None]], registry: Registry):
        self.registry = registry
        self._by_name: dict[str, list[tuple[str, dt.datetime | None]]] = {}
        for model_id, created in hub_models:
            namespace, _, name = model_id.partition("/")
            if name and registry.lookup(namespace) is not None:
                self._by_name.setdefault(name.lower(), []).append((model_id, created))

    def original(self, name: str) -> str | None:
        """The Hub id of the original model named `name`: the only organisation's, else the earliest."""
        candidates = self._by_name.get(name.lower(), [])
        if not candidates:
            return None
        orgs = self.registry.orgs
        organisations = {orgs[m.split("/")[0].lower()].organization.lower() for m, _ in candidates}
        if len(organisations) == 1:
            return min(m for m, _ in candidates)
        dated = [(created, model_id) for model_id, created in candidates if created is not None]
        return min(dated)[1] if dated else None


def attribute(
    channel_model_id: str,
    hub_model_id: str | None,
    owners: Mapping[str, Namespace],
    registry: Registry,
    hub_names: HubNames,
) -> Attributed:
    """The organisation behind one ModelScope model (`owners`: the namespace table by lower-case owner)."""
    owner, _, name = channel_model_id.partition("/")
    row = owners.get(owner.lower())
    upstream, method, namespace = None, UNMATCHED, None
    if row is not None and not row.is_mirror:
        method, namespace = OFFICIAL, row.namespace
    elif row is not None:
        linked = hub_model_id if isinstance(hub_model_id, str) else None  # null, NaN from a frame: no link
        if linked and registry.lookup(linked.split("/")[0]) is not None:
            method, upstream = MIRROR_HUB_ID, linked
        elif (found := hub_names.original(name)) is not None:
            method, upstream = MIRROR_NAME, found
        namespace = upstream.split("/")[0] if upstream else None
    org = registry.lookup(namespace) if namespace else None
    if org is None:
        return Attributed(channel_model_id, None, None, UNATTRIBUTED_ORG, UNMATCHED, None)
    country = org.attributed_country
    return Attributed(channel_model_id, org.namespace, org.organization, country, method, upstream)


def attribute_all(
    models: Iterable[tuple[str, str | None]],
    namespaces: Iterable[Namespace],
    registry: Registry,
    hub_models: Iterable[tuple[str, dt.datetime | None]],
) -> list[Attributed]:
    """`attribute` for (channel model id, linked Hub id) pairs."""
    owners = {row.owner.lower(): row for row in namespaces}
    names = HubNames(hub_models, registry)
    return [attribute(model_id, hub_id, owners, registry, names) for model_id, hub_id in models]


def coverage(attributed: Iterable[Attributed], downloads: Mapping[str, int]) -> dict[str, float | int]:
    """How much of a channel is attributed: models and downloads (`downloads` per channel model id), in
    total and per method."""
    rows = list(attributed)
    total = sum(max(downloads.get(a.channel_model_id, 0), 0) for a in rows)
    facts: dict[str, float | int] = {"models": len(rows), "downloads": total}
    for method in METHODS:
        chosen = [a for a in rows if a.method == method]
        facts[f"models_{method}"] = len(chosen)
        facts[f"downloads_{method}"] = sum(max(downloads.get(a.channel_model_id, 0), 0) for a in chosen)
    attributed_downloads = total - int(facts[f"downloads_{UNMATCHED}"])
    facts["share_attributed"] = attributed_downloads / total if total else 0.0
    return facts
