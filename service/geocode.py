"""Address to point: offline over the imported addresses (pg_trgm), or an external Nominatim/Pelias.

Privacy: the query text is sent only to the database (as a parameter) and, when configured, to
the external geocoder; it is never logged, stored or put in an error message.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import httpx2 as httpx
from psycopg import AsyncConnection
from psycopg.rows import dict_row

from camdensity import __version__, sql
from camdensity.settings import ServiceSettings

# httpx logs every request URL at INFO, and that URL holds the queried address.
for _name in ("httpx2", "httpcore2", "httpx", "httpcore"):
    logging.getLogger(_name).setLevel(logging.WARNING)

# Trigram word similarity of the query within an address's label that makes it a candidate (the
# index prefilter), of the address's street within the query that makes it a match, and of a
# label to be offered as a suggestion. Measured on the Helsinki extract: a street with a letter
# missing or wrong scores 0.6-0.8, a query naming no street of the data ("helsinki", "00100",
# "main st helsinki", a street that is not there) at most 0.46.
CANDIDATE_THRESHOLD = 0.4
STREET_MATCH = 0.55
SUGGEST_THRESHOLD = 0.2
SUGGESTIONS = 5
# A number asked for but not found on the matched street lowers the score by this factor.
STREET_ONLY_FACTOR = 0.8


@dataclass(frozen=True)
class Geocoded:
    """Where a query points: the matched label, the point, a score in 0..1 and its precision."""

    matched: str
    lon: float
    lat: float
    score: float | None  # None: coordinates given, nothing was matched
    precision: str  # "address" | "street" | "area" | "point"
    geocoder: str  # "offline" | "nominatim" | "pelias" | "none"


class AddressNotFound(Exception):
    """Nothing matched; `suggestions` are the nearest labels (may be empty)."""

    def __init__(self, suggestions: list[str]) -> None:
        super().__init__("address not found")
        self.suggestions = suggestions


class GeocoderUnavailable(Exception):
    """The external geocoder failed or answered nonsense (the reason never holds the query)."""


async def _set_threshold(conn: AsyncConnection, threshold: float) -> None:
    # Local to the surrounding transaction, so pooled connections keep the default.
    await conn.execute(
        "SELECT set_config('pg_trgm.word_similarity_threshold', %s, true)", (str(threshold),)
    )


async def geocode_offline(conn: AsyncConnection, query: str) -> Geocoded | None:
    """Best trigram match among the imported addresses, or None."""
    async with conn.transaction():
        await _set_threshold(conn, CANDIDATE_THRESHOLD)
        async with conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(sql.query("geocode_search"),
                              {"q": query, "street_min": STREET_MATCH, "limit": 1})
            best = await cur.fetchone()
    if best is None:
        return None
    # How well the street is found in the query, and the query in the whole label.
    score = (float(best["ss"]) + float(best["ws"])) / 2
    if best["hn_match"]:
        return Geocoded(
            best["label"], best["lon"], best["lat"], round(score, 3), "address", "offline"
        )
    # No number asked, or none on this street matches it: the street is what we know, and the
    # point is that of its best-matching address.
    if best["hn_asked"]:
        score *= STREET_ONLY_FACTOR
    # Some imported cities are not names (OSM has addr:city=7): show only real ones.
    city = best["city"] if best["city"] and any(c.isalpha() for c in best["city"]) else None
    label = ", ".join(p for p in (best["street"], city) if p) or best["label"]
    return Geocoded(label, best["lon"], best["lat"], round(score, 3), "street", "offline")


async def suggest(conn: AsyncConnection, query: str) -> list[str]:
    """Up to five labels nearest to a query that matched nothing."""
    async with conn.transaction():
        await _set_threshold(conn, SUGGEST_THRESHOLD)
        cur = await conn.execute(sql.query("geocode_suggest"), {"q": query, "limit": SUGGESTIONS})
        return [label for label, _ in await cur.fetchall()]


def _precision_nominatim(hit: dict[str, Any]) -> str:
    rank = int(hit.get("place_rank") or 0)
    if rank >= 28 or hit.get("addresstype") in ("house", "building"):
        return "address"
    if rank >= 26 or hit.get("addresstype") == "road":
        return "street"
    return "area"


def _parse_nominatim(data: Any) -> Geocoded | None:
    if not isinstance(data, list):
        raise GeocoderUnavailable("the external geocoder did not answer a JSON list")
    if not data:
        return None
    hit = data[0]
    importance = hit.get("importance")
    score = min(1.0, max(0.0, float(importance))) if importance is not None else 1.0
    return Geocoded(
        str(hit.get("display_name", "")),
        float(hit["lon"]),
        float(hit["lat"]),
        round(score, 3),
        _precision_nominatim(hit),
        "nominatim",
    )


def _parse_pelias(data: Any) -> Geocoded | None:
    features = data.get("features") if isinstance(data, dict) else None
    if features is None:
        raise GeocoderUnavailable(
            "the external geocoder did not answer a GeoJSON FeatureCollection"
        )
    if not features:
        return None
    props = features[0].get("properties", {})
    lon, lat = features[0]["geometry"]["coordinates"][:2]
    layer = props.get("layer")
    precision = {"address": "address", "street": "street"}.get(layer, "area")
    score = min(1.0, max(0.0, float(props.get("confidence", 1.0))))
    return Geocoded(
        str(props.get("label", "")), float(lon), float(lat), round(score, 3), precision, "pelias"
    )


async def geocode_external(settings: ServiceSettings, query: str) -> Geocoded | None:
    """Ask the configured Nominatim- or Pelias-compatible search API; None when it finds nothing."""
    assert settings.geocoder_url
    if settings.geocoder_kind == "pelias":
        params: dict[str, str | int] = {"text": query, "size": 1}
    else:
        params = {"q": query, "format": "jsonv2", "limit": 1}
    try:
        async with httpx.AsyncClient(
            timeout=settings.geocoder_timeout_s,
            headers={"User-Agent": f"camdensity/{__version__}"},
        ) as client:
            response = await client.get(settings.geocoder_url, params=params)
            response.raise_for_status()
            data = response.json()
        if settings.geocoder_kind == "pelias":
            return _parse_pelias(data)
        return _parse_nominatim(data)
    except GeocoderUnavailable:
        raise
    # Exception texts hold the URL, and so the query: say only what kind of failure it was.
    except httpx.TimeoutException:
        raise GeocoderUnavailable("the external geocoder timed out") from None
    except httpx.HTTPStatusError as exc:
        raise GeocoderUnavailable(
            f"the external geocoder answered HTTP {exc.response.status_code}"
        ) from None
    except httpx.HTTPError:
        raise GeocoderUnavailable("the external geocoder could not be reached") from None
    except (ValueError, KeyError, TypeError, IndexError, AttributeError):
        raise GeocoderUnavailable("the external geocoder's answer could not be read") from None


async def geocode(conn: AsyncConnection, settings: ServiceSettings, query: str) -> Geocoded:
    """The external geocoder when configured, then the offline one; AddressNotFound otherwise."""
    if settings.geocoder_url:
        found = await geocode_external(settings, query)
        if found is not None:
            return found
    found = await geocode_offline(conn, query)
    if found is None:
        raise AddressNotFound(await suggest(conn, query))
    return found
