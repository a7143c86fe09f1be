"""The raw-row verifier hashes exactly what camera_ops.custody.chain hashes."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from camera_ops.custody.chain import canonical_bytes, format_time, next_record, verify_chain
from camera_ops.custody.fastverify import canonical_text, verify_rows
from storage.models_evidence import CanonicalJSON

# How ``at`` reaches the verifier: PostgreSQL and SQLite both hand back the canonical text (the query
# formats it); a datetime or SQLite's stored text are still accepted.
TIME_FORMS = ("canonical", "datetime", "sqlite")


def raw(record, *, time_form: str = "canonical"):
    details = CanonicalJSON().process_bind_param(dict(record.details), None) if record.details else None  # type: ignore[arg-type]
    at = {"canonical": format_time(record.at), "datetime": record.at,
          "sqlite": record.at.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")}[time_form]
    return (record.seq, record.event_type, record.actor, record.role, record.case, record.clip, record.purpose,
            record.client_address, at, details, record.prev_hash, record.hash)


def chain_of(n: int):
    head, out = None, []
    for i in range(n):
        head = next_record(head, event_type="downloaded", actor="cán bộ", role="officer",
                           at=datetime(2026, 11, 21, 14, 10, i, 5 * i, tzinfo=timezone.utc), case=3, clip=i or None,
                           purpose="điều tra" if i % 2 else None, client_address="10.0.0.1" if i % 4 else None,
                           details={"z": 1, "a": ["ư", i]} if i % 3 else {})
        out.append(head)
    return out


@pytest.mark.parametrize("time_form", TIME_FORMS)
def test_raw_rows_verify_like_the_chain_module(time_form):
    records = chain_of(20)
    assert verify_chain(records).ok
    assert verify_rows([raw(r, time_form=time_form) for r in records]).ok


@pytest.mark.parametrize("time_form", TIME_FORMS)
def test_raw_canonical_text_is_the_chain_canonical_form(time_form):
    for record in chain_of(12):
        assert canonical_text(record.prev_hash, raw(record, time_form=time_form)).encode() == canonical_bytes(
            record, record.prev_hash)


def test_sqlite_time_text_without_a_fraction_reads_as_the_orm_reads_it():
    record = next_record(None, event_type="viewed", actor="a", role="officer",
                         at=datetime(2026, 11, 21, 14, 10, 0, tzinfo=timezone.utc), details={})
    row = list(raw(record))
    row[8] = "2026-11-21 14:10:00"  # same instant, stored without microseconds
    assert verify_rows([tuple(row)]).ok


def test_raw_rows_report_the_same_first_broken_link():
    rows = [list(raw(r)) for r in chain_of(10)]
    rows[6][6] = "sửa"
    result = verify_rows([tuple(r) for r in rows])
    assert not result.ok and result.first_broken_seq == 7 and "changed" in result.reason
    assert result.head_seq == 6 and result.head_hash == rows[5][11]


def test_non_canonical_stored_details_count_as_an_edit():
    rows = [list(raw(r)) for r in chain_of(4)]
    rows[2][9] = rows[2][9].replace(",", ", ")  # same JSON value, not the hashed text
    result = verify_rows([tuple(r) for r in rows])
    assert not result.ok and result.first_broken_seq == 3


@pytest.mark.parametrize(("mutate", "broken", "words"), [
    (lambda rows: rows.pop(4), 5, "missing"),
    (lambda rows: rows.insert(5, rows[3]), 6, "out of order"),
    (lambda rows: rows.__setitem__(5, rows[5][:10] + ("0" * 64, rows[5][11])), 6, "does not link"),
])
def test_raw_rows_report_gaps_duplicates_and_relinks(mutate, broken, words):
    rows = [raw(r) for r in chain_of(10)]
    mutate(rows)
    result = verify_rows(rows)
    assert not result.ok and result.first_broken_seq == broken and words in result.reason


def test_raw_rows_check_the_checkpoint():
    rows = [raw(r) for r in chain_of(10)]
    assert verify_rows(rows, (7, rows[6][11])).ok
    rewritten = verify_rows(rows, (7, "f" * 64))
    truncated = verify_rows(rows[:5], (7, rows[6][11]))
    assert not rewritten.ok and rewritten.first_broken_seq == 7 and "rewritten" in rewritten.reason
    assert not truncated.ok and "truncated" in truncated.reason
