"""``camera-ops sim``: run a fleet of simulated cameras until Ctrl-C.

Registered on the main app by the lead with ``app.command("sim")(sim)``; also runnable alone:
``python -m camera_ops.sim.cli --count 5``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import contextlib
import json
import signal
from pathlib import Path

import typer

from camera_ops.sim.control import start_control_server
from camera_ops.sim.fleet import DEFAULT_BASE_ADDRESS, Fleet
from camera_ops.sim.spec import default_specs, load_fleet_file, parse_size

DEFAULT_HTTP_PORT = 8080  # unprivileged stand-in for a camera's port 80
DEFAULT_RTSP_PORT = 8554  # unprivileged stand-in for 554
DEFAULT_CONTROL_PORT = 8790
PRINT_LIMIT = 50  # above this many cameras print a summary; --out always has them all


def sim(
    count: int = typer.Option(3, "--count", "-n", help="Number of cameras (ignored with --fleet)."),
    fleet: Path | None = typer.Option(None, "--fleet", "-f", help="Fleet description (YAML or JSON)."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write every camera's URLs and credentials as JSON."),
    base_address: str = typer.Option(DEFAULT_BASE_ADDRESS, help="First camera address; others count upward in 127/8."),
    control_port: int = typer.Option(DEFAULT_CONTROL_PORT, help="Fault control API on 127.0.0.1 (0 = any free port)."),
    http_port: int = typer.Option(DEFAULT_HTTP_PORT, help="ONVIF + snapshot port on every camera address."),
    rtsp_port: int = typer.Option(DEFAULT_RTSP_PORT, help="RTSP port on every camera address."),
    shared_port: bool = typer.Option(False, help="Serve HTTP and RTSP on one port per camera (for 10,000 cameras)."),
    main_size: str = typer.Option("360p", help="Main stream size of generated cameras: 360p, 1080p or WxH."),
    discovery_port: int = typer.Option(3702, help="WS-Discovery: each ONVIF camera answers probes on its address and this UDP port (0 = off)."),
) -> None:
    """Run simulated ONVIF/RTSP cameras with injectable faults until Ctrl-C."""
    if fleet:
        specs = load_fleet_file(fleet)
    else:
        size = parse_size(main_size)
        specs = [dataclasses.replace(spec, main_size=size) for spec in default_specs(count)]
    runner = _run(Fleet(specs, base_address=base_address, http_port=http_port, rtsp_port=rtsp_port,
                        shared_port=shared_port or None, discovery_port=discovery_port or None), out, control_port)
    try:
        import uvloop  # noqa: PLC0415 — optional speed-up
    except ImportError:
        asyncio.run(runner)
    else:
        uvloop.run(runner)


async def _run(fleet: Fleet, out: Path | None, control_port: int) -> None:
    await fleet.start()
    control = await start_control_server(fleet, control_port)
    control_url = "http://%s:%s" % control.sockets[0].getsockname()[:2]
    infos = [info.to_dict() for info in fleet.infos()]
    if out:
        out.write_text(json.dumps({"control_url": control_url, "cameras": infos}, indent=2))
    _print(infos, control_url)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # event loops without signal handlers (Windows)
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        control.close()
        await fleet.stop()
        typer.echo("simulator stopped")


def _print(infos: list[dict[str, object]], control_url: str) -> None:
    for info in infos[:PRINT_LIMIT]:
        typer.echo(
            f"{info['name']} [{info['vendor']}, {info['group']}] user={info['username']} password={info['password']}\n"
            f"  onvif    {info['device_url']}\n  main     {info['rtsp_main_url']}\n"
            f"  sub      {info['rtsp_sub_url']}\n  snapshot {info['snapshot_url']}"
        )
    if len(infos) > PRINT_LIMIT:
        typer.echo(f"... and {len(infos) - PRINT_LIMIT} more cameras (use --out for the full list)")
    typer.echo(f"{len(infos)} cameras running; fault control API at {control_url}/cameras; Ctrl-C to stop")


if __name__ == "__main__":
    typer.run(sim)
