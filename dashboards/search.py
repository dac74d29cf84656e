"""Finding models and organisations by words: the one tokenisation rule behind every search box.

Rule (shown on the Models and Organisations pages and in README): the query is cut to `MAX_QUERY_CHARS`
characters and lower-cased; its *terms* are the runs of ASCII letters and digits in it (every other
character, `/ - _ . %`, quotes, spaces, is a separator), at most `MAX_TERMS` of them, repeats dropped. A name
matches when each term occurs somewhere in it, ignoring case, in any order: `qwen3 4b` finds `Qwen/Qwen3-4B`,
`llama gguf` finds `bartowski/Meta-Llama-3.1-8B-Instruct-GGUF`. A query without terms lists everything.
Matches are ranked by downloads (the pages say which count), then by name.

`matches` is the rule in plain Python; `terms_condition` is the same rule as SQL (terms bound as parameters,
never put in the SQL text, and matched with `contains`, so no character is a wildcard). The tests compare the
two with hypothesis.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

MAX_QUERY_CHARS = 200
MAX_TERMS = 8
#: One result page of a search (the Models page's table).
PAGE_SIZE = 200
_SEPARATORS = re.compile(r"[^a-z0-9]+")
RULE_TEXT = (
    "Words match in any order, ignoring case and separators (/ - _ . spaces): every word must occur in the "
    "name. The most downloaded matches come first."
)


def search_terms(text: str | None) -> tuple[str, ...]:
    """The query's terms: lower-case runs of ASCII letters and digits, in order, without repeats."""
    words = _SEPARATORS.split((text or "")[:MAX_QUERY_CHARS].lower())
    return tuple(dict.fromkeys(word for word in words if word))[:MAX_TERMS]


def matches(terms: Sequence[str], *names: object) -> bool:
    """Whether every term occurs in one of `names` (case-insensitive): the rule `terms_condition` writes
    in SQL."""
    lowered = [name.lower() for name in names if isinstance(name, str)]  # a missing name (None, NaN): none
    return all(any(term in name for name in lowered) for term in terms)


def terms_condition(terms: Sequence[str], *columns: str) -> tuple[str, list[str]]:
    """SQL condition and its parameters: every term is contained in one of `columns` (trusted SQL
    expressions, never user text), ignoring case; `true` without terms."""
    if not terms:
        return "true", []
    one = "(" + " OR ".join(f"contains(lower(coalesce({column}, '')), ?)" for column in columns) + ")"
    return " AND ".join([one] * len(terms)), [term for term in terms for _ in columns]


def parse_page(raw: str | None) -> tuple[int, str | None]:
    """A page number from the URL (1 when missing), or 1 and why the value was not one."""
    if raw is None or raw == "":
        return 1, None
    text = str(raw).strip()
    if text.isdigit() and len(text) <= 6 and int(text) >= 1:
        return int(text), None
    return 1, f"page={text[:20]!r} is not a page number (1, 2, ...); showing page 1"


def page_count(total: int, per_page: int = PAGE_SIZE) -> int:
    """Pages needed for `total` results (at least one, so an empty result still has its page)."""
    return max(1, -(-total // per_page))


def query_in_url_script(param: str, reset: Sequence[str] = ()) -> str:
    """A clientside callback (text -> text) writing the typed query into the address bar as `param`, and
    removing `reset` (e.g. the page number): `history.replaceState`, so typing neither adds history entries
    nor makes Dash redraw the page, and a copied link holds the query."""
    removed = "".join(f'url.searchParams.delete("{name}");' for name in reset)
    return f"""
        function(text) {{
            const url = new URL(window.location.href);
            const query = (text || "").trim();
            if (query) {{ url.searchParams.set("{param}", query); }}
            else {{ url.searchParams.delete("{param}"); }}
            {removed}
            window.history.replaceState(window.history.state, "", url.pathname + url.search);
            return query;
        }}
    """
