"""The store's schema (`migrations/`) and its queries (`queries/`), as constant SQL text."""

from __future__ import annotations

from functools import cache
from importlib.resources import files


@cache
def query(name: str) -> str:
    """Text of `sql/queries/<name>.sql`."""
    return files(__name__).joinpath("queries", f"{name}.sql").read_text(encoding="utf-8")


def statements(name: str) -> list[str]:
    """The statements of `sql/queries/<name>.sql`, one by one (a statement with parameters
    must be sent alone)."""
    return [part for part in query(name).split(";\n")
            if any(line.strip() and not line.lstrip().startswith("--")
                   for line in part.splitlines())]


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, text) of every migration, in order."""
    out = []
    for entry in files(__name__).joinpath("migrations").iterdir():
        if entry.name.endswith(".sql"):
            version = int(entry.name.split("_", 1)[0])
            out.append((version, entry.name, entry.read_text(encoding="utf-8")))
    return sorted(out)
