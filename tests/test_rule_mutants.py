"""Tests that kill mutants `make mutation` found alive in the rule modules (README, "Mutation testing").

Each pins a behaviour a rule's tests left open: a boundary, an error message a user reads, a file the rule
reads. Equivalent mutants (that change nothing observable) are listed in the README instead.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import pipelines.definitions
from pipelines.definitions import atom_dir, atom_tracked_ids, measure, size_class, spread


def test_size_class_rule_counts_every_positive_parameter_count() -> None:
    # The lower bound of "<1B" is 0 exclusive: a one-parameter (test) model has a class, zero has none.
    assert [size_class(p) for p in (1, 0.5, 0, -3)] == ["<1B", "<1B", None, None]


def test_gap_rule_refuses_an_empty_gap_in_words() -> None:
    with pytest.raises(ValueError, match=r"^a gap spans at least one day$"):
        spread(5, 0)


def test_measure_lookup_names_every_known_measure() -> None:
    with pytest.raises(KeyError) as raised:
        measure("nope")
    assert "known: downloads_30d, downloads_all_time, downloads_period, cumulative," in str(raised.value)


def test_atom_scope_rule_reads_both_tracked_lists(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shipped = set(atom_tracked_ids())
    assert "AI-MO/Kimina-Prover-72B" in shipped  # listed in extra_models.csv only
    folder = tmp_path / "atom"
    folder.mkdir()
    (folder / "models.csv").write_text("org,model,modelId\nQwen,a,Qwen/a\nQwen,b,\n", encoding="utf-8")
    extra = "org,model,modelId\nx,c, x/c \nQwen,a,Qwen/a\n"
    (folder / "extra_models.csv").write_text(extra, encoding="utf-8")
    monkeypatch.setattr(pipelines.definitions, "ATOM_DIR", folder)
    assert atom_dir() == folder
    assert atom_tracked_ids() == ["Qwen/a", "x/c"]  # stripped, de-duplicated, sorted; empty ids skipped
    (folder / "models.csv").unlink()
    assert atom_dir() is None and atom_tracked_ids() == []  # no copy of ATOM's list: an empty scope
