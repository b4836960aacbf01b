"""ASGI middleware of our own (pure ASGI: no per-request objects beyond a header scan)."""

from __future__ import annotations

import orjson
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send


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
