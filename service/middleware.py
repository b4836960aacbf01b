"""ASGI middleware of our own (pure ASGI: no per-request objects beyond a header scan)."""

from __future__ import annotations

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
