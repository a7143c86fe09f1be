"""An RTSP-only "camera" made of software we did not write: Debian's GStreamer RTSP server.

Run with the system interpreter (``/usr/bin/python3``: gi.repository.GstRtspServer comes from
Debian's gir1.2-gst-rtsp-server-1.0); our tests start it as a subprocess:

    /usr/bin/python3 tests/gst_rtsp_camera.py --address 127.x.y.z --user admin --password secret --auth digest

It serves H.264 (x264enc, one keyframe a second) at ``/main`` (640×360) and ``/sub`` (320×180), prints
``READY <port>`` once listening and runs until SIGTERM. Standard library + gi only.
"""

from __future__ import annotations

import argparse
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, GObject, Gst, GstRtsp, GstRtspServer  # noqa: E402

FPS = 12
STREAMS = {"/main": (640, 360), "/sub": (320, 180)}


def launch_line(width: int, height: int) -> str:
    # SMPTE bars scrolling sideways: a real, changing picture (not black, not frozen)
    return (
        f"( videotestsrc is-live=true pattern=smpte horizontal-speed=3 "
        f"! video/x-raw,width={width},height={height},framerate={FPS}/1 ! videoconvert "
        f"! x264enc tune=zerolatency speed-preset=ultrafast key-int-max={FPS} bitrate=512 "
        "! video/x-h264,profile=baseline ! rtph264pay name=pay0 pt=96 config-interval=1 )"
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--address", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--user", default="")
    parser.add_argument("--password", default="")
    parser.add_argument("--auth", choices=("basic", "digest", "none"), default="digest")
    args = parser.parse_args()
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address(args.address)
    server.set_service(str(args.port))
    mounts = server.get_mount_points()
    for path, (width, height) in STREAMS.items():
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(launch_line(width, height))
        factory.set_shared(False)  # one pipeline per client: no race with a shared one being torn down
        if args.auth != "none":
            permissions = GstRtspServer.RTSPPermissions()
            allowed = GObject.Value(GObject.TYPE_BOOLEAN, True)
            permissions.add_permission_for_role("camera", "media.factory.access", allowed)
            permissions.add_permission_for_role("camera", "media.factory.construct", allowed)
            factory.set_permissions(permissions)
        mounts.add_factory(path, factory)
    if args.auth != "none":
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string("media.factory.role", "camera")
        if args.auth == "basic":
            auth.set_supported_methods(GstRtsp.RTSPAuthMethod.BASIC)
            auth.add_basic(GstRtspServer.RTSPAuth.make_basic(args.user, args.password), token)
        else:
            auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
            auth.add_digest(args.user, args.password, token)
        server.set_auth(auth)
    if server.attach(None) == 0:
        print("FAILED attach", flush=True)
        return 1
    print(f"READY {server.get_bound_port()}", flush=True)
    loop = GLib.MainLoop()
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, loop.quit)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, loop.quit)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
