"""Bulk camera import from CSV, one row per camera, with a result per row.

Rows are validated in Python first and inserted in batches, so 10,000 pending cameras import in
seconds. Importing the same file twice changes nothing: a row whose camera code already exists is
reported as ``duplicate`` and left alone. With ``handshake=True`` every new row is registered
through the ONVIF handshake (slow: one camera at a time, each bounded by its timeout).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TextIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from camera_ops import audit
from camera_ops.audit import Actor
from camera_ops.errors import CameraOpsError, ValidationFailed
from camera_ops.registry.areas import RowResult, path_in_scope
from camera_ops.registry.csv_input import dict_rows
from camera_ops.registry.cameras import CameraInput, _new_camera, check_network, register_camera, take_stream_urls
from camera_ops.registry.validation import check_bearing, check_coordinates, check_host, check_port, check_text
from camera_ops.settings import Settings
from storage.models import (
    Area,
    AreaKind,
    Camera,
    CameraAreaHistory,
    CameraKind,
    Donor,
    DonorKind,
    PlaybackClock,
    PlaybackStyle,
    Watches,
)

REQUIRED_COLUMNS = ("code", "name", "hamlet_code", "host", "username", "password")
OPTIONAL_COLUMNS = (
    "onvif_port", "donor_name", "donor_kind", "donated_on", "install_point", "address", "latitude", "longitude",
    "watches", "bearing_deg", "note",
    "kind", "stream_url", "sub_stream_url", "snapshot_url", "rtsp_port", "http_port", "playback_style",
    "playback_clock",  # utc / local; empty or auto: by the playback style
)
# An RTSP-only row (``kind`` = rtsp, or a ``stream_url`` given) may leave ``host`` empty: it is the URL's.
FLUSH_EVERY_ROWS = 1000  # batch inserts; one flush per row would dominate a 10,000-row import


class _Lookups:
    """Per-import caches so each hamlet / donor is looked up once."""

    def __init__(self, session: Session, scope: list[str] | None):
        self.session, self.scope = session, scope
        self.hamlets: dict[str, Area | None] = {}
        self.donors: dict[tuple[int, str], Donor] = {(d.area_id, d.name): d for d in session.scalars(select(Donor))}
        self.codes: set[str] = set(session.scalars(select(Camera.code)))
        self.created_donors: set[tuple[int, str]] = set()

    def hamlet(self, code: str) -> Area:
        if code not in self.hamlets:
            self.hamlets[code] = self.session.scalar(
                select(Area).where(Area.code == code, Area.valid_to.is_(None), Area.kind == AreaKind.hamlet))
        area = self.hamlets[code]
        if area is None or not path_in_scope(area.path, self.scope):
            raise ValidationFailed(f"unknown hamlet code {code!r}", field="hamlet_code",
                                   key="err.import.unknown_hamlet",
                                   params={"code": code})
        return area

    def donor(self, commune_id: int, name: str, kind: DonorKind) -> Donor:
        """The donor of that name in the commune; a new one is inserted with the next batch.
        Called only once the row is otherwise valid (a refused row leaves no donor behind)."""
        key = (commune_id, name)
        if key not in self.donors:
            donor = Donor(area_id=commune_id, name=name, kind=kind)
            self.session.add(donor)
            self.donors[key] = donor
            self.created_donors.add(key)
        return self.donors[key]

    def forget_donor(self, donor: Donor) -> None:
        """Take back a donor made for a row that then failed (handshake mode), unless others use it."""
        key = (donor.area_id, donor.name)
        if key not in self.created_donors or self.donors.get(key) is not donor:
            return
        self.session.flush()
        if not self.session.scalar(select(func.count()).select_from(Camera).where(Camera.donor_id == donor.id)):
            self.session.delete(donor)
            self.session.flush()
            del self.donors[key]
            self.created_donors.discard(key)


# One filled-in example row of the downloadable template (a made-up camera; dates dd/mm/yyyy).
TEMPLATE_EXAMPLE = {
    "code": "CAM-T1-01", "name": "Cổng thôn 1", "hamlet_code": "MÃ-THÔN", "host": "192.168.1.64",
    "username": "admin", "password": "mật-khẩu-camera", "onvif_port": "80", "donor_name": "Hộ ông Nguyễn Văn A",
    "donor_kind": "household", "donated_on": "15/03/2025", "install_point": "Cột điện đầu thôn",
    "address": "Đầu thôn 1", "latitude": "21,0285", "longitude": "105,8542", "watches": "entrance",
    "bearing_deg": "90", "note": "",
}


def import_template_csv() -> str:
    """The import columns (required first) and one example row, as CSV text."""
    columns = [*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS]
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(columns)
    writer.writerow([TEMPLATE_EXAMPLE.get(c, "") for c in columns])
    return out.getvalue()


def import_cameras_csv(
    session: Session, settings: Settings, source: str | TextIO, *, scope: list[str] | None, handshake: bool = False,
    progress: Callable[[int], None] | None = None, actor: Actor | None = None, detailed_errors: bool = True,
) -> list[RowResult]:
    """``source`` is the decoded text or a text stream (``csv_input.open_csv_text`` over an upload):
    rows are read one at a time. Call it from a worker thread, never on the event loop: a large file
    takes seconds and a handshake runs its own event loop."""
    header, rows = dict_rows(source)
    missing = set(REQUIRED_COLUMNS) - set(header)
    if missing:
        raise ValidationFailed(f"CSV header lacks column(s): {', '.join(sorted(missing))}", field="file",
                               key="err.import.missing_columns", params={"columns": ", ".join(sorted(missing))})
    lookups = _Lookups(session, scope)
    results: list[RowResult] = []
    batch: list[Camera] = []
    for line_no, row in enumerate(rows, start=2):
        result, camera = _import_row(session, settings, lookups, line_no, row, handshake=handshake, actor=actor,
                                          detailed_errors=detailed_errors)
        results.append(result)
        if camera is not None:
            batch.append(camera)
        if len(batch) >= FLUSH_EVERY_ROWS:
            _flush_batch(session, batch)
            batch = []
        if progress is not None:
            progress(1)
    _flush_batch(session, batch)
    created = sum(1 for r in results if r.outcome == "created")
    if created:
        audit.record(session, actor, "camera.import", target_type="camera",
                     message=f"{created} created, {len(results) - created} not (handshake: {'yes' if handshake else 'no'})")
    return results


def _flush_batch(session: Session, cameras: list[Camera]) -> None:
    """Insert a batch of pending cameras and open their area history."""
    session.add_all(cameras)
    session.flush()
    session.add_all(CameraAreaHistory(camera_id=c.id, area_id=c.area_id, valid_from=c.created_at, reason="imported")
                    for c in cameras)
    session.flush()


def _import_row(
    session: Session, settings: Settings, lookups: _Lookups, line_no: int, row: dict[str, Any], *, handshake: bool,
    actor: Actor | None = None, detailed_errors: bool = True,
) -> tuple[RowResult, Camera | None]:
    """One row: a result, and the new pending camera to insert with the batch (None otherwise)."""
    code = (row.get("code") or "").strip()
    if not code:
        empty = ValidationFailed("camera code is empty", field="code", key="err.field.required")
        return RowResult(line_no, "error", empty.message, code, error=empty.to_dict()), None
    if code in lookups.codes:
        return RowResult(line_no, "duplicate", f"camera {code} already exists; unchanged", code,
                         note_key="import.note.duplicate"), None
    camera = None
    try:
        data, donor = _row_input(session, lookups, row, code)
        if handshake:
            if donor is not None:
                session.flush()
                data.donor_id = donor.id
            outcome = register_camera(session, settings, data, scope=lookups.scope, save_if_unreachable=True,
                                      actor=actor, detailed_errors=detailed_errors)
            if outcome.camera is None:
                if donor is not None:
                    lookups.forget_donor(donor)
                raise outcome.error or ValidationFailed("registration failed", key="err.import.registration")
            note = f"pending: {outcome.error.message}" if outcome.error else "registered"
            note_error = outcome.error.to_dict() if outcome.error else None
            note_key = "import.note.pending_error" if outcome.error else "import.note.registered"
        else:
            camera = _new_camera(data, lookups.hamlet(data_hamlet_code(row)), settings)
            camera.donor = donor
            note, note_error, note_key = "pending handshake", None, "import.note.pending"
    except CameraOpsError as exc:
        where = f" ({exc.field})" if exc.field else ""
        return RowResult(line_no, "error", exc.message + where, code, error=exc.to_dict()), None
    lookups.codes.add(code)
    return RowResult(line_no, "created", note, code, error=note_error, note_key=note_key), camera


def data_hamlet_code(row: dict[str, Any]) -> str:
    return (row.get("hamlet_code") or "").strip()


def _row_input(
    session: Session, lookups: _Lookups, row: dict[str, Any], code: str
) -> tuple[CameraInput, Donor | None]:
    for name, value in row.items():  # every cell, the password too, refuses control characters
        check_text(value if isinstance(value, str) else None, str(name))

    def text(name: str) -> str | None:
        value = (row.get(name) or "").strip()
        return value or None

    hamlet = lookups.hamlet(data_hamlet_code(row))
    camera_kind = _choice(CameraKind, text("kind") or ("rtsp" if text("stream_url") else "onvif"), "kind")
    if camera_kind is CameraKind.recorder_channel:
        raise ValidationFailed("register a recorder's channels through the recorder", field="kind",
                               key="err.camera.recorder_channel")
    host = check_host(row.get("host") or "") if camera_kind is CameraKind.onvif or text("host") else ""
    if host:
        check_network(host)  # outside CAMERA_OPS_CAMERA_NETWORKS: refused on this row, nothing saved
    port = check_port(_int(text("onvif_port") or "80", "onvif_port"))
    rtsp_port = check_port(_int(text("rtsp_port"), "rtsp_port"), field="rtsp_port") if text("rtsp_port") else None
    http_port = check_port(_int(text("http_port"), "http_port"), field="http_port") if text("http_port") else None
    style = _choice(PlaybackStyle, text("playback_style"), "playback_style") if text("playback_style") else None
    clock_text = text("playback_clock")
    clock = _choice(PlaybackClock, clock_text, "playback_clock") if clock_text and clock_text != "auto" else None
    latitude, longitude = _float(text("latitude"), "latitude"), _float(text("longitude"), "longitude")
    check_coordinates(latitude, longitude)
    bearing = _float(text("bearing_deg"), "bearing_deg")
    check_bearing(bearing)
    donor_kind = _choice(DonorKind, text("donor_kind") or "household", "donor_kind") if text("donor_name") else None
    if camera_kind is CameraKind.onvif and not row.get("password"):
        raise ValidationFailed("camera password is empty", field="password", key="err.field.required")
    data = CameraInput(
        code=code, name=text("name") or code, area_id=hamlet.id, host=host, onvif_port=port,
        username=text("username") or "", password=row.get("password") or "",
        donated_on=_date(text("donated_on")), install_point=text("install_point"), address=text("address"),
        latitude=latitude, longitude=longitude, watches=_choice(Watches, text("watches") or "other", "watches"),
        bearing_deg=bearing, note=text("note"), kind=camera_kind, stream_url=text("stream_url"),
        sub_stream_url=text("sub_stream_url"), snapshot_url=text("snapshot_url"), rtsp_port=rtsp_port,
        http_port=http_port, playback_style=style, playback_clock=clock,
    )
    if camera_kind is CameraKind.rtsp:
        take_stream_urls(data)
    donor = None  # made last: every check of the row has passed (all or nothing)
    if donor_kind is not None:
        donor = lookups.donor(hamlet.parent_id or hamlet.id, text("donor_name") or "", donor_kind)
    return data, donor


def _int(value: str, field: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ValidationFailed(f"{field} {value!r} is not a whole number", field=field, key="err.field.not_integer",
                               params={"value": value}) from None


def _float(value: str | None, field: str) -> float | None:
    if value is None:
        return None
    try:
        return float(value.replace(",", "."))
    except ValueError:
        raise ValidationFailed(f"{field} {value!r} is not a number", field=field, key="err.field.not_number",
                               params={"value": value}) from None


def _date(value: str | None) -> date | None:
    """``dd/mm/yyyy`` as communes write it (also ``d/m/yyyy``), or ISO ``yyyy-mm-dd``."""
    if value is None:
        return None
    try:
        if "/" in value:
            return datetime.strptime(value.strip(), "%d/%m/%Y").date()
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(f"donated_on {value!r} is not a date (YYYY-MM-DD)", field="donated_on",
                               key="err.field.not_date", params={"value": value}) from None


def _choice(enum_cls: Any, value: str, field: str) -> Any:
    try:
        return enum_cls(value.strip().lower())
    except ValueError:
        allowed = ", ".join(m.value for m in enum_cls)
        raise ValidationFailed(f"{field} {value!r} is not one of: {allowed}", field=field, key="err.field.not_allowed",
                               params={"value": value, "allowed": allowed}) from None
