"""The evidence package verifies on a machine that has neither camera-ops nor our database: the
standalone verifier runs in a clean virtualenv (only ``cryptography`` installed), the README's
``openssl``/``sha256sum`` commands work as written, and any changed byte fails with a message that
names the file (issue 11)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import venv
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from api.app import create_app
from camera_ops.custody.signing import Keyring, describe
from camera_ops.footage.worker import Worker
from camera_ops.sim.spec import CameraSpec
from camera_ops.sim.testing import FleetHandle, running_fleet
from tests.factories import api_login as login
from tests.footage_fixtures import make_world, recent_window, sim_camera_row
from tests.s3server import s3_http_server  # noqa: F401  (fixture)

pytestmark = pytest.mark.db
PIP_TIMEOUT_S = 300  # a clean machine downloads cryptography's wheel


@pytest.fixture(scope="module")
def fleet() -> Iterator[FleetHandle]:
    with running_fleet([CameraSpec("pkg-gen", vendor="generic")]) as handle:
        yield handle


@pytest.fixture(scope="session")
def clean_python(tmp_path_factory) -> Path:
    """A plain virtualenv (no system site-packages, no camera-ops) with only ``cryptography``."""
    where = tmp_path_factory.mktemp("clean-venv")
    venv.EnvBuilder(with_pip=True, system_site_packages=False).create(where)
    python = where / "bin" / "python"
    installed = subprocess.run([str(python), "-m", "pip", "install", "-q", "cryptography"], capture_output=True,
                               text=True, timeout=PIP_TIMEOUT_S, env=_clean_env())
    assert installed.returncode == 0, installed.stderr
    probe = subprocess.run([str(python), "-c", "import camera_ops"], capture_output=True, env=_clean_env(),
                           cwd=where)
    assert probe.returncode != 0, "the clean venv must not see camera-ops"
    return python


def _clean_env() -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp"), "LANG": "C.UTF-8"}


@pytest.fixture
def package(session, engine, settings, fleet, tmp_path) -> dict:
    world = make_world(session)
    camera = sim_camera_row(session, settings, fleet.camera("pkg-gen"), world.hamlet)
    officer_name, camera_id = world.officer.username, camera.id
    session.commit()
    client = TestClient(create_app(settings, engine=engine))
    officer = login(client, officer_name)
    case = client.post("/api/v1/cases", json={"number": "9/2026", "title": "Cướp giật", "legal_basis": "QĐ 9"},
                       headers=officer).json()
    other = client.post("/api/v1/cases", json={"number": "10/2026", "title": "Vụ khác", "legal_basis": "QĐ 10"},
                        headers=officer).json()  # its events must appear in the package as hashes only
    start, end = recent_window(fleet.camera_clock("pkg-gen"), 2)
    req = client.post(f"/api/v1/cases/{case['id']}/requests", headers=officer,
                      json={"camera_ids": [camera_id], "start": start.isoformat(), "end": end.isoformat(),
                            "purpose": "xác định đối tượng"}).json()
    Worker(engine, settings).run_until_idle()
    clip = client.get(f"/api/v1/requests/{req['id']}", headers=officer).json()["clips"][0]
    assert clip["status"] == "archived"
    r = client.get(f"/api/v1/clips/{clip['id']}/package", params={"purpose": "chuyển Viện kiểm sát"}, headers=officer)
    assert r.status_code == 200, r.text
    folder = tmp_path / "package"
    zipfile.ZipFile(io.BytesIO(r.content)).extractall(folder)
    return {"zip": r.content, "folder": folder, "clip": clip, "other_case": other, "officer": officer_name,
            "fingerprint": Keyring.from_settings(settings).current().fingerprint}


def run_verifier(python: Path, target: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    verifier = Path(__file__).resolve().parents[2] / "camera_ops" / "custody" / "verify_evidence.py"
    return subprocess.run([str(python), str(verifier), str(target), *extra], capture_output=True, text=True,
                          timeout=60, env=_clean_env(), cwd=target.parent)


def test_package_verifies_in_a_clean_venv_with_only_cryptography(package, clean_python, tmp_path):
    folder = package["folder"]
    (tmp_path / "p.zip").write_bytes(package["zip"])

    as_folder = run_verifier(clean_python, folder, "--fingerprint", package["fingerprint"])
    as_zip = run_verifier(clean_python, tmp_path / "p.zip")
    shipped = subprocess.run([str(clean_python), "verify_evidence.py", "."], cwd=folder, capture_output=True,
                             text=True, timeout=60, env=_clean_env())

    for result in (as_folder, as_zip, shipped):
        assert result.returncode == 0 and "OK: the package is intact" in result.stdout, result.stdout + result.stderr
    assert package["fingerprint"] in as_folder.stdout


def test_package_holds_this_clips_events_and_other_events_only_as_hashes(package):
    folder, clip = package["folder"], package["clip"]
    events = json.loads((folder / "custody.json").read_text("utf-8"))["events"]
    chain = [json.loads(p.read_text()) for p in sorted((folder / "chain").glob("0*.json"))]

    assert {e["clip"] for e in events} == {clip["id"]}
    assert [e["event_type"] for e in events] == ["requested", "acquired", "verified", "archived", "package_exported"]
    pinned = {s: h for c in chain for s, h in zip(range(c["from_seq"], c["seq"] + 1), c["hashes"])}
    assert all(pinned[e["seq"]] == e["hash"] for e in events)
    assert len(pinned) > len(events)  # other cases' events are there, as hashes
    text = "".join(p.read_text("utf-8") for p in folder.rglob("*.json"))
    assert "10/2026" not in text and "Vụ khác" not in text  # and nothing of their content


def test_readme_commands_work_as_written(package):
    folder = package["folder"]
    readme = (folder / "README.txt").read_text("utf-8")
    english = readme[readme.index("ENGLISH"):]
    commands = [line.strip() for line in english.splitlines() if line.strip().startswith(("openssl", "sha256sum"))]
    assert len(commands) == 4, commands

    outputs = [subprocess.run(c, shell=True, cwd=folder, capture_output=True, text=True, timeout=60) for c in commands]

    assert all(o.returncode == 0 for o in outputs), [o.stderr for o in outputs]
    fingerprint_out, package_sig, sums, manifest_sig = (o.stdout for o in outputs)
    assert package["fingerprint"] in fingerprint_out and package["fingerprint"] in readme
    assert "Signature Verified Successfully" in package_sig and "Signature Verified Successfully" in manifest_sig
    assert sums.count(": OK") == len((folder / "SHA256SUMS").read_text().splitlines())
    index = json.loads((folder / "chain" / "checkpoints.json").read_text())
    checkpoint = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", index[-1]["key"], "-rawin",
                                 "-in", index[-1]["body"], "-sigfile", index[-1]["signature"]], cwd=folder,
                                capture_output=True, text=True, timeout=60)
    assert "Signature Verified Successfully" in checkpoint.stdout


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    os.chmod(path, 0o644)
    path.write_bytes(bytes(data))


def test_one_changed_byte_in_any_member_fails_with_a_precise_message(package, clean_python, tmp_path):
    names = sorted(p.relative_to(package["folder"]).as_posix() for p in package["folder"].rglob("*") if p.is_file())
    assert len(names) >= 14
    for name in names:
        copy = tmp_path / f"flip-{name.replace('/', '_')}"
        shutil.copytree(package["folder"], copy)
        _flip(copy / name)

        result = run_verifier(clean_python, copy)

        assert result.returncode == 1, name
        if name in ("SHA256SUMS", "SHA256SUMS.sig"):
            expected = "FAILED: SHA256SUMS: the signature does not verify with public_key.pem"
        elif name == "public_key.pem":
            expected = "public_key.pem"
        else:
            expected = f"FAILED: {name}: SHA-256 differs from SHA256SUMS (the file was changed)"
        assert expected in result.stdout, (name, result.stdout)


def test_a_changed_byte_inside_the_zip_is_named(package, clean_python, tmp_path):
    data = bytearray(package["zip"])
    name = package["clip"]["object_key"].rsplit("/", 1)[-1]
    at = data.index(name.encode()) + 200  # inside the clip's stored bytes
    data[at] ^= 0x01
    (tmp_path / "p.zip").write_bytes(bytes(data))

    result = run_verifier(clean_python, tmp_path / "p.zip")

    assert result.returncode == 1 and f"FAILED: {name}: damaged inside the zip" in result.stdout, result.stdout


def test_a_signature_from_another_key_fails(package, clean_python, tmp_path):
    folder = package["folder"]
    forger = Ed25519PrivateKey.generate()
    (folder / "SHA256SUMS.sig").write_bytes(forger.sign((folder / "SHA256SUMS").read_bytes()))
    resigned = run_verifier(clean_python, folder)
    assert resigned.returncode == 1
    assert "FAILED: SHA256SUMS: the signature does not verify with public_key.pem" in resigned.stdout

    # the forger also swaps in their own public key (and fixes SHA256SUMS): only the published
    # fingerprint tells the difference
    forged_key = describe(forger.public_key())
    (folder / "public_key.pem").write_bytes(forged_key.pem)
    (folder / "manifest.json.sig").write_bytes(forger.sign((folder / "manifest.json").read_bytes()))
    sums = []
    for line in (folder / "SHA256SUMS").read_text().splitlines():
        name = line.split("  ", 1)[1]
        sums.append(f"{hashlib.sha256((folder / name).read_bytes()).hexdigest()}  {name}")
    listing = ("\n".join(sums) + "\n").encode()
    (folder / "SHA256SUMS").write_bytes(listing)
    (folder / "SHA256SUMS.sig").write_bytes(forger.sign(listing))

    swapped = run_verifier(clean_python, folder, "--fingerprint", package["fingerprint"])

    assert swapped.returncode == 1
    assert re.search(r"FAILED: public_key.pem: fingerprint [0-9a-f]{64} is not the service's published",
                     swapped.stdout), swapped.stdout


def test_a_clip_swapped_with_its_row_updated_is_reported(session, engine, settings, fleet, tmp_path):
    from sqlalchemy import update

    from storage.clipstore.local import LocalClipStore
    from storage.models_evidence import Clip
    from tests.integration.test_custody_anchoring import cli

    world = make_world(session)
    camera = sim_camera_row(session, settings, fleet.camera("pkg-gen"), world.hamlet)
    from tests.footage_fixtures import actor, make_case
    from camera_ops.footage.requests import Window, create_request

    case = make_case(session, world)
    request = create_request(session, settings, actor(world.officer), world.officer, case, camera_ids=[camera.id],
                             window=Window(*recent_window(fleet.camera_clock("pkg-gen"), 2)), purpose="xác minh")
    clip_id = request.clips[0].id
    session.commit()
    Worker(engine, settings).run_until_idle()
    assert cli(settings, "custody", "verify", "--clips").returncode == 0
    session.expire_all()
    clip = session.get(Clip, clip_id)
    other = tmp_path / "other.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=duration=1:size=320x240:rate=10",
                    "-c:v", "libx264", str(other)], check=True, timeout=60)
    path = LocalClipStore(settings.data_dir / "clips").path_of(clip.object_key)
    os.chmod(path, 0o644)
    path.write_bytes(other.read_bytes())
    data = other.read_bytes()
    session.execute(update(Clip).where(Clip.id == clip_id).values(
        sha256=hashlib.sha256(data).hexdigest(), sha512=hashlib.sha512(data).hexdigest(), size_bytes=len(data)))
    session.commit()

    result = cli(settings, "custody", "verify", "--clips")

    out = " ".join(result.stdout.split())
    assert result.returncode == 1, out
    assert f"clip {clip_id}: " in out and "the manifest records sha256" in out
    assert "the ledger's acquired event" in out and "the ledger's verified event" in out


@pytest.mark.s3
def test_archive_checkpoint_and_package_over_plain_http_s3(session, engine, settings, fleet, s3_http_server,
                                                           clean_python, tmp_path):
    """As the env example deploys it (CAMERA_OPS_MINIO_SECURE=false): locked clip, manifest and
    COMPLIANCE checkpoint uploads all work, and the package verifies."""
    from tests.s3server import new_bucket_name

    bucket = new_bucket_name()
    settings = settings.model_copy(update=s3_http_server.settings_overrides(bucket))
    assert settings.minio_secure is False
    world = make_world(session)
    camera = sim_camera_row(session, settings, fleet.camera("pkg-gen"), world.hamlet)
    officer_name, camera_id = world.officer.username, camera.id
    session.commit()
    client = TestClient(create_app(settings, engine=engine))
    officer = login(client, officer_name)
    case = client.post("/api/v1/cases", json={"number": "11/2026", "title": "t", "legal_basis": "b"},
                       headers=officer).json()
    start, end = recent_window(fleet.camera_clock("pkg-gen"), 2)
    req = client.post(f"/api/v1/cases/{case['id']}/requests", headers=officer,
                      json={"camera_ids": [camera_id], "start": start.isoformat(), "end": end.isoformat(),
                            "purpose": "xác định đối tượng"}).json()
    Worker(engine, settings).run_until_idle()
    clip = client.get(f"/api/v1/requests/{req['id']}", headers=officer).json()["clips"][0]
    assert clip["status"] == "archived" and clip["version_id"]

    r = client.get(f"/api/v1/clips/{clip['id']}/package", params={"purpose": "chuyển Viện kiểm sát"}, headers=officer)

    assert r.status_code == 200, r.text
    (tmp_path / "p.zip").write_bytes(r.content)
    result = run_verifier(clean_python, tmp_path / "p.zip")
    assert result.returncode == 0, result.stdout
    store = s3_http_server.store(bucket)
    [key] = store.list_keys("custody/checkpoints/")
    assert store.stat(key).lock["mode"] == "COMPLIANCE"


def test_the_clip_page_shows_the_signing_key_fingerprint(package, settings, engine):
    from tests.factories import web_login

    client = TestClient(create_app(settings, engine=engine))
    web_login(client, package["officer"])

    page = client.get(f"/clips/{package['clip']['id']}")

    assert page.status_code == 200 and package["fingerprint"] in page.text
