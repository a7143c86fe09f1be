"""Custody trails as JSON, CSV and a printable HTML page (per clip or per case).

Every row carries its prev_hash and hash, so a trail printed on paper can still be checked event
by event against the ledger (see camera_ops.custody.chain for the recipe). In the CSV, a text cell a
spreadsheet could run as a formula (starting with = + - @, tab or CR) is prefixed with a single quote
(camera_ops.spreadsheet); the JSON trail keeps every value exactly as hashed.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment

from camera_ops.custody.chain import format_time
from camera_ops.i18n import label
from camera_ops.spreadsheet import csv_row
from storage.models_evidence import CustodyEvent

CSV_COLUMNS = ("seq", "at", "event_type", "actor", "role", "case", "clip", "purpose", "client_address", "details",
               "prev_hash", "hash")


def event_dict(event: CustodyEvent) -> dict[str, Any]:
    return {"seq": event.seq, "at": format_time(event.at), "event_type": event.event_type, "actor": event.actor,
            "role": event.role, "case": event.case, "clip": event.clip, "purpose": event.purpose,
            "client_address": event.client_address, "details": event.details or {},
            "prev_hash": event.prev_hash, "hash": event.hash}


def trail_json(events: Sequence[CustodyEvent], *, subject: str) -> bytes:
    body = {"subject": subject, "events": [event_dict(e) for e in events],
            "chain": "hash = sha256(prev_hash bytes + canonical JSON of the event); see README"}
    return json.dumps(body, ensure_ascii=False, indent=2).encode("utf-8")


def trail_csv(events: Sequence[CustodyEvent]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for event in events:
        row = event_dict(event)
        row["details"] = json.dumps(row["details"], ensure_ascii=False, sort_keys=True)
        writer.writerow(csv_row("" if row[c] is None else row[c] for c in CSV_COLUMNS))
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # BOM: Excel opens Vietnamese text correctly


_PAGE = Environment(autoescape=True).from_string("""<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>Nhật ký truy xuất — {{ subject }}</title>
<style>
body{font-family:system-ui,sans-serif;font-size:11pt;margin:1.5cm}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #999;padding:3px 5px;vertical-align:top}
th{background:#eee}.hash{font-family:monospace;font-size:7pt;word-break:break-all}
.denied{background:#fde8e8}@media print{a{color:inherit}}
</style></head><body>
<h1>Nhật ký truy xuất (custody trail)</h1>
<p><strong>{{ subject }}</strong><br>In lúc / printed: {{ printed }} ({{ tz }})</p>
<table><thead><tr><th>#</th><th>Thời gian / time</th><th>Sự kiện / event</th><th>Người / actor</th>
<th>Mục đích / purpose</th><th>Chi tiết / details</th><th>Địa chỉ / address</th><th>Hash</th></tr></thead><tbody>
{% for e in events %}<tr class="{{ 'denied' if e.event_type == 'access_denied' else '' }}">
<td>{{ e.seq }}</td><td>{{ e.local }}<br><small>{{ e.at }}</small></td>
<td>{{ e.label }}<br><small>{{ e.event_type }}</small></td><td>{{ e.actor }}<br><small>{{ e.role }}</small></td>
<td>{{ e.purpose or '' }}</td><td><small>{{ e.details_text }}</small></td><td>{{ e.client_address or '' }}</td>
<td class="hash">prev {{ e.prev_hash }}<br>hash {{ e.hash }}</td></tr>{% endfor %}
</tbody></table>
<p><small>Mỗi dòng: hash = SHA-256(prev_hash + nội dung sự kiện dạng JSON chuẩn). Each row's hash chains to the
previous one; a changed row breaks every later link.</small></p>
</body></html>
""")


def trail_html(events: Sequence[CustodyEvent], *, subject: str, timezone: str, printed: datetime) -> bytes:
    zone = ZoneInfo(timezone)
    rows = []
    for event in events:
        row = event_dict(event)
        row["local"] = event.at.astimezone(zone).strftime("%d/%m/%Y %H:%M:%S")
        row["label"] = label(event.event_type, "event", "vi")  # the printed trail is Vietnamese
        row["details_text"] = json.dumps(event.details or {}, ensure_ascii=False, sort_keys=True)
        rows.append(row)
    return _PAGE.render(subject=subject, events=rows, tz=timezone,
                        printed=printed.astimezone(zone).strftime("%d/%m/%Y %H:%M:%S")).encode("utf-8")
