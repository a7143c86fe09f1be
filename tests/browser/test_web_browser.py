"""The web interface in a real browser at phone width (390 px): log in, the board showing a
simulated camera the monitor found offline (with its reason), the map, a clip request archived and
played (the ledger gains the event), and an officer of another commune kept out."""

from __future__ import annotations

import asyncio
import threading
import time
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from camera_ops.footage.worker import Worker
from camera_ops.health.vocabulary import Status
from camera_ops.i18n import local_time
from camera_ops.monitor.testing import register_sim_cameras, running_monitor
from camera_ops.sim.spec import CameraSpec
from camera_ops.sim.testing import running_fleet
from storage.models import Role
from storage.models_evidence import CustodyEvent
from tests.browser.conftest import log_in, screenshot
from tests.factories import PASSWORD, make_commune, make_user
from tests.footage_fixtures import make_case, make_world, recent_window, sim_camera_row

pytestmark = [pytest.mark.browser, pytest.mark.db]
MONITOR_WAIT_S = 60.0  # safety net only: the wait is on the camera's status


def fast_monitor(settings):
    return settings.model_copy(update={
        "monitor_cycle_s": 1.0, "monitor_call_timeout_s": 0.8, "monitor_quick_reprobe_s": 0.2,
        "monitor_flush_s": 0.1, "monitor_reload_s": 0.2, "monitor_details_every_s": 0.0,
        "snapshot_interval_s": 0.5, "snapshot_soon_s": 0.5, "snapshot_after_recovery_s": 0.5})


def run_monitor_until(settings, engine, camera_ids, status: Status) -> None:
    async def go() -> None:
        async with running_monitor(fast_monitor(settings), engine=engine) as monitor:
            await monitor.wait_for(lambda: all(c in monitor.cameras and monitor.cameras[c].state.status is status
                                               for c in camera_ids), timeout_s=MONITOR_WAIT_S)
            await monitor.flush()
    # Playwright's sync API keeps an event loop in this thread: the monitor gets its own.
    errors: list[BaseException] = []
    thread = threading.Thread(target=lambda: _run(go(), errors), name="monitor")
    thread.start()
    thread.join(MONITOR_WAIT_S + 30)
    if errors:
        raise errors[0]


PLAYER_WAIT_S = 30.0  # safety net; the wait is on the player's readyState


def wait_until_playing(page) -> None:
    """Polled from here: the page's CSP forbids the eval() that wait_for_function polls with."""
    deadline = time.monotonic() + PLAYER_WAIT_S
    while page.evaluate("document.getElementById('player').readyState") < 1:
        assert time.monotonic() < deadline, "the player did not load the clip"
        page.wait_for_timeout(100)


def _run(coro, errors: list[BaseException]) -> None:
    try:
        asyncio.run(coro)
    except BaseException as exc:  # noqa: BLE001 - handed to the test thread
        errors.append(exc)


def test_log_in_and_see_a_simulated_offline_camera_on_the_board_with_its_reason(page, session, settings, engine):
    commune = make_commune(session, hamlets=2, prefix="BX")
    make_user(session, Role.commune_police, [commune.commune], username="police")
    with running_fleet([CameraSpec("cong-lang"), CameraSpec("cho")]) as fleet:
        cameras = register_sim_cameras(session, settings, fleet.cameras, commune.hamlets, per_hamlet=1)
        for i, camera in enumerate(cameras):
            camera.latitude, camera.longitude = 21.15 + i / 100, 106.07
        session.commit()
        fleet.set_faults("cho", offline=True)
        run_monitor_until(settings, engine, [cameras[1].id], Status.OFFLINE)
    log_in(page, "police", PASSWORD)
    expect(page).to_have_url("/board")
    problem = page.locator('[data-camera="CAM-cho"]')
    expect(problem).to_contain_text("Không liên lạc được")
    expect(problem).to_contain_text("Mất kết nối")
    expect(page.locator('[data-camera="CAM-cong-lang"]')).to_have_count(0)
    # the page fits a 390 px phone: nothing wider than the viewport except inside scrolling tables
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "board-390")

    page.click('nav.sections a[href="/map"]')
    expect(page.locator("#map")).to_have_attribute("data-ready", "2")
    page.locator("path.leaflet-interactive").nth(1).click()
    expect(page.locator(".leaflet-popup-content")).to_contain_text("Thôn")
    screenshot(page, "map-390")

    page.goto(f"/cameras/{cameras[1].id}")
    expect(page.locator("#health")).to_contain_text("Tỷ lệ hoạt động")
    screenshot(page, "camera-390")


def test_request_a_clip_watch_it_archive_and_play_it_the_ledger_gains_the_event(page, session, settings, engine):
    world = make_world(session)
    with running_fleet([CameraSpec("web", vendor="generic")]) as fleet:
        camera = sim_camera_row(session, settings, fleet.camera("web"), world.hamlet)
        case = make_case(session, world)
        session.commit()
        log_in(page, world.officer.username, PASSWORD)
        page.goto(f"/cases/{case.id}")
        page.check(f'input[name="camera_ids"][value="{camera.id}"]')
        start, end = recent_window(fleet.camera_clock("web"), 3)
        page.fill('input[name="start"]', local_time(start).strftime("%d/%m/%Y %H:%M:%S"))
        page.fill('input[name="end"]', local_time(end).strftime("%d/%m/%Y %H:%M:%S"))
        page.fill('input[name="purpose"]', "xác minh vụ trộm xe máy")
        page.click('#request-form button[type="submit"]')
        status = page.locator('[data-role="request-status"]').first
        expect(status).to_have_text("Đang chờ")
        screenshot(page, "request-queued-390")
        worker = threading.Thread(target=Worker(engine, settings).run_until_idle, name="worker")
        worker.start()
        expect(status).to_have_text("Đã lưu trữ", timeout=60_000)  # the page polls; no reload
        worker.join(60)
        screenshot(page, "request-archived-390")

        page.locator('[data-role="clip-status"]').first.locator("xpath=..").locator("a").click()
        expect(page.locator("h1")).to_contain_text("Đã lưu trữ")
        assert len(page.locator("#sha256").inner_text().strip()) == 64
        page.fill('#play-form input[name="purpose"]', "xem lại hiện trường")
        page.click('#play-form button[name="play"]')
        wait_until_playing(page)
        screenshot(page, "clip-playing-390")
    session.expire_all()
    events = list(session.scalars(select(CustodyEvent).where(CustodyEvent.case == case.id)))
    session.commit()
    served = [e for e in events if e.event_type in ("viewed", "streamed")]
    # the player's Range requests (however many) are one viewing: one "viewed" event
    assert [e.event_type for e in served] == ["viewed"] and served[0].details["viewing"], [e.event_type for e in events]


def test_an_officer_of_another_commune_cannot_open_the_pages(page, session, settings):
    world = make_world(session)
    case = make_case(session, world)
    other = make_commune(session, prefix="KHAC")
    make_user(session, Role.officer, [other.commune], username="outsider")
    session.commit()
    log_in(page, "outsider", PASSWORD)
    response = page.goto(f"/cases/{case.id}")
    assert response is not None and response.status == 403
    expect(page.locator("h1")).to_have_text("Không có quyền")
    screenshot(page, "forbidden-390")


def test_export_a_report_as_xlsx_from_the_report_page(page, session, settings):
    commune = make_commune(session, prefix="BC")
    make_user(session, Role.manager, [commune.commune], username="manager")
    session.commit()
    log_in(page, "manager", PASSWORD)
    page.click('nav.sections a[href="/reports"]')
    expect(page.locator("#summary")).to_contain_text("Xã BC")
    screenshot(page, "report-390")
    with page.expect_download() as download:
        page.click("#export-xlsx")
    name = download.value.suggested_filename
    assert name.endswith(".xlsx") and download.value.path().stat().st_size > 0
