"""The vendors' own recording search and storage status, answered from the simulated SD card.

- hikvision / nvr: ``POST /ISAPI/ContentMgmt/search`` (CMSearchDescription → CMSearchResult, pages
  of ``maxResults`` with ``MORE`` / ``OK`` / ``NO MATCHES``) and ``GET /ISAPI/ContentMgmt/Storage``;
- dahua: ``/cgi-bin/mediaFileFind.cgi`` (factory.create, findFile, findNextFile, close, destroy)
  and ``/cgi-bin/storageDevice.cgi?action=getDeviceAllInfo``.

The recordings are the camera's recording window (the same one ONVIF search reports) cut into
files at each whole hour of the camera's clock, less any ``recording_gap``; nothing at all when the
``sd_card`` fault is not ``ok``. A Hikvision camera with a failed card refuses the search (``Device Error``), as real ones do;
with no card it answers ``NO MATCHES``. ``vendor_search=track_id_list``: newer Hikvision firmware that
takes only ``<trackIDList>`` (``badXmlContent`` for the documented ``<trackList>``). Times are written in the zone the camera's playback reads
(``CameraSpec.playback_zone``: Dahua local time by default, as its firmware; else UTC) — with a
``Z`` even when local, as Hikvision firmware does — and the Dahua ones without a zone. Digest authentication as everywhere on the camera. Faults:
``vendor_search=unsupported`` (404), ``vendor_search=malformed`` (answers that are not the format).
"""

from __future__ import annotations

import math
import secrets
from datetime import datetime, timezone, tzinfo
from zoneinfo import ZoneInfo

from lxml import etree

from camera_ops.sim.camera import SimCamera
from camera_ops.sim.wire import Request

Reply = tuple[int, list[tuple[str, str]], bytes]
HIK_PATHS = frozenset({"/ISAPI/ContentMgmt/search", "/ISAPI/ContentMgmt/Storage"})
DAHUA_PATHS = frozenset({"/cgi-bin/mediaFileFind.cgi", "/cgi-bin/storageDevice.cgi"})
FILE_SECONDS = 3600  # one file per hour, cut at the hour
MAX_FINDERS = 8  # Dahua cameras keep a handful of finder objects; one more is refused
HIK_MAX_RESULTS = 100
XML = [("Content-Type", 'application/xml; charset="UTF-8"')]
TEXT = [("Content-Type", "text/plain;charset=utf-8")]
ISAPI_NS = "http://www.hikvision.com/ver20/XMLSchema"


def handles(camera: SimCamera, path: str) -> bool:
    vendor = camera.spec.vendor
    return (vendor in ("hikvision", "nvr") and path in HIK_PATHS) or (vendor == "dahua" and path in DAHUA_PATHS)


def route_vendor(camera: SimCamera, request: Request) -> Reply:
    result = camera.check_auth(request.header("authorization") or None, request.method)
    if not result.ok:
        return 401, [("WWW-Authenticate", camera.challenge(qop=True, stale=result.stale))], b""
    mode = camera.faults.vendor_search
    if mode == "unsupported":
        return 404, [("Content-Type", "text/html")], b"<html><body>404 Not Found</body></html>"
    if camera.spec.vendor == "dahua":
        return _dahua(camera, request, malformed=mode == "malformed")
    return _hikvision(camera, request, malformed=mode == "malformed")


def _zone(camera: SimCamera) -> tzinfo:
    return ZoneInfo(camera.spec.playback_zone) if camera.spec.playback_zone else timezone.utc


def recorded_files(camera: SimCamera, start: float, end: float) -> list[tuple[int, int]]:
    """(first, end) camera seconds of the files overlapping [start, end], oldest first."""
    if camera.faults.sd_card != "ok":
        return []
    first, last = camera.recording_window()
    stop = last + 1
    pieces = [(first, stop)]
    gap = camera.faults.recording_gap
    if gap is not None:
        g0, g1 = math.floor(gap[0].timestamp()), math.ceil(gap[1].timestamp())
        pieces = [(a, b) for a, b in ((first, min(stop, g0)), (max(first, g1), stop)) if b > a]
    files = []
    for a, b in pieces:
        cut = a
        while cut < b:
            nxt = min(b, (cut // FILE_SECONDS + 1) * FILE_SECONDS)
            if nxt > start and cut < end:
                files.append((cut, nxt))
            cut = nxt
    return files


def _wall(epoch: float, zone: tzinfo) -> datetime:
    return datetime.fromtimestamp(epoch, timezone.utc).astimezone(zone)


def _read_time(text: str | None, zone: tzinfo, fmt: str) -> float:
    value = (text or "").strip().rstrip("Z")
    return datetime.strptime(value, fmt).replace(tzinfo=zone).timestamp()


# --- Hikvision ISAPI -----------------------------------------------------------------------------


def _isapi_status(code: int, text: str, sub: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?><ResponseStatus version="2.0" xmlns="{ISAPI_NS}">'
            f"<requestURL>/ISAPI/ContentMgmt/search</requestURL><statusCode>{code}</statusCode>"
            f"<statusString>{text}</statusString><subStatusCode>{sub}</subStatusCode></ResponseStatus>").encode()


def _hikvision(camera: SimCamera, request: Request, *, malformed: bool) -> Reply:
    if request.path == "/ISAPI/ContentMgmt/Storage":
        if request.method != "GET":
            return 405, [("Allow", "GET")], b""
        if malformed:
            return 200, XML, b"<storage><hddList><hdd><status>ok"
        return 200, XML, _hik_storage(camera)
    if request.method != "POST":
        return 405, [("Allow", "POST")], b""
    if malformed:
        return 200, XML, b'<?xml version="1.0"?><CMSearchResult><responseStatusStrg>OK</responseStatusStrg><matchList>'
    try:
        root = etree.fromstring(request.body, etree.XMLParser(resolve_entities=False, no_network=True))
        if camera.faults.vendor_search == "track_id_list" and root.find("{*}trackIDList") is None:
            return 400, XML, _isapi_status(6, "Invalid XML Content", "badXmlContent")
        zone = _zone(camera)
        track = int(root.findtext(".//{*}trackID") or root.findtext(".//trackID") or "0")
        start = _read_time(root.findtext(".//{*}timeSpan/{*}startTime"), zone, "%Y-%m-%dT%H:%M:%S")
        end = _read_time(root.findtext(".//{*}timeSpan/{*}endTime"), zone, "%Y-%m-%dT%H:%M:%S")
        limit = min(HIK_MAX_RESULTS, int(root.findtext("{*}maxResults") or "40"))
        position = int(root.findtext("{*}searchResultPostion") or "0")
        search_id = root.findtext("{*}searchID") or ""
    except (etree.XMLSyntaxError, ValueError, TypeError):
        return 400, XML, _isapi_status(6, "Invalid Content", "badXmlContent")
    if track % 100 != 1 or not 1 <= track // 100 <= camera.spec.channel_count:
        return 400, XML, _isapi_status(4, "Invalid Operation", "invalidTrackID")
    if camera.faults.sd_card == "failed":  # a camera whose card failed refuses the search outright
        return 500, XML, _isapi_status(5, "Device Error", "hdError")
    files = recorded_files(camera, start, end)
    page = files[position:position + limit]
    status = "MORE" if position + limit < len(files) else ("OK" if page else "NO MATCHES")
    items = "".join(
        "<searchMatchItem><sourceID>{00000000-0000-0000-0000-000000000000}</sourceID>"
        f"<trackID>{track}</trackID><timeSpan><startTime>{_wall(a, zone):%Y-%m-%dT%H:%M:%SZ}</startTime>"
        f"<endTime>{_wall(b, zone):%Y-%m-%dT%H:%M:%SZ}</endTime></timeSpan>"
        "<mediaSegmentDescriptor><contentType>video</contentType><codecType>H.264-BP</codecType>"
        f"<playbackURI>rtsp://{camera.host}/Streaming/tracks/{track}/?starttime={_wall(a, zone):%Y%m%dT%H%M%SZ}"
        f"&amp;endtime={_wall(b, zone):%Y%m%dT%H%M%SZ}&amp;name=ch01_{a}&amp;size=1048576</playbackURI>"
        "</mediaSegmentDescriptor></searchMatchItem>" for a, b in page)
    body = (f'<?xml version="1.0" encoding="UTF-8"?><CMSearchResult version="2.0" xmlns="{ISAPI_NS}">'
            f"<searchID>{search_id}</searchID><responseStatus>true</responseStatus>"
            f"<responseStatusStrg>{status}</responseStatusStrg><numOfMatches>{len(page)}</numOfMatches>"
            f"<matchList>{items}</matchList></CMSearchResult>")
    return 200, XML, body.encode()


def _hik_storage(camera: SimCamera) -> bytes:
    card = camera.faults.sd_card
    hdd = "" if card == "missing" else (
        '<hdd version="2.0"><id>1</id><hddName>hdd1</hddName><hddPath></hddPath><hddType>SD</hddType>'
        f"<status>{'ok' if card == 'ok' else 'unformatted' if card == 'unformatted' else 'error'}</status>"
        "<property>RW</property><capacity>60906</capacity><freeSpace>0</freeSpace></hdd>")
    return (f'<?xml version="1.0" encoding="UTF-8"?><storage version="2.0" xmlns="{ISAPI_NS}">'
            f'<hddList version="2.0">{hdd}</hddList><nasList version="2.0"></nasList></storage>').encode()


# --- Dahua CGI -----------------------------------------------------------------------------------


def _dahua(camera: SimCamera, request: Request, *, malformed: bool) -> Reply:
    query = request.query
    action = query.get("action", "")
    if request.path == "/cgi-bin/storageDevice.cgi":
        if action != "getDeviceAllInfo":
            return 400, TEXT, b"Error\r\nBad Request!\r\n"
        if malformed:
            return 200, TEXT, b"<html>storage</html>\r\n"
        return 200, TEXT, _dahua_storage(camera).encode()
    finders = camera.file_finders
    if action == "factory.create":
        if len(finders) >= MAX_FINDERS:
            return 400, TEXT, b"Error\r\nBad Request!\r\n"
        obj = str(secrets.randbelow(10**9) + 10**8)
        finders[obj] = []
        return 200, TEXT, f"result={obj}\r\n".encode()
    obj = query.get("object", "")
    if obj not in finders:
        return 400, TEXT, b"Error\r\nBad Request!\r\n"
    if action == "findFile":
        zone = _zone(camera)
        try:
            channel = int(query.get("condition.Channel", ""))
            start = _read_time(query.get("condition.StartTime"), zone, "%Y-%m-%d %H:%M:%S")
            end = _read_time(query.get("condition.EndTime"), zone, "%Y-%m-%d %H:%M:%S")
        except ValueError:
            return 400, TEXT, b"Error\r\nBad Request!\r\n"
        if channel != 1:  # counted from 1; a camera has one
            return 400, TEXT, b"Error\r\nBad Request!\r\n"
        finders[obj] = recorded_files(camera, start, end)
        return (200, TEXT, b"OK\r\n") if finders[obj] else (400, TEXT, b"Error\r\nBad Request!\r\n")
    if action == "findNextFile":
        try:
            count = max(1, min(100, int(query.get("count", "100"))))
        except ValueError:
            return 400, TEXT, b"Error\r\nBad Request!\r\n"
        if malformed:
            return 200, TEXT, b"found=2\r\nitems[0].StartTime=yesterday\r\n"
        page, finders[obj] = finders[obj][:count], finders[obj][count:]
        zone = _zone(camera)
        lines = [f"found={len(page)}"]
        for i, (a, b) in enumerate(page):
            day = _wall(a, zone)
            lines += [f"items[{i}].Channel=0", f"items[{i}].Cluster=0", f"items[{i}].Disk=0",
                      f"items[{i}].EndTime={_wall(b, zone):%Y-%m-%d %H:%M:%S}",
                      f"items[{i}].FilePath=/mnt/sd/{day:%Y-%m-%d}/001/dav/{day:%H}/"
                      f"{day:%H.%M.%S}-{_wall(b, zone):%H.%M.%S}[R][0@0][0].dav",
                      f"items[{i}].Flags[0]=Timing", f"items[{i}].Length=104857600",
                      f"items[{i}].StartTime={day:%Y-%m-%d %H:%M:%S}", f"items[{i}].Type=dav",
                      f"items[{i}].VideoStream=Main"]
        return 200, TEXT, ("\r\n".join(lines) + "\r\n").encode()
    if action in ("close", "destroy"):
        if action == "destroy":
            finders.pop(obj, None)
        return 200, TEXT, b"OK\r\n"
    return 400, TEXT, b"Error\r\nBad Request!\r\n"


def _dahua_storage(camera: SimCamera) -> str:
    card = camera.faults.sd_card
    if card == "missing":
        return ""
    state = {"ok": "Success", "unformatted": "Unformatted", "failed": "Error"}[card]
    return (f"list.info[0].Detail[0].IsError={'false' if card == 'ok' else 'true'}\r\n"
            "list.info[0].Detail[0].Path=/dev/mmc0\r\n"
            "list.info[0].Detail[0].TotalBytes=62277025792.000000\r\n"
            "list.info[0].Detail[0].Type=ReadWrite\r\n"
            "list.info[0].Detail[0].UsedBytes=61203283968.000000\r\n"
            "list.info[0].Name=/dev/mmc0\r\n"
            f"list.info[0].State={state}\r\n")
