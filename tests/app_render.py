"""Render pages and callbacks of the Dash app for real through its Flask test client, as the browser asks.

A Dash page's layout is not in the HTML of `GET /<path>` (that is the same shell for every path): the browser
asks the pages router callback for it. `render_page` sends that request and returns the layout as JSON text,
so a layout that raises answers 500 and fails the test.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import numpy as np
from flask.testing import FlaskClient

#: Dash's pages router: the callback that fills the page container from the URL.
ROUTER_OUTPUT = ".._pages_content.children..._pages_store.data.."


def _dependencies(client: FlaskClient) -> list[dict[str, Any]]:
    client.get("/")  # Dash registers the pages router on the first request
    return client.get("/_dash-dependencies").get_json()


def render_page(client: FlaskClient, path: str, search: str = "") -> str:
    """The layout of the page at `path` (with `?query` `search`) as JSON text; asserts it answered 200."""
    spec = next(d for d in _dependencies(client) if d["output"] == ROUTER_OUTPUT)
    values = {"pathname": path, "search": search}
    inputs = [
        {"id": i["id"], "property": i["property"], "value": values.get(i["property"])} for i in spec["inputs"]
    ]
    body = {
        "output": spec["output"],
        "outputs": [
            {"id": "_pages_content", "property": "children"},
            {"id": "_pages_store", "property": "data"},
        ],
        "inputs": inputs,
        "changedPropIds": ["_pages_location.pathname"],
        "state": [],
    }
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 200, (path, response.get_data(as_text=True)[-2000:])
    return json.dumps(response.get_json()["response"]["_pages_content"]["children"])


def components(layout: str) -> Iterator[dict[str, Any]]:
    """Every component of a rendered layout (its `type` and `props`), depth first."""

    def walk(node: Any) -> Iterator[dict[str, Any]]:
        if isinstance(node, dict):
            if "type" in node and "props" in node:
                yield node
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for value in node:
                yield from walk(value)

    return walk(json.loads(layout))


def texts(layout: str, kind: str) -> list[str]:
    """The text of every component of type `kind` (H1, P, ...) whose children are plain text."""
    return [c["props"]["children"] for c in components(layout)
            if c["type"] == kind and isinstance(c["props"].get("children"), str)]


def card_specs(layout: str) -> list[dict[str, Any]]:
    """The chart cards of a rendered layout: each card's `chart-spec` store (chart id, params, view)."""
    return [
        {"key": c["props"]["id"]["card"], **c["props"]["data"]}
        for c in components(layout)
        if isinstance(c["props"].get("id"), dict) and c["props"]["id"].get("type") == "chart-spec"
    ]


def values(array: Any) -> list[Any]:
    """A figure's data array as a list, whether plain or plotly's typed-array encoding (`dtype`, `bdata`)."""
    if isinstance(array, dict) and "bdata" in array:
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"]).tolist()
    return list(array)


def render_card(client: FlaskClient, card: dict[str, Any], filter_params: dict[str, Any]) -> dict[str, Any]:
    """What the `render_card` callback sends back for one card in the view `filter_params` (property name of
    each card part -> value), the request the browser makes when the view changes (the card wanted: drawn)."""
    spec = next(d for d in _dependencies(client) if '"type":"chart-spec"' in d["output"].replace(" ", "")
                and d["inputs"][0]["id"] == "filters")
    key = card["key"]
    outputs = []
    for output in spec["output"].strip(".").split("..."):
        component, prop = output.rsplit(".", 1)
        outputs.append({"id": {**json.loads(component), "card": key}, "property": prop})
    body = {
        "output": spec["output"],
        "outputs": outputs,
        "inputs": [
            {"id": "filters", "property": "data", "value": filter_params},
            {"id": {"type": "chart-wanted", "card": key}, "property": "data", "value": 1},
        ],
        "changedPropIds": ["filters.data"],
        "state": [
            {"id": {"type": "chart-spec", "card": key}, "property": "data",
             "value": {k: v for k, v in card.items() if k not in ("key", "view")}}
        ],
    }
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 200, (card, response.get_data(as_text=True)[-2000:])
    return {
        f"{part['id']['type']}.{part['property']}": value
        for part, value in zip(outputs, _ordered(response.get_json()["response"], outputs), strict=True)
    }


def _ordered(response: dict[str, Any], outputs: list[dict[str, Any]]) -> list[Any]:
    """Dash answers pattern-matching outputs keyed by the id's JSON (sorted keys) and property."""
    answered = []
    for part in outputs:
        key = json.dumps(part["id"], sort_keys=True, separators=(",", ":"))
        answered.append(response[key][part["property"]])
    return answered


def call(
    client: FlaskClient, output: str, inputs: dict[str, Any], state: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Run the callback whose output is `output` (as `/_dash-dependencies` spells it) with `inputs` and
    `state` given as {"component.property": value}; returns {"component.property": value} it answered."""
    spec = next(d for d in _dependencies(client) if d["output"] == output)
    given = {**inputs, **(state or {})}

    def parts(names: list[dict[str, str]]) -> list[dict[str, Any]]:
        return [{**n, "value": given.get(f"{n['id']}.{n['property']}")} for n in names]

    outputs = [
        dict(zip(("id", "property"), o.rsplit(".", 1), strict=True)) for o in output.strip(".").split("...")
    ]
    body = {
        "output": output,
        "outputs": outputs if output.startswith("..") else outputs[0],
        "inputs": parts(spec["inputs"]),
        "changedPropIds": [f"{n['id']}.{n['property']}" for n in spec["inputs"]],
        "state": parts(spec["state"]),
    }
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 200, (output, response.get_data(as_text=True)[-2000:])
    answer = response.get_json()["response"]
    return {f"{name}.{prop}": value for name, props in answer.items() for prop, value in props.items()}
