"""Addresses as people type them into fields (house number, street, unit, city, ZIP) with usaddress.

usaddress (a conditional random field trained on US addresses) only splits the text; the street
is then standardised in the store by PostGIS address_standardizer, the same function that
standardised the imported addresses. Text that does not read as a US street address ("Yrjönkatu
30, Helsinki": the number after the street) is left to the locale-free fallback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import usaddress

STREET_LABELS = frozenset(
    {
        "StreetNamePreModifier",
        "StreetNamePreDirectional",
        "StreetNamePreType",
        "StreetName",
        "StreetNamePostType",
        "StreetNamePostDirectional",
        "StreetNamePostModifier",
    }
)
UNIT_LABELS = frozenset(
    {"OccupancyType", "OccupancyIdentifier", "SubaddressType", "SubaddressIdentifier"}
)
# Two-letter codes and names of US states: "NY" after a city is a state, "york" is not.
US_STATES = frozenset(
    [
        "al",
        "ak",
        "az",
        "ar",
        "ca",
        "co",
        "ct",
        "de",
        "dc",
        "fl",
        "ga",
        "hi",
        "id",
        "il",
        "in",
        "ia",
        "ks",
        "ky",
        "la",
        "me",
        "md",
        "ma",
        "mi",
        "mn",
        "ms",
        "mo",
        "mt",
        "ne",
        "nv",
        "nh",
        "nj",
        "nm",
        "ny",
        "nc",
        "nd",
        "oh",
        "ok",
        "or",
        "pa",
        "ri",
        "sc",
        "sd",
        "tn",
        "tx",
        "ut",
        "vt",
        "va",
        "wa",
        "wv",
        "wi",
        "wy",
        "pr",
    ]
) | {"new york state"}
# Words that start a unit ("Apt 4B", "Fl 2"): anything else after the street is a place.
UNIT_WORDS = frozenset({"apt", "apartment", "unit", "suite", "ste", "fl", "floor", "rm", "room",
                        "bldg", "building", "dept", "lot", "", "ph", "penthouse", "bsmt", "basement",
                        "lowr", "uppr", "rear", "frnt", "front", "side", "ofc", "office"})
_TRAILING_ZIP = re.compile(r"(?<![,\s])\s+(\d{5}(?:-\d{4})?)\s*$")
_NUMBER = re.compile(r"^\d+[a-z]?$|^\d+-\d+[a-z]?$")


@dataclass(frozen=True)
class ParsedAddress:
    """The fields of a typed address; `us` says it read as a US street address."""

    housenumber: str | None
    street: str | None
    unit: str | None
    city: str | None
    postcode: str | None
    us: bool
    typed: bool = False  # the street has a type or directional ("Ave", "W"): US-shaped


def _tokens(text: str) -> list[tuple[str, str]]:
    """(token, label) pairs; a string usaddress cannot tag whole keeps its tokens' labels."""
    try:
        return list(usaddress.parse(text))
    except (usaddress.RepeatedLabelError, UnicodeError, ValueError) as exc:
        parsed = getattr(exc, "parsed_string", None)
        return list(parsed) if parsed else []


def _join(tokens: list[tuple[str, str]], labels: frozenset[str]) -> str | None:
    words = [tok.strip(",;") for tok, label in tokens if label in labels]
    text = " ".join(w for w in words if w)
    return text or None


def parse(text: str) -> ParsedAddress:
    """Split a typed address into fields (the first run of each; never raises on odd text)."""
    # A comma before a trailing ZIP: without one, usaddress reads "328 W 48 St 10036" with "St"
    # as the city.
    text = _TRAILING_ZIP.sub(r", \1", text.replace("#", " # "))
    tokens = _tokens(text)
    # A label repeated later in the text ("... st east elmhurst") is a second run: keep the first.
    street_run: list[tuple[str, str]] = []
    seen_street, ended = False, False
    for tok, label in tokens:
        if label in STREET_LABELS and not ended:
            street_run.append((tok, label))
            seen_street = True
        elif seen_street:
            ended = True
    number = _join(tokens, frozenset({"AddressNumber"}))
    if number is not None:
        suffix = _join(tokens, frozenset({"AddressNumberSuffix"})) or ""
        number = (number.split()[0] + suffix).lower()
    street = _join(street_run, STREET_LABELS)
    place = _join(tokens, frozenset({"PlaceName"}))
    state = _join(tokens, frozenset({"StateName"}))
    if state and state.lower().strip(".") not in US_STATES:
        place = (
            f"{place} {state}" if place else state
        )  # "new york" split as city "new", state "york"
    zipcode = _join(tokens, frozenset({"ZipCode"}))
    unit = _join(tokens, UNIT_LABELS)
    if place is None and unit and not any(c.isdigit() for c in unit) and (
        unit.split()[0].lower().strip(".#") not in UNIT_WORDS
    ):
        place, unit = unit, None  # "72-24 grand avenue queens": the borough read as a unit
    labels = [label for _, label in tokens]
    starts_with_number = bool(labels) and labels[0] == "AddressNumber"
    has_type = any(
        label in ("StreetNamePostType", "StreetNamePreType", "StreetNamePreDirectional")
        for _, label in street_run
    )
    us = street is not None and (
        (starts_with_number and number is not None and bool(_NUMBER.match(number)))
        or (number is None and has_type)
    )
    return ParsedAddress(
        housenumber=number if us else None,
        street=street,
        unit=unit,
        city=place,
        postcode=zipcode.split("-")[0] if zipcode else None,
        us=us,
        typed=us and has_type,
    )


def split_number(text: str) -> tuple[str | None, str | None]:
    """(house number, street) of a one-column address such as "328 WEST  48 STREET"."""
    parsed = parse(text)
    if parsed.us:
        return parsed.housenumber, parsed.street
    # Number after the street ("Mannerheimintie 5"): the last number-like token.
    m = re.match(r"^\s*(.*?\S)\s+(\d+(?:\s?[A-Za-z]|-\d+)?)\s*$", text.split(",")[0])
    if m:
        return m.group(2).replace(" ", ""), m.group(1)
    return None, " ".join(text.split()) or None
