"""An investigator in a browser set to US English (mm/dd/yyyy, AM/PM): the footage window still
reads dd/mm/yyyy 24 h Vietnam time, prefilled with the last 30 minutes; sending it lands on the
case page that already shows the request (the commit happened before the redirect)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from camera_ops.security import encrypt_secret
from storage.models import Camera, RecordingCapability, RegistrationState
from tests.browser.conftest import PHONE, log_in, screenshot
from tests.factories import PASSWORD
from tests.footage_fixtures import make_case, make_world

pytestmark = [pytest.mark.browser, pytest.mark.db]
DMY = re.compile(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}")


@pytest.mark.parametrize("viewport", [PHONE, {"width": 1366, "height": 900}], ids=["phone", "desktop"])
def test_a_us_english_browser_gets_vietnamese_dates_and_sees_its_request_after_sending(
        browser: Browser, live_server, session, settings, viewport):
    world = make_world(session)
    camera = Camera(code="CAM-B", name="Cổng chợ", area_id=world.hamlet.id, host="127.0.0.1", onvif_port=9,
                    username="u", password_encrypted=encrypt_secret("p", settings), replay_uri="rtsp://127.0.0.1:9/r",
                    recording=RecordingCapability.onvif_replay, registration=RegistrationState.registered)
    session.add(camera)
    case = make_case(session, world)
    session.commit()
    context = browser.new_context(base_url=live_server, viewport=viewport, locale="en-US",
                                  timezone_id="America/New_York")
    page = context.new_page()
    try:
        log_in(page, world.officer.username, PASSWORD)
        page.goto(f"/cases/{case.id}")
        start, end = page.input_value('input[name="start"]'), page.input_value('input[name="end"]')
        assert DMY.fullmatch(start) and DMY.fullmatch(end), (start, end)
        page.check(f'input[name="camera_ids"][value="{camera.id}"]')
        page.fill('input[name="purpose"]', "xác minh vụ trộm xe máy")
        screenshot(page, f"case-form-{viewport['width']}")
        page.click('form[action$="/requests"] button[type="submit"]')
        page.wait_for_load_state("load")
        expect(page.locator('[data-role="request-status"]').first).to_be_visible()
        screenshot(page, f"case-after-request-{viewport['width']}")
    finally:
        context.close()
