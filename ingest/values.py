"""Cell values checked one by one: numbers, points, camera counts and control characters."""

from __future__ import annotations

import math
import re
from typing import Any

from camdensity.settings import ingest_settings

# C0 controls but tab, newline and carriage return (legitimate inside a quoted field), and DEL.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# The same characters as JSON text writes them (orjson: \u00XX, \b, \f; DEL as itself), after an
# even number of backslashes (an odd run would be an escaped backslash followed by text).
JSON_CONTROL = re.compile(
    r"(?<!\\)(?:\\\\)*\\(u00(?:0[0-8bBeEfF]|1[0-9a-fA-F])|[bf])|\x7f"
)
_JSON_SHORT = {"b": "\b", "f": "\f"}


def control_char(text: str, json_text: bool = False) -> str | None:
    """"U+0000" for the first control character in `text` (JSON text: an escaped one), else None."""
    if json_text:
        m = JSON_CONTROL.search(text)
        if m is None:
            return None
        found = m.group(1)
        char = "\x7f" if found is None else _JSON_SHORT.get(found) or chr(int(found[1:], 16))
    else:
        m = CONTROL.search(text)
        if m is None:
            return None
        char = m.group(0)
    return f"U+{ord(char):04X}"


def visible(text: str) -> str:
    """`text` with control characters shown as \\xNN (PostgreSQL text cannot hold a NUL)."""
    return CONTROL.sub(lambda m: f"\\x{ord(m.group(0)):02x}", text)


def parse_float(text: str | float | None) -> float | None:
    """A number from text ("60.17", "60,17"); None when empty or not a finite number."""
    if text is None:
        return None
    if isinstance(text, (int, float)):
        value = float(text)
    else:
        t = text.strip()
        if not t:
            return None
        try:
            value = float(t.replace(",", ".") if t.count(",") == 1 and "." not in t else t)
        except ValueError:
            return None
    return value if math.isfinite(value) else None


def parse_point(lat: Any, lon: Any) -> tuple[float, float] | str:
    """(lat, lon) as floats, or the precise reason they cannot be used."""
    out: list[float] = []
    for name, value, limit in (("latitude", lat, 90.0), ("longitude", lon, 180.0)):
        if value is None or (isinstance(value, str) and not value.strip()):
            return f"missing {name}"
        number = parse_float(value)
        if number is None:
            return f"invalid {name} {visible(str(value).strip()[:40])!r}"
        if not -limit <= number <= limit:
            return f"{name} {number:g} out of range [-{limit:g}, {limit:g}]"
        out.append(number)
    return out[0], out[1]


def parse_count(value: Any) -> int | str:
    """A row's camera count (0: surveyed, none seen; at most CAMDENSITY_INGEST_MAX_COUNT),
    or why it cannot be used."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return "missing count"
    text = visible(str(value).strip()[:40])
    if isinstance(value, bool):
        return f"invalid count {text!r}"
    try:
        number = float(str(value).strip())
    except ValueError:
        return f"invalid count {text!r}"
    if not math.isfinite(number) or number != int(number):
        return f"invalid count {text!r}: not a whole number"
    if number < 0:
        return f"count {int(number)}: negative"
    limit = ingest_settings().ingest_max_count
    if number > limit:
        return (f"count {int(number)} above the maximum of {limit:,} per row "
                "(CAMDENSITY_INGEST_MAX_COUNT)")
    return int(number)
