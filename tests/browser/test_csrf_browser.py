"""Finding 2 of issue 12 in a real browser: a page served on another port of the same host
(same site for SameSite, so the victim's login cookie goes along) tries to close a case and import
cameras through the JSON API. Both are refused and nothing changes."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import func, select

from storage.models import Camera
from storage.models_evidence import Case, CaseStatus
from tests.browser.conftest import log_in
from tests.factories import PASSWORD
from tests.footage_fixtures import make_case, make_world

pytestmark = [pytest.mark.browser, pytest.mark.db]

ATTACK_PAGE = """<!doctype html><html><head><title>win a prize</title></head><body>
<script>
const api = "%(api)s";
const csv = "code,name,hamlet_code,host,username,password\\nEVIL-1,Evil,%(hamlet)s,10.9.9.9,u,p\\n";
const form = new FormData();
form.append("file", new Blob([csv], {type: "text/csv"}), "evil.csv");
Promise.allSettled([
  fetch(api + "/api/v1/cases/%(case_id)s/close", {method: "POST", mode: "no-cors", credentials: "include"}),
  fetch(api + "/api/v1/cameras/import", {method: "POST", mode: "no-cors", credentials: "include", body: form}),
]).then(() => { document.title = "sent"; });
</script></body></html>"""


@pytest.fixture
def attacker_site(request) -> Iterator[tuple[str, dict]]:
    """A plain HTTP server on another port of 127.0.0.1 serving the attack page."""
    params: dict = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            body = (ATTACK_PAGE % params).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, name="attacker", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", params
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def test_a_page_on_another_port_cannot_use_the_victims_cookie_on_the_api(page, session, live_server, attacker_site):
    world = make_world(session)
    case = make_case(session, world)
    session.commit()
    url, params = attacker_site
    params.update(api=live_server, case_id=case.id, hamlet=world.hamlet.code)

    log_in(page, world.officer.username, PASSWORD)  # the victim is logged in on camera-ops ...
    assert page.context.cookies(live_server)
    api_answers: list[int] = []
    page.on("response", lambda r: api_answers.append(r.status) if "/api/v1/" in r.url else None)
    page.goto(url)  # ... and opens the attacker's page on another port of the same host
    page.wait_for_function("document.title === 'sent'")

    assert sorted(api_answers) == [403, 403]
    session.expire_all()
    assert session.get(Case, case.id).status is CaseStatus.open
    assert session.scalar(select(func.count()).select_from(Camera)) == 0
