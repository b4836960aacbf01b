"""Error bodies as OpenAPI documents them (FastAPI's HTTPException answers `{"detail": ...}`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ErrorMessage(BaseModel):
    """An error answer whose `detail` says what went wrong."""

    detail: str = Field(description="What went wrong")


class AddressSuggestions(BaseModel):
    """Why an address matched nothing, and what to try instead."""

    message: str = Field(description="What to do: check the spelling, try a suggestion, or give lat and lon")
    suggestions: list[str] = Field(description="Up to five imported addresses nearest to the query (may be empty)")


class AddressNotFoundMessage(BaseModel):
    """The 404 of /coverage: the address matched no imported address."""

    detail: AddressSuggestions


class Candidate(BaseModel):
    """One place an ambiguous address may mean."""

    lat: float
    lon: float
    matched: str = Field(description="The imported address or street (with its city)")
    score: float = Field(description="How sure the geocoder is, 0..1 (README: the score)")
    precision: str = Field(description="`address` or `street`")
    uncertainty_m: float | None = Field(description="Street-level: the place is within this many metres")
    geocoder: str


class AddressCandidates(BaseModel):
    """Why an address is ambiguous, and the places it may mean."""

    message: str = Field(description="What to do: add the ZIP, city or number, or pick one")
    candidates: list[Candidate] = Field(description="Up to five places, best first")


class AddressAmbiguousMessage(BaseModel):
    """The 300 of /coverage: several places match the address about equally well."""

    detail: AddressCandidates


def error(description: str, model: type[BaseModel] = ErrorMessage) -> dict[str, Any]:
    """One entry of a route's `responses=`: a JSON error body described in words."""
    return {"description": description, "model": model}


NOT_MODIFIED: dict[str, Any] = {"description": "Unchanged since the ETag given in If-None-Match (empty body)"}
NO_BUILD: dict[str, Any] = error("No finished build yet: import sources and run `camdensity build`")

# The largest value any integer parameter may take (PostgreSQL int4): bigger ones are a 422,
# never an overflow deeper down.
MAX_INT = 2**31 - 1


def comma_list(values: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """OpenAPI extras for a comma list of `values`: a pattern naming each allowed value."""
    word = "(" + "|".join(values) + ")"
    return {"pattern": f"^{word}(,{word})*$"}

# A box as the OpenAPI document states it: four decimal numbers (min < max is checked on use).
_NUMBER = r"-?[0-9]{1,3}(\.[0-9]{1,12})?"
BBOX: dict[str, Any] = {"pattern": f"^{_NUMBER},{_NUMBER},{_NUMBER},{_NUMBER}$"}
