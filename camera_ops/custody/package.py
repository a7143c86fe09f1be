"""The evidence package: one zip a prosecutor and a judge can verify without our server and
without trusting whoever runs our database.

Contents:

* the clip exactly as archived (ZIP_STORED: compressing video gains nothing);
* ``manifest.json`` as stored beside the clip, and ``manifest.json.sig`` (Ed25519, raw 64 bytes);
* ``custody.json`` / ``.csv`` / ``.html``: this clip's custody events with their content;
* ``chain/``: the signed checkpoints that pin those events (``<seq>.json`` + ``.sig``, and
  ``checkpoints.json`` naming each one's key) — they list every event's hash in their range, so the
  clip's events are linked to a signed checkpoint while other cases' events appear only as hashes;
* ``public_key.pem`` (signs this package) and ``keys/<key_id>.pem`` (every key that signed a
  checkpoint included);
* ``verify_evidence.py``: the standalone verifier (Python standard library + ``cryptography``);
* ``README.txt`` (Vietnamese, English) with the exact ``sha256sum``/``openssl``/``ffprobe`` commands;
* ``SHA256SUMS`` over every other file, and ``SHA256SUMS.sig``: the package's signature.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import zipfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from camera_ops.custody import verify_evidence
from camera_ops.custody.checkpoint import Checkpoint
from camera_ops.custody.signing import Keyring
from camera_ops.custody.trail import trail_csv, trail_html, trail_json
from camera_ops.errors import IntegrityError
from storage.clipstore.base import ClipStore
from storage.models_evidence import Case, Clip, CustodyEvent

VERIFIER_NAME = "verify_evidence.py"


README = """GÓI CHỨNG CỨ VIDEO / VIDEO EVIDENCE PACKAGE
===========================================
Vụ việc / case: {case_number} — {case_title} ({unit})
Đoạn video / clip: #{clip_id}, camera {camera_code} (MAC {camera_mac})
Khoảng thời gian (giờ UTC thật) / window (true UTC): {start} – {end}
SHA-256 của video / of the clip: {sha256}
Khóa ký / signing key: {key_id}
Dấu vân tay khóa công khai / public key fingerprint (SHA-256):
    {fingerprint}
Tạo lúc / made at: {made_at}

TIẾNG VIỆT
----------
Gói này kiểm tra được mà không cần phần mềm, máy chủ hay cơ sở dữ liệu của camera-ops.
Giải nén toàn bộ gói vào một thư mục, mở cửa sổ dòng lệnh tại thư mục đó.
1. Khóa công khai: so dấu vân tay với dấu vân tay do đơn vị quản lý công bố (trang "Kiểm tra nhật ký
   truy xuất", API /api/v1/custody/keys) và với dòng ở trên:
      openssl pkey -pubin -in public_key.pem -outform DER | openssl dgst -sha256
2. Chữ ký của gói (phải in "Signature Verified Successfully"):
      openssl pkeyutl -verify -pubin -inkey public_key.pem -rawin -in SHA256SUMS -sigfile SHA256SUMS.sig
3. Mã băm từng tệp (mọi dòng phải báo "OK"):
      sha256sum -c SHA256SUMS
   (Windows: certutil -hashfile <tệp> SHA256 rồi so với SHA256SUMS.)
4. Chữ ký của manifest:
      openssl pkeyutl -verify -pubin -inkey public_key.pem -rawin -in manifest.json -sigfile manifest.json.sig
   Mã SHA-256 của video phải trùng với "object"."sha256" trong manifest.json và với sự kiện
   "acquired"/"verified" trong custody.json.
5. Video phát được và đúng thông số:
      ffprobe -v error -count_frames -show_entries stream=codec_name,width,height,nb_read_frames -show_entries format=duration {clip_name}
   So sánh codec, kích thước, số khung hình và thời lượng với phần "delivered" trong manifest.json.
   Video là dữ liệu gốc của camera, chỉ đóng gói lại (stream copy), không mã hóa lại.
6. Nhật ký truy xuất (custody.json/.csv/.html): ai, vai trò, mục đích, thời gian (UTC), địa chỉ máy.
   Mỗi sự kiện có hash = SHA-256(prev_hash dạng byte + JSON chuẩn của sự kiện). Thư mục chain/ chứa
   các mốc có chữ ký ghi mã băm của mọi sự kiện trong khoảng (sự kiện của vụ việc khác chỉ có mã băm);
   kiểm tra chữ ký mỗi mốc bằng lệnh ở bước 4 với tệp chain/<số>.json, chain/<số>.json.sig và khóa ghi
   trong chain/checkpoints.json.
7. Kiểm tra tất cả một lần (Python 3 và gói cryptography: pip install cryptography):
      python3 verify_evidence.py . --fingerprint <dấu vân tay đã công bố>
   Kết quả "OK" là gói toàn vẹn; "FAILED: ..." chỉ rõ tệp hoặc sự kiện bị thay đổi.

ENGLISH
-------
This package can be verified without camera-ops, its server or its database.
Unzip everything into one folder and open a terminal there.
1. Public key: compare its fingerprint with the one the operating unit publishes (page "Custody ledger
   verification", API /api/v1/custody/keys) and with the line above:
      openssl pkey -pubin -in public_key.pem -outform DER | openssl dgst -sha256
2. The package's signature (must print "Signature Verified Successfully"):
      openssl pkeyutl -verify -pubin -inkey public_key.pem -rawin -in SHA256SUMS -sigfile SHA256SUMS.sig
3. Every file's hash (every line must say "OK"):
      sha256sum -c SHA256SUMS
   (Windows: certutil -hashfile <file> SHA256 and compare with SHA256SUMS.)
4. The manifest's signature:
      openssl pkeyutl -verify -pubin -inkey public_key.pem -rawin -in manifest.json -sigfile manifest.json.sig
   The clip's SHA-256 must equal "object"."sha256" in manifest.json and the "acquired"/"verified"
   events in custody.json.
5. The clip plays and has the recorded properties:
      ffprobe -v error -count_frames -show_entries stream=codec_name,width,height,nb_read_frames -show_entries format=duration {clip_name}
   Compare codec, size, frame count and duration with "delivered" in manifest.json. The video is the
   camera's own bitstream, only re-wrapped (stream copy), never re-encoded.
6. The custody trail (custody.json/.csv/.html): who, role, purpose, time (UTC), client address. Each
   event's hash = SHA-256(prev_hash as bytes + the event's canonical JSON). chain/ holds the signed
   checkpoints that list the hash of every event in their range (other cases' events appear as hashes
   only); check each one's signature with step 4's command on chain/<seq>.json, chain/<seq>.json.sig
   and the key named in chain/checkpoints.json.
7. Everything at once (Python 3 and the cryptography package: pip install cryptography):
      python3 verify_evidence.py . --fingerprint <the published fingerprint>
   "OK" means the package is intact; "FAILED: ..." names the file or event that was changed.
"""


def build_package(
    store: ClipStore, case: Case, clip: Clip, events: Sequence[CustodyEvent], checkpoints: Sequence[Checkpoint], *,
    keyring: Keyring, timezone: str, made_at: datetime, directory: Path | None = None,
) -> Path:
    """Write the signed zip to a temporary file and return its path (the caller deletes it)."""
    assert clip.object_key and clip.manifest_key and clip.sha256
    clip_name = Path(clip.object_key).name
    subject = f"case {case.number}, clip #{clip.id}"
    current = keyring.current()
    manifest = b"".join(store.read(clip.manifest_key, version_id=clip.manifest_version_id))
    if clip.manifest_sha256 and hashlib.sha256(manifest).hexdigest() != clip.manifest_sha256:
        raise IntegrityError(f"clip {clip.id}: the stored manifest no longer matches its recorded SHA-256; not packaged")
    files: dict[str, bytes] = {
        "manifest.json": manifest,
        "manifest.json.sig": keyring.sign(manifest)[1],
        "custody.json": trail_json(events, subject=subject),
        "custody.csv": trail_csv(events),
        "custody.html": trail_html(events, subject=subject, timezone=timezone, printed=made_at),
        **_chain_files(checkpoints, keyring),
        "public_key.pem": current.pem,
        VERIFIER_NAME: Path(verify_evidence.__file__).read_bytes(),
        "README.txt": README.format(
            case_number=case.number, case_title=case.title, unit=case.unit, clip_id=clip.id,
            camera_code=clip.camera.code, camera_mac=clip.camera.mac, start=clip.start_at.isoformat(),
            end=clip.end_at.isoformat(), sha256=clip.sha256, made_at=made_at.isoformat(), clip_name=clip_name,
            key_id=current.key_id, fingerprint=current.fingerprint,
        ).encode("utf-8"),
    }
    handle = tempfile.NamedTemporaryFile(prefix="evidence-", suffix=".zip", dir=directory, delete=False)
    handle.close()
    path = Path(handle.name)
    try:
        _write_zip(path, store, clip, clip_name, files, keyring, made_at)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def _chain_files(checkpoints: Sequence[Checkpoint], keyring: Keyring) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    index = []
    for checkpoint in checkpoints:
        if checkpoint.body is None or checkpoint.signature is None or checkpoint.key_id is None:
            raise IntegrityError(f"checkpoint {checkpoint.key} is unsigned (written before signing); "
                                 "the events it covers cannot be packaged verifiably")
        key = keyring.public_key(checkpoint.key_id)
        if key is None:
            raise IntegrityError(f"checkpoint {checkpoint.key} is signed by unknown key {checkpoint.key_id}")
        name = f"chain/{checkpoint.seq:012d}.json"
        files[name], files[name + ".sig"] = checkpoint.body, checkpoint.signature
        files[f"keys/{key.key_id}.pem"] = key.pem
        index.append({"body": name, "signature": name + ".sig", "key": f"keys/{key.key_id}.pem",
                      "from_seq": checkpoint.from_seq, "seq": checkpoint.seq})
    files["chain/checkpoints.json"] = json.dumps(index, indent=2).encode("utf-8")
    return files


def _write_zip(path: Path, store: ClipStore, clip: Clip, clip_name: str, files: dict[str, bytes], keyring: Keyring,
               made_at: datetime) -> None:
    stamp = made_at.timetuple()[:6]
    sums: list[str] = []
    with zipfile.ZipFile(path, "w") as archive:
        digest = hashlib.sha256()
        with archive.open(zipfile.ZipInfo(clip_name, date_time=stamp), "w", force_zip64=True) as out:
            for chunk in store.read(clip.object_key or "", version_id=clip.version_id):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != clip.sha256:
            raise IntegrityError(f"clip {clip.id}: stored bytes no longer match the recorded SHA-256; not packaged")
        sums.append(f"{digest.hexdigest()}  {clip_name}")
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
            sums.append(f"{hashlib.sha256(data).hexdigest()}  {name}")
        listing = ("\n".join(sums) + "\n").encode("utf-8")
        archive.writestr(zipfile.ZipInfo("SHA256SUMS", date_time=stamp), listing)
        archive.writestr(zipfile.ZipInfo("SHA256SUMS.sig", date_time=stamp), keyring.sign(listing)[1])
