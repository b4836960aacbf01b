"""ASGI middleware of our own (pure ASGI: no per-request objects beyond a header scan)."""

from __future__ import annotations

import re
from typing import Any

import orjson
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from camdensity.service.routes.tiles import router, tile_answer
from camdensity.tiles.filters import TileFilters
from camdensity.tiles.grid import TileOutOfRange, check_tile


def unique_tokens(values: list[str]) -> list[str]:
    """The comma-separated tokens of header values, each once (case-insensitive), in order."""
    seen: set[str] = set()
    tokens: list[str] = []
    for value in values:
        for token in (t.strip() for t in value.split(",")):
            if token and token.lower() not in seen:
                seen.add(token.lower())
                tokens.append(token)
    return tokens


class UniqueVary:
    """One `Vary` header naming each token once: a route and GZipMiddleware may both add one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request through; rewrite `Vary` on the response start when it repeats itself."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_unique(message: Message) -> None:
            """Forward `message`, its `Vary` made one header of unique tokens."""
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                values = headers.getlist("vary")
                if values and values != [", ".join(unique_tokens(values))]:
                    headers["Vary"] = ", ".join(unique_tokens(values))  # replaces every Vary line
            await send(message)

        await self.app(scope, receive, send_unique)


TILE_PATH = re.compile(r"/tiles/(\d{1,2})/(\d{1,10})/(\d{1,10})\.(mvt|pbf)")
NO_FILTERS = TileFilters.parse(None, None, None)


class CachedTiles:
    """Plain tiles for a client that takes gzip, answered before routing (pure ASGI).

    Only the tile URL without a query (no filters) while the data version is fresh in the
    snapshot cache: the tile from the cache, or rendered into it on a miss through the same
    TileSource, answered as the route answers (same status, headers and gzip bytes) without
    FastAPI's routing and parameter validation, which cost more than the rest of a cached tile
    together. Anything else, and any failure (the route then answers 503 at once: the source
    remembers the store failed), goes to the route.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # The route each extension stands for, put in the scope for RequestMetrics' label.
        paths = {f"/tiles/{{z}}/{{x}}/{{y}}.{ext}": ext for ext in ("mvt", "pbf")}
        self.routes: dict[str, Any] = {paths[r.path]: r for r in router.routes
                                       if getattr(r, "path", None) in paths}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer a plain tile when it can, else pass the request on."""
        answer = await self._answer(scope) if scope["type"] == "http" else None
        if answer is None:
            await self.app(scope, receive, send)
            return
        status, headers, body = answer
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _answer(self, scope: Scope) -> tuple[int, list[tuple[bytes, bytes]], bytes] | None:
        """(status, headers, body) of the route's answer, or None when the route must answer."""
        if scope["method"] != "GET" or scope["query_string"]:
            return None
        match = TILE_PATH.fullmatch(scope["path"])
        source = getattr(scope["app"].state, "tile_source", None)
        if match is None or source is None:
            return None
        accept = etag_seen = None
        for name, value in scope["headers"]:
            if name == b"accept-encoding":
                accept = value
            elif name == b"if-none-match":
                etag_seen = value.decode("latin-1")
        if accept is None or b"gzip" not in accept:
            return None
        snapshot = source.snapshots.fresh(scope["app"].state.pool)
        if snapshot is None:
            return None
        z, x, y = int(match[1]), int(match[2]), int(match[3])
        try:
            check_tile(z, x, y)  # off the grid: the route's 404, even for a known ETag
        except TileOutOfRange:
            return None
        try:
            status, headers, body = await tile_answer(
                source, scope["app"].state.plan_pool, snapshot.snapshot, z, x, y, NO_FILTERS,
                etag_seen, takes_gzip=True)
        except Exception:  # noqa: BLE001 - the route answers it (503, with its handlers)
            return None
        scope["route"] = self.routes[match[4]]
        if body:
            headers["Content-Length"] = str(len(body))
        return status, [(k.lower().encode(), v.encode()) for k, v in headers.items()], body


class BodyLimit:
    """Request bodies of at most `max_bytes` (CAMDENSITY_REPORTS_MAX_BODY_BYTES): a larger
    one, declared or streamed, is answered 413 before the app reads any of it."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _refuse(self, send: Send) -> None:
        body = orjson.dumps({"detail": f"request body larger than {self.max_bytes} bytes "
                                       "(CAMDENSITY_REPORTS_MAX_BODY_BYTES)"})
        await send({"type": "http.response.start", "status": 413, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
            (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Read the whole (bounded) body first, then hand it to the app in one message."""
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length" and (not value.isdigit() or int(value) > self.max_bytes):
                await self._refuse(send)
                return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
