"""The citable report: the comparison with its intervals as an SVG chart, the most and least
watched sites, the method and its parameters, the sources, the snapshot and the caveats.

Rendered server-side (no script, no external asset), and the same content as CSV or JSON.
"""

from __future__ import annotations

import csv
import io
from functools import cache
from html import escape
from typing import Any

import jinja2

# Categories whose places are often kept confidential (refuges, women's shelters): the report
# never names them, whatever the source said.
UNNAMED_CATEGORIES = frozenset({"shelter"})

CAVEATS = (
    ("Places nobody surveyed are unknown, not camera-free: crowdsourced maps miss cameras, more "
     "so where fewer volunteers walk, so a low count can mean an unmapped street."),
    ("Sources that locate cameras coarsely (IP geolocation, city-level registries) are flagged "
     "in their metadata; they are counted where they are placed, which may be off by hundreds "
     "of metres."),
    ("Private/residential cameras are withheld: they are left out of the comparison and of the "
     "facing counts, and shown elsewhere only where enough of them share a hexagon."),
    ("The comparison is with the stated null model only: a ratio above 1 says the sites have "
     "more cameras around them than those places, not why (city centres hold both)."),
    ("Exposure counts devices within the radius whatever they look at; 'facing' needs a known "
     "direction, which most crowdsourced cameras lack."),
)

_templates = jinja2.Environment(
    loader=jinja2.PackageLoader("camdensity.evidence", "templates"), autoescape=True,
    trim_blocks=True, lstrip_blocks=True,
)


def public_name(site: dict[str, Any]) -> str:
    """The site's name as the report shows it: withheld for confidential categories."""
    if site["category"] in UNNAMED_CATEGORIES:
        return "(name withheld)"
    return site["name"] or "(unnamed)"


def _x(value: float, top: float, left: int, width: int) -> float:
    return left + width * value / top


def ratio_chart(analysis: dict[str, Any]) -> str:
    """An SVG of the ratios of means and medians with their 95% intervals and the line at 1."""
    rows = [("ratio of means", analysis["ratio_mean"]), ("ratio of medians", analysis["ratio_median"])]
    ends = [v for _, r in rows for v in (r["estimate"], r["ci_high"]) if v is not None]
    top = max([2.0, *ends]) * 1.1
    left, width, height, axis = 150, 420, 136, 86
    parts = [(f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{left + width + 30}" '
             f'height="{height}" viewBox="0 0 {left + width + 30} {height}" '
             'aria-label="Ratios with 95% intervals" font-family="sans-serif" font-size="13">')]
    step = next(s for s in (0.5, 1, 2, 5, 10, 20, 50, 100, 1000) if top / s <= 8)
    parts.append(f'<line x1="{left}" y1="{axis}" x2="{left + width}" y2="{axis}" stroke="#999"/>')
    for k in range(int(top / step) + 1):
        x = _x(k * step, top, left, width)
        parts.append(f'<line x1="{x:.1f}" y1="{axis}" x2="{x:.1f}" y2="{axis + 4}" stroke="#999"/>'
                     f'<text x="{x:.1f}" y="{axis + 17}" text-anchor="middle" fill="#555" '
                     f'font-size="11">{k * step:g}</text>')
    one = _x(1, top, left, width)
    parts.append(f'<line x1="{one:.1f}" y1="8" x2="{one:.1f}" y2="{axis}" stroke="#888" '
                 'stroke-dasharray="4 3"/>')
    parts.append(f'<text x="{left + width / 2:.1f}" y="{height - 6}" text-anchor="middle" '
                 'fill="#555">ratio (1 = as watched as the null model\'s places)</text>')
    for i, (label, r) in enumerate(rows):
        y = 28 + 34 * i
        parts.append(f'<text x="{left - 10}" y="{y + 4}" text-anchor="end">{escape(label)}</text>')
        if r["estimate"] is None:
            parts.append(f'<text x="{left}" y="{y + 4}" fill="#555">undefined</text>')
            continue
        low = r["ci_low"] if r["ci_low"] is not None else 0.0
        high = r["ci_high"] if r["ci_high"] is not None else top
        x0, x1 = _x(low, top, left, width), _x(min(high, top), top, left, width)
        parts.append(f'<rect class="ci" x="{x0:.1f}" y="{y - 6}" width="{max(x1 - x0, 1):.1f}" '
                     'height="12" fill="#e6550d" fill-opacity="0.35"/>')
        xe = _x(r["estimate"], top, left, width)
        parts.append(f'<rect class="estimate" x="{xe - 2:.1f}" y="{y - 10}" width="4" height="20" '
                     'fill="#a63603"/>')
        high_text = f"{r['ci_high']:.2f}" if r["ci_high"] is not None else "unbounded"
        parts.append(f'<title>{escape(label)} {r["estimate"]:.2f} (95% CI {low:.2f}–'
                     f'{high_text})</title>')
        parts.append(f'<text x="{min(x1 + 6, left + width - 30):.1f}" y="{y - 9}" font-size="11" '
                     f'fill="#a63603">{r["estimate"]:.2f}</text>')
    parts.append("</svg>")
    return "".join(parts)


def site_rows(sites: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sites as the report's tables and CSV list them."""
    out = []
    for s in sites:
        e = s["exposure"] or {}
        facing = (e.get("facing") or {}).get("200") or {}
        out.append({"id": s["id"], "name": public_name(s), "category": s["category"],
                    "cameras_200m": e.get("cameras_200m"),
                    "effective_cameras": e.get("effective_cameras"),
                    "facing_200m": facing.get("facing"),
                    "percentile_category": e.get("percentile_category")})
    return out


@cache
def _page() -> jinja2.Template:
    return _templates.get_template("report.html")


def render_html(report: dict[str, Any]) -> str:
    """The report page."""
    return _page().render(r=report, chart=ratio_chart(report["comparison"]))


def render_csv(report: dict[str, Any]) -> str:
    """The report as CSV: key/value lines of the comparison and method, then the sites table."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    c = report["comparison"]
    w.writerow(["field", "value"])
    for key in ("category", "radius_m", "snapshot", "seed", "n_sites", "n_baseline", "p_value",
                "too_small"):
        w.writerow([key, c[key]])
    w.writerow(["null_model", c["null_model"]["description"]])
    for name in ("ratio_mean", "ratio_median"):
        for part in ("estimate", "ci_low", "ci_high"):
            w.writerow([f"{name}_{part}", c[name][part]])
    for s in report["sources"]:
        w.writerow(["source", (f"{s['name']} ({s['entity']}, {s.get('licence') or 'no licence'}"
                              f", data of {s.get('data_date') or 'unknown date'})")])
    w.writerow([])
    w.writerow(["rank", "list", "id", "name", "category", "cameras_200m", "effective_cameras",
                "facing_200m", "percentile_category"])
    for which in ("most", "least"):
        for i, s in enumerate(report[f"{which}_watched"], 1):
            w.writerow([i, which, s["id"], s["name"], s["category"], s["cameras_200m"],
                        s["effective_cameras"], s["facing_200m"], s["percentile_category"]])
    return out.getvalue()
