"""The vendors' recording search answers, read as real firmware writes them (tables), and the
reach strategy over fake pages (pure: no sockets)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from camera_ops.footage.reach import check_problem, problem_stops_recording
from camera_ops.errors import ValidationFailed
from camera_ops.footage.vendor_reach import find_reach
from camera_ops.footage.vendor_search import (
    BadSearchBody,
    Card,
    MalformedAnswer,
    SearchPage,
    SearchUnsupported,
    Span,
    dahua_find_file_params,
    dahua_find_query,
    hik_search_body,
    hik_track,
    parse_camera_time,
    parse_dahua_find_file,
    parse_dahua_next,
    parse_dahua_object,
    parse_dahua_storage,
    parse_hik_search,
    parse_hik_storage,
)

UTC = timezone.utc
HCM = ZoneInfo("Asia/Ho_Chi_Minh")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize("text, zone, expected", [
    ("2026-12-07T08:00:00Z", UTC, "2026-12-07T08:00:00"),
    ("2026-12-07T08:00:00", UTC, "2026-12-07T08:00:00"),
    ("2026-12-07T15:00:00Z", HCM, "2026-12-07T08:00:00"),  # Hikvision writes local time with a Z
    ("2026-12-07 15:00:00", HCM, "2026-12-07T08:00:00"),  # Dahua: local time, no zone
    ("2026-12-07T15:00:00+07:00", UTC, "2026-12-07T08:00:00"),  # an explicit offset wins
    ("2026-12-07T08:00:00.500Z", UTC, "2026-12-07T08:00:00"),
])
def test_camera_times(text, zone, expected) -> None:
    assert parse_camera_time(text, zone) == at(expected)


@pytest.mark.parametrize("text", ["", None, "yesterday", "2026-13-07 00:00:00", "2026-12-07"])
def test_bad_camera_times_are_malformed(text) -> None:
    with pytest.raises(MalformedAnswer):
        parse_camera_time(text, UTC)


def _hik_result(status: str, *spans: tuple[str, str], ns: str = "http://www.isapi.org/ver20/XMLSchema") -> bytes:
    items = "".join(f"<searchMatchItem><trackID>101</trackID><timeSpan><startTime>{a}</startTime>"
                    f"<endTime>{b}</endTime></timeSpan></searchMatchItem>" for a, b in spans)
    return (f'<?xml version="1.0" encoding="UTF-8" ?><CMSearchResult version="2.0" xmlns="{ns}">'
            f"<searchID>{{88c2cd4d}}</searchID><responseStatus>true</responseStatus>"
            f"<responseStatusStrg>{status}</responseStatusStrg><numOfMatches>{len(spans)}</numOfMatches>"
            f"<matchList>{items}</matchList></CMSearchResult>").encode()


HIK_SPAN = ("2021-08-18T15:18:15Z", "2021-08-18T15:19:08Z")


@pytest.mark.parametrize("body, spans, more", [
    (_hik_result("OK", HIK_SPAN), 1, False),
    (_hik_result("MORE", HIK_SPAN, HIK_SPAN), 2, True),
    (_hik_result("NO MATCHES"), 0, False),
    (_hik_result("OK", HIK_SPAN, ns="http://www.hikvision.com/ver20/XMLSchema"), 1, False),  # older firmware
    (_hik_result("OK", HIK_SPAN).replace(b' xmlns="http://www.isapi.org/ver20/XMLSchema"', b""), 1, False),
])
def test_hikvision_search_answers(body, spans, more) -> None:
    page = parse_hik_search(body, UTC)
    assert len(page.spans) == spans and page.more is more
    if spans:
        assert page.spans[0] == Span(at("2021-08-18T15:18:15"), at("2021-08-18T15:19:08"))


@pytest.mark.parametrize("body", [
    b"",
    b"<html><body>Document Error: Unauthorized</body></html>",
    b'<?xml version="1.0"?><CMSearchResult><responseStatusStrg>OK</responseStatusStrg><matchList>',
    _hik_result("OK"),  # OK without matches
    _hik_result("NO MATCHES", HIK_SPAN),
    _hik_result("WHATEVER", HIK_SPAN),
    _hik_result("OK", ("2021-08-18T15:18:15Z", "soon")),
    _hik_result("OK", ("2021-08-18T15:19:08Z", "2021-08-18T15:18:15Z")),  # ends before it starts
    b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><CMSearchResult>&e;</CMSearchResult>',
])
def test_malformed_hikvision_answers(body) -> None:
    with pytest.raises(MalformedAnswer):
        parse_hik_search(body, UTC)


def test_an_isapi_not_supported_status_is_unsupported() -> None:
    body = (b'<?xml version="1.0" encoding="UTF-8"?><ResponseStatus version="2.0" '
            b'xmlns="http://www.hikvision.com/ver20/XMLSchema"><requestURL>/ISAPI/ContentMgmt/search</requestURL>'
            b"<statusCode>4</statusCode><statusString>Invalid Operation</statusString>"
            b"<subStatusCode>notSupport</subStatusCode></ResponseStatus>")
    with pytest.raises(SearchUnsupported):
        parse_hik_search(body, UTC)


def test_a_refused_search_description_is_told_apart() -> None:
    body = (b'<?xml version="1.0" encoding="UTF-8"?><ResponseStatus version="2.0" '
            b'xmlns="http://www.hikvision.com/ver20/XMLSchema"><statusCode>6</statusCode>'
            b"<statusString>Invalid XML Content</statusString><subStatusCode>badXmlContent</subStatusCode>"
            b"</ResponseStatus>")
    with pytest.raises(BadSearchBody):
        parse_hik_search(body, UTC)
    newer = hik_search_body(search_id="A", track=101, start=at("2026-12-07T00:00:00"), end=at("2026-12-07T01:00:00"),
                            zone=UTC, max_results=50, position=0, track_list="trackIDList").decode()
    assert "<trackIDList><trackID>101</trackID></trackIDList>" in newer


def test_the_search_description_is_what_firmware_expects() -> None:
    body = hik_search_body(search_id="ABC", track=hik_track(1), start=at("2026-12-07T00:00:00"),
                           end=at("2026-12-07T01:00:00"), zone=HCM, max_results=50, position=100).decode()
    assert "<trackList><trackID>101</trackID></trackList>" in body
    assert "<startTime>2026-12-07T07:00:00Z</startTime>" in body  # written in the camera's playback zone
    assert "<searchResultPostion>100</searchResultPostion>" in body  # (sic) the firmware's spelling
    assert hik_track(0) == 101 and hik_track(6) == 601


def _hik_storage(*statuses: str) -> bytes:
    hdds = "".join(f"<hdd><id>{i}</id><hddName>hdd{i}</hddName><hddType>SD</hddType><status>{s}</status>"
                   f"<capacity>60906</capacity><freeSpace>0</freeSpace><property>RW</property></hdd>"
                   for i, s in enumerate(statuses, 1))
    return (f'<?xml version="1.0" encoding="UTF-8"?><storage version="2.0" '
            f'xmlns="http://www.hikvision.com/ver20/XMLSchema"><hddList>{hdds}</hddList><nasList/></storage>').encode()


@pytest.mark.parametrize("body, card", [
    (_hik_storage("ok"), Card.ok),
    (_hik_storage(), Card.missing),
    (_hik_storage("unformatted"), Card.unformatted),
    (_hik_storage("error"), Card.failed),
    (_hik_storage("smartFailed"), Card.failed),
    (_hik_storage("error", "ok"), Card.ok),  # a recorder still records on its good disk
    (_hik_storage("notexist"), Card.missing),
    (_hik_storage("ok").replace(b"<storage", b"<Storage").replace(b"</storage>", b"</Storage>"), Card.ok),
])
def test_hikvision_storage(body, card) -> None:
    assert parse_hik_storage(body) is card


@pytest.mark.parametrize("body", [b"<html/>", b"not xml", b"<storage><hddList><hdd><status>ok"])
def test_malformed_hikvision_storage(body) -> None:
    with pytest.raises(MalformedAnswer):
        parse_hik_storage(body)


DAHUA_PAGE = (
    "found=2\r\n"
    "items[0].Channel=0\r\nitems[0].EndTime=2026-12-07 09:00:00\r\nitems[0].FilePath=/mnt/sd/a.dav\r\n"
    "items[0].Flags[0]=Timing\r\nitems[0].StartTime=2026-12-07 08:00:00\r\nitems[0].Type=dav\r\n"
    "items[1].Channel=0\r\nitems[1].StartTime=2026-12-07 09:00:00\r\nitems[1].EndTime=2026-12-07 09:12:34\r\n"
)


@pytest.mark.parametrize("text, spans, more", [
    (DAHUA_PAGE, 2, False),
    (DAHUA_PAGE.replace("\r\n", "\n"), 2, False),  # LF only
    ("found=0\r\n", 0, False),
    ("Error\r\nBad Request!\r\n", 0, False),  # some firmwares end the search this way
])
def test_dahua_find_next(text, spans, more) -> None:
    page = parse_dahua_next(text, HCM, asked=100)
    assert len(page.spans) == spans and page.more is more
    if spans:
        assert page.spans[0] == Span(at("2026-12-07T01:00:00"), at("2026-12-07T02:00:00"))  # local → UTC


def test_a_full_dahua_page_asks_for_more() -> None:
    assert parse_dahua_next(DAHUA_PAGE, UTC, asked=2).more


@pytest.mark.parametrize("text", [
    "found=2\r\nitems[0].StartTime=2026-12-07 08:00:00\r\nitems[0].EndTime=2026-12-07 09:00:00\r\n",  # one of two
    "found=1\r\nitems[0].StartTime=yesterday\r\nitems[0].EndTime=2026-12-07 09:00:00\r\n",
    "found=1\r\nitems[0].EndTime=2026-12-07 09:00:00\r\n",
    "items[0].StartTime=2026-12-07 08:00:00\r\n",  # no found=
    "found=x\r\n",
    "<html>404</html>",
])
def test_malformed_dahua_pages(text) -> None:
    with pytest.raises(MalformedAnswer):
        parse_dahua_next(text, UTC, asked=100)


@pytest.mark.parametrize("text, expected", [("result=1234567\r\n", "1234567"), ("result=1A2b3C", "1A2b3C")])
def test_dahua_finder_object(text, expected) -> None:
    assert parse_dahua_object(text) == expected


@pytest.mark.parametrize("text", ["Error\r\nBad Request!\r\n", "result=\r\n", "result=../x", "<html/>", ""])
def test_bad_dahua_finder_objects(text) -> None:
    with pytest.raises(MalformedAnswer):
        parse_dahua_object(text)


@pytest.mark.parametrize("text, files", [("OK\r\n", True), ("Error\r\nBad Request!\r\n", False)])
def test_dahua_find_file(text, files) -> None:
    assert parse_dahua_find_file(text) is files


def test_dahua_find_file_garbage_is_malformed() -> None:
    with pytest.raises(MalformedAnswer):
        parse_dahua_find_file("<html>hello</html>")


def test_dahua_queries_write_local_time_with_an_escaped_space() -> None:
    params = dahua_find_file_params(obj="77", channel=0, start=at("2026-12-06T17:00:00"),
                                    end=at("2026-12-07T17:00:00"), zone=HCM)
    query = dahua_find_query("findFile", **params)
    assert query == ("/cgi-bin/mediaFileFind.cgi?action=findFile&object=77&condition.Channel=1"
                     "&condition.StartTime=2026-12-07%2000:00:00&condition.EndTime=2026-12-08%2000:00:00")


def _dahua_storage(state: str, is_error: str = "false") -> str:
    return (f"list.info[0].Detail[0].IsError={is_error}\r\nlist.info[0].Detail[0].Path=/dev/mmc0\r\n"
            "list.info[0].Detail[0].TotalBytes=62277025792.000000\r\nlist.info[0].Detail[0].Type=ReadWrite\r\n"
            f"list.info[0].Name=/dev/mmc0\r\nlist.info[0].State={state}\r\n")


@pytest.mark.parametrize("text, card", [
    (_dahua_storage("Success"), Card.ok),
    (_dahua_storage("Success", "true"), Card.failed),
    (_dahua_storage("Error", "true"), Card.failed),
    (_dahua_storage("Absent"), Card.missing),
    (_dahua_storage("Unformatted"), Card.unformatted),
    ("", Card.missing),  # nothing listed: no card
])
def test_dahua_storage(text, card) -> None:
    assert parse_dahua_storage(text) is card


@pytest.mark.parametrize("text", ["Error\r\nBad Request!\r\n", "<html>storage</html>", "table.Foo=1\r\n"])
def test_malformed_dahua_storage(text) -> None:
    with pytest.raises(MalformedAnswer):
        parse_dahua_storage(text)


# --- the strategy ----------------------------------------------------------------------------------

NOW = at("2026-12-07T09:00:00")


def _pages(files: list[tuple[datetime, datetime]], page_size: int = 2):
    asked: list[tuple[datetime, datetime]] = []

    async def pages(start, end):
        asked.append((start, end))
        found = [Span(a, b) for a, b in files if b > start and a < end]
        for i in range(0, max(len(found), 1), page_size):
            chunk = tuple(found[i:i + page_size])
            yield SearchPage(chunk, more=i + page_size < len(found))
    return pages, asked


def _reach(files, card=Card.ok, *, dahua=False):
    pages, asked = _pages(files)
    return asyncio.run(find_reach(pages, card, camera_now=NOW, card_needed_for_empty=dahua)), asked


def test_the_reach_is_the_oldest_start_and_the_newest_end() -> None:
    files = [(NOW - timedelta(hours=h + 1), NOW - timedelta(hours=h)) for h in range(30, -1, -1)]
    found, asked = _reach(files)
    assert found.earliest == NOW - timedelta(hours=31) and found.latest == NOW and found.problem is None
    assert len(asked) == 2  # the whole lookback (first page), then the last three hours


def test_a_camera_that_stopped_recording_is_searched_further_back() -> None:
    files = [(NOW - timedelta(hours=30), NOW - timedelta(hours=5))]
    found, asked = _reach(files)
    assert found.latest == NOW - timedelta(hours=5) and len(asked) == 3


@pytest.mark.parametrize("card, dahua, problem", [
    (Card.ok, False, "no_recordings"),
    (None, False, "no_recordings"),  # Hikvision said NO MATCHES: true whatever the card
    (Card.ok, True, "no_recordings"),
    (None, True, "unsupported"),  # Dahua's "Error" with the card unknown: do not claim "not recording"
    (Card.missing, False, "card_missing"),
    (Card.failed, True, "card_failed"),
])
def test_nothing_found(card, dahua, problem) -> None:
    found, _ = _reach([], card, dahua=dahua)
    assert found.problem == problem and not found.known


def test_problem_codes_that_stop_recording() -> None:
    assert problem_stops_recording({"code": "card_missing"}) and not problem_stops_recording({"code": "auth"})
    assert not problem_stops_recording(None)
    check_problem({"code": "timeout"}, camera_code="C1")
    with pytest.raises(ValidationFailed) as info:
        check_problem({"code": "card_failed"}, camera_code="C1")
    assert info.value.field == "camera_ids" and info.value.message.startswith("Camera C1 có thẻ nhớ bị lỗi")


@pytest.mark.parametrize("newest, problem", [
    (NOW, None),
    (NOW - timedelta(hours=5), None),  # stopped 5 h ago: a real "not recording" (decided later, by the reach)
    (NOW + timedelta(hours=7), "clock_zone"),  # local times read as UTC
    (NOW - timedelta(hours=7), "clock_zone"),  # UTC times read as local: not "stopped 7 h ago"
])
def test_newest_footage_off_by_the_zone_difference_is_a_clock_setting_problem(newest, problem) -> None:
    pages, _ = _pages([(newest - timedelta(hours=20), newest)])
    found = asyncio.run(find_reach(pages, Card.ok, camera_now=NOW, card_needed_for_empty=False,
                                   zone_shift=timedelta(hours=7)))
    assert found.problem == problem
