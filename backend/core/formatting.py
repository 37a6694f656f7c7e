"""How times and browsers are written for people and the API: ISO-8601 in UTC with a "Z", a day in a business's
time zone, a browser in two words."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo


def iso(value: datetime | None) -> str:
    """"2026-11-26T12:49:18Z", or "" for no time."""
    if value is None:
        return ""
    return value.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def local_day(moment: datetime, zone: str) -> str:
    """"Tuesday 15 December 2026": the day of `moment` in the time zone `zone`."""
    try:
        local = moment.astimezone(ZoneInfo(zone or "UTC"))
    except Exception:  # an unknown zone: the UTC date is still the right day within hours
        local = moment
    return f"{local:%A} {local.day} {local:%B %Y}"


def describe_user_agent(user_agent: str) -> str:
    """"Chrome on macOS": enough for an owner to recognise their own browser in the log."""
    ua = user_agent or ""
    browser = next((name for token, name in (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"),
                                              ("Chrome/", "Chrome"), ("Safari/", "Safari")) if token in ua), "")
    system = next((name for token, name in (("iPhone", "iPhone"), ("iPad", "iPad"), ("Android", "Android"),
                                             ("Windows", "Windows"), ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"),
                                             ("Linux", "Linux")) if token in ua), "")
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or ("Another app" if ua else "")
