"""Browser-facing protections: CORS, a Content-Security-Policy on every HTML page, nosniff and
no referrer on every answer, and the Host a public URL may be built from."""

from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import urlsplit

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from camdensity.settings import ServiceSettings

INLINE_SCRIPT = re.compile(r"<script\b[^>]*>(.*?)</script>", re.DOTALL | re.IGNORECASE)
# HTML answers larger than this are passed through without a computed policy (the map sets its
# own; the docs pages are a few kB).
MAX_SCANNED_HTML = 1_000_000
# Headers a browser script may read from a cross-origin answer (revalidation and provenance).
EXPOSED_HEADERS = ["ETag", "Retry-After", "Link", "X-Camdensity-Snapshot", "X-Camdensity-Built-At",
                   "X-Camdensity-Rows"]


def origin(url: str) -> str:
    """`scheme://host[:port]` of an absolute URL."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(html: str, settings: ServiceSettings, fetch_from: str | None = None) -> str:
    """A CSP allowing the page's own inline scripts (by hash) and its own origin, nothing else;
    `fetch_from` (the map's external basemap style, CAMDENSITY_BASEMAP_STYLE) adds that one
    origin to what the page may fetch (the style, its tiles, glyphs and sprites)."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(m.group(1).encode()).digest()).decode() + "'"
        for m in INLINE_SCRIPT.finditer(html)
    )
    connect = "'self'"
    if settings.public_url:  # tiles are fetched from the public address
        connect += f" {origin(settings.public_url)}"
    images = "'self' data: blob:"
    if fetch_from:
        connect += f" {origin(fetch_from)}"
        images += f" {origin(fetch_from)}"
    return "; ".join([
        "default-src 'none'",
        f"script-src 'self' {hashes}".rstrip(),
        # Inline style attributes (legend swatches) and styles set by deck.gl's widgets.
        "style-src 'self' 'unsafe-inline'",
        f"img-src {images}",
        "font-src 'self'",
        f"connect-src {connect}",
        "worker-src 'self' blob:",  # the MVT parser runs in a worker made from an inline script
        "base-uri 'none'",
        "form-action 'self'",
        f"frame-ancestors {settings.frame_ancestors}",
    ])


class SecurityHeaders:
    """nosniff and no-referrer on every answer; a CSP on HTML answers that do not set their own."""

    def __init__(self, app: ASGIApp, settings: ServiceSettings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Add the headers; hold an HTML body back until its scripts are hashed into the CSP."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        body: list[bytes] = []

        async def send_secured(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                # A map URL carries the place someone looks at: never pass it on to other sites.
                headers.setdefault("Referrer-Policy", "no-referrer")
                html = headers.get("content-type", "").startswith("text/html")
                if not html or "content-security-policy" in headers or "content-encoding" in headers:
                    await send(message)
                else:
                    start = message
                return
            if start is None:
                await send(message)
                return
            body.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            page = b"".join(body)
            headers = MutableHeaders(scope=start)
            if len(page) <= MAX_SCANNED_HTML:
                text = page.decode("utf-8", errors="replace")
                headers["Content-Security-Policy"] = content_security_policy(text, self.settings)
            await send(start)
            await send({"type": "http.response.body", "body": page, "more_body": False})

        await self.app(scope, receive, send_secured)


def add_web_middleware(app: FastAPI, settings: ServiceSettings) -> None:
    """CORS for GETs and the Host check (when no public URL is configured), outside compression."""
    app.add_middleware(
        CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "HEAD"],
        allow_headers=["If-None-Match"], expose_headers=EXPOSED_HEADERS, allow_credentials=False,
        max_age=86400,
    )
    if not settings.public_url:
        # Public URLs are then built from the Host: only names the operator listed may be used.
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=settings.trusted_hosts)
