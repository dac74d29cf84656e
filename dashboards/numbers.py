"""How numbers are written, one rule for the whole app: counts exact with thousands separators (28,311,142)
in tables, facts and files; shares and changes as percentages with one decimal; abbreviations (28.3M) only
where space is short and the exact number is one hover or one table away: chart axes (plotly's own) and cards.

Tables are ag-grid's, formatted in the browser: `grid_formatter(kind)` gives the d3-format of each kind;
`count` writes the same exact form in Python (facts on the organisation and model pages).
"""

from __future__ import annotations

from typing import Literal

import pandas as pd

NumberKind = Literal["count", "share", "change", "decimal"]

#: d3-format specifier of each kind (ag-grid's valueFormatter runs d3.format in the browser).
D3_FORMATS: dict[NumberKind, str] = {
    "count": ",.0f",  # exact: 28,311,142
    "share": ".1%",  # 53.0%
    "change": "+.1%",  # +12.5%
    "decimal": ",.4~f",  # HHI 2,095.4106, Gini 0.4312: at most four decimals, no trailing zeros
}
#: Columns whose values are fractions of a whole, or changes, whatever their name's context.
_SHARE_COLUMNS = ("share",)
_CHANGE_COLUMNS = ("growth",)


def grid_formatter(kind: NumberKind) -> dict[str, str]:
    """An ag-grid `valueFormatter` writing a number of `kind` (empty for a missing value)."""
    return {"function": f"params.value == null ? '' : d3.format('{D3_FORMATS[kind]}')(params.value)"}


def column_kind(name: str, values: pd.Series) -> NumberKind:
    """The kind of a numeric column: shares and changes by name, whole numbers as counts, else decimals."""
    if name in _SHARE_COLUMNS:
        return "share"
    if name in _CHANGE_COLUMNS:
        return "change"
    present = values.dropna()
    whole = pd.api.types.is_integer_dtype(values) or bool((present == present.round()).all())
    return "count" if whole else "decimal"


def count(value: object) -> str:
    """An exact count with separators: 28,311,142 ('–' when the value is missing, never a made-up 0)."""
    if value is None or pd.isna(value):
        return "–"
    whole: int = round(value)  # type: ignore[call-overload]
    return f"{whole:,}"
