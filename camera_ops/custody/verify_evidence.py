#!/usr/bin/env python3
"""Standalone verifier of a camera-ops evidence package / Công cụ kiểm tra gói chứng cứ độc lập.

Needs only Python 3.9+ and the ``cryptography`` package (pip install cryptography); it does not
use camera-ops, its server or its database. Usage:

    python3 verify_evidence.py PACKAGE.zip|FOLDER [--fingerprint HEX]

``--fingerprint``: the SHA-256 fingerprint of the service's public key as published by the
service (its web page "Kiểm tra nhật ký truy xuất", API /api/v1/custody/keys); without it the
package's own key is trusted and its fingerprint printed for you to compare.

Checks, in order: the package signature over SHA256SUMS; every file's SHA-256; the manifest's
signature; that the clip's SHA-256 and size are the manifest's and the custody ledger's; every
custody event's hash recomputed from its content; every event linked, by hash, to a signed
checkpoint (the chain segment lists other events as hashes only). Exit 0 and "OK" when all hold;
exit 1 with one "FAILED:" line per problem otherwise.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import zipfile
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

GENESIS = "0" * 64
CHAIN_KEYS = ("actor", "at", "case", "client_address", "clip", "details", "event_type", "prev_hash", "purpose",
              "role", "seq")
UNSIGNED_NAMES = ("SHA256SUMS", "SHA256SUMS.sig")


class Failed(Exception):
    pass


def load(path: Path) -> dict[str, bytes]:
    """Every file of the package (a zip, or the folder it was unpacked into)."""
    if path.is_dir():
        return {p.relative_to(path).as_posix(): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}
    try:
        with zipfile.ZipFile(path) as archive:
            files = {}
            for name in archive.namelist():
                if not name.endswith("/"):
                    try:
                        files[name] = archive.read(name)
                    except (zipfile.BadZipFile, OSError) as exc:  # a CRC mismatch: the member was changed
                        raise Failed(f"{name}: damaged inside the zip ({exc})") from exc
            return files
    except (zipfile.BadZipFile, OSError) as exc:
        raise Failed(f"{path.name}: not a readable zip file ({exc})") from exc


def public_key(pem: bytes, name: str) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError as exc:
        raise Failed(f"{name}: not a readable public key (it was changed)") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise Failed(f"{name}: not an Ed25519 public key")
    return key


def fingerprint(key: Ed25519PublicKey) -> str:
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def check_signature(key: Ed25519PublicKey, signature: bytes, data: bytes, what: str, key_name: str) -> None:
    try:
        key.verify(signature, data)
    except InvalidSignature:
        raise Failed(f"{what}: the signature does not verify with {key_name} (fingerprint {fingerprint(key)}): "
                     "the file was changed after signing, or it was signed by another key") from None


def canonical(event: dict) -> bytes:
    return json.dumps({k: event.get(k) for k in CHAIN_KEYS}, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def event_hash(event: dict) -> str:
    return hashlib.sha256(bytes.fromhex(event["prev_hash"]) + canonical(event)).hexdigest()


def verify(files: dict[str, bytes], expected_fingerprint: str | None) -> list[str]:
    """The lines to print on success; raises Failed at the first problem."""
    notes = []
    for needed in ("SHA256SUMS", "SHA256SUMS.sig", "public_key.pem", "manifest.json", "manifest.json.sig",
                   "custody.json", "chain/checkpoints.json"):
        if needed not in files:
            raise Failed(f"{needed}: missing from the package")
    key = public_key(files["public_key.pem"], "public_key.pem")
    fpr = fingerprint(key)
    if expected_fingerprint and fpr != expected_fingerprint.strip().lower().replace(":", ""):
        raise Failed(f"public_key.pem: fingerprint {fpr} is not the service's published {expected_fingerprint}: "
                     "the package was signed by another key")
    notes.append(f"public key fingerprint (SHA-256): {fpr}")
    check_signature(key, files["SHA256SUMS.sig"], files["SHA256SUMS"], "SHA256SUMS", "public_key.pem")
    listed = check_sums(files)
    notes.append(f"signature over SHA256SUMS: OK; {len(listed)} files match their SHA-256")
    check_signature(key, files["manifest.json.sig"], files["manifest.json"], "manifest.json", "public_key.pem")
    manifest = json.loads(files["manifest.json"])
    clip_name = manifest["object"]["key"].rsplit("/", 1)[-1]
    if clip_name not in files:
        raise Failed(f"{clip_name}: the clip named by the manifest is missing")
    clip = files[clip_name]
    digest = hashlib.sha256(clip).hexdigest()
    if digest != manifest["object"]["sha256"] or len(clip) != manifest["object"]["size_bytes"]:
        raise Failed(f"{clip_name}: SHA-256 {digest} / {len(clip)} bytes is not the manifest's "
                     f"{manifest['object']['sha256']} / {manifest['object']['size_bytes']} bytes")
    if hashlib.sha512(clip).hexdigest() != manifest["object"]["sha512"]:
        raise Failed(f"{clip_name}: SHA-512 is not the manifest's")
    notes.append(f"clip {clip_name}: {len(clip)} bytes, SHA-256 {digest} = manifest")
    pinned = check_checkpoints(files)
    events = json.loads(files["custody.json"])["events"]
    check_events(events, pinned, digest)
    notes.append(f"custody: {len(events)} events of this clip, each hash recomputed and linked to a signed "
                 f"checkpoint (up to event {max(pinned)})")
    return notes


def check_sums(files: dict[str, bytes]) -> list[str]:
    listed = []
    for number, line in enumerate(files["SHA256SUMS"].decode("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        expected, _, name = line.partition("  ")
        if not name or len(expected) != 64:
            raise Failed(f"SHA256SUMS line {number} is malformed")
        if name not in files:
            raise Failed(f"{name}: listed in SHA256SUMS but missing from the package")
        if hashlib.sha256(files[name]).hexdigest() != expected:
            raise Failed(f"{name}: SHA-256 differs from SHA256SUMS (the file was changed)")
        listed.append(name)
    extra = sorted(set(files) - set(listed) - set(UNSIGNED_NAMES))
    if extra:
        raise Failed(f"{extra[0]}: in the package but not listed in SHA256SUMS (added afterwards)")
    return listed


def check_checkpoints(files: dict[str, bytes]) -> dict[int, str]:
    """seq → hash for every event the package's signed checkpoints pin."""
    pinned: dict[int, str] = {}
    for entry in json.loads(files["chain/checkpoints.json"]):
        body_name, sig_name, key_name = entry["body"], entry["signature"], entry["key"]
        for name in (body_name, sig_name, key_name):
            if name not in files:
                raise Failed(f"{name}: missing from the package")
        key = public_key(files[key_name], key_name)
        check_signature(key, files[sig_name], files[body_name], body_name, key_name)
        body = json.loads(files[body_name])
        hashes, first, last = body["hashes"], body["from_seq"], body["seq"]
        if len(hashes) != last - first + 1 or hashes[-1] != body["hash"]:
            raise Failed(f"{body_name}: lists {len(hashes)} hashes for events {first}..{last}")
        span = dict(zip(range(first, last + 1), hashes))
        if first > 1:
            span[first - 1] = body["prev_hash"]
        for seq, digest in span.items():
            if pinned.setdefault(seq, digest) != digest:
                raise Failed(f"{body_name}: disagrees with another checkpoint about event {seq}")
    if not pinned:
        raise Failed("chain/checkpoints.json: no signed checkpoint in the package")
    return pinned


def check_events(events: list[dict], pinned: dict[int, str], clip_sha256: str) -> None:
    if not events:
        raise Failed("custody.json: no custody events for this clip")
    for event in events:
        seq = event["seq"]
        if event_hash(event) != event["hash"]:
            raise Failed(f"custody.json: event {seq} does not hash to its recorded hash (its content was changed)")
        if pinned.get(seq) != event["hash"]:
            raise Failed(f"custody.json: event {seq} is not the event the signed checkpoints hold at {seq}")
        expected_prev = GENESIS if seq == 1 else pinned.get(seq - 1)
        if event["prev_hash"] != expected_prev:
            raise Failed(f"custody.json: event {seq} does not link to event {seq - 1} of the signed chain")
    for event in events:
        if event["event_type"] in ("acquired", "verified") and event["details"].get("sha256") != clip_sha256:
            raise Failed(f"custody.json: the {event['event_type']} event {event['seq']} records SHA-256 "
                         f"{event['details'].get('sha256')}, not the clip's {clip_sha256}")
    if not any(e["event_type"] == "verified" for e in events):
        raise Failed("custody.json: no 'verified' event records the clip's hash")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Verify a camera-ops evidence package without camera-ops.")
    parser.add_argument("package", type=Path, help="the .zip, or the folder it was unpacked into")
    parser.add_argument("--fingerprint", help="the service's published public key fingerprint (SHA-256 hex)")
    args = parser.parse_args(argv)
    try:
        notes = verify(load(args.package), args.fingerprint)
    except Failed as exc:
        print(f"FAILED: {exc}")
        return 1
    except (KeyError, ValueError, TypeError) as exc:  # a file that no longer parses: it was changed
        print(f"FAILED: the package's content is malformed ({type(exc).__name__}: {exc})")
        return 1
    for note in notes:
        print(note)
    print("OK: the package is intact and signed / Gói chứng cứ toàn vẹn và có chữ ký hợp lệ")
    return 0


if __name__ == "__main__":
    sys.exit(main())
