"""Durations as deploy.yaml writes them (`90s`, `15m`, `1h30m`, `500ms`, or seconds)."""

from __future__ import annotations

import re

_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)")
_WHOLE = re.compile(r"^(?:[0-9]+(?:\.[0-9]+)?(?:ms|s|m|h))+$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(value: object) -> float:
    """Seconds from a duration; raises ValueError with the accepted forms."""
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"a duration cannot be negative: {value}")
        return float(value)
    if isinstance(value, str) and _WHOLE.match(value.strip()):
        return sum(float(n) * _UNIT_SECONDS[u] for n, u in _PART.findall(value.strip()))
    raise ValueError(
        f"not a duration: {value!r} (write it like 90s, 15m, 1h30m, 500ms, or a number of seconds)"
    )


def format_duration(seconds: float) -> str:
    """`15m`, `1h30m`, `90s` -> the shortest exact form, for messages."""
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    whole = int(seconds)
    if whole != seconds:
        return f"{seconds:g}s"
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "")
    text += f"{secs}s" if secs or not text else ""
    return text
