"""The one exception a fatal import problem raises, and how its message is kept to one line."""

from __future__ import annotations


class IngestError(Exception):
    """A fatal import problem (unreadable file, wrong format, a limit): nothing was written."""


def first_line(exc: BaseException) -> str:
    """An exception's message cut to its first line (parsers add multi-line pictures)."""
    text = str(exc).strip()
    return text.splitlines()[0][:500] if text else type(exc).__name__
