"""Camera import that accepts what communes have: UTF-8 with or without BOM, UTF-16 and
Windows-1258 (Excel on a Vietnamese Windows), .xlsx; dd/mm/yyyy dates; an empty password refused;
a refused row leaves nothing behind (no donor); the summary is red when rows failed; a template."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from storage.models import Camera, Donor, Role
from tests.factories import make_commune, make_user, web_login

pytestmark = pytest.mark.db
CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
HEADER = "code,name,hamlet_code,host,username,password,donor_name,donated_on"


@pytest.fixture
def commune(session):
    c = make_commune(session, prefix="IE")
    police = make_user(session, Role.commune_police, [c.commune], username="ie_police")
    session.commit()
    return c, police


def upload(client, content: bytes, name: str = "cameras.csv"):
    token = CSRF.search(client.get("/cameras/import").text).group(1)
    return client.post("/cameras/import", data={"csrf_token": token}, files={"file": (name, content)})


def rows(hamlet: str) -> str:
    return (f"{HEADER}\r\nIE-01,Cổng chợ Thôn Đông,{hamlet},10.1.1.1,admin,pw,Hộ bà Trần Thị Bưởi,15/03/2025\r\n")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp1258"])
def test_each_encoding_excel_writes_is_read(client, session, commune, encoding):
    c, police = commune
    web_login(client, police.username)
    text = rows(c.hamlets[0].code)
    data = text.encode(encoding) if encoding != "cp1258" else _cp1258(text)
    r = upload(client, data)
    assert r.status_code == 200 and 'id="import-summary"' in r.text, r.text
    camera = session.scalar(select(Camera).where(Camera.code == "IE-01"))
    assert camera is not None and camera.name == "Cổng chợ Thôn Đông" and camera.donated_on == date(2025, 3, 15)
    assert session.scalar(select(Donor.name)) == "Hộ bà Trần Thị Bưởi"


def _cp1258(text: str) -> bytes:
    """What Excel on a Vietnamese Windows writes: tone marks as combining characters in cp1258."""
    import unicodedata

    tones = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
    out = bytearray()
    for ch in text:
        try:
            out += ch.encode("cp1258")
        except UnicodeEncodeError:
            parts = unicodedata.normalize("NFD", ch)
            base = unicodedata.normalize("NFC", "".join(p for p in parts if p not in tones))
            out += (base + "".join(p for p in parts if p in tones)).encode("cp1258")
    assert b"\xd2" in out or b"\xec" in out or b"\xf2" in out  # combining tone marks were written
    return bytes(out)


def test_an_xlsx_workbook_is_accepted(client, session, commune):
    c, police = commune
    web_login(client, police.username)
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER.split(","))
    sheet.append(["IE-02", "Ngã tư", c.hamlets[0].code, "10.1.1.2", "admin", "pw", None, date(2025, 1, 2)])
    buffer = io.BytesIO()
    book.save(buffer)
    r = upload(client, buffer.getvalue(), "cameras.xlsx")
    assert r.status_code == 200, r.text
    assert session.scalar(select(Camera.donated_on).where(Camera.code == "IE-02")) == date(2025, 1, 2)


def test_an_empty_password_is_refused_and_a_refused_row_leaves_no_donor(client, session, commune):
    c, police = commune
    web_login(client, police.username)
    h = c.hamlets[0].code
    csv_text = (f"{HEADER},watches\r\n"
                f"IE-03,A,{h},10.1.1.3,admin,,Hộ ông Ba,,\r\n"
                f"IE-04,B,{h},10.1.1.4,admin,pw,Hộ ông Tư,,not-a-place\r\n"
                f"IE-05,C,{h},10.1.1.5,admin,pw,,,\r\n")
    r = upload(client, csv_text.encode())
    assert 'class="alert bad" role="status" id="import-summary"' in r.text
    assert "1 tạo mới, 2 lỗi, 0 đã có" in r.text and "Chưa nhập “Mật khẩu camera”" in r.text
    assert session.scalar(select(func.count()).select_from(Camera)) == 1
    assert session.scalar(select(func.count()).select_from(Donor)) == 0


def test_the_template_downloads_with_every_column_and_imports_after_filling_in(client, session, commune):
    c, police = commune
    web_login(client, police.username)
    r = client.get("/cameras/import/template.csv")
    assert r.status_code == 200 and r.content.startswith(b"\xef\xbb\xbf")
    text = r.content.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("code,name,hamlet_code,host,username,password")
    filled = text.replace("MÃ-THÔN", c.hamlets[0].code)
    assert 'class="alert good"' in upload(client, filled.encode("utf-8-sig")).text
