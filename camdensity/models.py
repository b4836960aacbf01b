"""The store in Python terms: SQLAlchemy 2 + GeoAlchemy2 models of the public tables and the
report queue, for analysts and for the report and moderation code.

The tables are made by the SQL migrations (sql/migrations), never by `create_all`: these models
declare what is there. Public tables are those the read-only API role may SELECT. The private
`camera` and `camera_report` tables (exact positions of private cameras) are not declared here:
read `camera_published`, where the privacy rule (ingest/privacy.py) has been applied. Hot paths
(tiles, build) keep their constant SQL in sql/queries.

    from sqlalchemy import create_engine, select
    from camdensity.models import Hexagon
    engine = create_engine(sqlalchemy_url(url))
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import (
    BigInteger,
    Boolean,
    FetchedValue,
    Float,
    Integer,
    LargeBinary,
    SmallInteger,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import REAL as Real
from sqlalchemy.types import Date, DateTime


class Base(DeclarativeBase):
    """Declarative base of camdensity's models (the schema comes from the migrations)."""


def sqlalchemy_url(url: str) -> str:
    """`url` (a libpq URL or conninfo, as DATABASE_URL) as a SQLAlchemy URL for psycopg 3."""
    import psycopg
    from sqlalchemy.engine import URL

    info = psycopg.conninfo.conninfo_to_dict(url)
    query = {k: str(v) for k, v in info.items()
             if k not in ("user", "password", "dbname", "port") and v is not None}
    host = query.pop("host", None)
    if host is not None and host.startswith("/"):
        query["host"] = host  # a socket directory is a query parameter in SQLAlchemy's URL
        host = None
    port = info.get("port")
    return URL.create("postgresql+psycopg", username=info.get("user"),
                      password=info.get("password"), host=host,
                      port=int(port) if port else None, database=info.get("dbname"),
                      query=query).render_as_string(hide_password=False)


# --- public tables -------------------------------------------------------------------------

class Source(Base):
    """One imported dataset (cameras, sites or addresses), with its licence and dates."""

    __tablename__ = "source"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    entity: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    licence: Mapped[str | None] = mapped_column(Text)
    attribution: Mapped[str | None] = mapped_column(Text)
    origin: Mapped[str | None] = mapped_column(Text)
    file_name: Mapped[str] = mapped_column(Text)
    file_sha256: Mapped[str] = mapped_column(Text)
    format: Mapped[str] = mapped_column(Text)
    options: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    data_date: Mapped[date | None] = mapped_column(Date)
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    precision_m: Mapped[float | None] = mapped_column(Real)


class CameraPublished(Base):
    """The published camera layer: non-private cameras as they are, private ones only as
    aggregates of at least the minimum per H3 cell, at the cell's centre (ingest/privacy.py)."""

    __tablename__ = "camera_published"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    camera_id: Mapped[int | None] = mapped_column(BigInteger)
    camera_type: Mapped[str] = mapped_column(Text)
    operator_type: Mapped[str] = mapped_column(Text)
    count: Mapped[int] = mapped_column(Integer)
    points: Mapped[int] = mapped_column(Integer)
    h3: Mapped[int | None] = mapped_column(BigInteger)
    geom: Mapped[WKBElement] = mapped_column(Geometry("POINT", srid=4326, spatial_index=False))
    geom_3857: Mapped[WKBElement] = mapped_column(Geometry("POINT", srid=3857, spatial_index=False))


class Site(Base):
    """A sensitive site (clinic, school, immigration office...); polygon where known."""

    __tablename__ = "site"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    source_id: Mapped[int] = mapped_column(Integer)
    source_ref: Mapped[str | None] = mapped_column(Text)
    line: Mapped[int | None] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(Text)
    name: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(Text)
    attrs: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    geom: Mapped[WKBElement] = mapped_column(Geometry("GEOMETRY", srid=4326, spatial_index=False))
    centroid: Mapped[WKBElement] = mapped_column(Geometry("POINT", srid=4326, spatial_index=False))
    geom_3857: Mapped[WKBElement] = mapped_column(
        Geometry("GEOMETRY", srid=3857, spatial_index=False))


class SiteExposure(Base):
    """How watched a site is: cameras within each radius, effective cameras, percentiles."""

    __tablename__ = "site_exposure"
    site_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    cameras_50m: Mapped[int] = mapped_column(BigInteger)
    cameras_100m: Mapped[int] = mapped_column(BigInteger)
    cameras_200m: Mapped[int] = mapped_column(BigInteger)
    cameras_500m: Mapped[int] = mapped_column(BigInteger)
    by_type: Mapped[dict[str, Any]] = mapped_column(JSONB)
    by_operator: Mapped[dict[str, Any]] = mapped_column(JSONB)
    effective_cameras: Mapped[float] = mapped_column(Float)
    percentile_category: Mapped[float | None] = mapped_column(Float)
    percentile_city: Mapped[float | None] = mapped_column(Float)


class Hexagon(Base):
    """One H3 cell's summary at one resolution (`h3` is the cell as a 64-bit integer; show it
    as `h3.int_to_str(h3)`)."""

    __tablename__ = "hexagon"
    resolution: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    h3: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    cameras: Mapped[int] = mapped_column(BigInteger)
    n_cctv: Mapped[int] = mapped_column(BigInteger)
    n_doorbell: Mapped[int] = mapped_column(BigInteger)
    n_alpr: Mapped[int] = mapped_column(BigInteger)
    n_dome: Mapped[int] = mapped_column(BigInteger)
    n_ptz: Mapped[int] = mapped_column(BigInteger)
    n_traffic: Mapped[int] = mapped_column(BigInteger)
    n_speed: Mapped[int] = mapped_column(BigInteger)
    n_gunshot: Mapped[int] = mapped_column(BigInteger)
    n_unknown: Mapped[int] = mapped_column(BigInteger)
    op_public: Mapped[int] = mapped_column(BigInteger)
    op_business: Mapped[int] = mapped_column(BigInteger)
    op_private: Mapped[int] = mapped_column(BigInteger)
    op_unknown: Mapped[int] = mapped_column(BigInteger)
    area_km2: Mapped[float] = mapped_column(Float)
    density_km2: Mapped[float] = mapped_column(Float)
    d_clinic: Mapped[float | None] = mapped_column(Real)
    d_abortion: Mapped[float | None] = mapped_column(Real)
    d_school: Mapped[float | None] = mapped_column(Real)
    d_immigration: Mapped[float | None] = mapped_column(Real)
    d_courthouse: Mapped[float | None] = mapped_column(Real)
    d_worship: Mapped[float | None] = mapped_column(Real)
    d_shelter: Mapped[float | None] = mapped_column(Real)
    surveyed: Mapped[bool] = mapped_column(Boolean)
    geom: Mapped[WKBElement] = mapped_column(Geometry("POLYGON", srid=4326, spatial_index=False))
    geom_3857: Mapped[WKBElement] = mapped_column(
        Geometry("POLYGON", srid=3857, spatial_index=False))


class Build(Base):
    """One `camdensity build`: the data version (snapshot), its parameters and sources."""

    __tablename__ = "build"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    snapshot: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    params: Mapped[dict[str, Any]] = mapped_column(JSONB)
    sources: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    pruned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# --- the report queue (private: reporter and moderator roles only) -------------------------

class ReportQueue(Base):
    """A crowdsourced report waiting for moderation (or rejected, until its retention ends).
    Nothing about the reporter: no address, no agent, the hour it came and no finer."""

    __tablename__ = "report_queue"
    # The reporter role may insert but not read ids back (it reads no report's columns).
    __table_args__: ClassVar[dict[str, Any]] = {"implicit_returning": False}
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, server_default=FetchedValue())
    receipt_sha256: Mapped[bytes] = mapped_column(LargeBinary)
    challenge_sha256: Mapped[bytes | None] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(Text, server_default=FetchedValue())
    camera_type: Mapped[str] = mapped_column(Text)
    operator_type: Mapped[str] = mapped_column(Text)
    operator: Mapped[str | None] = mapped_column(Text)
    direction: Mapped[str | None] = mapped_column(Text)
    mount: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    geom: Mapped[WKBElement] = mapped_column(Geometry("POINT", srid=4326, spatial_index=False))
    area_h3: Mapped[int] = mapped_column(BigInteger)
    received_hour: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                    server_default=FetchedValue())
    decided_on: Mapped[date | None] = mapped_column(Date)


class ReportAdminKey(Base):
    """The moderation API key's SHA-256 (one row; `camdensity admin-key` replaces it)."""

    __tablename__ = "report_admin_key"
    one: Mapped[bool] = mapped_column(Boolean, primary_key=True, default=True)
    key_sha256: Mapped[bytes] = mapped_column(LargeBinary)
    created_on: Mapped[date] = mapped_column(Date)


class ReportPowKey(Base):
    """The key proof-of-work challenges are signed with (one row, made by the migration)."""

    __tablename__ = "report_pow_key"
    one: Mapped[bool] = mapped_column(Boolean, primary_key=True, default=True)
    key: Mapped[bytes] = mapped_column(LargeBinary)
