"""CalDAV (Radicale, Nextcloud, Fastmail, iCloud, …): appointments as events, busy time back.

Each appointment is one resource at a URL we choose (`<calendar>/frontdesk-appointment-<id>.ics`), so create
and update are the same idempotent PUT and delete is a DELETE of that URL (404 counts as done). Busy time is one
REPORT calendar-query over the window; every returned resource is parsed on its own, so a broken one is
skipped and counted instead of failing the sync. Our own events are recognised by UID and never read back as
busy time (they are appointments already).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

import caldav
from caldav.lib import error as caldav_error
from lxml import etree

from backend.calendar.ics import BusyList, event_ics, parse_busy
from backend.calendar.sync.common import AppointmentEvent, is_own_uid
from backend.errors import ServiceError

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 15
_NS = {"D": "DAV:", "C": "urn:ietf:params:xml:ns:caldav"}


class CalDAVError(RuntimeError):
    """The server refused or failed a request; the message is fit for the owner's screen."""


@dataclass(frozen=True)
class DiscoveredCalendar:
    url: str
    name: str


def client_for(url: str, username: str, password: str) -> caldav.DAVClient:
    return caldav.DAVClient(url=url, username=username or None, password=password or None,
                            timeout=TIMEOUT_SECONDS, enable_rfc6764=False)


def _friendly(exc: BaseException, url: str) -> ServiceError:
    """One clear sentence per way connecting can fail."""
    if isinstance(exc, caldav_error.AuthorizationError):
        return ServiceError("The calendar server did not accept this username and password.", field="password")
    if isinstance(exc, (ConnectionError, OSError)) or type(exc).__name__ in {"ConnectionError", "Timeout",
                                                                            "ConnectTimeout", "ReadTimeout"}:
        return ServiceError(f"Could not reach {url}: check the address and that the server is running.",
                            field="url")
    if isinstance(exc, caldav_error.DAVError) or isinstance(exc, etree.XMLSyntaxError):
        return ServiceError("This address does not look like a CalDAV server (no calendar account found there).",
                            field="url")
    return ServiceError(f"The calendar server answered in a way we do not understand ({type(exc).__name__}).",
                        field="url")


def discover(url: str, username: str, password: str, calendar_name: str = "") -> DiscoveredCalendar:
    """Log in, find the account's calendars and pick one: the URL itself if it is a calendar, else the one named
    `calendar_name`, else the first. Raises ServiceError with a clear message otherwise."""
    client = client_for(url, username, password)
    try:
        with client:
            principal = client.principal()  # AuthorizationError / DAVError: handled below
            calendars = principal.calendars()
            if not calendars:
                raise ServiceError("No calendar was found for this account. Create one in your calendar app "
                                   "first, then connect again.", field="calendar_name")
            # The address may be a calendar collection itself (what most "CalDAV URL" fields show).
            target = url.rstrip("/")
            for cal in calendars:
                if str(cal.url).rstrip("/") == target:
                    return DiscoveredCalendar(str(cal.url), cal.get_display_name() or "Calendar")
            named = [(cal, cal.get_display_name() or "") for cal in calendars]
            if calendar_name:
                for cal, name in named:
                    if name.strip().lower() == calendar_name.strip().lower():
                        return DiscoveredCalendar(str(cal.url), name)
                names = ", ".join(sorted(n or "(unnamed)" for _, n in named))
                raise ServiceError(f"No calendar named \u201c{calendar_name}\u201d on this account. "
                                   f"It has: {names}.", field="calendar_name")
            cal, name = named[0]
            return DiscoveredCalendar(str(cal.url), name or "Calendar")
    except ServiceError:
        raise
    except Exception as exc:
        raise _friendly(exc, url) from exc


def event_url(calendar_url: str, appointment_id: int) -> str:
    return f"{calendar_url.rstrip('/')}/frontdesk-appointment-{appointment_id}.ics"


def _check(response, what: str, ok: Callable[[int], bool]) -> None:
    if not ok(response.status):
        raise CalDAVError(f"{what} failed: HTTP {response.status}")


def put_event(calendar_url: str, username: str, password: str, event: AppointmentEvent,
              href: str = "") -> str:
    """Create or replace the appointment's event; returns its URL."""
    href = href or event_url(calendar_url, event.appointment_id)
    body = event_ics(**event.ics_fields())
    with client_for(calendar_url, username, password) as client:
        response = client.put(href, body, {"Content-Type": "text/calendar; charset=utf-8"})
        _check(response, "Saving the event", lambda s: 200 <= s < 300)
    return href


def delete_event(calendar_url: str, username: str, password: str, href: str) -> None:
    with client_for(calendar_url, username, password) as client:
        response = client.delete(href)
        _check(response, "Deleting the event", lambda s: 200 <= s < 300 or s in (404, 410))


def _utc_stamp(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _query(start: datetime, end: datetime) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
        "<D:prop><D:getetag/><C:calendar-data/></D:prop>"
        '<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">'
        f'<C:time-range start="{_utc_stamp(start)}" end="{_utc_stamp(end)}"/>'
        "</C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"
    )


def read_busy(calendar_url: str, username: str, password: str, *, start: datetime, end: datetime,
              tz: str = "UTC") -> BusyList:
    """Busy (start, end) pairs of every event but ours in [start, end); `.skipped` counts unreadable ones."""
    with client_for(calendar_url, username, password) as client:
        response = client.report(calendar_url, _query(start, end), depth=1)
        _check(response, "Reading the calendar", lambda s: s == 207)
        tree = response.tree if getattr(response, "tree", None) is not None else etree.fromstring(
            response.raw.encode() if isinstance(response.raw, str) else response.raw)
    result = BusyList()
    for node in tree.iterfind(".//D:response", _NS):
        data = node.findtext(".//C:calendar-data", namespaces=_NS)
        if not data or not data.strip():
            continue
        spans = parse_busy(data, start=start, end=end, tz=tz, exclude_uid=is_own_uid)
        result.extend(spans)
        result.skipped += spans.skipped
    result.sort()
    return result
