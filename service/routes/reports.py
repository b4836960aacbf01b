"""`/reports`: a person reports a camera from the map; `/admin/reports`: a moderator decides.

Off unless CAMDENSITY_REPORTS_ENABLED (a deployment is read-only unless its host opts in). No
reporter data is kept: no address, no user agent, no time finer than the hour (README: Reports).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import jinja2
import pydeck as pdk
from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import HTTPException
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.ext.asyncio import AsyncEngine

from camdensity.ingest.values import control_char, parse_point
from camdensity.service import report_queue
from camdensity.service.abuse import ClientLimiter, ProofOfWork, client_address
from camdensity.service.errors import FieldError, problem
from camdensity.service.openapi import error
from camdensity.service.routes.map import basemap_layer, basemap_stamp, deck_bundle, mvt_worker
from camdensity.service.routes.tiles import base_url, basemap_tiles_url
from camdensity.service.security import content_security_policy
from camdensity.settings import (
    CAMERA_TYPES,
    OPERATOR_TYPES,
    REPORT_MOUNTS,
    ReportSettings,
    report_settings,
    service_settings,
)

router = APIRouter(tags=["reports"])

NO_STORE = {"Cache-Control": "no-store"}
DISABLED = error("Reports are not enabled on this deployment (CAMDENSITY_REPORTS_ENABLED)")
LIMITED = {"description": "Too many reports from this client or this area: retry after "
                          "`Retry-After` seconds", "model": error("")["model"],
           "headers": {"Retry-After": {"schema": {"type": "integer"},
                                       "description": "Seconds to wait"}}}
UNAUTHORIZED = {**error("No or wrong `Authorization: Bearer KEY` (`camdensity admin-key`)"),
                "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}}}
RECEIPT = r"^[A-Za-z0-9_-]{32}$"
_NOTE_MAX = ReportSettings().reports_note_max_chars


@dataclass
class Reports:
    """What the report routes use: the two roles' pools, the limits and the proof of work."""

    reporter: AsyncEngine
    moderator: AsyncEngine
    limiter: ClientLimiter
    pow: ProofOfWork
    settings: ReportSettings
    pages: dict[Any, tuple[bytes, str]] = field(default_factory=dict)  # the moderation page

    async def close(self) -> None:
        await self.reporter.dispose()
        await self.moderator.dispose()


async def open_reports(reporter_url: str, moderator_url: str, db_settings: Any) -> Reports:
    """The pools of both roles and the limits, as the settings say."""
    settings = report_settings()
    reporter = report_queue.engine(reporter_url, db_settings)
    moderator = report_queue.engine(moderator_url, db_settings)
    key = await report_queue.pow_key(reporter)
    return Reports(reporter, moderator, ClientLimiter(settings), ProofOfWork(key, settings),
                   settings)


def enabled(request: Request) -> Reports:
    """The app's Reports, or 404 when reports are off."""
    reports = getattr(request.app.state, "reports", None)
    if reports is None:
        raise HTTPException(404, "reports are not enabled on this deployment "
                                 "(CAMDENSITY_REPORTS_ENABLED)")
    return reports


ReportsDep = Annotated[Reports, Depends(enabled)]


class ReportIn(BaseModel):
    """A camera someone saw: where, what, who runs it. No photo, no name, no e-mail."""

    model_config = ConfigDict(extra="forbid")

    lat: float = Field(ge=-90, le=90, description="Latitude (WGS84)")
    lon: float = Field(ge=-180, le=180, description="Longitude (WGS84)")
    camera_type: Literal[CAMERA_TYPES] = Field(description="The camera's type")  # type: ignore[valid-type]
    operator_type: Literal[OPERATOR_TYPES] = Field(  # type: ignore[valid-type]
        "unknown", description="Who runs it")
    operator: str | None = Field(None, max_length=100, description=(
        "Who runs it, if known (OSM operator: a police department, Flock Safety...)"))
    direction: str | None = Field(None, max_length=20, description=(
        "Where it looks, as OSM's camera:direction: degrees (75) or a compass point (NE)"))
    mount: Literal[REPORT_MOUNTS] | None = Field(  # type: ignore[valid-type]
        None, description="What it is fixed to (OSM camera:mount)")
    note: str | None = Field(None, max_length=_NOTE_MAX, description=(
        "A short note for the moderator (CAMDENSITY_REPORTS_NOTE_MAX_CHARS); no names"))
    challenge: str = Field(max_length=200, description="From GET /reports/challenge")
    nonce: str = Field(max_length=20, pattern=r"^[0-9]{1,20}$", description=(
        "Makes SHA-256(challenge \":\" nonce) start with the challenge's zero bits"))

    @model_validator(mode="after")
    def _as_imports(self) -> ReportIn:
        """The coordinate and text rules of imports (ingest/values.py)."""
        reason = parse_point(self.lat, self.lon)
        if isinstance(reason, str):
            raise ValueError(reason)  # noqa: TRY004  (pydantic turns ValueError into a 422)
        for name in ("operator", "direction", "note"):
            found = control_char(getattr(self, name) or "")
            if found:
                raise ValueError(f"{name}: control character {found}")
        return self


class ReceiptOut(BaseModel):
    """What a reporter keeps: the one thing that can withdraw the report, linked to nothing."""

    receipt: str = Field(description="Give it to DELETE /reports/{receipt} to withdraw")


class ChallengeOut(BaseModel):
    """A proof-of-work challenge."""

    challenge: str
    bits: int = Field(description="Zero bits SHA-256(challenge \":\" nonce) must start with")
    expires_in: int = Field(description="Seconds it stays valid")


def too_many(seconds: int, detail: str) -> JSONResponse:
    """429 with Retry-After."""
    return JSONResponse({"detail": detail}, status_code=429,
                        headers={"Retry-After": str(seconds), **NO_STORE})


@router.get("/reports/challenge", summary="A proof-of-work challenge for POST /reports",
            response_model=ChallengeOut, responses={404: DISABLED})
async def get_challenge(reports: ReportsDep, response: Response) -> ChallengeOut:
    """A signed challenge: find a nonce so SHA-256(challenge ":" nonce) starts with `bits`
    zero bits (the map page does it in the browser; no third party is asked)."""
    c = reports.pow.issue()
    response.headers.update(NO_STORE)
    return ChallengeOut(challenge=c.text, bits=c.bits, expires_in=reports.pow.ttl_s)


@router.post(
    "/reports", status_code=202, response_model=ReceiptOut,
    summary="Report a camera (queued for moderation)",
    responses={404: DISABLED, 413: error("Body larger than CAMDENSITY_REPORTS_MAX_BODY_BYTES"),
               422: error("Invalid report, challenge or nonce"), 429: LIMITED},
)
async def post_report(reports: ReportsDep, request: Request, body: ReportIn) -> Response:
    """Queue a report. Limits: CAMDENSITY_REPORTS_PER_CLIENT per client per window (counted
    under a rotating in-memory key, never the address), CAMDENSITY_REPORTS_PER_AREA_HOUR per
    area per hour, and a proof of work."""
    settings = reports.settings
    address = client_address(request.client.host if request.client else None,
                             request.headers.get("x-forwarded-for"), settings.trusted_proxies)
    wait = reports.limiter.hit(address)
    del address  # never kept, never logged
    if wait:
        return too_many(wait, f"at most {settings.reports_per_client} reports per "
                        f"{settings.reports_client_window_s} s from one client "
                        "(CAMDENSITY_REPORTS_PER_CLIENT)")
    refused = reports.pow.check(body.challenge, body.nonce)
    if refused:
        field = refused.split(":", 1)[0]
        return problem(refused, [FieldError(loc=["body", field], msg=refused, type="value_error")],
                       NO_STORE)
    report = report_queue.NewReport(body.lat, body.lon, body.camera_type, body.operator_type,
                                    body.operator or None, body.direction or None, body.mount,
                                    body.note or None)
    try:
        receipt, wait = await report_queue.submit(reports.reporter, report, body.challenge,
                                                  settings)
    except report_queue.ReportRefused as exc:
        return problem(str(exc), [FieldError(loc=["body", exc.field], msg=str(exc),
                                             type="value_error")], NO_STORE)
    if receipt is None:
        return too_many(wait, f"at most {settings.reports_per_area_hour} reports per hour in "
                        "one area (CAMDENSITY_REPORTS_PER_AREA_HOUR)")
    return JSONResponse({"receipt": receipt}, status_code=202, headers=NO_STORE)


@router.delete(
    "/reports/{receipt}", status_code=204, summary="Withdraw a report",
    responses={404: error("No report holds this receipt (withdrawn, approved, or never sent), "
                          "or reports are not enabled")},
)
async def delete_report(
    reports: ReportsDep,
    receipt: Annotated[str, Path(pattern=RECEIPT, description="The receipt POST /reports gave")],
) -> Response:
    """Delete the report at once (a withdrawn report is not kept at all)."""
    if not await report_queue.withdraw(reports.reporter, receipt):
        raise HTTPException(404, "no report holds this receipt (withdrawn, approved, or never sent)")
    return Response(status_code=204, headers=NO_STORE)


# --- moderation ----------------------------------------------------------------------------

_bearer = HTTPBearer(auto_error=False, description="The key `camdensity admin-key` printed")


async def moderator(
    reports: ReportsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Reports:
    """The Reports when `Authorization: Bearer KEY` holds the admin key; else 401."""
    challenge = {"WWW-Authenticate": "Bearer", **NO_STORE}
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(401, "send Authorization: Bearer KEY (camdensity admin-key)",
                            headers=challenge)
    matches = await report_queue.key_matches(reports.moderator, credentials.credentials)
    if matches is None:
        raise HTTPException(401, "no admin key yet: run `camdensity admin-key`", headers=challenge)
    if not matches:
        raise HTTPException(401, "wrong admin key", headers=challenge)
    return reports


ModeratorDep = Annotated[Reports, Depends(moderator)]
REPORT_ID = Path(ge=1, le=2**63 - 1, description="The pending report's id")


class Duplicate(BaseModel):
    """A published camera near a pending report."""

    camera_type: str
    operator_type: str
    count: int
    lat: float
    lon: float
    distance_m: float


class PendingReport(BaseModel):
    """A report waiting for a decision; nothing about who sent it."""

    id: int
    lat: float
    lon: float
    camera_type: str
    operator_type: str
    operator: str | None
    direction: str | None
    mount: str | None
    note: str | None
    age_hours: int = Field(description="Whole hours since it came (the store keeps the hour)")
    likely_duplicates: list[Duplicate] = Field(
        description="Published cameras within CAMDENSITY_REPORTS_DUPLICATE_M")


class Decision(BaseModel):
    """What a decision did."""

    id: int
    status: Literal["approved", "rejected"]


@router.get("/admin/reports", summary="Pending reports (moderation)",
            response_model=list[PendingReport], responses={401: UNAUTHORIZED, 404: DISABLED})
async def list_reports(reports: ModeratorDep) -> JSONResponse:
    """Pending reports, oldest first, with likely duplicates; rejected ones past the
    retention period are deleted on the way."""
    rows = await report_queue.pending(reports.moderator, reports.settings)
    return JSONResponse(rows, headers=NO_STORE)


@router.post("/admin/reports/{report_id}/approve", response_model=Decision,
             summary="Approve a report: it joins the `web-reports` source at the next build",
             responses={401: UNAUTHORIZED, 404: error("No pending report with this id")})
async def approve_report(reports: ModeratorDep,
                         report_id: Annotated[int, REPORT_ID]) -> JSONResponse:
    """Move the report into the `web-reports` source (fused at the next `camdensity build`)."""
    if await report_queue.approve(reports.moderator, report_id, reports.settings) is None:
        raise HTTPException(404, "no pending report with this id")
    return JSONResponse({"id": report_id, "status": "approved"}, headers=NO_STORE)


@router.post("/admin/reports/{report_id}/reject", response_model=Decision,
             summary="Reject a report (deleted after CAMDENSITY_REPORTS_RETENTION_DAYS)",
             responses={401: UNAUTHORIZED, 404: error("No pending report with this id")})
async def reject_report(reports: ModeratorDep,
                        report_id: Annotated[int, REPORT_ID]) -> JSONResponse:
    """Mark the report rejected; it is deleted once the retention period has passed."""
    if not await report_queue.reject(reports.moderator, report_id, reports.settings):
        raise HTTPException(404, "no pending report with this id")
    return JSONResponse({"id": report_id, "status": "rejected"}, headers=NO_STORE)


_templates = jinja2.Environment(
    loader=jinja2.PackageLoader("camdensity.service", "templates"), autoescape=True, trim_blocks=True
)


def moderation_page(basemap_url: str | None, duplicate_m: float) -> tuple[bytes, str]:
    """The moderation page (deck.gl inlined, the offline basemap when there is one) and its
    Content-Security-Policy (its inline scripts by hash)."""
    deck = pdk.Deck(layers=[basemap_layer(basemap_url)] if basemap_url else [],
                    initial_view_state=pdk.ViewState(latitude=20, longitude=0, zoom=1),
                    map_provider=None, map_style=None)
    text = _templates.get_template("moderation.html").render(
        deck_bundle=deck_bundle(), mvt_worker=mvt_worker(),
        deck_json=deck.to_json().replace("<", "\\u003c"), duplicate_m=f"{duplicate_m:g}")
    return text.encode(), content_security_policy(text, service_settings())


@router.get("/admin/moderation", response_class=Response,
            summary="The moderation page: each pending report on a map beside the cameras near it",
            responses={200: {"content": {"text/html": {}}}, 404: DISABLED})
async def get_moderation_page(reports: ReportsDep, request: Request) -> Response:
    """An offline page (no external script) that asks for the admin key, lists the pending
    reports with Approve / Reject, and draws the one chosen, its 30 m circle and the published
    cameras within it. The page holds no data until the key is given."""
    basemap = basemap_stamp()
    key = (base_url(request), basemap)
    page = reports.pages.get(key)
    if page is None:
        url = basemap_tiles_url(request) if basemap else None
        page = await run_in_threadpool(moderation_page, url, reports.settings.reports_duplicate_m)
        reports.pages = {key: page}  # one page per process: the newest basemap
    body, policy = page
    return Response(body, media_type="text/html; charset=utf-8",
                    headers={"Content-Security-Policy": policy, **NO_STORE})
