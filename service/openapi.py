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
