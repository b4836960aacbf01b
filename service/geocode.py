"""Address to point: offline over the imported addresses (standardised fields, pg_trgm), or an
external Nominatim/Pelias.

Privacy: the query text is sent only to the database (as a parameter) and, when configured, to
the external geocoder; it is never logged, stored or put in an error message.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import httpx2 as httpx
from psycopg import AsyncConnection
from psycopg.rows import dict_row

from camdensity import __version__, sql
from camdensity.address_parse import ParsedAddress
from camdensity.address_parse import parse as parse_address
from camdensity.settings import ServiceSettings

# httpx logs every request URL at INFO, and that URL holds the queried address.
for _name in ("httpx2", "httpcore2", "httpx", "httpcore"):
    logging.getLogger(_name).setLevel(logging.WARNING)

# Thresholds of the text path (queries that do not read as a US street address): trigram word
# similarity of the query within an address's label that makes it a candidate (the index
# prefilter), and of the address's street within the query that makes it a match. Measured on
# the Helsinki extract: a street with a letter missing or wrong scores 0.6-0.8, a query naming
# no street of the data ("helsinki", "00100", "main st helsinki") at most 0.46.
CANDIDATE_THRESHOLD = 0.4
STREET_MATCH = 0.55
# Fields path: trigram similarity of a stored street name to the typed one that makes it a
# candidate ("atlantc" for "atlantic" is 0.5; the score then says how sure).
NAME_THRESHOLD = 0.45
SUGGEST_THRESHOLD = 0.2
SUGGESTIONS = 5
CANDIDATE_STREETS = 20
# The decision rule (README "How the geocoder decides"). Streets scoring within MARGIN of the
# best are contenders; contenders or matched addresses farther apart than AMBIGUOUS_M are
# different places, so the answer is a list, not a pick. Below MIN_SCORE an answer is a 404
# with the candidates as suggestions.
MARGIN = 0.15
AMBIGUOUS_M = 250.0
MIN_SCORE = 0.5
# Factors on the score: a ZIP or city in the query that the street's addresses do not have; a
# number asked for but not on the street (street-level answer); an address picked among
# contending streets only because its number is there and theirs is not.
ZIP_MISMATCH = 0.5  # a mistyped ZIP with the right street, number and city still answers
CITY_MISMATCH = 0.45  # another city or borough never answers (below MIN_SCORE): 404
STREET_ONLY_FACTOR = 0.8
CHOSEN_BY_NUMBER = 0.85
# A street-level answer's radius is the extent of the street's known addresses, but never less
# than MIN_UNCERTAINTY_M, nor less than FEW_POINTS_UNCERTAINTY_M when the street is known by
# FEW_POINTS addresses or fewer (a street is longer than the few points a dataset has on it) or
# the number asked for is not between two known ones (it may lie beyond them).
MIN_UNCERTAINTY_M = 100.0
FEW_POINTS = 2
FEW_POINTS_UNCERTAINTY_M = 400.0
# A missing number between two known ones is interpolated when they are closer than this.
MAX_INTERPOLATION_GAP_M = 1000.0


@dataclass(frozen=True)
class Geocoded:
    """Where a query points: the matched label, the point, a score in 0..1 and its precision."""

    matched: str
    lon: float
    lat: float
    score: float | None  # None: coordinates given, nothing was matched
    precision: str  # "address" | "street" | "area" | "point"
    geocoder: str  # "offline" | "nominatim" | "pelias" | "none"
    uncertainty_m: float | None = None  # street-level: the answer is within this of the point

    def json(self) -> dict[str, Any]:
        """The answer's fields as the API shows them."""
        return {"lat": self.lat, "lon": self.lon, "matched": self.matched or None,
                "score": self.score, "precision": self.precision,
                "uncertainty_m": self.uncertainty_m, "geocoder": self.geocoder}


class AddressNotFound(Exception):
    """Nothing matched; `suggestions` are the nearest labels (may be empty)."""

    def __init__(self, suggestions: list[str], *, empty_store: bool = False) -> None:
        super().__init__("address not found")
        self.suggestions = suggestions
        self.empty_store = empty_store


class AddressAmbiguous(Exception):
    """Several places answer the query about equally well; `candidates` lists them."""

    def __init__(self, candidates: list[Geocoded]) -> None:
        super().__init__("address ambiguous")
        self.candidates = candidates


class GeocoderUnavailable(Exception):
    """The external geocoder failed or answered nonsense (the reason never holds the query)."""


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres (a sphere is precise enough to tell places apart)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * 6_371_008.8 * math.asin(min(1.0, math.sqrt(a)))


def _spread_m(points: list[tuple[float, float]]) -> float:
    """The largest distance between two of the points."""
    return max((distance_m(*a, *b) for i, a in enumerate(points) for b in points[i + 1:]),
               default=0.0)


def _street_score(row: dict[str, Any]) -> float:
    """A street's score: its match, lowered when the query's ZIP or city disagrees with it."""
    score = float(row["ss"])
    if row["zip_ok"] is False:
        score *= ZIP_MISMATCH
    if row["city_ok"] is False:
        score *= CITY_MISMATCH
    return min(1.0, score)


def _street_label(row: dict[str, Any]) -> str:
    return ", ".join(p for p in (row["street"], row["city"]) if p)


def _street_answer(row: dict[str, Any], score: float) -> Geocoded:
    # Few known addresses, or a number outside the known ones: the extent bounds little.
    few = not row["interpolated"] and (row["n"] <= FEW_POINTS or bool(row["hn_asked"]))
    floor = FEW_POINTS_UNCERTAINTY_M if few else MIN_UNCERTAINTY_M
    radius = max(floor, float(row["radius_m"] or 0.0))
    return Geocoded(_street_label(row), row["lon"], row["lat"], round(score, 3), "street",
                    "offline", round(radius))


def _address_answers(row: dict[str, Any], score: float) -> list[Geocoded]:
    """The addresses of a street with the number asked for (in the query's ZIP when any is)."""
    matches = row["matches"] or []
    in_zip = [m for m in matches if m["zip_ok"]]
    if row["zip_ok"] and not in_zip:
        score *= ZIP_MISMATCH
    return [Geocoded(m["label"], m["lon"], m["lat"], round(score, 3), "address", "offline")
            for m in (in_zip or matches)]


def decide(rows: list[dict[str, Any]]) -> Geocoded | None:
    """The answer from the candidate streets (best first); AddressAmbiguous; None: nothing fits.

    Contenders are the streets within MARGIN of the best score. With a house number asked for,
    the contenders holding it answer (several far apart: ambiguous); when none holds it, the
    street answers with an uncertainty radius (several far apart: ambiguous). Below MIN_SCORE
    nothing answers.
    """
    scored = sorted(((_street_score(r), r) for r in rows), key=lambda sr: -sr[0])
    scored = [(s, r) for s, r in scored if s >= MIN_SCORE]
    if not scored:
        return None
    best = scored[0][0]
    contenders = [(s, r) for s, r in scored if s >= best - MARGIN]
    asked = any(r["hn_asked"] for _, r in contenders)
    with_number = [(s, r) for s, r in contenders if r["matches"]]
    if asked and with_number:
        answers = [a for s, r in with_number for a in _address_answers(r, s)]
        top = max(s for s, _ in with_number)
        if any(s >= top and not r["matches"] for s, r in contenders) and len(contenders) > 1:
            # A street at least as good lacks the number: this one is chosen by its number only.
            answers = [Geocoded(a.matched, a.lon, a.lat, round((a.score or 0) * CHOSEN_BY_NUMBER,
                                                                3), a.precision, a.geocoder)
                       for a in answers]
        answers.sort(key=lambda a: -(a.score or 0))
        close = [a for a in answers if (a.score or 0) >= max(MIN_SCORE, (answers[0].score or 0)
                                                            - MARGIN)]
        if _spread_m([(a.lon, a.lat) for a in close]) > AMBIGUOUS_M:
            raise AddressAmbiguous(close[:SUGGESTIONS])
        answer = answers[0]
    else:
        answers = [_street_answer(r, s * (STREET_ONLY_FACTOR if r["hn_asked"] else 1.0))
                   for s, r in contenders]
        answers = [a for a in answers if (a.score or 0) >= MIN_SCORE] or answers[:1]
        if _spread_m([(a.lon, a.lat) for a in answers]) > AMBIGUOUS_M:
            raise AddressAmbiguous(answers[:SUGGESTIONS])
        answer = answers[0]
    return answer if (answer.score or 0) >= MIN_SCORE else None


async def _set_thresholds(conn: AsyncConnection, word: float, name: float) -> None:
    # Local to the surrounding transaction, so pooled connections keep the defaults. A custom
    # plan each time: the search's paths are switched by parameters, which a generic plan
    # (the pool prepares statements) cannot fold away, and would scan every address.
    await conn.execute(
        "SELECT set_config('pg_trgm.word_similarity_threshold', %s, true), "
        "set_config('pg_trgm.similarity_threshold', %s, true), "
        "set_config('plan_cache_mode', 'force_custom_plan', true)", (str(word), str(name))
    )


async def _candidates(conn: AsyncConnection, query: str, parsed: ParsedAddress, *,
                      fields: bool, fuzzy: bool = False) -> list[dict[str, Any]]:
    """Candidate streets: by the parsed fields (`fields`), else by the query's text."""
    params = {"fields": fields, "fuzzy": fuzzy, "q": query,
              "street": parsed.street if fields else None,
              "hn": parsed.housenumber if fields else None,
              # a ZIP and city only from a US parse ("FABIANINKATU 2" is no city and ZIP)
              "zip": parsed.postcode if parsed.us else None,
              "city": parsed.city if parsed.us else None,
              "street_min": STREET_MATCH, "limit": CANDIDATE_STREETS,
              "max_gap_m": MAX_INTERPOLATION_GAP_M}
    async with conn.transaction():
        await _set_thresholds(conn, CANDIDATE_THRESHOLD, NAME_THRESHOLD)
        async with conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(sql.query("geocode_search"), params)
            return await cur.fetchall()


async def geocode_offline(conn: AsyncConnection, query: str) -> Geocoded | None:
    """The imported address or street the query names, or None; AddressAmbiguous if several."""
    parsed = parse_address(query)
    rows: list[dict[str, Any]] = []
    if parsed.us:
        rows = await _candidates(conn, query, parsed, fields=True)
        if not rows and (parsed.postcode or parsed.city):
            rows = await _candidates(conn, query, parsed, fields=True, fuzzy=True)
    # Not a US street address, or one whose street is not US-shaped ("00180 Helsinki, Bulevardi
    # 21" reads as number 00180 on "Helsinki"): the text path. A US-shaped street that is not in
    # the data is not looked for by text, where "Atlantic Ave" would find "Ave B".
    if not rows and not parsed.typed:
        rows = await _candidates(conn, query, parsed, fields=False)
    return decide(rows)


async def suggest(conn: AsyncConnection, query: str) -> list[str]:
    """Up to five labels nearest to a query that matched nothing."""
    async with conn.transaction():
        await _set_thresholds(conn, SUGGEST_THRESHOLD, SUGGEST_THRESHOLD)
        cur = await conn.execute(sql.query("geocode_suggest"), {"q": query, "limit": SUGGESTIONS})
        return [label for label, _ in await cur.fetchall()]


async def address_count(conn: AsyncConnection) -> bool:
    """Whether any address is imported (no address data: a different 404)."""
    cur = await conn.execute("SELECT EXISTS (SELECT 1 FROM address)")
    row = await cur.fetchone()
    return bool(row and row[0])


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
        if not await address_count(conn):
            raise AddressNotFound([], empty_store=True)
        raise AddressNotFound(await suggest(conn, query))
    return found
