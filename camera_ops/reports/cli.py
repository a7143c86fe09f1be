"""``camera-ops reports coverage``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from camera_ops.errors import CameraOpsError
from camera_ops.registry.areas import require_by_code
from camera_ops.reports.coverage import coverage_report
from camera_ops.reports.export import to_csv, to_json, to_xlsx
from camera_ops.reports.periods import period as make_period
from camera_ops.settings import Settings
from storage.db import engine_for, session_factory
from storage.types import utcnow


def coverage_command(settings: Settings, *, area_code: str, period: str, year: int, index: int, fmt: str,
                     out: Path | None) -> None:
    try:
        chosen = make_period(period, year or utcnow().year, index, tz=settings.timezone)
        with session_factory(engine_for(settings.resolved_database_url), write=False)() as session:
            area = require_by_code(session, area_code, field="area")
            report = coverage_report(session, area_id=area.id, period=chosen, scope=None, tz=settings.timezone)
    except CameraOpsError as exc:
        typer.echo(exc.message, err=True)
        raise typer.Exit(1) from None
    if fmt == "json":
        data = json.dumps(to_json(report, settings.timezone), ensure_ascii=False, indent=2).encode()
    elif fmt == "csv":
        data = to_csv(report, settings.timezone, decimal_comma=settings.csv_decimal_comma)
    elif fmt == "xlsx":
        if out is None:
            typer.echo("xlsx needs --out FILE", err=True)
            raise typer.Exit(2)
        data = to_xlsx(report, settings.timezone)
    else:
        typer.echo("format is json, csv or xlsx", err=True)
        raise typer.Exit(2)
    if out is None:
        sys.stdout.buffer.write(data)
    else:
        out.write_bytes(data)
        typer.echo(f"wrote {out} ({len(data)} bytes)")
