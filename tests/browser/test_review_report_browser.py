"""The review report in Chromium, as the model manager: fill the form on the dossier page, land on the
dossier with the stored review and its .docx, open the printable page at 1366 px and 390 px (no
horizontal scrolling, no CSP violation, the print button works from print.js) and as print media.
Screenshots go to test-artifacts/browser/review-report-*.png."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser

from tests.browser.conftest import log_in, screenshot
from tests.factories import PASSWORD
from tests.integration.test_review_report import world  # noqa: F401  (the fixture: a model with history)

pytestmark = [pytest.mark.browser, pytest.mark.db]
MEASURE = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.mark.parametrize(("name", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_the_manager_generates_and_prints_the_review_report(browser: Browser, live_server, world,  # noqa: F811
                                                            name, viewport):
    context = browser.new_context(base_url=live_server, viewport=viewport, locale="vi-VN",
                                  timezone_id="Asia/Ho_Chi_Minh")
    page = context.new_page()
    page.set_default_timeout(15_000)
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    try:
        log_in(page, "manager_sk", PASSWORD)
        model_id = world["model_id"]
        page.goto(f"/dossiers/{model_id}")
        form = page.locator("#report-form")
        form.locator('input[name="from"]').fill("01/11/2026")
        form.locator('input[name="to"]').fill("30/11/2026")
        form.locator('select[name="kind"]').select_option("interim")
        form.locator('input[name="number"]').fill("12/BC-CAX")
        form.locator('select[name="verdict"]').select_option("replicate")
        form.locator('textarea[name="findings"]').fill("Mô hình phát huy hiệu quả; đề nghị nhân rộng ra thôn 3.")
        form.locator('button[value="store"]').click()
        page.wait_for_load_state("load")
        assert page.evaluate(MEASURE) <= 0, "the dossier page scrolls sideways"
        download = page.locator("a", has_text="Tải báo cáo (.docx)")
        assert download.count() == 1
        screenshot(page, f"review-report-dossier-{name}")
        page.locator("a", has_text="Bản in").first.click()
        page.wait_for_load_state("load")
        assert page.locator("text=CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM").count() == 1
        assert page.locator("h2", has_text="VI. KIẾN NGHỊ").count() == 1
        overflow = page.evaluate(MEASURE)
        screenshot(page, f"review-report-page-{name}")
        assert overflow <= 0, f"the printable page scrolls sideways by {overflow} px at {viewport['width']} px"
        page.emulate_media(media="print")
        screenshot(page, f"review-report-print-{name}")
        assert page.locator(".doc-actions").is_hidden() and page.locator("header.top").is_hidden()
        page.emulate_media(media="screen")
        page.goto(page.url + "&lang=en")
        assert page.locator("h2", has_text="UPTIME BY HAMLET AND BY DONOR").count() == 1
        assert page.evaluate(MEASURE) <= 0
        screenshot(page, f"review-report-page-en-{name}")
        assert not violations, violations
    finally:
        context.close()
