"""The footage API end to end: case → request → worker → retrieval with ranges, trails, package;
denied attempts are 403 *and* on the ledger; a retrieval that cannot be logged does not happen."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import zipfile
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from api.app import create_app
from camera_ops.footage.worker import Worker
from camera_ops.sim.spec import CameraSpec
from camera_ops.sim.testing import FleetHandle, running_fleet
from storage.models_evidence import CustodyEvent
from tests.factories import api_login as login
from tests.footage_fixtures import make_world, recent_window, sim_camera_row
from tests.s3server import S3Server, s3_server  # noqa: F401  (fixture)

pytestmark = pytest.mark.db


@pytest.fixture(scope="module")
def fleet() -> Iterator[FleetHandle]:
    with running_fleet([CameraSpec("api-gen", vendor="generic")]) as handle:
        yield handle


@pytest.fixture
def archived(session, engine, settings, fleet):
    """A case with one archived 3-second clip, requested through the API."""
    world = make_world(session)
    camera = sim_camera_row(session, settings, fleet.camera("api-gen"), world.hamlet)
    names = {k: getattr(world, k).username for k in ("officer", "other_officer", "auditor", "admin", "police")}
    camera_id = camera.id
    session.commit()
    client = TestClient(create_app(settings, engine=engine))
    officer = login(client, names["officer"])
    r = client.post("/api/v1/cases", json={"number": "7/2026", "title": "Cướp giật", "legal_basis": "QĐ 7/QĐ"},
                    headers=officer)
    assert r.status_code == 201, r.text
    case = r.json()
    start, end = recent_window(fleet.camera_clock("api-gen"), 3)
    r = client.post(f"/api/v1/cases/{case['id']}/requests", headers=officer,
                    json={"camera_ids": [camera_id], "start": start.isoformat(), "end": end.isoformat(),
                          "purpose": "xác định đối tượng"})
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "queued"
    request_id = r.json()["id"]
    Worker(engine, settings).run_until_idle()
    r = client.get(f"/api/v1/requests/{request_id}", headers=officer)
    assert r.json()["status"] == "archived", r.text
    return {"client": client, "case": case, "clip": r.json()["clips"][0], "names": names, "officer": officer}


def test_officer_streams_a_range_and_downloads_the_whole_clip(archived, session):
    client, clip, officer = archived["client"], archived["clip"], archived["officer"]
    url = f"/api/v1/clips/{clip['id']}/content"

    part = client.get(url, params={"purpose": "xem đoạn đầu"}, headers={**officer, "Range": "bytes=0-99"})
    whole = client.get(url, params={"purpose": "nộp hồ sơ", "download": True}, headers=officer)

    assert part.status_code == 206 and len(part.content) == 100
    assert part.headers["content-range"] == f"bytes 0-99/{clip['size_bytes']}"
    assert whole.status_code == 200 and len(whole.content) == clip["size_bytes"]
    assert whole.content[:100] == part.content
    import hashlib

    assert hashlib.sha256(whole.content).hexdigest() == clip["sha256"]
    events = session.scalars(select(CustodyEvent).where(CustodyEvent.clip == clip["id"]).order_by(CustodyEvent.seq)).all()
    assert [e.event_type for e in events][-2:] == ["streamed", "downloaded"]
    assert events[-1].purpose == "nộp hồ sơ" and events[-1].actor == archived["names"]["officer"]
    assert events[-1].client_address == "testclient"


def test_unauthorised_users_get_403_and_each_attempt_is_logged(archived, session):
    client, clip = archived["client"], archived["clip"]
    for who in ("other_officer", "police", "auditor"):
        r = client.get(f"/api/v1/clips/{clip['id']}/content", params={"purpose": "tò mò"},
                       headers=login(client, archived["names"][who]))
        assert r.status_code == 403, who
        assert r.json()["error"]["code"] == "permission_denied"
    denied = session.scalars(select(CustodyEvent).where(CustodyEvent.event_type == "access_denied")).all()
    assert [e.actor for e in denied] == [archived["names"][w] for w in ("other_officer", "police", "auditor")]
    assert all(e.clip == clip["id"] and e.purpose == "tò mò" for e in denied)


def test_retrieval_fails_closed_when_the_ledger_cannot_be_written(archived, session, engine):
    client, clip = archived["client"], archived["clip"]
    session.close()
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE custody_event RENAME TO custody_event_away"))
    try:
        r = client.get(f"/api/v1/clips/{clip['id']}/content", params={"purpose": "xem lại"},
                       headers=archived["officer"])
    finally:
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE custody_event_away RENAME TO custody_event"))
    assert r.status_code == 503 and r.json()["error"]["code"] == "ledger_write_failed"
    assert not r.content.startswith(b"\x00\x00")  # an error body, not video


def test_auditor_reads_the_trail_as_json_csv_and_html_and_verifies_the_ledger(archived):
    client, case, clip = archived["client"], archived["case"], archived["clip"]
    auditor = login(client, archived["names"]["auditor"])

    as_json = client.get(f"/api/v1/clips/{clip['id']}/custody", headers=auditor)
    as_csv = client.get(f"/api/v1/cases/{case['id']}/custody", params={"format": "csv"}, headers=auditor)
    as_html = client.get(f"/api/v1/cases/{case['id']}/custody", params={"format": "html"}, headers=auditor)
    verify = client.get("/api/v1/custody/verify", params={"clips": True}, headers=auditor)

    events = as_json.json()["events"]
    assert [e["event_type"] for e in events] == ["requested", "acquired", "verified", "archived", "trail_read"]
    assert events[-1]["actor"] == archived["names"]["auditor"]  # reading the trail is itself on it
    rows = list(csv.DictReader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert rows[0]["event_type"] == "case_opened" and len(rows[0]["hash"]) == 64
    assert as_html.status_code == 200 and "Nhật ký truy xuất" in as_html.text and "Yêu cầu trích xuất" in as_html.text
    assert verify.json()["ok"] is True and verify.json()["clips"][0]["ok"] is True
    police = login(client, archived["names"]["police"])
    assert client.get("/api/v1/custody/verify", headers=police).status_code == 403


@pytest.mark.skipif(shutil.which("ffprobe") is None or shutil.which("sha256sum") is None, reason="needs coreutils+ffprobe")
def test_evidence_package_verifies_with_sha256sum_and_ffprobe_alone(archived, tmp_path):
    client, clip = archived["client"], archived["clip"]

    r = client.get(f"/api/v1/clips/{clip['id']}/package", params={"purpose": "chuyển Viện kiểm sát"},
                   headers=archived["officer"])

    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    zipfile.ZipFile(io.BytesIO(r.content)).extractall(tmp_path)
    check = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=tmp_path, capture_output=True, text=True, timeout=30)
    listed = (tmp_path / "SHA256SUMS").read_text().splitlines()
    assert check.returncode == 0 and check.stdout.count(": OK") == len(listed) >= 12, check.stdout
    name = clip["object_key"].rsplit("/", 1)[-1]
    probe = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-show_entries", "stream=codec_name,nb_read_frames",
                            "-of", "json", name], cwd=tmp_path, capture_output=True, text=True, timeout=30)
    stream = json.loads(probe.stdout)["streams"][0]
    assert stream["codec_name"] == "h264" and int(stream["nb_read_frames"]) == clip["frame_count"]
    readme = (tmp_path / "README.txt").read_text("utf-8")
    assert "sha256sum -c SHA256SUMS" in readme and "TIẾNG VIỆT" in readme and "ENGLISH" in readme
    trail = json.loads((tmp_path / "custody.json").read_text("utf-8"))
    assert trail["events"][-1]["event_type"] == "package_exported"
    assert json.loads((tmp_path / "manifest.json").read_text("utf-8"))["object"]["sha256"] == clip["sha256"]


def test_a_link_is_served_through_us_and_each_use_is_logged(session, engine, settings, fleet, s3_server: S3Server):
    settings = settings.model_copy(update=s3_server.settings_overrides("evidence-links"))
    world = make_world(session)
    camera = sim_camera_row(session, settings, fleet.camera("api-gen"), world.hamlet)
    officer_name, camera_id = world.officer.username, camera.id
    session.commit()
    client = TestClient(create_app(settings, engine=engine))
    officer = login(client, officer_name)
    case = client.post("/api/v1/cases", json={"number": "8/2026", "title": "t", "legal_basis": "b"}, headers=officer).json()
    start, end = recent_window(fleet.camera_clock("api-gen"), 2)
    req = client.post(f"/api/v1/cases/{case['id']}/requests", headers=officer,
                      json={"camera_ids": [camera_id], "start": start.isoformat(), "end": end.isoformat(),
                            "purpose": "đối chiếu"}).json()
    Worker(engine, settings).run_until_idle()
    clip = client.get(f"/api/v1/requests/{req['id']}", headers=officer).json()["clips"][0]
    assert clip["status"] == "archived" and clip["version_id"]

    r = client.post(f"/api/v1/clips/{clip['id']}/link", json={"purpose": "gửi giám định"}, headers=officer)

    assert r.status_code == 200, r.text
    url = r.json()["url"]
    assert "/api/v1/links/" in url and "X-Amz" not in url  # served through us, never a direct store link
    event = session.scalars(select(CustodyEvent).order_by(CustodyEvent.seq.desc())).first()
    assert event.event_type == "link_issued" and event.purpose == "gửi giám định"
    session.commit()  # release SQLite's write lock before the next request writes
    fresh = TestClient(client.app)  # whoever holds the link: no login
    uses = [fresh.get(url), fresh.get(url, headers={"Range": "bytes=0-9"})]
    assert [u.status_code for u in uses] == [200, 206] and len(uses[0].content) == clip["size_bytes"]
    downloads = session.scalars(select(CustodyEvent).where(CustodyEvent.event_type == "downloaded")).all()
    assert [d.details["bytes"] for d in downloads] == [[0, clip["size_bytes"] - 1], [0, 9]]
    assert {d.details["link"] for d in downloads} == {event.details["link"]} and downloads[0].actor == officer_name
    assert fresh.get(url[:-3] + "abc").status_code == 404
    session.commit()
    r = client.post(f"/api/v1/cases/{case['id']}/legal-hold", json={"on": False, "reason": "vụ án đã xử xong"},
                    headers=officer)
    assert r.status_code == 200 and r.json()["legal_hold"] is False
    store = s3_server.store("evidence-links")
    assert store.stat(clip["object_key"]).lock["legal_hold"] == "OFF"


def test_one_viewing_with_seeks_is_one_viewed_event_with_its_ranges(archived, session, engine):
    client, clip, officer = archived["client"], archived["clip"], archived["officer"]
    url = f"/api/v1/clips/{clip['id']}/content"
    watch = {"purpose": "xem lại đoạn va chạm", "viewing": "a1b2c3d4e5f6a7b8"}

    parts = [client.get(url, params=watch, headers={**officer, "Range": r})
             for r in ("bytes=0-99", "bytes=1000-1999", "bytes=50-150")]
    other = client.get(url, params={**watch, "viewing": "ffffeeeeddddcccc"}, headers={**officer, "Range": "bytes=0-9"})

    assert [p.status_code for p in parts] == [206, 206, 206] and other.status_code == 206
    events = session.scalars(select(CustodyEvent).where(CustodyEvent.clip == clip["id"],
                                                        CustodyEvent.event_type.in_(["viewed", "viewing_ended"]))
                             .order_by(CustodyEvent.seq)).all()
    # the second viewing ended the first: its ranges chained before the second's first byte
    assert [(e.event_type, e.details["viewing"]) for e in events] == [
        ("viewed", "a1b2c3d4e5f6a7b8"), ("viewing_ended", "a1b2c3d4e5f6a7b8"), ("viewed", "ffffeeeeddddcccc")]
    viewed, ended = events[0], events[1]
    assert viewed.details["bytes"] == [0, 99] and viewed.purpose == "xem lại đoạn va chạm"
    assert ended.details["ranges"] == [[0, 150], [1000, 1999]] and ended.details["requests"] == 3
    assert ended.details["viewed_seq"] == viewed.seq and ended.details["ended"] == "next_viewing"
    assert ended.actor == viewed.actor and ended.case == viewed.case
    session.commit()
    auditor = login(client, archived["names"]["auditor"])
    viewings = client.get(f"/api/v1/clips/{clip['id']}/viewings", headers=auditor).json()
    assert [(v["event_seq"], v["requests"], v["ranges"], v["closed_seq"]) for v in viewings] == [
        (viewed.seq, 3, [[0, 150], [1000, 1999]], ended.seq), (events[2].seq, 1, [[0, 9]], None)]
    trail = client.get(f"/api/v1/clips/{clip['id']}/custody", headers=auditor).json()["events"]
    assert [e["details"]["ranges"] for e in trail if e["event_type"] == "viewing_ended"] == [[[0, 150], [1000, 1999]]]
    stolen = client.get(url, params=watch, headers={**login(client, archived["names"]["admin"]), "Range": "bytes=0-9"})
    assert stolen.status_code in (403, 409)  # not the admin's case, and not their viewing


def test_a_new_viewing_fails_closed_when_the_ledger_cannot_be_written(archived, session, engine):
    client, clip = archived["client"], archived["clip"]
    session.close()
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE custody_event RENAME TO custody_event_away"))
    try:
        r = client.get(f"/api/v1/clips/{clip['id']}/content", params={"purpose": "xem lại", "viewing": "0123456789ab"},
                       headers={**archived["officer"], "Range": "bytes=0-99"})
    finally:
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE custody_event_away RENAME TO custody_event"))
    assert r.status_code == 503 and r.json()["error"]["code"] == "ledger_write_failed"
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM clip_viewing")).scalar() == 0
