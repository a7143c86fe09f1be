"""Finding 7 of issue 12, the CSV part: uploads in UTF-16, with bare CR line ends or with bytes that
are not text each get a clean answer (never a 500), and ``?handshake=true`` works from the API
(the handshake's event loop no longer collides with the server's)."""

from __future__ import annotations

import codecs

import pytest
from sqlalchemy import func, select

from camera_ops.registry.csv_input import detect_encoding, dict_rows
from camera_ops.errors import ValidationFailed
from storage.models import Camera, Role
from tests.factories import api_login, make_commune, make_user

HEADER = "code,name,hamlet_code,host,username,password"


@pytest.mark.parametrize("head, encoding", [
    (codecs.BOM_UTF8 + b"co", "utf-8-sig"), (codecs.BOM_UTF16_LE + b"c\0", "utf-16"),
    (codecs.BOM_UTF16_BE + b"\0c", "utf-16"), (b"code", "utf-8"), (b"", "utf-8"),
])
def test_encoding_is_taken_from_the_bom(head, encoding):
    assert detect_encoding(head) == encoding


def test_bare_cr_ends_rows():
    header, rows = dict_rows("a,b\rx,y\r1,2\r")
    assert header == ["a", "b"] and list(rows) == [{"a": "x", "b": "y"}, {"a": "1", "b": "2"}]


def test_a_field_over_the_csv_limit_is_a_file_error_naming_the_line():
    with pytest.raises(ValidationFailed) as err:
        list(dict_rows("a,b\nx,y\n1," + "z" * (200 << 10) + "\n")[1])
    assert err.value.field == "file" and "line 3" in err.value.message


@pytest.fixture
def world(session):
    commune = make_commune(session, prefix="UP")
    make_user(session, Role.admin, username="admin")
    session.commit()
    return commune


def upload(client, data: bytes, **params):
    return client.post("/api/v1/cameras/import", params=params, headers=api_login(client, "admin"),
                       files={"file": ("cams.csv", data, "text/csv")})


def count(session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Camera))


@pytest.mark.db
@pytest.mark.parametrize("encode", [
    lambda text: text.encode("utf-16"),  # Excel "Unicode text": UTF-16 LE with BOM
    lambda text: codecs.BOM_UTF8 + text.replace("\n", "\r").encode(),  # old Mac line ends
    lambda text: text.replace("\n", "\r\n").encode(),
])
def test_utf16_and_bare_cr_files_import(client, world, session, encode):
    text = f"{HEADER}\nE1,Cổng làng,{world.hamlets[0].code},10.0.0.1,u,p\nE2,Chợ,{world.hamlets[0].code},10.0.0.2,u,p\n"
    r = upload(client, encode(text))
    assert r.status_code == 200, r.text
    assert r.json()["counts"] == {"created": 2}
    assert count(session) == 2


@pytest.mark.db
@pytest.mark.parametrize("data", [
    # (Windows-1258 — Excel's CSV on a Vietnamese Windows — is read: test_web_import_encodings.py)
    f"{HEADER}\n".encode() + b"E1,\x81\x8d\x9d,X,10.0.0.1,u,p\n",  # bytes neither UTF-8 nor Windows-1258 has
    b"\x00\x01\x02\xff" * 100,  # not text at all
])
def test_bytes_that_are_not_utf8_are_a_clean_422_naming_the_file(client, world, session, data):
    r = upload(client, data)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == "file"
    assert "UTF-8" in r.json()["error"]["message"] and "UTF-8" in r.json()["error"]["details"]["message_vi"]
    assert count(session) == 0


@pytest.mark.db
def test_a_bad_byte_late_in_the_file_leaves_nothing_half_imported(client, world, session):
    good = "".join(f"L{i},Cổng,{world.hamlets[0].code},10.0.{i // 200}.{i % 200 + 1},u,p\n" for i in range(1500))
    r = upload(client, (f"{HEADER}\n{good}").encode() + b"BAD,\xff,X,10.9.9.9,u,p\n")
    assert r.status_code == 422
    assert count(session) == 0


@pytest.mark.db
def test_import_with_handshake_through_the_api_registers_or_keeps_pending(client, world, session):
    """Before: asyncio.run inside the server's running loop failed every row. Nothing listens on
    127.0.0.1:9 (discard), so the camera is kept pending with the reason."""
    text = f"{HEADER},onvif_port\nHS1,Cổng,{world.hamlets[0].code},127.0.0.1,u,p,9\n"
    r = upload(client, text.encode(), handshake="true")
    assert r.status_code == 200, r.text
    row = r.json()["rows"][0]
    assert row["outcome"] == "created" and row["message"].startswith("pending"), row
    assert "event loop" not in row["message"]
    assert count(session) == 1
