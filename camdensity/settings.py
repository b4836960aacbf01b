"""All settings in one place (pydantic-settings, `CAMDENSITY_` prefix, `DATABASE_URL`)."""

from __future__ import annotations

import ipaddress
import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Root runs the embedded cluster as `postgres`, which cannot enter root's home directory.
ROOT_HOME = Path("/var/lib/camdensity")


def default_home() -> Path:
    """The embedded cluster's home when CAMDENSITY_HOME is not set: the per-user data dir."""
    if os.geteuid() == 0:
        return ROOT_HOME
    return platformdirs.user_data_path("camdensity", appauthor=False)


# Camera vocabulary (BRIEF: camera types, operators) and site categories.
CAMERA_TYPES: tuple[str, ...] = (
    "cctv", "doorbell", "alpr", "dome", "ptz", "traffic", "speed", "gunshot", "unknown",
)
OPERATOR_TYPES: tuple[str, ...] = ("public", "business", "private", "unknown")
SITE_CATEGORIES: tuple[str, ...] = (
    "clinic", "abortion", "school", "immigration", "courthouse", "worship", "shelter",
)
EXPOSURE_RADII_M: tuple[int, ...] = (50, 100, 200, 500)


class DatabaseSettings(BaseSettings):
    """Where the store lives: `DATABASE_URL`, else the project-local (embedded) cluster."""

    # populate_by_name: tests build settings by field name (database_url=..., pg_dir=...).
    model_config = SettingsConfigDict(env_prefix="CAMDENSITY_", extra="ignore",
                                      populate_by_name=True)

    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "CAMDENSITY_DATABASE_URL")
    )
    # Embedded cluster: data in HOME/data, socket in HOME/run. The checkout's Makefile sets
    # CAMDENSITY_HOME to its own .camdensity, so checkouts side by side never share a cluster.
    # CAMDENSITY_HOME (CAMDENSITY_PG_DIR, its older name, still works).
    pg_dir: Path = Field(default_factory=default_home,
                         validation_alias=AliasChoices("CAMDENSITY_HOME", "CAMDENSITY_PG_DIR"))
    pg_port: int = 54329
    pg_database: str = "camdensity"
    pg_user: str = "camdensity"
    pool_min_size: int = 1
    pool_max_size: int = 8
    # Least privilege: `serve` reads through this role (SELECT on published tables only), never
    # as the owner in DATABASE_URL. Its credentials: CAMDENSITY_API_DATABASE_URL when given, else
    # derived from the owner's URL (same server; password an HMAC of the owner's, or none when
    # the owner needs none, as with the embedded cluster's peer authentication).
    api_role: str = Field(default="camdensity_api", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    api_database_url: str | None = None
    # Migrations, imports, builds and exports run as this role, a real login that owns the
    # database and its tables but is no superuser (camdensity/roles.py). Its credentials:
    # CAMDENSITY_OWNER_DATABASE_URL when given (then no superuser is needed at all: a DBA made the
    # role and the untrusted extensions); else, when DATABASE_URL's user is a superuser, that
    # user only bootstraps (extensions, roles, ownership) and the owner's URL is derived from it
    # as the API role's is; when it is not a superuser (a managed database), it is the owner.
    owner_role: str = Field(default="camdensity_owner", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    owner_database_url: str | None = None
    # Crowdsourced reports (issue 11): `POST /reports` writes through the reporter role (INSERT
    # into the queue and DELETE by receipt, nothing else); moderation through the moderator role.
    # Credentials as for the API role: *_DATABASE_URL when given, else derived from the owner's.
    reporter_role: str = Field(default="camdensity_reporter", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    reporter_database_url: str | None = None
    moderator_role: str = Field(default="camdensity_moderator", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    moderator_database_url: str | None = None
    # Outage behaviour: a request waits at most this long for a pooled connection (then 503),
    # a new connection at most connect_timeout_s, a statement at most statement_timeout_ms.
    pool_timeout_s: float = Field(default=1.0, gt=0)
    connect_timeout_s: int = Field(default=1, ge=1)
    statement_timeout_ms: int = Field(default=10_000, ge=0)
    retry_after_s: int = Field(default=5, ge=1)  # the Retry-After of a 503 while the store is down

    @property
    def embedded(self) -> bool:
        return self.database_url is None and self.owner_database_url is None

    @property
    def home(self) -> Path:
        """The embedded cluster's directory (its data, socket and log live inside)."""
        return self.pg_dir

    @property
    def socket_dir(self) -> Path:
        return self.pg_dir / "run"

    @property
    def url(self) -> str:
        """The URL the store is reached with first: DATABASE_URL (possibly a superuser, which only
        bootstraps: camdensity.roles), else the owner's, else the embedded cluster's superuser."""
        if self.database_url or self.owner_database_url:
            return self.database_url or str(self.owner_database_url)
        return (
            f"postgresql://{self.pg_user}@/{self.pg_database}"
            f"?host={self.socket_dir}&port={self.pg_port}"
        )


class MethodSettings(BaseSettings):
    """Parameters of the method; every export records them."""

    model_config = SettingsConfigDict(env_prefix="CAMDENSITY_", extra="ignore")

    resolutions: list[int] = [6, 7, 8, 9, 10, 11, 12]
    fusion_distance_m: float = 15.0
    exposure_radii_m: list[int] = list(EXPOSURE_RADII_M)
    effective_disc_m: float = 120.0
    effective_buffer_m: float = 200.0
    near_site_radius_m: float = 200.0
    # The privacy rule (ingest/privacy.py): private/residential cameras are published only as
    # aggregates of at least `private_min_per_cell` points (households) sharing an H3 cell of
    # `private_resolution`, placed at that cell's centre, their device count rounded to a
    # multiple of `private_count_step` (1: exact). Every public figure is computed from that.
    private_min_per_cell: int = 3
    private_resolution: int = 9
    private_count_step: int = 1
    # "The city" a point is compared with: baseline cells of this resolution within this distance.
    baseline_resolution: int = 9
    city_radius_m: float = 10_000.0
    # Hexagon d_<category>: nearest site searched this far from the cell centre, else NULL.
    site_distance_limit_m: float = 50_000.0
    # A camera with a known direction faces a site inside this cone (degrees wide, centred on
    # each bearing it gives; a range "90-180" is its own sector).
    fov_deg: float = 90.0


class ServiceSettings(BaseSettings):
    """HTTP service."""

    model_config = SettingsConfigDict(env_prefix="CAMDENSITY_", extra="ignore")

    host: str = "127.0.0.1"
    # `camdensity serve` worker processes (each with its own pool and caches); unset: one per core.
    workers: int | None = Field(default=None, ge=1)
    port: int = Field(default=8000, validation_alias=AliasChoices("PORT", "CAMDENSITY_PORT"))
    # Base URL written into TileJSON, the style, the map and the / redirect. Unset: the request's
    # own Host, accepted only when it is one of trusted_hosts (else 400), so a forged Host never
    # reaches a cached document.
    public_url: str | None = None
    trusted_hosts: list[str] = ["localhost", "127.0.0.1", "::1"]
    # Origins allowed to read GET answers from a browser (CORS); tiles, TileJSON and the style
    # are public data, so any site may embed them by default.
    cors_origins: list[str] = ["*"]
    # Who may put the HTML pages (/map) in a frame: CSP frame-ancestors (embedding is the point).
    frame_ancestors: str = "*"
    cache_max_age: int = 300
    tile_cache_size: int = 4096
    # Zoom -> H3 resolution: each key is the highest zoom drawn at its resolution (z<=8 -> 6,
    # 9 -> 7, 10-11 -> 8, 12 -> 9, 13-14 -> 10, 15 -> 11, beyond -> 12), chosen so a hexagon is
    # drawn 15-60 px across (tiles.grid.hexagon_pixels; ~30 px, the geometric middle, where two
    # resolutions compete) from z7 to z17 at 45° latitude. JSON in CAMDENSITY_TILE_ZOOM_RESOLUTIONS.
    tile_zoom_resolutions: dict[int, int] = {8: 6, 9: 7, 11: 8, 12: 9, 14: 10, 15: 11, 24: 12}
    tile_maxzoom: int = 16  # advertised in TileJSON; clients overzoom beyond it
    snapshot_ttl_s: float = 2.0  # how long the data version is trusted before it is re-read
    map_cache_size: int = 32  # generated /map pages kept per (snapshot, parameters)
    geocoder_url: str | None = None  # Nominatim/Pelias-compatible search URL, optional
    geocoder_kind: str = "nominatim"
    geocoder_timeout_s: float = 5.0  # an external geocoder slower than this is an error (502)
    # The offline basemap `camdensity basemap` writes (default: in CAMDENSITY_HOME); /map,
    # /style.json and publish use it when it exists. CAMDENSITY_BASEMAP_STYLE: an external MapLibre style for the published page
    # instead (off: it tells that style's host who looks at the map).
    basemap_path: Path = Field(default_factory=lambda: DatabaseSettings().home / "basemap.pmtiles")
    basemap_style: str | None = None
    # /metrics (Prometheus) is served on this port only, never on the API's: unset, no metrics.
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"  # keep it private; 0.0.0.0 only behind a firewall
    metrics_refresh_s: float = 15.0  # how often the data version and imports are re-read
    # prometheus_client's multiprocess mode (its own variable): `serve --workers N` sets it.
    prometheus_multiproc_dir: Path | None = Field(
        default=None, validation_alias=AliasChoices("PROMETHEUS_MULTIPROC_DIR"))
    # `camdensity publish`: tiles rendered at once over this many connections.
    publish_workers: int = 4
    # GET /export/tiles.pmtiles renders on request: a box spanning at most this many tiles (else 422).
    pmtiles_export_max_tiles: int = 2000

    @property
    def worker_count(self) -> int:
        """Worker processes `camdensity serve` starts."""
        return self.workers or os.cpu_count() or 1


class LogSettings(BaseSettings):
    """Logs: text or JSON lines on stderr; never a client address, a query or a coordinate."""

    model_config = SettingsConfigDict(env_prefix="CAMDENSITY_", extra="ignore")

    log_format: Literal["text", "json"] = "text"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # One line per request: method, route template, status, milliseconds; no path, no query.
    log_requests: bool = False


class IngestSettings(BaseSettings):
    """Bounds every import enforces, so any file is read in bounded time and memory.

    Each error that enforces one names its setting (`CAMDENSITY_INGEST_MAX_COUNT`...).
    """

    model_config = SettingsConfigDict(env_prefix="CAMDENSITY_", extra="ignore")

    ingest_max_count: int = 10_000          # cameras one row may stand for
    ingest_max_line_bytes: int = 1_000_000  # one physical line of a CSV file
    ingest_max_field_chars: int = 131_072   # one CSV field (Python's csv default)
    ingest_max_columns: int = 1_000         # columns of a CSV header
    ingest_max_json_depth: int = 64         # nesting of JSON arrays/objects
    ingest_max_element_chars: int = 1_000_000  # text in one JSON element / GeoJSON feature
    # Data-quality report: more reports than this on one exact point are "stacked".
    stacked_reports: int = 5
    stacked_top: int = 5                    # stacked points listed by an import
    # A source whose --precision is coarser than this is "low precision" (IP geolocation...).
    low_precision_m: float = 100.0


@lru_cache
def ingest_settings() -> IngestSettings:
    return IngestSettings()


class EvidenceSettings(BaseSettings):
    """Evidence: the null-model comparison, fields of view drawn, history kept."""

    model_config = SettingsConfigDict(env_prefix="CAMDENSITY_", extra="ignore")

    # Null model: at most this many baseline places, drawn from this far around the sites.
    analysis_baseline_n: int = 1000
    analysis_area_m: float = 10_000.0
    analysis_bootstrap: int = 2000        # bootstrap resamples for the 95% intervals
    analysis_permutations: int = 5000     # permutations for the p-value
    analysis_min_sites: int = 5           # fewer sites: "too small to say"
    analysis_min_baseline: int = 30       # fewer baseline places: "too small to say"
    analysis_max_radius_m: int = 2000
    # Builds whose history (site exposure, hexagon totals) is kept; older ones are pruned.
    history_keep_builds: int = 20
    fov_min_zoom: int = 15                # the tiles' `fov` layer is drawn from this zoom on
    fov_draw_radius_m: float = 40.0       # length of the drawn view cones


# OSM camera:mount values a report may give.
REPORT_MOUNTS: tuple[str, ...] = (
    "wall", "pole", "ceiling", "street_lamp", "traffic_signals", "building", "doorbell", "other",
)


class ReportSettings(BaseSettings):
    """Crowdsourced reports from the map: off unless the host opts in; abuse limits; moderation.

    Each error that enforces a limit names its setting (`CAMDENSITY_REPORTS_PER_CLIENT`...).
    """

    model_config = SettingsConfigDict(env_prefix="CAMDENSITY_", extra="ignore")

    reports_enabled: bool = False  # POST /reports and the moderation routes (off: 404)
    reports_map_control: bool = False  # the "Report a camera" control on /map (needs enabled)
    reports_max_body_bytes: int = Field(default=4096, ge=256)  # larger bodies: 413
    reports_note_max_chars: int = Field(default=280, ge=0)
    # Per client: at most this many POSTs per window, counted under HMAC(key, address) with a
    # random key that lives only in this process's memory and is replaced every rotation.
    reports_per_client: int = Field(default=5, ge=1)
    reports_client_window_s: int = Field(default=3600, ge=1)
    reports_key_rotation_s: int = Field(default=86_400, ge=60)
    # Per area: at most this many reports received in one H3 cell of this resolution per hour,
    # counted in the store (so every worker shares it).
    reports_per_area_hour: int = Field(default=20, ge=1)
    reports_area_resolution: int = Field(default=7, ge=0, le=15)
    # Proof of work: SHA-256(challenge ":" nonce) must start with this many zero bits (0: none).
    reports_pow_bits: int = Field(default=16, ge=0, le=32)
    reports_challenge_ttl_s: int = Field(default=600, ge=10)
    # Peers whose X-Forwarded-For is believed (addresses or CIDR networks); others' is ignored.
    trusted_proxies: list[str] = []

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        """Each an IP address or network (CIDR), refused at start-up otherwise."""
        for item in value:
            ipaddress.ip_network(item, strict=False)
        return value
    # Rejected reports are deleted this many days after the decision (withdrawn ones at once).
    reports_retention_days: int = Field(default=30, ge=0)
    # Approved reports become the `web-reports` source under this licence (CC0: they may go
    # back to OpenStreetMap, `camdensity export reports --format osm`).
    reports_licence: str = "CC0-1.0"
    # Existing cameras this close to a pending report are shown as likely duplicates.
    reports_duplicate_m: float = Field(default=30.0, gt=0, le=1000)


@lru_cache
def report_settings() -> ReportSettings:
    return ReportSettings()


@lru_cache
def database_settings() -> DatabaseSettings:
    return DatabaseSettings()


@lru_cache
def method_settings() -> MethodSettings:
    return MethodSettings()


@lru_cache
def evidence_settings() -> EvidenceSettings:
    return EvidenceSettings()


@lru_cache
def service_settings() -> ServiceSettings:
    return ServiceSettings()


@lru_cache
def log_settings() -> LogSettings:
    return LogSettings()
