"""Custody hash chain: an untouched chain verifies; every kind of tampering is found at the right seq."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID

import pytest

from camera_ops.custody.chain import (
    GENESIS_HASH,
    EventRecord,
    canonical_bytes,
    canonical_parts,
    compute_hash,
    details_text,
    format_time,
    link,
    next_record,
    verify_against_checkpoint,
    verify_chain,
)

T0 = datetime(2026, 11, 21, 14, 10, 0, 123456, tzinfo=UTC)
EVENTS = ("requested", "acquired", "verified", "archived", "viewed", "downloaded", "link_issued")


def make_chain(n: int) -> list[EventRecord]:
    rows: list[EventRecord] = []
    head = None
    for i in range(n):
        head = next_record(
            head,
            event_type=EVENTS[i % len(EVENTS)],
            actor=f"officer{i % 7}",
            role="officer",
            at=T0 + timedelta(seconds=i),
            case="VA-2026/123",
            clip=f"clip-{i // 10}",
            purpose="Điều tra vụ trộm xe máy",
            client_address="10.0.0.7",
            details={"bytes": i * 1000, "range": f"{i}-"} if i % 3 else {},
        )
        rows.append(head)
    return rows


CHAIN = make_chain(1_000)
K = 500  # the row we tamper with (seq K is at index K - 1)


def auditor_hash(row: EventRecord) -> str:
    """What the README tells an auditor to do, written independently of chain.py."""
    event = {
        "seq": row.seq,
        "event_type": row.event_type,
        "actor": row.actor,
        "role": row.role,
        "case": row.case,
        "clip": row.clip,
        "purpose": row.purpose,
        "client_address": row.client_address,
        "at": row.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "details": dict(row.details),
        "prev_hash": row.prev_hash,
    }
    canonical = json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(bytes.fromhex(row.prev_hash) + canonical).hexdigest()


def tampered(index: int, **changes: object) -> list[EventRecord]:
    rows = list(CHAIN)
    rows[index] = replace(rows[index], **changes)  # type: ignore[arg-type]
    return rows


def test_untouched_chain_verifies() -> None:
    result = verify_chain(CHAIN)
    assert result.ok and result.checked == 1_000
    assert (result.head_seq, result.head_hash) == (1_000, CHAIN[-1].hash)


def test_empty_chain_verifies() -> None:
    assert verify_chain([]).ok


def test_first_event_links_to_genesis() -> None:
    assert CHAIN[0].seq == 1 and CHAIN[0].prev_hash == GENESIS_HASH == "0" * 64
    assert CHAIN[1].prev_hash == CHAIN[0].hash


def test_hashes_can_be_recomputed_without_camera_ops() -> None:
    assert all(auditor_hash(row) == row.hash for row in CHAIN[:50])


def test_known_answer_keeps_the_format_from_drifting() -> None:
    row = EventRecord(seq=1, event_type="downloaded", actor="an", role="officer", at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert canonical_bytes(row, GENESIS_HASH) == (
        b'{"actor":"an","at":"2026-01-02T03:04:05.000000Z","case":null,"client_address":null,"clip":null,'
        b'"details":{},"event_type":"downloaded","prev_hash":"' + b"0" * 64 + b'","purpose":null,"role":"officer","seq":1}'
    )
    assert compute_hash(row) == hashlib.sha256(bytes(32) + canonical_bytes(row, GENESIS_HASH)).hexdigest()


@pytest.mark.parametrize(
    ("index", "changes"),
    [
        (K - 1, {"actor": "someone.else"}),
        (K - 1, {"purpose": "Điều tra vụ khác"}),
        (K - 1, {"at": T0 + timedelta(seconds=K - 1, microseconds=1)}),
        (K - 1, {"details": {"bytes": 1}}),
        (K - 1, {"client_address": None}),
        (K - 1, {"event_type": "viewed"}),
    ],
    ids=["actor", "purpose", "time-by-1us", "details", "client", "event-type"],
)
def test_edited_field_is_found_at_its_seq(index: int, changes: dict[str, object]) -> None:
    result = verify_chain(tampered(index, **changes))
    assert not result.ok
    assert result.first_broken_seq == K and "changed" in (result.reason or "")
    assert (result.head_seq, result.head_hash) == (K - 1, CHAIN[K - 2].hash)


def test_deleted_row_is_found_as_a_seq_gap() -> None:
    rows = CHAIN[: K - 1] + CHAIN[K:]
    result = verify_chain(rows)
    assert not result.ok and result.first_broken_seq == K and "missing" in (result.reason or "")


def test_swapped_pair_is_found_at_the_first_of_them() -> None:
    rows = list(CHAIN)
    rows[K - 1], rows[K] = rows[K], rows[K - 1]
    result = verify_chain(rows)
    assert not result.ok and result.first_broken_seq == K


def test_swapped_seq_numbers_read_back_in_seq_order_are_found() -> None:
    a, b = CHAIN[K - 1], CHAIN[K]
    rows = CHAIN[: K - 1] + [replace(b, seq=K), replace(a, seq=K + 1)] + CHAIN[K + 1 :]
    result = verify_chain(rows)
    assert not result.ok and result.first_broken_seq == K


def test_changed_prev_hash_is_found() -> None:
    result = verify_chain(tampered(K - 1, prev_hash="f" * 64))
    assert not result.ok and result.first_broken_seq == K and "link" in (result.reason or "")


def test_changed_prev_hash_with_recomputed_hash_is_still_found() -> None:
    forged = replace(CHAIN[K - 1], prev_hash="f" * 64, actor="forger")
    forged = replace(forged, hash=compute_hash(forged))
    rows = list(CHAIN)
    rows[K - 1] = forged
    assert verify_chain(rows).first_broken_seq == K


def test_duplicated_row_is_found() -> None:
    rows = CHAIN[:K] + [CHAIN[K - 1]] + CHAIN[K:]
    result = verify_chain(rows)
    assert not result.ok and result.first_broken_seq == K + 1


def test_only_the_first_break_is_reported() -> None:
    rows = tampered(K - 1, actor="x")
    rows[K + 99] = replace(rows[K + 99], actor="y")
    assert verify_chain(rows).first_broken_seq == K


def rewritten_from(index: int) -> list[EventRecord]:
    """An attacker edits one row and recomputes every later hash: internally consistent."""
    rows = list(CHAIN[:index])
    head = rows[-1] if rows else None
    for row in CHAIN[index:]:
        fields = {k: getattr(row, k) for k in ("event_type", "role", "at", "case", "clip", "purpose", "client_address", "details")}
        actor = "forger" if row.seq == index + 1 else row.actor
        head = next_record(head, actor=actor, **fields)
        rows.append(head)
    return rows


def test_full_rewrite_passes_the_chain_but_fails_the_checkpoint() -> None:
    rows = rewritten_from(K - 1)
    assert verify_chain(rows).ok
    result = verify_against_checkpoint(rows, 800, CHAIN[799].hash)
    assert not result.ok and result.first_broken_seq == 800 and "rewritten" in (result.reason or "")


def test_checkpoint_before_the_edit_cannot_see_it_but_is_not_wrong() -> None:
    assert verify_against_checkpoint(rewritten_from(K - 1), 400, CHAIN[399].hash).ok


def test_truncated_chain_is_found_against_the_checkpoint() -> None:
    result = verify_against_checkpoint(CHAIN[:900], 950, CHAIN[949].hash)
    assert not result.ok and result.first_broken_seq == 950 and "truncated" in (result.reason or "")


def test_untouched_chain_matches_its_checkpoint() -> None:
    assert verify_against_checkpoint(CHAIN, 1_000, CHAIN[-1].hash).ok


def test_a_broken_chain_is_reported_before_the_checkpoint() -> None:
    result = verify_against_checkpoint(tampered(K - 1, actor="x"), 800, CHAIN[799].hash)
    assert result.first_broken_seq == K


def test_verifying_the_tail_from_a_trusted_checkpoint() -> None:
    result = verify_chain(CHAIN[600:], start_seq=601, start_prev_hash=CHAIN[599].hash)
    assert result.ok and result.checked == 400


def test_time_is_canonical_whatever_the_zone() -> None:
    vietnam = timezone(timedelta(hours=7))
    assert format_time(T0.astimezone(vietnam)) == format_time(T0) == "2026-11-21T14:10:00.123456Z"
    with pytest.raises(ValueError, match="naive"):
        format_time(datetime(2026, 11, 21, 14, 10))


def test_ids_may_be_ints_or_uuids() -> None:
    uid = UUID("12345678-1234-5678-1234-567812345678")
    row = EventRecord(seq=1, event_type="viewed", actor="a", role="auditor", at=T0, case=42, clip=uid)  # type: ignore[arg-type]
    text = canonical_bytes(row, GENESIS_HASH).decode()
    assert '"case":42' in text and f'"clip":"{uid}"' in text
    assert link(GENESIS_HASH, row) == compute_hash(row)


def test_canonical_form_matches_sorted_json_for_awkward_text() -> None:
    row = next_record(
        None,
        event_type="metadata_edited",
        actor='Nguyễn "Văn" A\\',
        role="admin",
        at=T0,
        purpose="tab\tnewline\n\u0001 emoji \U0001f4f7",
        details={"before": {"title": "Vụ trộm"}, "after": {"title": "Vụ cướp"}, "n": 1.5, "z": None, "a": [1, "x"]},
    )
    assert auditor_hash(row) == row.hash


AWKWARD = next_record(
    None, event_type="metadata_edited", actor='Nguyễn "Văn" A\\', role="admin", at=T0, case=None, clip=7,
    purpose="tab\tnewline\n\u0001 emoji \U0001f4f7", details={"before": {"title": "Vụ trộm"}, "z": None, "a": [1, "x"]},
)


@pytest.mark.parametrize("row", [CHAIN[0], CHAIN[K], CHAIN[-1], AWKWARD, replace(AWKWARD, purpose=None, seq=10**12)])
def test_the_canonical_text_around_the_chain_slots_rebuilds_the_hashed_bytes(row: EventRecord) -> None:
    """What the database fills in when it links an event itself (the ledger writer on PostgreSQL):
    the text before prev_hash, the previous hash, the text between, the seq, the closing brace;
    hashed after the previous digest, as the auditor does."""
    before, between = canonical_parts(row)
    text = before + row.prev_hash + between + str(row.seq) + "}"
    assert text.encode("utf-8") == canonical_bytes(row, row.prev_hash)
    assert hashlib.sha256(bytes.fromhex(row.prev_hash) + text.encode("utf-8")).hexdigest() == link(row.prev_hash, row)
    assert canonical_parts(replace(row, seq=row.seq + 1, prev_hash="f" * 64)) == (before, between)  # slots only


def test_a_head_at_seq_zero_is_followed_by_the_first_event() -> None:
    """The ledger's head row starts at (0, genesis); the event after it is the chain's first."""
    genesis = EventRecord(seq=0, event_type="-", actor="-", role="-", at=T0, hash=GENESIS_HASH)
    fields = dict(event_type="viewed", actor="a", role="officer", at=T0, details={"n": 1})

    assert next_record(genesis, **fields) == next_record(None, **fields)


def test_stored_details_text_is_the_hashed_text() -> None:
    from storage.models_evidence import CanonicalJSON

    details = {"z": [1, "ư"], "a": {"y": None, "b": 2.5}, "m": "tab\tquote\""}

    stored = CanonicalJSON().process_bind_param(details, None)  # type: ignore[arg-type]

    assert details_text(details) == stored
    assert details_text({}) == details_text(None) == "{}"


def test_every_custody_event_type_has_a_vietnamese_and_an_english_label():
    from camera_ops.custody.ledger import EventType
    from camera_ops.i18n import t

    for e in EventType:
        vi, en = t(f"event.{e.value}", "vi"), t(f"event.{e.value}", "en")  # KeyError when missing
        assert vi and en and vi != en, e.value
