"""The report queue through SQLAlchemy: what the reporter role may do (submit, count an area's
hour, withdraw by receipt) and what the moderator role does (list, approve, reject, purge)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any

import h3
import psycopg
from geoalchemy2 import Geography
from sqlalchemy import (
    Engine,
    cast,
    create_engine,
    delete,
    extract,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from camdensity import sql
from camdensity.models import CameraPublished, ReportAdminKey, ReportPowKey, ReportQueue
from camdensity.settings import DatabaseSettings, ReportSettings


class ReportRefused(ValueError):
    """The store refused a report (a spent challenge, a direction without a bearing...)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def engine(url: str, settings: DatabaseSettings) -> AsyncEngine:
    """A small SQLAlchemy pool connecting as one role with the service's timeouts."""

    async def connect() -> psycopg.AsyncConnection[Any]:
        return await psycopg.AsyncConnection.connect(
            url, connect_timeout=settings.connect_timeout_s,
            options=f"-c statement_timeout={settings.statement_timeout_ms}")

    # hide_parameters: an error's message never carries a report's point or note into a log.
    return create_async_engine("postgresql+psycopg://", async_creator=connect, pool_size=2,
                               max_overflow=2, pool_timeout=settings.pool_timeout_s,
                               pool_pre_ping=True, hide_parameters=True)


def receipt_hash(receipt: str) -> bytes:
    """What the store keeps of a receipt: its SHA-256 (the receipt itself is never stored)."""
    return hashlib.sha256(receipt.encode()).digest()


def area_cell(lat: float, lon: float, resolution: int) -> int:
    """The H3 cell (as a signed 64-bit integer, as the store keeps cells) holding the point."""
    cell = h3.str_to_int(h3.latlng_to_cell(lat, lon, resolution))
    return cell - (1 << 64) if cell >= 1 << 63 else cell


async def pow_key(eng: AsyncEngine) -> bytes:
    """The key challenges are signed with (report_pow_key, made by migration 0090)."""
    async with eng.connect() as conn:
        return (await conn.execute(select(ReportPowKey.key))).scalar_one()


async def area_reports_this_hour(conn: AsyncConnection, area: int) -> int:
    """Reports received in cell `area` since the hour began (the per-area limit), counted by
    migration 0091's function: the reporter role reads no report itself."""
    return (await conn.execute(select(func.camdensity_area_reports(area)))).scalar_one()


@dataclass(frozen=True)
class NewReport:
    """A validated report as the queue takes it."""

    lat: float
    lon: float
    camera_type: str
    operator_type: str
    operator: str | None
    direction: str | None
    mount: str | None
    note: str | None


async def submit(eng: AsyncEngine, report: NewReport, challenge: str,
                 settings: ReportSettings) -> tuple[str | None, int]:
    """Queue `report`; (its receipt, 0), or (None, seconds to wait) when its area is full."""
    area = area_cell(report.lat, report.lon, settings.reports_area_resolution)
    receipt = secrets.token_urlsafe(24)
    async with eng.begin() as conn:
        # Serialises submissions to one area, so concurrent ones cannot overshoot the limit.
        await conn.execute(select(func.pg_advisory_xact_lock(area)))
        if await area_reports_this_hour(conn, area) >= settings.reports_per_area_hour:
            return None, max(1, 3600 - int(time.time()) % 3600)  # until the next hour
        try:
            async with conn.begin_nested():
                await conn.execute(insert(ReportQueue).values(
                    receipt_sha256=receipt_hash(receipt),
                    challenge_sha256=hashlib.sha256(challenge.encode()).digest(),
                    camera_type=report.camera_type, operator_type=report.operator_type,
                    operator=report.operator,
                    direction=report.direction, mount=report.mount, note=report.note,
                    geom=func.ST_SetSRID(func.ST_MakePoint(report.lon, report.lat), 4326),
                    area_h3=area))
        except IntegrityError as exc:
            orig = exc.orig
            if isinstance(orig, psycopg.errors.UniqueViolation):
                raise ReportRefused("challenge", "challenge: already used; ask for a new one "
                                    "(GET /reports/challenge)") from None
            if isinstance(orig, psycopg.errors.CheckViolation):
                raise ReportRefused("direction", "direction: no bearing in it (give degrees "
                                    "such as 75 or a compass point such as NE)") from None
            raise
    return receipt, 0


async def withdraw(eng: AsyncEngine, receipt: str) -> bool:
    """Delete the report `receipt` was given for (pending or rejected); False when none."""
    async with eng.begin() as conn:
        # Migration 0091's function: the reporter role holds no DELETE on the queue itself.
        return bool((await conn.execute(
            select(func.camdensity_withdraw_report(receipt_hash(receipt))))).scalar_one())


# --- moderation ------------------------------------------------------------------------

async def key_matches(eng: AsyncEngine, presented: str) -> bool | None:
    """Whether `presented` is the admin key (its SHA-256 compared in constant time with the
    stored one); None when no key was ever made (`camdensity admin-key`)."""
    async with eng.connect() as conn:
        stored = (await conn.execute(select(ReportAdminKey.key_sha256))).scalar_one_or_none()
    if stored is None:
        return None
    return hmac.compare_digest(hashlib.sha256(presented.encode()).digest(), stored)


async def purge(conn: AsyncConnection, settings: ReportSettings) -> int:
    """Delete rejected reports decided CAMDENSITY_REPORTS_RETENTION_DAYS days ago or more."""
    result = await conn.execute(delete(ReportQueue).where(
        ReportQueue.status == "rejected",
        ReportQueue.decided_on <= func.current_date() - settings.reports_retention_days))
    return result.rowcount


async def pending(eng: AsyncEngine, settings: ReportSettings) -> list[dict[str, Any]]:
    """Pending reports, oldest first, each with the published cameras within
    CAMDENSITY_REPORTS_DUPLICATE_M (likely duplicates)."""
    q = ReportQueue
    near = func.ST_DWithin(cast(CameraPublished.geom, Geography), cast(q.geom, Geography),
                           settings.reports_duplicate_m)
    async with eng.begin() as conn:
        await purge(conn, settings)
        rows = (await conn.execute(
            select(q.id, func.ST_Y(q.geom), func.ST_X(q.geom), q.camera_type, q.operator_type,
                   q.operator, q.direction, q.mount, q.note,
                   func.floor(extract("epoch", func.now() - q.received_hour) / 3600))
            .where(q.status == "pending").order_by(q.id))).all()
        dups = (await conn.execute(
            select(q.id, CameraPublished.camera_type, CameraPublished.operator_type,
                   CameraPublished.count, func.ST_Y(CameraPublished.geom),
                   func.ST_X(CameraPublished.geom),
                   func.ST_Distance(cast(CameraPublished.geom, Geography),
                                    cast(q.geom, Geography)))
            .join(CameraPublished, near).where(q.status == "pending")
            .order_by(q.id, func.ST_Distance(cast(CameraPublished.geom, Geography),
                                             cast(q.geom, Geography))))).all()
    found: dict[int, list[dict[str, Any]]] = {}
    for rid, ctype, otype, count, lat, lon, dist in dups:
        found.setdefault(rid, []).append({
            "camera_type": ctype, "operator_type": otype, "count": count,
            "lat": round(lat, 6), "lon": round(lon, 6), "distance_m": round(dist, 1)})
    return [{"id": rid, "lat": lat, "lon": lon, "camera_type": ctype, "operator_type": otype,
             "operator": operator, "direction": direction, "mount": mount, "note": note, "age_hours": int(age),
             "likely_duplicates": found.get(rid, [])}
            for rid, lat, lon, ctype, otype, operator, direction, mount, note, age in rows]


async def approve(eng: AsyncEngine, report_id: int, settings: ReportSettings) -> int | None:
    """Move pending report `report_id` into the `web-reports` source; the camera report's id,
    or None when no such pending report."""
    async with eng.begin() as conn:
        await conn.execute(text(sql.query("report_source")), {"licence": settings.reports_licence})
        return (await conn.execute(text(sql.query("report_approve")),
                                   {"id": report_id})).scalar_one_or_none()


async def reject(eng: AsyncEngine, report_id: int, settings: ReportSettings) -> bool:
    """Mark pending report `report_id` rejected today (deleted after the retention period)."""
    async with eng.begin() as conn:
        result = await conn.execute(
            update(ReportQueue).where(ReportQueue.id == report_id,
                                      ReportQueue.status == "pending")
            .values(status="rejected", decided_on=func.current_date()))
        await purge(conn, settings)
        return result.rowcount > 0



def sync_engine(url: str) -> Engine:
    """A SQLAlchemy engine on `url` (a libpq URL or conninfo) for commands."""
    return create_engine("postgresql+psycopg://", creator=lambda: psycopg.connect(url),
                         poolclass=NullPool, hide_parameters=True)


def new_admin_key(url: str) -> str:
    """Make a new moderation key, store only its SHA-256 (the old key stops working) and
    return it: the only time it is shown."""
    key = secrets.token_urlsafe(32)
    digest = hashlib.sha256(key.encode()).digest()
    eng = sync_engine(url)
    with eng.begin() as conn:
        conn.execute(pg_insert(ReportAdminKey).values(one=True, key_sha256=digest)
                     .on_conflict_do_update(index_elements=[ReportAdminKey.one],
                                            set_={"key_sha256": digest,
                                                  "created_on": func.current_date()}))
    eng.dispose()
    return key
