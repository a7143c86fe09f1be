"""Recording search in the vendors' own languages, as pure functions: what to send, what came back.

Cameras without ONVIF recording search (Profile G) still tell their recordings through their own
web APIs; the reach job asks them (see :mod:`camera_ops.footage.vendor_reach`).

- **Hikvision ISAPI** (and the OEMs on its firmware): ``POST /ISAPI/ContentMgmt/search`` with a
  ``CMSearchDescription`` (``trackID`` ``{channel}01`` = the main stream's recordings, a time span,
  ``maxResults`` and — spelled so by the firmware — ``searchResultPostion``); the answer is a
  ``CMSearchResult`` whose ``responseStatusStrg`` is ``MORE`` (another page), ``OK`` (last page) or
  ``NO MATCHES``, with ``matchList/searchMatchItem/timeSpan/{startTime,endTime}``. A firmware that
  does not search answers an ISAPI ``ResponseStatus`` (``notSupport``). ``GET
  /ISAPI/ContentMgmt/Storage`` lists the card (``hddList/hdd/status``: ``ok``, ``unformatted``,
  ``error`` ...; an empty list when no card is in).
- **Dahua CGI** (KBVision, Imou, Amcrest and many OEMs): ``mediaFileFind.cgi`` with
  ``action=factory.create`` (→ ``result=<object>``), ``findFile`` (``condition.Channel`` counts from
  1, ``condition.StartTime=2026-12-07 00:00:00``; → ``OK``, or ``Error`` when nothing matches),
  ``findNextFile&count=N`` (→ ``found=N`` and ``items[i].StartTime`` / ``items[i].EndTime``; ``found=0``
  or ``Error`` at the end), then ``close`` and ``destroy``. ``storageDevice.cgi?action=getDeviceAllInfo``
  lists the card (``list.info[i].State``, ``list.info[i].Detail[j].IsError``; nothing when no card).

Times: Dahua speaks the camera's local time, without a zone; Hikvision writes ``...Z`` whether the
camera's clock is set to UTC or to local time (many firmwares put a ``Z`` on local time). Both are
read in the zone the camera's playback is set to (:class:`storage.models.PlaybackClock`) — the
same clock its playback URLs use — unless the text carries an explicit numeric offset. The
results are instants on the camera's clock; the caller shifts them by the camera's clock offset.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from urllib.parse import quote

from lxml import etree

HIK_SEARCH_PATH = "/ISAPI/ContentMgmt/search"
HIK_STORAGE_PATH = "/ISAPI/ContentMgmt/Storage"
DAHUA_FIND_PATH = "/cgi-bin/mediaFileFind.cgi"
DAHUA_STORAGE_PATH = "/cgi-bin/storageDevice.cgi?action=getDeviceAllInfo"
DAHUA_TIME = "%Y-%m-%d %H:%M:%S"
MAX_ANSWER_BYTES = 1 << 20  # a page of 50 matches is ~30 KB; anything near a megabyte is not a search answer


class MalformedAnswer(ValueError):
    """The camera answered, but not in its vendor's format (or inconsistently)."""


class SearchUnsupported(Exception):
    """The camera says it cannot search (ISAPI ``notSupport``)."""


class BadSearchBody(MalformedAnswer):
    """The camera refused the search description itself (ISAPI ``badXmlContent``): firmware that
    wants ``<trackIDList>`` where others take ``<trackList>``."""


class Card(str, enum.Enum):
    """What the camera says about its SD card (or recorder disk)."""

    ok = "ok"
    missing = "missing"  # no card in the slot
    unformatted = "unformatted"  # a card that was never formatted by the camera: it cannot record
    failed = "failed"  # error, read-only, worn out


@dataclass(frozen=True, slots=True)
class Span:
    start: datetime  # an instant on the camera's clock (aware)
    end: datetime


@dataclass(frozen=True, slots=True)
class SearchPage:
    spans: tuple[Span, ...]
    more: bool  # the camera has more matches after these (Hikvision MORE; Dahua a full page)


_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True)


def _xml(body: bytes) -> etree._Element:
    if len(body) > MAX_ANSWER_BYTES:
        raise MalformedAnswer(f"the answer is {len(body)} bytes, too long for a search answer")
    try:
        root = etree.fromstring(body.strip(), _PARSER)
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise MalformedAnswer(f"not XML ({exc})") from None
    if root is None:
        raise MalformedAnswer("empty answer")
    return root


def _local(element: etree._Element) -> str:
    tag = element.tag
    return etree.QName(tag).localname if isinstance(tag, str) else ""


# --- times ---------------------------------------------------------------------------------------

_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?\s*(Z|[+-]\d{2}:?\d{2})?$")


def parse_camera_time(text: str | None, zone: tzinfo) -> datetime:
    """``2026-12-07T08:00:00Z`` / ``...T08:00:00`` / ``... 08:00:00`` / ``...+07:00`` → an aware instant.

    No zone or ``Z``: the camera's playback zone (see the module notes); a numeric offset wins."""
    match = _ISO.match((text or "").strip())
    if match is None:
        raise MalformedAnswer(f"not a time: {text!r}")
    year, month, day, hour, minute, second, suffix = match.groups()
    try:
        naive = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
    except ValueError:
        raise MalformedAnswer(f"not a time: {text!r}") from None
    if suffix and suffix != "Z":
        sign = 1 if suffix[0] == "+" else -1
        digits = suffix[1:].replace(":", "")
        offset = sign * (int(digits[:2]) * 60 + int(digits[2:]))
        return naive.replace(tzinfo=timezone(timedelta(minutes=offset))).astimezone(timezone.utc)
    return naive.replace(tzinfo=zone).astimezone(timezone.utc)


def camera_wall_time(at: datetime, zone: tzinfo) -> datetime:
    """An instant as the camera's wall clock shows it in ``zone`` (naive)."""
    return at.astimezone(zone).replace(tzinfo=None)


# --- Hikvision ISAPI -----------------------------------------------------------------------------


def hik_track(channel: int) -> int:
    """Channel 1 → track 101 (main stream recordings), channel 6 → 601 (0 = a camera = 1)."""
    return (channel or 1) * 100 + 1


TRACK_LISTS = ("trackList", "trackIDList")  # the ISAPI document's spelling; newer firmware's (NVRs, V3.4+)


def hik_search_body(*, search_id: str, track: int, start: datetime, end: datetime, zone: tzinfo,
                    max_results: int, position: int, track_list: str = TRACK_LISTS[0]) -> bytes:
    """A ``CMSearchDescription``; ``start``/``end`` are camera-clock instants written in ``zone``;
    ``track_list``: the element around ``trackID`` (see :data:`TRACK_LISTS`)."""
    if track_list not in TRACK_LISTS:
        raise ValueError(track_list)
    def stamp(at: datetime) -> str:
        return camera_wall_time(at, zone).strftime("%Y-%m-%dT%H:%M:%SZ")

    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<CMSearchDescription version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema">'
        f"<searchID>{search_id}</searchID>"
        f"<{track_list}><trackID>{int(track)}</trackID></{track_list}>"
        f"<timeSpanList><timeSpan><startTime>{stamp(start)}</startTime><endTime>{stamp(end)}</endTime>"
        "</timeSpan></timeSpanList>"
        f"<maxResults>{int(max_results)}</maxResults>"
        f"<searchResultPostion>{int(position)}</searchResultPostion>"
        "<metadataList><metadataDescriptor>//recordType.meta.std-cgi.com</metadataDescriptor></metadataList>"
        "</CMSearchDescription>"
    ).encode()


def _isapi_status(root: etree._Element) -> None:
    """An ISAPI ``ResponseStatus`` instead of the answer: unsupported, or a refusal."""
    sub = (root.findtext("{*}subStatusCode") or root.findtext("subStatusCode") or "").strip()
    text = (root.findtext("{*}statusString") or root.findtext("statusString") or "").strip()
    if sub.lower() in ("notsupport", "notsupported") or (not sub and text.lower() == "not supported"):
        raise SearchUnsupported(f"the camera does not search recordings ({text or sub})")
    if sub.lower() in ("badxmlcontent", "badxmlformat") or text.lower() in ("invalid xml content", "invalid content"):
        raise BadSearchBody(f"the camera refused the search description ({text or sub})")
    raise MalformedAnswer(f"the camera refused the search ({text or sub or 'no reason'})")


def parse_hik_search(body: bytes, zone: tzinfo) -> SearchPage:
    root = _xml(body)
    name = _local(root)
    if name == "ResponseStatus":
        _isapi_status(root)
    if name != "CMSearchResult":
        raise MalformedAnswer(f"expected CMSearchResult, got <{name}>")
    status = " ".join((root.findtext("{*}responseStatusStrg") or "").split()).upper()
    if status not in ("OK", "MORE", "NO MATCHES", "NO MATCH"):
        raise MalformedAnswer(f"unknown search status {status!r}")
    spans = []
    for item in root.iterfind("{*}matchList/{*}searchMatchItem"):
        start = parse_camera_time(item.findtext("{*}timeSpan/{*}startTime"), zone)
        end = parse_camera_time(item.findtext("{*}timeSpan/{*}endTime"), zone)
        if end < start:
            raise MalformedAnswer("a recording that ends before it starts")
        spans.append(Span(start, end))
    if status.startswith("NO MATCH"):
        if spans:
            raise MalformedAnswer("NO MATCHES with matches")
        return SearchPage((), more=False)
    if not spans:
        raise MalformedAnswer(f"{status} without matches")
    return SearchPage(tuple(spans), more=status == "MORE")


_HIK_OK = frozenset({"ok", "idle", "sleeping", "normal"})
_HIK_UNFORMATTED = frozenset({"unformatted", "uninitialized", "notinit"})
_HIK_MISSING = frozenset({"notexist", "nocard", "absent", "offline", "nonexistent"})


def parse_hik_storage(body: bytes) -> Card:
    root = _xml(body)
    name = _local(root)
    if name == "ResponseStatus":
        _isapi_status(root)
    if name.lower() != "storage":
        raise MalformedAnswer(f"expected <storage>, got <{name}>")
    statuses = [(hdd.findtext("{*}status") or "").strip().lower() for hdd in root.iterfind("{*}hddList/{*}hdd")]
    if not statuses:
        return Card.missing
    if any(s in _HIK_OK for s in statuses):
        return Card.ok
    if all(s in _HIK_MISSING for s in statuses):
        return Card.missing
    if any(s in _HIK_UNFORMATTED for s in statuses):
        return Card.unformatted
    return Card.failed


# --- Dahua CGI -----------------------------------------------------------------------------------


def dahua_kv(text: str) -> dict[str, str]:
    """``key=value`` lines (CRLF or LF); anything else (but blank lines) is malformed."""
    out: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise MalformedAnswer(f"not a key=value line: {line[:80]!r}")
        out[key.strip()] = value.strip()
    return out


def _is_error(text: str) -> bool:
    first = text.strip().splitlines()[0].strip().lower() if text.strip() else ""
    return first.startswith("error")


def dahua_find_query(action: str, **params: str | int) -> str:
    """``/cgi-bin/mediaFileFind.cgi?action=...&...``: values escaped the way Dahua firmware reads
    them (a space as ``%20``, the ``:`` and ``.`` kept)."""
    parts = [f"action={action}"] + [f"{k}={quote(str(v), safe=':.-_')}" for k, v in params.items()]
    return DAHUA_FIND_PATH + "?" + "&".join(parts)


def dahua_find_file_params(*, obj: str, channel: int, start: datetime, end: datetime, zone: tzinfo) -> dict[str, str]:
    return {"object": obj, "condition.Channel": str(channel or 1),
            "condition.StartTime": camera_wall_time(start, zone).strftime(DAHUA_TIME),
            "condition.EndTime": camera_wall_time(end, zone).strftime(DAHUA_TIME)}


def parse_dahua_object(text: str) -> str:
    """``result=<object id>`` from ``factory.create``."""
    if _is_error(text):
        raise MalformedAnswer("the camera refused to create a finder")
    value = dahua_kv(text).get("result", "")
    if not re.fullmatch(r"[0-9A-Za-z_-]{1,40}", value):
        raise MalformedAnswer(f"no finder object in {text[:80]!r}")
    return value


def parse_dahua_find_file(text: str) -> bool:
    """``OK``: there are files; ``Error``: nothing matches (Dahua firmware says so this way)."""
    first = text.strip().splitlines()[0].strip() if text.strip() else ""
    if first.upper() == "OK":
        return True
    if first.lower().startswith("error"):
        return False
    raise MalformedAnswer(f"findFile answered {first[:80]!r}")


_ITEM = re.compile(r"^items\[(\d+)\]\.(\w+)$")


def parse_dahua_next(text: str, zone: tzinfo, *, asked: int) -> SearchPage:
    """``found=N`` and ``items[i].StartTime`` / ``EndTime`` (camera local time)."""
    if _is_error(text):
        return SearchPage((), more=False)  # some firmwares answer Error after the last file
    kv = dahua_kv(text)
    found_text = kv.get("found")
    if found_text is None or not found_text.isdigit():
        raise MalformedAnswer(f"findNextFile without found=N: {text[:80]!r}")
    found = int(found_text)
    items: dict[int, dict[str, str]] = {}
    for key, value in kv.items():
        match = _ITEM.match(key)
        if match:
            items.setdefault(int(match.group(1)), {})[match.group(2)] = value
    if len(items) != found or (items and sorted(items) != list(range(found))):
        raise MalformedAnswer(f"found={found} but {len(items)} items")
    spans = []
    for index in range(found):
        item = items[index]
        start = parse_camera_time(item.get("StartTime"), zone)
        end = parse_camera_time(item.get("EndTime"), zone)
        if end < start:
            raise MalformedAnswer("a recording that ends before it starts")
        spans.append(Span(start, end))
    return SearchPage(tuple(spans), more=found >= asked > 0)


_INFO = re.compile(r"^list\.info\[(\d+)\]\.(State|Name|Detail\[\d+\]\.IsError)$")
_DAHUA_OK = frozenset({"success", "normal", "ok"})
_DAHUA_MISSING = frozenset({"absent", "nocard", "notexist", "unmounted", "none"})
_DAHUA_UNFORMATTED = frozenset({"unformatted", "notformat", "noformat", "needformat"})


def parse_dahua_storage(text: str) -> Card:
    if _is_error(text):
        raise MalformedAnswer("the camera refused the storage query")
    kv: Mapping[str, str] = dahua_kv(text)
    disks: dict[int, dict[str, str]] = {}
    for key, value in kv.items():
        match = _INFO.match(key)
        if match:
            field = "IsError" if match.group(2).startswith("Detail") else match.group(2)
            disk = disks.setdefault(int(match.group(1)), {})
            if field == "IsError":
                disk["IsError"] = "true" if value.lower() == "true" or disk.get("IsError") == "true" else "false"
            else:
                disk[field] = value
    if not disks:
        if kv and not any(k.startswith("list.") for k in kv):
            raise MalformedAnswer(f"not a storage answer: {text[:80]!r}")
        return Card.missing
    states = []
    for disk in disks.values():
        state = disk.get("State", "").strip().lower()
        if state in _DAHUA_OK and disk.get("IsError") != "true":
            return Card.ok
        states.append(state)
    if all(s in _DAHUA_MISSING for s in states):
        return Card.missing
    if any(s in _DAHUA_UNFORMATTED for s in states):
        return Card.unformatted
    return Card.failed
