"""`/analysis/sites`: a category's sites against a stated null model, with intervals and a p-value."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Response

from camdensity.evidence.analysis import AnalysisError, NullModel, Question, analyse, check
from camdensity.service.dependencies import ConnDep
from camdensity.service.openapi import BBOX, NO_BUILD, error
from camdensity.service.routes.sites import parse_bbox
from camdensity.service.routes.tiles import cache_headers
from camdensity.service.snapshot import current_snapshot
from camdensity.settings import (
    SITE_CATEGORIES,
    EvidenceSettings,
    evidence_settings,
    method_settings,
)
from camdensity.tiles.cache import LRU

router = APIRouter(tags=["evidence"])

# Answers per (snapshot, question): the resampling costs a fraction of a second, and a report
# page asks the same questions again.
_ANSWERS = LRU(64)


async def comparison(conn: ConnDep, q: Question) -> dict[str, Any]:
    """The analysis of `q` under the current data version (503 before the first build)."""
    settings = evidence_settings()
    try:
        check(q, settings, SITE_CATEGORIES)
    except AnalysisError as exc:
        raise HTTPException(422, str(exc)) from None
    snap = await current_snapshot(conn)
    if snap is None:
        raise HTTPException(503, "no finished build yet: import sources and run `camdensity build`")
    key = (snap.snapshot, *q.key())
    cached = _ANSWERS.get(key)
    if isinstance(cached, dict):
        return cached
    answer = await analyse(conn, q, snap.snapshot, settings, method_settings())
    _ANSWERS.put(key, answer)
    return answer


def question(
    category: Annotated[str, Query(description=f"Site category: {', '.join(SITE_CATEGORIES)}.",
                                   json_schema_extra={"enum": list(SITE_CATEGORIES)})],
    radius: Annotated[int, Query(ge=10, le=EvidenceSettings().analysis_max_radius_m,
                                 description="Radius in metres (10..CAMDENSITY_ANALYSIS_MAX_RADIUS_M"
                                 ", default 2000).")] = 200,
    null_model: Annotated[NullModel, Query(
        description="`addresses`: random imported addresses near the sites; `cells`: random "
        "points in H3 cells holding an address or camera near the sites.")] = "addresses",
    area: Annotated[str | None, Query(
        description="Only sites and baseline places in this box: minlon,minlat,maxlon,maxlat "
        "(default: everything, the baseline within CAMDENSITY_ANALYSIS_AREA_M of the sites).",
        json_schema_extra=BBOX)]
    = None,
) -> Question:
    """The comparison a request asks for (`/analysis/sites`, `/report`); 422 for a bad box."""
    return Question(category, radius, null_model, parse_bbox(area))


QuestionDep = Annotated[Question, Depends(question)]


@router.get(
    "/analysis/sites",
    summary="Are this category's sites more watched than comparable places?",
    description="Ratio of the mean (and median) number of cameras within the radius of the "
    "category's sites to that of places drawn from a null model, with bootstrap 95% intervals, "
    "a two-sided permutation p-value and the sample sizes. Seeded from the snapshot id: the same "
    "question on the same data version gives the same answer. When a sample is smaller than the "
    "minimum, `too_small` is true and no ratio is given.",
    responses={422: error("Unknown category or null model, radius or bbox out of range"),
               503: NO_BUILD},
)
async def analysis_sites(conn: ConnDep, response: Response, q: QuestionDep) -> dict[str, Any]:
    """The comparison as JSON (`ratio_mean`, `ratio_median` as `{estimate, ci_low, ci_high}`)."""
    if q.area is not None:  # a box someone asked about: no shared cache keeps it
        response.headers.update(cache_headers(queried_place=True))
    return await comparison(conn, q)
