"""One colour and one display name per country group, the same on every page, chart and export.

Country colours come from the Okabe-Ito palette (distinguishable with the common colour-vision deficiencies).
China (vermillion) and the US (blue), the story's two protagonists, have fixed colours far apart; Okabe-Ito's
orange is left out, being too close to China's vermillion. The display groups `Rest of world` and
`Unattributed` are greys so they recede; unregistered organisations and individuals are `Unattributed`
(one name, one grey) wherever they are drawn. Categories that are not countries (relations of derivatives,
concentration measures) take `CATEGORY_COLOURS`, from Paul Tol's muted scheme, which shares no colour with
the countries, so a colour never means two things on one page. Any other ISO country a user selects gets a
preferred colour derived from its code alone, so Germany looks the same whichever other countries are
on screen, unless two selected countries prefer the same colour (then the later one takes the next free one).

Flags are emoji (regional indicator pairs): good in the browser, but headless chromium has no emoji font, so
figures and exports use plain names (`country_name`) and the UI may prefix `flag_emoji`.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

from dashboards.filters import (
    INDIVIDUAL,
    INTERNATIONAL,
    INTERNATIONAL_ONLINE_GROUP,
    REST_OF_WORLD,
    UNATTRIBUTED,
    UNATTRIBUTED_ORG,
    grouped_codes,
)

#: Okabe & Ito (2008), "Color Universal Design", in the order the palette is usually given.
OKABE_ITO: dict[str, str] = {
    "orange": "#E69F00",
    "sky blue": "#56B4E9",
    "bluish green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish purple": "#CC79A7",
    "black": "#000000",
}

FIXED_COLOURS: dict[str, str] = {
    "CN": OKABE_ITO["vermillion"],
    "US": OKABE_ITO["blue"],
    REST_OF_WORLD: "#999999",
    UNATTRIBUTED: "#CFCFCF",
    INTERNATIONAL_ONLINE_GROUP: "#555555",
}

#: Colours left for other selected countries, most legible on white first; Tol's olive completes Okabe-Ito
#: without its orange (too close to China) and yellow (unreadable as a line on white).
_FREE_COLOURS: tuple[str, ...] = (
    *(OKABE_ITO[name] for name in ("bluish green", "reddish purple", "sky blue", "black")),
    "#999933",
)
#: Every colour a country series can take.
COUNTRY_PALETTE: frozenset[str] = frozenset((*FIXED_COLOURS.values(), *_FREE_COLOURS))

#: Paul Tol's muted scheme (colour-blind safe) for categories that are not countries; no country colour.
CATEGORY_COLOURS: dict[str, str] = {
    "indigo": "#332288",
    "sand": "#DDCC77",
    "teal": "#44AA99",
    "wine": "#882255",
    "rose": "#CC6677",
    "purple": "#AA4499",
    "cyan": "#88CCEE",
    "green": "#117733",
}

#: Colours of compared organisations, in the order asked: Paul Tol's bright scheme and two of his light one
#: (colour-blind safe), none a country's, relation's or measure's (a report shows all charts together).
ORGANISATION_COLOURS: tuple[str, ...] = (
    "#4477AA", "#EE6677", "#228833", "#CCBB44", "#66CCEE", "#AA3377", "#EE8866", "#44BB99",
)
#: The leading organisation and the next N combined: Paul Tol's high-contrast blue and yellow.
LEADER_COLOURS: dict[str, str] = {"leader": "#004488", "next": "#DDAA33"}

#: Colours of the relation types of derivatives.
RELATION_COLOURS: dict[str, str] = {
    "finetune": CATEGORY_COLOURS["indigo"],
    "quantized": CATEGORY_COLOURS["sand"],
    "adapter": CATEGORY_COLOURS["teal"],
    "merge": CATEGORY_COLOURS["wine"],
}
#: Colours of the two directions of a cross-border pair (A-published of B bases, then B-published of A).
DIRECTION_COLOURS: tuple[str, str] = (CATEGORY_COLOURS["green"], CATEGORY_COLOURS["cyan"])
#: Colours of the concentration measures (none is a relation's: a report shows both charts).
MEASURE_COLOURS: dict[str, str] = {"hhi": CATEGORY_COLOURS["rose"], "gini": CATEGORY_COLOURS["purple"]}

#: ISO 3166-1 alpha-2 -> English short name for countries that publish open models (others show their code).
COUNTRY_NAMES: dict[str, str] = {
    "AE": "United Arab Emirates",
    "AR": "Argentina",
    "AU": "Australia",
    "AT": "Austria",
    "BE": "Belgium",
    "BR": "Brazil",
    "CA": "Canada",
    "CH": "Switzerland",
    "CL": "Chile",
    "CN": "China",
    "CZ": "Czechia",
    "DE": "Germany",
    "DK": "Denmark",
    "EE": "Estonia",
    "EG": "Egypt",
    "ES": "Spain",
    "FI": "Finland",
    "FR": "France",
    "GB": "United Kingdom",
    "GR": "Greece",
    "HK": "Hong Kong",
    "HU": "Hungary",
    "ID": "Indonesia",
    "IE": "Ireland",
    "IL": "Israel",
    "IN": "India",
    "IT": "Italy",
    "JP": "Japan",
    "KR": "South Korea",
    "KZ": "Kazakhstan",
    "LU": "Luxembourg",
    "MX": "Mexico",
    "MY": "Malaysia",
    "NG": "Nigeria",
    "NL": "Netherlands",
    "NO": "Norway",
    "NZ": "New Zealand",
    "PH": "Philippines",
    "PL": "Poland",
    "PT": "Portugal",
    "QA": "Qatar",
    "RO": "Romania",
    "RU": "Russia",
    "SA": "Saudi Arabia",
    "SE": "Sweden",
    "SG": "Singapore",
    "TH": "Thailand",
    "TR": "Türkiye",
    "TW": "Taiwan",
    "UA": "Ukraine",
    "US": "United States",
    "VN": "Vietnam",
    "ZA": "South Africa",
}

#: Names of the attribution values that are not countries.
SPECIAL_NAMES: dict[str, str] = {
    INTERNATIONAL: "International",
    UNATTRIBUTED_ORG: "Unregistered organisation",
    INDIVIDUAL: "Individual / community",
    REST_OF_WORLD: REST_OF_WORLD,
    UNATTRIBUTED: UNATTRIBUTED,
    INTERNATIONAL_ONLINE_GROUP: INTERNATIONAL_ONLINE_GROUP,
}


def _is_iso_code(code: str) -> bool:
    return len(code) == 2 and code.isascii() and code.isalpha() and code.isupper()


def country_name(code: str) -> str:
    """Readable name of a country value (ISO code, display group or special attribution value)."""
    return SPECIAL_NAMES.get(code) or COUNTRY_NAMES.get(code, code)


def flag_emoji(code: str) -> str:
    """The flag of an ISO code as regional indicator symbols; empty for groups and special values."""
    if not _is_iso_code(code):
        return ""
    return "".join(chr(0x1F1E6 + ord(letter) - ord("A")) for letter in code)


def display_name(code: str, *, with_flag: bool = False) -> str:
    """Name for legends and tables; with a flag prefix where the medium has an emoji font (the browser)."""
    name = country_name(code)
    flag = flag_emoji(code) if with_flag else ""
    return f"{flag} {name}" if flag else name


def _preferred_colour(code: str) -> str:
    if code in (UNATTRIBUTED_ORG, INDIVIDUAL):
        return FIXED_COLOURS[UNATTRIBUTED]
    if code in FIXED_COLOURS:
        return FIXED_COLOURS[code]
    return _FREE_COLOURS[zlib.crc32(code.encode("utf-8")) % len(_FREE_COLOURS)]


def country_colours(countries: Iterable[str]) -> dict[str, str]:
    """Colour of each country value shown together: fixed for CN/US/groups, stable per code otherwise.

    When two shown countries prefer the same colour, the later one takes the next colour nobody on screen
    uses (5 free colours; beyond that colours repeat, which no 8-country chart avoids anyway).
    """
    shown = list(dict.fromkeys(countries))
    taken = {FIXED_COLOURS[c] for c in shown if c in FIXED_COLOURS}
    colours: dict[str, str] = {}
    for code in shown:
        colour = _preferred_colour(code)
        if colour not in FIXED_COLOURS.values() and colour in taken:
            start = _FREE_COLOURS.index(colour)
            rotation = _FREE_COLOURS[start:] + _FREE_COLOURS[:start]
            colour = next((c for c in rotation if c not in taken), colour)
        taken.add(colour)
        colours[code] = colour
    return colours


def display_group(code: str | None, selected: Iterable[str], individuals: str = "unattributed") -> str:
    """The series a country value belongs to in a view (the same grouping the query layer applies in SQL):
    a selected code stays itself; unregistered organisations and individuals are Unattributed; every other
    country and international organisations are Rest of world. Under the international-online grouping
    of individuals (`grouped_codes`), individuals and international organisations are International/Online."""
    if code in set(selected):
        return code  # type: ignore[return-value]
    online, unattributed = grouped_codes(individuals)
    if code in online:
        return INTERNATIONAL_ONLINE_GROUP
    if code is None or code in unattributed:
        return UNATTRIBUTED
    return REST_OF_WORLD


def country_order(countries: Iterable[str]) -> list[str]:
    """The order series are drawn and listed in: selected countries as given, then the two display groups."""
    shown = list(dict.fromkeys(countries))
    groups = [g for g in (INTERNATIONAL_ONLINE_GROUP, REST_OF_WORLD, UNATTRIBUTED) if g in shown]
    return [c for c in shown if c not in groups] + groups
