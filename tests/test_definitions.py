"""The definitions every chart and the Methodology page show, and the arithmetic beside them."""

from __future__ import annotations

import duckdb
import pytest

from dashboards.filters import SIZE_CLASSES
from pipelines.definitions import (
    MEASURES,
    SIZE_CLASS_BOUNDS,
    atom_tracked_ids,
    measure,
    size_class,
    size_class_sql,
    spread,
)


def test_every_measure_has_a_label_a_one_line_definition_an_explanation_and_a_source():
    for m in MEASURES.values():
        assert m.label and m.explanation and m.source, m.id
        assert "\n" not in m.definition and len(m.definition) <= 120, m.id
    with pytest.raises(KeyError, match="known: downloads_30d"):
        measure("no-such-measure")


def test_the_size_classes_are_atoms_labels_with_the_gaps_closed():
    assert tuple(label for label, _, _ in SIZE_CLASS_BOUNDS) == SIZE_CLASSES
    cases = {0.5e9: "<1B", 1e9: "1-5B", 5.9e9: "1-5B", 6e9: "7-9B", 7.6e9: "7-9B", 9.6e9: "7-9B",
             10e9: "10-50B", 72e9: "50-100B", 235e9: "100-250B", 671e9: "250B+",
             None: None, 0: None}  # fmt: skip
    assert {p: size_class(p) for p in cases} == cases
    con = duckdb.connect()
    for params, label in cases.items():
        assert (
            con.execute(f"SELECT {size_class_sql('p')} FROM (SELECT ?::DOUBLE AS p)", [params]).fetchone()[0]
            == label
        )


def test_the_gap_rule_spreads_whole_downloads_that_add_up_exactly():
    assert spread(100, 3) == [33, 33, 34]
    assert spread(2, 4) == [0, 1, 0, 1]
    assert all(sum(spread(total, days)) == total for total in (0, 1, 7, 12345) for days in (1, 2, 7, 30))
    with pytest.raises(ValueError):
        spread(5, 0)


def test_the_atom_scope_is_atoms_tracked_list():
    ids = atom_tracked_ids()
    assert len(ids) > 1500
    assert "Qwen/Qwen3-8B" in ids or any(i.startswith("Qwen/") for i in ids)
