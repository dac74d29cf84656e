"""Usage channels beyond the Hugging Face Hub: one observation contract for every source of usage numbers.

A channel is a place where open models are counted: the Hub (`hf`), ModelScope (`modelscope`),
OpenRouter (`openrouter`). Their numbers are not alike (cumulative downloads, a 30-day window, daily
tokens), so every observation says what it measures (`metric`) and how it is counted (`semantics`), and
nothing downstream adds two observations whose metric or semantics differ. Each channel keeps its own
immutable, dated snapshots in a `Store` of its own under `<store>/channels/<channel>/` (in an Iceberg store:
the tables `channel_<channel>` and `channel_<channel>_provenance`, see `channel_parts`), so publishing,
checksums, `verify`, `status` and `migrate` work the same way as for the Hub snapshots (which stay where they
are: `<store>/snapshots/`).
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from pipelines.store import Rows, Store, StorePart

OBSERVATION_SCHEMA_VERSION = 1

_TIMESTAMP = pa.timestamp("ms", tz="UTC")

#: One row per channel model per snapshot date (the date is the snapshot's partition, as for the Hub).
OBSERVATION_SCHEMA = pa.schema(
    [
        pa.field("channel", pa.string(), nullable=False),  # a key of CHANNELS
        pa.field("channel_model_id", pa.string(), nullable=False),  # ModelScope "owner/name", OpenRouter slug
        pa.field("metric", pa.string(), nullable=False),  # a key of METRICS
        pa.field("semantics", pa.string(), nullable=False),  # a key of SEMANTICS
        pa.field("value", pa.int64()),  # null when the channel gave no usable value, never zero
        pa.field("observed_at", _TIMESTAMP),  # the channel's own timestamp of the value, if it gives one
        pa.field("fetched_at", _TIMESTAMP, nullable=False),  # when this project read it
        pa.field("hub_model_id", pa.string()),  # the Hugging Face id the channel links the model to, if any
        pa.field("attributes", pa.string()),  # the channel's other raw fields, as a JSON object
    ],
    metadata={"owt_observation_schema_version": str(OBSERVATION_SCHEMA_VERSION)},
)


@dataclass(frozen=True)
class Channel:
    """A usage channel: its key, the name shown on charts, and the measures it reports."""

    key: str
    label: str
    metrics: tuple[str, ...]


CHANNELS: dict[str, Channel] = {
    "hf": Channel("hf", "Hugging Face", ("downloads",)),
    "modelscope": Channel("modelscope", "ModelScope", ("downloads",)),
    "openrouter": Channel("openrouter", "OpenRouter", ("tokens",)),
}

METRICS = {"downloads": "downloads", "tokens": "tokens"}

SEMANTICS = {
    "cumulative": "a running total since the model was published",
    "window_30d": "the total over the 30 days before the observation",
    "daily": "the total over one UTC day",
}


#: A channel's rows in one canonical order: every column, so that rows equal in all of them are the only ties.
OBSERVATION_ROWS = Rows(OBSERVATION_SCHEMA, ("channel_model_id", *OBSERVATION_SCHEMA.names))


def channel_part(channel: str) -> StorePart:
    """Where `channel`'s snapshots live: `<store>/channels/<channel>/`, Iceberg table `channel_<channel>`."""
    if channel not in CHANNELS or channel == "hf":
        raise ValueError(f"unknown channel {channel!r}; known: {', '.join(k for k in CHANNELS if k != 'hf')}")
    return StorePart(f"channels/{channel}", f"channel_{channel}", OBSERVATION_ROWS)


def channel_store(store: Store, channel: str) -> Store:
    """The store of `channel`'s own snapshots inside `store` (the Hub's snapshots are `store` itself): a
    folder under `<store>/channels/` of a folder store, a table of an Iceberg store."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}; known: {', '.join(CHANNELS)}")
    if channel == "hf":
        return store
    return store.part_store(channel_part(channel))


def channel_parts() -> list[StorePart]:
    """Every snapshot store the channels keep beside the Hub's (the OpenRouter /models catalogue included):
    what `migrate` carries and an Iceberg store's mirror holds."""
    from pipelines.channels.openrouter_attribution import CATALOGUE_PART  # it imports this module

    return [channel_part(key) for key in CHANNELS if key != "hf"] + [CATALOGUE_PART]


def present_channel_stores(store: Store) -> dict[str, Store]:
    """The stores of the channels other than the Hub that `store` holds (those a snapshot run has created),
    for the commands that cover every channel (`verify`, `status`)."""
    found = {key: channel_store(store, key) for key in CHANNELS if key != "hf"}
    return {key: held for key, held in found.items() if held.exists()}
