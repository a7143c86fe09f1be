"""The ``sim`` command: prints and writes every camera's URLs, runs until interrupted."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from camera_ops.sim.cli import sim

START_TIMEOUT_S = 20.0


def test_sim_command_writes_urls_serves_cameras_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    out = tmp_path / "fleet.json"
    fleet_file = tmp_path / "fleet.yaml"
    fleet_file.write_text("cameras:\n  - {name: gate, vendor: dahua, group: hamlet-a}\n  - {name: market, vendor: rtsp_only}\n")
    child = subprocess.Popen(
        [sys.executable, "-m", "camera_ops.sim.cli", "--fleet", str(fleet_file), "--out", str(out),
         "--base-address", "127.22.0.1", "--control-port", "0", "--http-port", "0", "--rtsp-port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not out.exists() and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.05)
        data = json.loads(out.read_text())
        gate, market = data["cameras"]
        assert gate["host"] == "127.22.0.1" and gate["device_url"].endswith("/onvif/device_service")
        assert market["onvif"] is False and market["rtsp_main_url"].startswith("rtsp://127.22.0.2:")
        reply = httpx.get(f"{data['control_url']}/cameras/gate", timeout=5)
        assert reply.json()["listening"] is True
    finally:
        child.send_signal(signal.SIGINT)
        stdout, _ = child.communicate(timeout=START_TIMEOUT_S)
    assert child.returncode == 0
    assert "rtsp://127.22.0.1:" in stdout and "password=" in stdout and "simulator stopped" in stdout


def test_sim_is_a_plain_function_with_typer_option_defaults() -> None:
    import typer

    app = typer.Typer()
    app.command("sim")(sim)  # how the lead registers it on the main app
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0 and "--count" in result.output and "--fleet" in result.output
