"""The web pages over the real database, through TestClient: login, roles, board, map, cameras,
registry, CSRF. Browser behaviour (JavaScript, layout) is in tests/browser."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.deps import TOKEN_COOKIE
from camera_ops.registry import cameras as camera_service
from camera_ops.registry.donors import create_donor
from camera_ops.registry.dossiers import create_model
from storage.models import Camera, CameraStatus, DonorKind, Role
from storage.types import utcnow
from tests.factories import PASSWORD, make_commune, make_user, web_login as login

pytestmark = pytest.mark.db

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


def add_camera(session, settings, hamlet, code, *, status=CameraStatus.online, hours=0.0, reasons=(), lat=21.0,
               lon=105.8) -> Camera:
    data = camera_service.CameraInput(code=code, name=f"Camera {code}", area_id=hamlet.id, host="10.255.2.10",
                                      username="admin", password="secret-123", latitude=lat, longitude=lon)
    camera = camera_service.register_camera(session, settings, data, scope=None, pending=True).camera
    assert camera is not None
    camera.status, camera.status_reasons = status, list(reasons)
    camera.status_since = utcnow() - timedelta(hours=hours)
    session.flush()
    return camera


@pytest.fixture
def world(session, settings):
    a = make_commune(session, prefix="WA", hamlets=2)
    b = make_commune(session, province=a.province, prefix="WB", hamlets=1)
    for role, areas, name in ((Role.admin, [], "admin"), (Role.commune_police, [a.commune], "police_a"),
                              (Role.commune_police, [b.commune], "police_b"), (Role.officer, [a.commune], "officer_a"),
                              (Role.manager, [a.commune], "manager_a"), (Role.auditor, [a.commune], "auditor_a")):
        make_user(session, role, areas, username=name)
    donor = create_donor(session, area_id=a.commune.id, kind=DonorKind.household, name="Hộ ông Nguyễn Văn Hùng")
    model = create_model(session, area_id=a.commune.id, name="Mô hình Camera an ninh xã WA",
                         decision_number="12/QĐ-UBND", decision_date=utcnow().date(), managing_unit="Công an xã")
    cams = {
        "ok": add_camera(session, settings, a.hamlets[0], "WA-1"),
        "off": add_camera(session, settings, a.hamlets[0], "WA-2", status=CameraStatus.offline, hours=50,
                          reasons=["unreachable"]),
        "pw": add_camera(session, settings, a.hamlets[1], "WA-3", status=CameraStatus.unauthorized, hours=2,
                         reasons=["wrong_password"]),
        "black": add_camera(session, settings, a.hamlets[1], "WA-4", status=CameraStatus.degraded, hours=5,
                            reasons=["black"]),
        "b": add_camera(session, settings, b.hamlets[0], "WB-1", status=CameraStatus.offline, hours=1,
                        reasons=["timeout"]),
    }
    cams["ok"].donor_id, cams["ok"].security_model_id = donor.id, model.id
    session.commit()
    return {"a": a, "b": b, "cams": cams, "donor": donor, "model": model}


def csrf(client: TestClient, path: str) -> str:
    match = CSRF.search(client.get(path).text)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


# --- login ---------------------------------------------------------------------------------------


def test_login_sets_an_httponly_samesite_lax_cookie_and_goes_to_the_board(client, world):
    page = client.get("/login")
    assert page.status_code == 200 and "Đăng nhập" in page.text and 'lang="vi"' in page.text
    r = client.post("/login", data={"username": "police_a", "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/board"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{TOKEN_COOKIE}=") and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert client.get("/board").status_code == 200


def test_wrong_password_is_refused_in_vietnamese_without_a_cookie(client, world):
    r = client.post("/login", data={"username": "police_a", "password": "wrong-one"}, follow_redirects=False)
    assert r.status_code == 401 and "Sai tên đăng nhập hoặc mật khẩu" in r.text
    assert TOKEN_COOKIE not in r.headers.get("set-cookie", "")


def test_pages_without_login_redirect_to_the_login_form_keeping_the_target(client, world):
    r = client.get("/cameras?q=WA", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Fcameras%3Fq%3DWA"
    login_page = client.get(r.headers["location"])
    assert 'name="next" value="/cameras?q=WA"' in login_page.text


def test_login_never_redirects_to_another_site(client, world):
    r = client.post("/login", data={"username": "admin", "password": PASSWORD, "next": "//evil.example/x"},
                    follow_redirects=False)
    assert r.headers["location"] == "/board"


def test_logout_needs_the_csrf_token_and_clears_the_cookie(client, world):
    login(client, "admin")
    assert client.post("/logout", data={}, follow_redirects=False).status_code == 403
    r = client.post("/logout", data={"csrf_token": csrf(client, "/cameras")}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert client.get("/cameras", follow_redirects=False).status_code == 303


# --- roles and scope -----------------------------------------------------------------------------


@pytest.mark.parametrize(("user", "shown", "hidden"), [
    ("police_a", ["/board", "/map", "/cameras", "/reports"], ["/cases"]),
    ("officer_a", ["/board", "/cases"], ["/reports"]),
    ("manager_a", ["/board", "/reports"], ["/cases"]),
    ("auditor_a", ["/cameras", "/cases", "/reports"], ["/board"]),
    ("admin", ["/board", "/cases", "/reports"], []),
])
def test_navigation_shows_only_what_the_role_may_open(client, world, user, shown, hidden):
    login(client, user)
    nav = client.get("/cameras").text.split('<nav class="sections"', 1)[1].split("</nav>", 1)[0]
    for path in shown:
        assert f'href="{path}"' in nav, path
    for path in hidden:
        assert f'href="{path}"' not in nav, path
        assert client.get(path).status_code == 403, path


def test_police_of_another_commune_cannot_open_the_camera_page(client, world):
    login(client, "police_b")
    cam = world["cams"]["off"]
    r = client.get(f"/cameras/{cam.id}")
    assert r.status_code == 404 and "Không tìm thấy" in r.text and cam.code not in r.text
    assert client.get(f"/cameras/{cam.id}/edit").status_code == 404
    board = client.get("/board").text
    assert "WB-1" in board and "WA-2" not in board


def test_officer_cannot_edit_or_add_cameras(client, world):
    login(client, "officer_a")
    assert client.get("/cameras/new").status_code == 403
    assert client.get(f"/cameras/{world['cams']['ok'].id}/edit").status_code == 403


# --- pages in both languages ---------------------------------------------------------------------


def test_every_page_renders_in_vietnamese_and_in_english(client, world):
    login(client, "admin")
    cam, model = world["cams"]["ok"], world["model"]
    paths = ["/board", "/map", "/cameras", "/cameras/new", "/cameras/import", f"/cameras/{cam.id}",
             f"/cameras/{cam.id}?days=30", f"/cameras/{cam.id}/edit", "/areas", "/donors", "/dossiers",
             f"/dossiers/{model.id}", "/cases", "/reports"]
    for lang, word in (("vi", "Đăng xuất"), ("en", "Log out")):
        for path in paths:
            r = client.get(path, params={"lang": lang})
            assert r.status_code == 200, (path, lang, r.text[:500])
            assert word in r.text and f'lang="{lang}"' in r.text, (path, lang)


def test_the_language_switch_is_remembered_in_a_cookie(client, world):
    login(client, "admin")
    r = client.get("/cameras?lang=en")
    assert "lang=en" in r.headers["set-cookie"]
    assert "Log out" in client.get("/areas").text
    assert "Đăng xuất" in client.get("/areas?lang=vi").text


# --- board and map -------------------------------------------------------------------------------


def test_board_lists_problems_longest_first_with_plain_vietnamese_reasons(client, world):
    login(client, "police_a")
    html = client.get("/board").text
    problems = html.split('id="problems"', 1)[1].split('id="rollup"', 1)[0]
    order = [m for m in re.findall(r'data-camera="([^"]+)"', problems)]
    assert order == ["WA-2", "WA-4", "WA-3"]  # 50 h, 5 h, 2 h; the online camera is not a problem
    assert "Không liên lạc được" in problems and "Sai mật khẩu" in problems and "Hình ảnh đen" in problems
    assert "2 ngày 2 giờ" in problems  # offline for 50 hours
    assert "Mất kết nối" in problems


def test_board_counts_are_filters_and_each_reason_says_what_to_do(client, world, session):
    from storage.models import RegistrationState
    for key in ("ok", "off", "pw", "black"):
        world["cams"][key].registration = RegistrationState.registered
    session.commit()  # WA-1..4 connected; WB-1 (another commune) was only saved
    login(client, "police_a")
    html = client.get("/board").text
    totals = html.split('id="totals"', 1)[1].split("</ul>", 1)[0]
    for status in ("online", "degraded", "offline", "unauthorized", "maintenance", "unknown"):
        assert f'href="/cameras?status={status}"' in totals, status
    assert 'href="/cameras?registration=pending"' in totals and "Chưa kết nối" in totals
    def chip(html: str, status: str) -> str:
        part = html.split('id="totals"', 1)[1].split("</ul>", 1)[0]
        return re.search(rf'data-status="{status}">.*?<span class="n">(\d+)</span>', part).group(1)

    world["cams"]["b"].status = CameraStatus.unknown  # a camera only saved has no status yet
    session.commit()
    login(client, "admin")
    board = client.get("/board").text
    assert (chip(board, "pending"), chip(board, "unknown")) == ("1", "0")  # counted once, as not connected
    problems = html.split('id="problems"', 1)[1].split('id="rollup"', 1)[0]
    assert problems.count("Cần làm:") == 3  # offline, wrong password, black: one line each
    assert "nhà hảo tâm" in problems and "mất điện" in problems
    offline = client.get("/cameras?status=offline").text
    assert "WA-2" in offline and "WA-1" not in offline
    pending = client.get("/cameras?registration=pending").text
    assert "WA-" not in pending.split("<tbody", 1)[-1]  # all of police_a's cameras are connected


def test_board_rolls_counts_up_from_hamlet_to_commune(client, world):
    login(client, "admin")
    html = client.get("/board").text
    rollup = html.split('id="rollup"', 1)[1]
    commune_row = rollup.split('class="commune-row"><th scope="row">Xã WA</th>', 1)[1].split("</tr>", 1)[0]
    assert re.findall(r'<td class="num">([^<]*)</td>', commune_row)[:6] == ["1", "1", "1", "1", "", ""]
    assert "<b>4</b>" in commune_row


def test_maintenance_on_takes_a_camera_off_the_problem_list_and_back(client, world):
    login(client, "police_a")
    cam = world["cams"]["off"]
    token = csrf(client, "/board")
    r = client.post(f"/cameras/{cam.id}/maintenance", data={"on": "1", "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    problems = client.get("/board").text.split('id="rollup"', 1)[0]
    assert 'data-camera="WA-2"' not in problems
    client.post(f"/cameras/{cam.id}/maintenance", data={"on": "0", "csrf_token": token})
    assert 'data-camera="WA-2"' in client.get("/board").text


def test_a_form_posted_from_another_origin_is_refused_even_with_the_token(client, world):
    login(client, "police_a")
    cam = world["cams"]["off"]
    token = csrf(client, "/board")
    r = client.post(f"/cameras/{cam.id}/maintenance", data={"on": "1", "csrf_token": token},
                    headers={"Origin": "https://evil.example"})
    assert r.status_code == 403
    r = client.post(f"/cameras/{cam.id}/maintenance", data={"on": "1", "csrf_token": "0" * 32})
    assert r.status_code == 403


def test_map_carries_every_placed_camera_in_scope_with_its_status(client, world):
    login(client, "police_a")
    html = client.get("/map").text
    assert "/static/leaflet/leaflet.js" in html and "Chưa cấu hình máy chủ bản đồ nền" in html
    data = html.split('id="map-data">', 1)[1].split("</script>", 1)[0]
    assert data.count('"code"') == 4 and '"status": "offline"' in data and "WB-1" not in data
    assert client.get("/static/leaflet/leaflet.js").status_code == 200


def test_map_uses_the_tile_server_from_settings(engine, settings, world):
    with TestClient(create_app(settings.model_copy(update={"tile_url": "https://tiles.example/{z}/{x}/{y}.png"}),
                               engine=engine)) as c:
        login(c, "admin")
        html = c.get("/map").text
    assert 'data-tiles="https://tiles.example/{z}/{x}/{y}.png"' in html


# --- camera pages --------------------------------------------------------------------------------


def test_camera_page_shows_identity_donor_install_point_and_model(client, world):
    login(client, "police_a")
    cam = world["cams"]["ok"]
    html = client.get(f"/cameras/{cam.id}").text
    assert "Hộ ông Nguyễn Văn Hùng" in html and "Mô hình Camera an ninh xã WA" in html
    assert "21,00000, 105,80000" in html  # Vietnamese decimal comma


def test_edit_camera_saves_changes_and_moves_it_to_another_hamlet(client, world, session):
    login(client, "police_a")
    cam = world["cams"]["ok"]
    page = client.get(f"/cameras/{cam.id}/edit").text
    token = CSRF.search(page).group(1)
    form = {"csrf_token": token, "name": "Cổng chợ mới", "area_id": str(world["a"].hamlets[1].id),
            "host": "10.255.2.11", "onvif_port": "8000", "username": "admin", "latitude": "21,05",
            "longitude": "105,81", "watches": "market", "note": "Đã thay nguồn 12V"}
    refused = client.post(f"/cameras/{cam.id}/edit", data=form, follow_redirects=False)
    assert refused.status_code == 422 and "field-error" in refused.text  # new host: the password again
    session.expire_all()
    assert session.get(Camera, cam.id).onvif_port == 80
    session.commit()  # the test's session holds no write lock while the app writes
    r = client.post(f"/cameras/{cam.id}/edit", data={**form, "password": "cam-pass-2026"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    session.expire_all()
    saved = session.get(Camera, cam.id)
    assert (saved.name, saved.area_id, saved.onvif_port, saved.latitude) == (
        "Cổng chợ mới", world["a"].hamlets[1].id, 8000, 21.05)


def test_edit_camera_with_a_bad_latitude_names_the_field_and_changes_nothing(client, world, session):
    login(client, "police_a")
    cam = world["cams"]["ok"]
    token = csrf(client, f"/cameras/{cam.id}/edit")
    r = client.post(f"/cameras/{cam.id}/edit", data={"csrf_token": token, "name": "X", "host": "10.255.2.10",
                                                     "username": "admin", "latitude": "105.8", "longitude": "21"})
    assert r.status_code == 422 and "latitude" in r.text
    session.expire_all()
    assert session.get(Camera, cam.id).name == "Camera WA-1"


def test_add_camera_to_an_unreachable_address_shows_which_step_failed_and_what_to_fix(client, world):
    login(client, "police_a")
    token = csrf(client, "/cameras/new")
    r = client.post("/cameras/new", data={
        "csrf_token": token, "code": "WA-9", "name": "Cổng trường", "area_id": str(world["a"].hamlets[0].id),
        "host": "127.0.0.1", "onvif_port": "9", "username": "admin", "password": "x-123456"})
    assert r.status_code == 422
    steps = dict(re.findall(r'data-step="(\w+)" data-state="(\w+)"', r.text))
    assert steps["connect"] == "failed" and steps["login"] == "skipped"
    assert "Kiểm tra địa chỉ IP, nguồn điện và mạng của camera." in r.text
    assert "Chưa lưu camera." in r.text and 'value="WA-9"' in r.text  # the form keeps what was typed
    assert "x-123456" not in r.text  # the password is never echoed


def test_add_camera_as_pending_saves_without_a_handshake(client, world, session):
    login(client, "police_a")
    token = csrf(client, "/cameras/new")
    r = client.post("/cameras/new", data={
        "csrf_token": token, "code": "WA-10", "name": "Ngã ba", "area_id": str(world["a"].hamlets[0].id),
        "host": "10.255.2.50", "username": "admin", "password": "x-123456", "pending": "1"})
    assert r.status_code == 201 and "Đã lưu camera WA-10." in r.text


def test_add_camera_with_a_duplicate_code_names_the_code_field(client, world):
    login(client, "police_a")
    token = csrf(client, "/cameras/new")
    r = client.post("/cameras/new", data={
        "csrf_token": token, "code": "WA-1", "name": "Trùng", "area_id": str(world["a"].hamlets[0].id),
        "host": "10.255.2.50", "username": "admin", "password": "x-123456", "pending": "1"})
    assert r.status_code == 422 and 'class="field-error"' in r.text and "WA-1" in r.text


def test_csv_import_reports_a_result_for_every_row(client, world):
    login(client, "police_a")
    token = csrf(client, "/cameras/import")
    hamlet = world["a"].hamlets[0].code
    text = ("code,name,hamlet_code,host,username,password,donor_name,latitude,longitude\n"
            f"WA-20,Cổng làng,{hamlet},10.255.2.20,admin,pw-123456,Bà Trần Thị Lan,\"21,01\",105.8\n"
            f"WA-1,Đã có,{hamlet},10.255.2.21,admin,pw-123456,,,\n"
            f"WA-21,Sai thôn,NO-SUCH,10.255.2.22,admin,pw-123456,,,\n")
    r = client.post("/cameras/import", data={"csrf_token": token},
                    files={"file": ("cameras.csv", text.encode("utf-8"), "text/csv")})
    assert r.status_code == 200, r.text
    rows = re.findall(r'<tr class="outcome-(\w+)"><td class="num">(\d+)</td><td>([^<]*)</td>', r.text)
    assert rows == [("created", "2", "WA-20"), ("duplicate", "3", "WA-1"), ("error", "4", "WA-21")]
    assert "1 tạo mới, 1 lỗi, 1 đã có" in r.text


def test_csv_import_without_the_required_columns_says_which(client, world):
    login(client, "police_a")
    token = csrf(client, "/cameras/import")
    r = client.post("/cameras/import", data={"csrf_token": token},
                    files={"file": ("x.csv", b"code,name\nA,B\n", "text/csv")})
    assert r.status_code == 422 and "hamlet_code" in r.text


# --- registry ------------------------------------------------------------------------------------


def test_areas_donors_and_dossiers_list_what_is_in_scope(client, world):
    login(client, "police_a")
    assert "Thôn 1 WA" in client.get("/areas").text and "Xã WB" not in client.get("/areas").text
    assert "Hộ ông Nguyễn Văn Hùng" in client.get("/donors").text
    assert "12/QĐ-UBND" in client.get("/dossiers").text


def test_a_donor_and_a_review_can_be_added_from_the_pages(client, world):
    login(client, "manager_a")
    token = csrf(client, "/donors")
    r = client.post("/donors", data={"csrf_token": token, "name": "Công ty TNHH Minh Phát", "kind": "business",
                                     "area_id": str(world["a"].commune.id)}, follow_redirects=False)
    assert r.status_code == 303
    assert "Công ty TNHH Minh Phát" in client.get("/donors").text
    model = world["model"]
    r = client.post(f"/dossiers/{model.id}/reviews", data={
        "csrf_token": token, "review_date": "2025-06-30", "kind": "interim", "verdict": "replicate",
        "findings": "Camera hoạt động tốt, đề nghị nhân rộng"}, follow_redirects=False)
    assert r.status_code == 303
    html = client.get(f"/dossiers/{model.id}").text
    assert "30/06/2025" in html and "Nhân rộng" in html


def test_a_donor_cannot_be_added_to_another_commune(client, world):
    login(client, "police_a")
    token = csrf(client, "/donors")
    r = client.post("/donors", data={"csrf_token": token, "name": "X", "area_id": str(world["b"].commune.id)})
    assert r.status_code == 422
