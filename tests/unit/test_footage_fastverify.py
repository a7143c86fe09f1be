"""The raw-row verifier hashes exactly what camera_ops.custody.chain hashes."""

from __future__ import annotations

from datetime import datetime, timezone

from camera_ops.custody.chain import next_record, verify_chain
from camera_ops.custody.fastverify import verify_rows
from storage.models_evidence import CanonicalJSON


def raw(record, *, sqlite_time: bool):
    details = CanonicalJSON().process_bind_param(dict(record.details), None) if record.details else None  # type: ignore[arg-type]
    at = record.at.replace(tzinfo=None).isoformat(sep=" ") if sqlite_time else record.at
    return (record.seq, record.event_type, record.actor, record.role, record.case, record.clip, record.purpose,
            record.client_address, at, details, record.prev_hash, record.hash)


def chain_of(n: int):
    head, out = None, []
    for i in range(n):
        head = next_record(head, event_type="downloaded", actor="cán bộ", role="officer",
                           at=datetime(2026, 11, 21, 14, 10, i, 5 * i, tzinfo=timezone.utc), case=3, clip=i or None,
                           purpose="điều tra" if i % 2 else None, client_address="10.0.0.1",
                           details={"z": 1, "a": ["ư", i]} if i % 3 else {})
        out.append(head)
    return out


def test_raw_rows_verify_like_the_chain_module():
    records = chain_of(20)
    assert verify_chain(records).ok
    for sqlite_time in (True, False):
        assert verify_rows([raw(r, sqlite_time=sqlite_time) for r in records]).ok


def test_raw_rows_report_the_same_first_broken_link():
    rows = [list(raw(r, sqlite_time=True)) for r in chain_of(10)]
    rows[6][6] = "sửa"
    result = verify_rows([tuple(r) for r in rows])
    assert not result.ok and result.first_broken_seq == 7 and "changed" in result.reason
