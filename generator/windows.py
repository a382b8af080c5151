"""Freeze windows: when an environment takes no promotions.

``environments.<env>.freeze`` lists windows, each either fixed
``{from: 2026-12-24T00:00:00+01:00, until: 2027-01-02T08:00:00+01:00, reason: ...}`` or weekly
``{weekly: "Fri 16:00 - Mon 08:00", timezone: "Europe/Berlin", reason: ...}`` (an IANA zone;
daylight-saving changes are the standard library's ``zoneinfo``'s business). A badly formed
window is a config error located like any other. ``frozen_at(windows, now)`` answers whether
one holds at ``now`` and until when.
"""

from __future__ import annotations

import datetime as dt
import re

from .kinds import Kind, clip, describe, located

TYPE_CHECKING = False  # typing costs ~2 ms of every run; its names are for the type checker only
if TYPE_CHECKING:
    from typing import Any

    import yaml

    from .errors import Location
    from .loader import _Walker

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_WEEKLY = r"^(\w{3}) ([0-9]{1,2}):([0-9]{2}) - (\w{3}) ([0-9]{1,2}):([0-9]{2})$"  # only freezes use it: compiled by `re` then
_WEEK_MINUTES = 7 * 24 * 60
_KEYS = ("from", "until", "weekly", "timezone", "reason")


class Window:
    """One freeze window: fixed (``start``/``end``, aware datetimes) or weekly (minutes into the
    week, Monday 00:00 local, and a zone)."""

    __slots__ = ("location", "path", "reason", "start", "end", "weekly", "zone_name", "zone", "week_start", "week_end")

    def __init__(self, location: Location, path: str, reason: str) -> None:
        self.location = location
        self.path = path
        self.reason = reason
        self.start: dt.datetime | None = None
        self.end: dt.datetime | None = None
        self.weekly: str | None = None
        self.zone_name: str | None = None
        self.zone: Any = None
        self.week_start = 0
        self.week_end = 0

    def frozen_until(self, now: dt.datetime) -> dt.datetime | None:
        """When this window ends, if it holds at ``now`` (aware); else None."""
        if self.weekly is None:
            assert self.start is not None and self.end is not None
            return self.end if self.start <= now < self.end else None
        local = now.astimezone(self.zone)
        minute = local.weekday() * 1440 + local.hour * 60 + local.minute + (local.second + local.microsecond / 1e6) / 60
        start, end = self.week_start, self.week_end
        inside = start <= minute < end if start < end else (minute >= start or minute < end)
        if not inside:
            return None
        # The window's end, in local wall-clock time, on or after today; a week later if already past.
        hour, mins = divmod(end % 1440, 60)
        day = local.date() + dt.timedelta(days=(end // 1440 - local.weekday()) % 7)
        candidate = dt.datetime(day.year, day.month, day.day, hour, mins, tzinfo=self.zone)
        if candidate <= local:
            later = day + dt.timedelta(days=7)
            candidate = dt.datetime(later.year, later.month, later.day, hour, mins, tzinfo=self.zone)
        return candidate.astimezone(dt.UTC)

    def describe(self) -> str:
        """How pages and messages name the window: its times (never "now")."""
        what = f" ({self.reason})" if self.reason else ""
        if self.weekly is not None:
            return f"every week {self.weekly} {self.zone_name}{what}"
        assert self.start is not None and self.end is not None
        return f"from {iso(self.start)} until {iso(self.end)}{what}"


def iso(when: dt.datetime) -> str:
    """``2026-12-24 00:00 UTC (01:00 +01:00)``: UTC, and the time as written in its zone."""
    utc = when.astimezone(dt.UTC)
    text = utc.strftime("%Y-%m-%d %H:%M UTC")
    if when.utcoffset() != dt.timedelta(0):
        text += f" ({when.strftime('%Y-%m-%d %H:%M')} {_offset(when)})"
    return text


def _offset(when: dt.datetime) -> str:
    name = when.tzname() or ""
    if name and not name.startswith(("UTC", "+", "-")):
        return name
    offset = when.utcoffset() or dt.timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def in_zone(when: dt.datetime, window: Window) -> str:
    """``when`` (UTC) also in the window's own zone, for messages: "until 07:00 UTC (08:00 CET)"."""
    if window.zone is not None:
        return iso(when.astimezone(window.zone))
    if window.end is not None:
        return iso(when.astimezone(window.end.tzinfo))
    return iso(when)


def frozen_at(windows: list[Window], now: dt.datetime) -> tuple[Window, dt.datetime] | None:
    """The window that holds at ``now`` and ends last (a freeze lasts until every window is over), or None."""
    holding = [(w, until) for w in windows for until in [w.frozen_until(now)] if until is not None]
    if not holding:
        return None
    return max(holding, key=lambda item: item[1])


class FreezeWindow(Kind):
    """The kind of one window of ``freeze``: a fixed or a weekly window, checked when loaded."""

    __slots__ = ()
    type_name = "mapping"

    def load(self, walker: _Walker, node: yaml.Node, path: str, field: str) -> Window | None:
        import yaml

        if not isinstance(node, yaml.MappingNode):
            walker.problem(node, path, f"expected a freeze window (a mapping), got {describe(node)}", 'write `- {weekly: "Fri 16:00 - Mon 08:00", timezone: "Europe/Berlin", reason: "..."}` or `- {from: ..., until: ..., reason: "..."}`', "type")
            return None
        values: dict[str, tuple[str, yaml.Node]] = {}
        ok = True
        for key, key_node, value_node in walker.items(node, path).values():
            if key not in _KEYS:
                import difflib

                close = difflib.get_close_matches(key, _KEYS, n=1, cutoff=0.6)
                hint = f"did you mean `{close[0]}`?" if close else f"allowed keys: {', '.join(_KEYS)}"
                walker.problem(key_node, f"{path}.{key}", f"unknown key `{clip(key)}` in a freeze window", hint, "unknown-key")
                ok = False
                continue
            if not (isinstance(value_node, yaml.ScalarNode) and value_node.tag.endswith((":str", ":timestamp")) and value_node.value.strip()):
                walker.problem(value_node, f"{path}.{key}", f"expected text, got {describe(value_node)}", f'quote it: {key}: "..."', "type")
                ok = False
                continue
            values[key] = (value_node.value, value_node)
        if not ok:
            return None
        window = Window(located(walker.file, node), path, values.get("reason", ("", node))[0])
        if "weekly" in values:
            return window if _weekly(walker, window, values, node, path) else None
        return window if _fixed(walker, window, values, node, path) else None

    def schema(self) -> dict[str, Any]:
        text = {"type": "string", "minLength": 1}
        return {
            "description": "A freeze window: fixed (`from`, `until`: ISO-8601 with an offset) or weekly (`weekly: \"Fri 16:00 - Mon 08:00\"` and an IANA `timezone`).",
            "oneOf": [
                {"type": "object", "additionalProperties": False, "required": ["from", "until"], "properties": {"from": text, "until": text, "reason": text}},
                {"type": "object", "additionalProperties": False, "required": ["weekly", "timezone"], "properties": {"weekly": {**text, "pattern": _WEEKLY}, "timezone": text, "reason": text}},
            ],
        }

    def allowed(self) -> str:
        return '{from, until, reason} or {weekly: "Fri 16:00 - Mon 08:00", timezone, reason}'


def _fixed(walker: _Walker, window: Window, values: dict[str, Any], node: Any, path: str) -> bool:
    missing = [key for key in ("from", "until") if key not in values]
    if missing or "timezone" in values:
        walker.problem(node, path, "a fixed freeze window needs `from` and `until` (and no `timezone`: the times carry their offsets)" if missing else "`timezone` belongs to a weekly window", "write `{from: 2026-12-24T00:00:00+01:00, until: 2027-01-02T08:00:00+01:00, reason: \"...\"}`", "freeze")
        return False
    times = {}
    for key in ("from", "until"):
        text, value_node = values[key]
        try:
            when = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T", 1))
        except ValueError:
            walker.problem(value_node, f"{path}.{key}", f"`{clip(text)}` is not an ISO-8601 time", f"write e.g. `{key}: 2026-12-24T00:00:00+01:00`", "freeze")
            return False
        if when.tzinfo is None:
            walker.problem(value_node, f"{path}.{key}", f"`{clip(text)}` has no time zone offset", f"add one, e.g. `{key}: {text}+01:00` (or `Z` for UTC)", "freeze")
            return False
        times[key] = when
    if times["from"] >= times["until"]:
        walker.problem(values["from"][1], f"{path}.from", f"the window starts ({iso(times['from'])}) at or after it ends ({iso(times['until'])})", "swap `from` and `until`, or fix the dates", "freeze")
        return False
    window.start, window.end = times["from"], times["until"]
    return True


def _weekly(walker: _Walker, window: Window, values: dict[str, Any], node: Any, path: str) -> bool:
    text, value_node = values["weekly"]
    if "from" in values or "until" in values:
        walker.problem(node, path, "a window is weekly (`weekly`, `timezone`) or fixed (`from`, `until`), not both", "split it into two windows", "freeze")
        return False
    match = re.match(_WEEKLY, text)
    where = f"{path}.weekly"
    if match is None:
        walker.problem(value_node, where, f"`{clip(text)}` is not a weekly window", 'write e.g. `weekly: "Fri 16:00 - Mon 08:00"` (days Mon-Sun, 24-hour times)', "freeze")
        return False
    day1, h1, m1, day2, h2, m2 = match.groups()
    for day in (day1, day2):
        if day not in DAYS:
            walker.problem(value_node, where, f"`{day}` is not a day", f"use one of: {', '.join(DAYS)}", "freeze")
            return False
    for hour, minute in ((h1, m1), (h2, m2)):
        if int(hour) > 23 or int(minute) > 59:
            walker.problem(value_node, where, f"`{hour}:{minute}` is not a time of day", "use 00:00 to 23:59", "freeze")
            return False
    start = DAYS.index(day1) * 1440 + int(h1) * 60 + int(m1)
    end = DAYS.index(day2) * 1440 + int(h2) * 60 + int(m2)
    if start == end:
        walker.problem(value_node, where, "the window starts when it ends", "give it a length", "freeze")
        return False
    if "timezone" not in values:
        walker.problem(node, path, "a weekly window needs a `timezone` (an IANA name such as `Europe/Berlin` or `UTC`)", 'add `timezone: "Europe/Berlin"`', "freeze")
        return False
    zone_name, zone_node = values["timezone"]
    try:
        import zoneinfo

        zone = zoneinfo.ZoneInfo(zone_name)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError, OSError):
        walker.problem(zone_node, f"{path}.timezone", f"`{clip(zone_name)}` is not a time zone", "use an IANA name, e.g. `Europe/Berlin`, `America/New_York`, `UTC`", "freeze")
        return False
    window.weekly, window.zone_name, window.zone = text, zone_name, zone
    window.week_start, window.week_end = start, end
    return True
