"""`/report`: a page a journalist can read and cite, also as CSV and JSON."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse

from camdensity.evidence.analysis import Question
from camdensity.evidence.history import data_dates
from camdensity.evidence.report import CAVEATS, render_csv, render_html, site_rows
from camdensity.evidence.stats import interval_text
from camdensity.service.dependencies import ConnDep
from camdensity.service.openapi import NO_BUILD, error
from camdensity.service.routes.analysis import QuestionDep, comparison
from camdensity.service.routes.sites import fetch_sites, site_json
from camdensity.service.routes.tiles import cache_headers
from camdensity.service.snapshot import current_snapshot
from camdensity.settings import evidence_settings, method_settings

router = APIRouter(tags=["evidence"])

PLURALS = {"clinic": "clinics", "abortion": "abortion providers", "school": "schools",
           "immigration": "immigration offices", "courthouse": "courthouses",
           "worship": "places of worship", "shelter": "shelters"}


def verdict(c: dict[str, Any]) -> str:
    """One plain sentence: more, fewer, or no clear difference, with the interval."""
    r = c["ratio_mean"]
    what = PLURALS.get(c["category"], c["category"]).capitalize()
    places = f"places drawn from the null model ({c['null_model']['name']})"
    if r["estimate"] is None:
        return f"No ratio: {'; '.join(c['reasons'])}."
    interval = interval_text(r).split(" ", 1)[1]
    if r["ci_low"] is not None and r["ci_low"] > 1:
        return (f"{what} have {r['estimate']:.1f} times as many cameras within {c['radius_m']} m "
                f"as {places}, on average (95% interval {interval}).")
    if r["ci_high"] is not None and r["ci_high"] < 1:
        return (f"{what} have fewer cameras within {c['radius_m']} m than {places}: "
                f"{r['estimate']:.2f} times as many on average (95% interval {interval}).")
    return (f"No clear difference: {what.lower()} have {r['estimate']:.2f} times as many cameras "
            f"within {c['radius_m']} m as {places}, and the 95% interval {interval} includes 1.")


async def build_report(conn: ConnDep, request: Request, q: Question, top: int) -> dict[str, Any]:
    """Everything the page, the CSV and the JSON show."""
    c = await comparison(conn, q)
    snap = await current_snapshot(conn)
    assert snap is not None  # comparison() answered 503 otherwise
    box = dict(zip(("minlon", "minlat", "maxlon", "maxlat"), q.area or (None,) * 4, strict=True))
    most = await fetch_sites(conn, "-exposure", categories=[q.category], limit=top, **box)
    least = await fetch_sites(conn, "exposure", categories=[q.category], limit=top, **box)
    dates = data_dates(snap.sources)
    settings = evidence_settings()
    params = {**snap.params, **{k: v for k, v in settings.model_dump().items()
                                if k.startswith("analysis_")}}
    query = {"category": q.category, "radius": q.radius_m, "null_model": q.null_model}
    if q.area:
        query["area"] = ",".join(f"{v:g}" for v in q.area)
    return {
        "category": q.category,
        "category_label": PLURALS.get(q.category, q.category),
        "radius_m": q.radius_m,
        "area": query.get("area"),
        "snapshot": snap.snapshot,
        "built_at": snap.built_at.isoformat(timespec="seconds"),
        "data_dates": "–".join(dict.fromkeys([dates[0], dates[-1]])) if dates else None,
        "comparison": c,
        "verdict": verdict(c),
        "ratio_text": {"mean": interval_text(c["ratio_mean"]),
                       "median": interval_text(c["ratio_median"])},
        "most_watched": site_rows([site_json(s) for s in most]),
        "least_watched": site_rows([site_json(s) for s in least]),
        "params": params,
        "fov_deg": method_settings().fov_deg,
        "min_sites": settings.analysis_min_sites,
        "min_baseline": settings.analysis_min_baseline,
        "sources": [{**s, "imported_at": str(s.get("imported_at") or "")} for s in snap.sources],
        "caveats": list(CAVEATS),
        "links": {fmt: f"{request.url.path}?{urlencode({**query, 'format': fmt})}"
                  for fmt in ("csv", "json")},
    }


@router.get(
    "/report",
    summary="A citable report: are this category's sites more watched than comparable places?",
    description="The null-model comparison with its intervals as a chart, the most and least "
    "watched sites (confidential categories unnamed), the method and its parameters, the sources "
    "with licences and dates, the snapshot id and the caveats. `format=csv` or `json` for the "
    "same content as data.",
    response_class=HTMLResponse,
    responses={200: {"description": "The report: HTML, or CSV / JSON with `format`",
                     "content": {"text/html": {}, "text/csv": {}, "application/json": {}}},
               422: error("Unknown category or null model, radius or area out of range"),
               503: NO_BUILD},
)
async def report(
    conn: ConnDep,
    request: Request,
    q: QuestionDep,
    top: Annotated[int, Query(ge=1, le=100, description="Sites in each list (1..100).")] = 10,
    format: Annotated[Literal["html", "csv", "json"], Query(
        description="html (default), csv or json.")] = "html",
) -> Response:
    """The report in the asked format."""
    r = await build_report(conn, request, q, top)
    name = f"camdensity-report-{q.category}-{r['snapshot']}"
    # A box someone asked about: no shared cache keeps it.
    place = cache_headers(queried_place=True) if q.area is not None else {}
    if format == "json":
        return JSONResponse(r, headers={
            "Content-Disposition": f'inline; filename="{name}.json"', **place})
    if format == "csv":
        return Response(render_csv(r), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"', **place})
    return HTMLResponse(render_html(r), headers=place)
