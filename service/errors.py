"""Error answers: 503 with Retry-After when the store fails, and one documented 422 body."""

from __future__ import annotations

import re
from typing import Any

import psycopg
from fastapi import Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from camdensity.settings import database_settings


def store_unavailable(detail: str) -> JSONResponse:
    """503 `{"detail": ...}` with Retry-After (settings.retry_after_s)."""
    return JSONResponse(
        {"detail": detail},
        status_code=503,
        headers={"Retry-After": str(database_settings().retry_after_s), "Cache-Control": "no-store"},
    )


async def on_operational_error(request: Request, exc: Exception) -> JSONResponse:
    """PostgreSQL unreachable, restarting, or a statement over the timeout: 503, retry later."""
    if isinstance(exc, psycopg.errors.QueryCanceled):
        return store_unavailable(
            "the query took longer than CAMDENSITY_STATEMENT_TIMEOUT_MS "
            f"({database_settings().statement_timeout_ms} ms); retry later or ask for less"
        )
    return store_unavailable("the store (PostgreSQL) is unreachable; retry later")


class FieldError(BaseModel):
    """One rejected parameter: where, what is wrong, and the kind of error."""

    loc: list[str | int] = Field(description="Where: `[\"query\", \"radius\"]`, `[\"path\", \"z\"]`...")
    msg: str = Field(description="What is wrong with it")
    type: str = Field(description="Kind of error, e.g. `less_than_equal`, `value_error`")


class ValidationProblem(BaseModel):
    """The body of every 422: a one-line `detail` and the parameters at fault."""

    detail: str = Field(description="What is wrong, in one line")
    errors: list[FieldError] = Field(description="Each parameter at fault (the given value is "
                                                 "never echoed: it may be an address)")


def _where(loc: tuple[str | int, ...]) -> str:
    return ".".join(str(p) for p in loc[1:]) or ".".join(str(p) for p in loc)


SETTING_NAME = re.compile(r"CAMDENSITY_[A-Z0-9_]+")


def _settings_named(request: Request) -> dict[str, str]:
    """Parameter name -> the setting its documented bound comes from (named in its description)."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return {}
    named = {}
    pending, params = [dependant], []
    while pending:  # the route's own parameters and those of its dependencies
        current = pending.pop()
        params.extend(current.query_params)
        pending.extend(current.dependencies)
    for param in params:
        found = SETTING_NAME.search(param.field_info.description or "")
        if found:
            named[param.alias] = found.group(0)
    return named


async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's parameter validation, as one ValidationProblem (never echoing the input); a
    bound that comes from a setting names it, as every limit's error does."""
    assert isinstance(exc, RequestValidationError)
    named = _settings_named(request)
    errors = []
    for e in exc.errors():
        loc = list(e.get("loc", ()))
        msg = str(e.get("msg", ""))
        setting = named.get(str(loc[-1])) if loc else None
        if setting and str(e.get("type", "")).endswith(("_equal", "_than")):
            msg += f" ({setting})"
        errors.append(FieldError(loc=loc, msg=msg, type=str(e.get("type", "value_error"))))
    detail = "; ".join(f"{_where(tuple(e.loc))}: {e.msg}" for e in errors) or "invalid request"
    return problem(detail, errors)


async def on_http_exception(request: Request, exc: Exception) -> Response:
    """A route's own 422 (HTTPException) as a ValidationProblem; other statuses unchanged."""
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 422 and isinstance(exc.detail, str):
        return problem(exc.detail, [FieldError(loc=["query"], msg=exc.detail, type="value_error")],
                       exc.headers)
    return await http_exception_handler(request, exc)


def problem(detail: str, errors: list[FieldError], headers: dict[str, str] | None = None) -> JSONResponse:
    """A 422 answer with the ValidationProblem body."""
    body = ValidationProblem(detail=detail, errors=errors).model_dump()
    return JSONResponse(body, status_code=422, headers=headers)


def document_problems(spec: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI document with every 422 described by ValidationProblem (FastAPI's default
    HTTPValidationError, with `detail` an array, is not what the service sends)."""
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    for model in (FieldError, ValidationProblem):
        schemas[model.__name__] = model.model_json_schema(ref_template="#/components/schemas/{model}")
    ref = {"$ref": "#/components/schemas/ValidationProblem"}
    for operations in spec.get("paths", {}).values():
        for operation in operations.values():
            response = operation.get("responses", {}).get("422")
            if response is not None:
                response["content"] = {"application/json": {"schema": ref}}
                response.setdefault("description", "Invalid parameter; `detail` says why")
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return spec
