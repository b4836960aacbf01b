"""`/sites/{id}/history`: a site's exposure in every data version kept."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path

from camdensity.evidence.history import site_history
from camdensity.service.dependencies import ConnDep
from camdensity.service.openapi import error
from camdensity.service.routes.sites import fetch_sites
from camdensity.settings import evidence_settings

router = APIRouter(tags=["evidence"])


@router.get(
    "/sites/{site_id}/history",
    summary="A site's exposure in every data version kept",
    description="One entry per retained build, oldest first: its snapshot id, when it was built, "
    "the dates of its data, and the site's exposure then (null where the site was not in that "
    "build). Builds beyond CAMDENSITY_HISTORY_KEEP_BUILDS are pruned.",
    responses={404: error("No site has this id")},
)
async def get_site_history(
    conn: ConnDep,
    site_id: Annotated[int, Path(ge=1, le=2**62, description="The site's id (from `/sites`).")],
) -> dict[str, Any]:
    """The site and its history; 404 when no site has this id."""
    rows = await fetch_sites(conn, "name", id=site_id, limit=1)
    if not rows:
        raise HTTPException(404, f"no site with id {site_id}")
    site = rows[0]
    return {
        "id": site_id, "category": site["category"], "name": site["name"],
        "kept_builds": evidence_settings().history_keep_builds,
        "history": await site_history(conn, site_id),
    }
