"""One simulated camera at runtime: its clock, faults, footage and listening sockets."""

from __future__ import annotations

import asyncio
import functools
import math
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from camera_ops.sim.auth import DigestResult, basic_challenge, check_basic, check_digest, digest_challenge
from camera_ops.sim.discovery import advert_for, start_unicast
from camera_ops.sim.faults import Faults
from camera_ops.sim.scene import Look, encode_jpeg, render
from camera_ops.sim.spec import CameraSpec, Personality
from camera_ops.sim.video import SegmentCache

RECORDING_TOKEN = "Recording_1"
REPLAY_PATH = f"/onvif-replay/{RECORDING_TOKEN}"
LISTEN_BACKLOG = 128  # connections queued per listener; a burst of monitor probes fits
SNAPSHOT_CACHE_ENTRIES = 256  # ~12 MB of JPEGs; a frozen camera always hits its entry

BOTH_PROTOCOLS = frozenset({"http", "rtsp"})
# handler(camera, reader, writer, accepted protocols of the port the connection came in on)
ConnectionHandler = Callable[
    ["SimCamera", asyncio.StreamReader, asyncio.StreamWriter, frozenset[str]], Awaitable[None]
]


@dataclass(frozen=True)
class SimCameraInfo:
    """Where and how to reach a simulated camera: what a person or a script needs."""

    name: str
    group: str
    vendor: str
    host: str
    onvif_port: int
    rtsp_port: int
    device_url: str
    rtsp_main_url: str
    rtsp_sub_url: str
    snapshot_url: str
    username: str
    password: str
    mac: str
    serial: str
    manufacturer: str
    model: str
    firmware: str
    profile_g: bool
    playback_url_template: str | None  # str.format(start=datetime, end=datetime), camera clock
    recording_hours: float
    onvif: bool  # False for the rtsp_only personality (the HTTP port answers, but not ONVIF)
    replay_url: str | None  # what GetReplayUri returns, for profile-G cameras

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


class SnapshotCache:
    """Small LRU of JPEGs keyed by (look, camera second, size)."""

    def __init__(self, entries: int = SNAPSHOT_CACHE_ENTRIES) -> None:
        self._entries = entries
        self._items: dict[tuple[Look, int, tuple[int, int]], bytes] = {}

    def get(self, look: Look, second: int, size: tuple[int, int]) -> bytes:
        key = (look, second, size)
        jpeg = self._items.pop(key, None)
        if jpeg is None:
            jpeg = encode_jpeg(render(look, float(second), size))
            if len(self._items) >= self._entries:
                self._items.pop(next(iter(self._items)))
        self._items[key] = jpeg
        return jpeg


class SimCamera:
    def __init__(
        self,
        spec: CameraSpec,
        *,
        host: str,
        http_port: int,
        rtsp_port: int,
        shared_port: bool,
        segments: SegmentCache,
        snapshots: SnapshotCache,
        handler: ConnectionHandler,
        discovery_port: int | None = None,
    ) -> None:
        self.spec = spec
        self.discovery_port = discovery_port  # answer WS-Discovery probes here (None: don't)
        self._discovery: asyncio.DatagramTransport | None = None
        self.host = host
        self.http_port = http_port
        self.rtsp_port = http_port if shared_port else rtsp_port
        self.shared_port = shared_port
        self.segments = segments
        self.snapshots = snapshots
        self.faults = Faults()
        self._handler = handler
        self._servers: list[asyncio.Server] = []
        self._connections: set[asyncio.StreamWriter] = set()
        self._frozen_at: float | None = None
        self._flap_since = time.monotonic()
        self.search_sessions: dict[str, float] = {}  # ONVIF search token -> expiry (monotonic)
        self.file_finders: dict[str, list[tuple[int, int]]] = {}  # Dahua mediaFileFind object -> files left

    # --- identity -------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def personality(self) -> Personality:
        return self.spec.personality

    @property
    def password(self) -> str:
        return self.faults.password if self.faults.password is not None else self.spec.password

    @property
    def realm(self) -> str:
        vendor = self.spec.vendor
        if vendor in ("hikvision", "nvr"):
            return f"IP Camera({self.spec.serial[-5:]})"
        if vendor == "dahua":
            return f"Login to {self.spec.serial}"
        return f"{self.personality.manufacturer} {self.name}"

    def check_auth(self, header: str | None, method: str) -> DigestResult:
        """RTSP / snapshot credentials by the camera's scheme (digest, or basic on cheap ones)."""
        if self.spec.auth == "basic":
            return check_basic(header, username=self.spec.username, password=self.password)
        return check_digest(header, method=method, realm=self.realm, username=self.spec.username,
                            password=self.password)

    def challenge(self, *, qop: bool, stale: bool = False) -> str:
        if self.spec.auth == "basic":
            return basic_challenge(self.realm)
        return digest_challenge(self.realm, qop=qop, stale=stale)

    def channel_url(self, url: str, channel: int) -> str:
        """A Hikvision-style URL for another recorder channel (101 → 201, 102 → 202...)."""
        if channel == 1:
            return url
        return re.sub(r"/(?:Channels|channels|tracks)/10([12])", lambda m: m.group(0)[:-3] + f"{channel}0{m.group(1)}",
                      url)

    def as_reported(self, url: str) -> str:
        """A URL as this camera reports it over ONVIF: behind a router it names its LAN address and
        its own ports (80 for HTTP, 554 for RTSP), which the station cannot reach."""
        lan = self.spec.lan_address
        if not lan:
            return url
        for base, own in ((self.http_base(), f"http://{lan}"), (self.rtsp_base(), f"rtsp://{lan}")):
            if url.startswith(base):
                return own + url[len(base):]
        return url

    def http_base(self) -> str:
        return f"http://{self.host}:{self.http_port}"

    def rtsp_base(self) -> str:
        return f"rtsp://{self.host}:{self.rtsp_port}"

    def info(self) -> SimCameraInfo:
        p = self.personality
        template = self.rtsp_base() + p.playback_template if p.playback_template else None
        return SimCameraInfo(
            name=self.name,
            group=self.spec.group,
            vendor=self.spec.vendor,
            host=self.host,
            onvif_port=self.http_port,
            rtsp_port=self.rtsp_port,
            device_url=f"{self.http_base()}/onvif/device_service",
            rtsp_main_url=self.rtsp_base() + p.main_path,
            rtsp_sub_url=self.rtsp_base() + p.sub_path,
            snapshot_url=self.http_base() + p.snapshot_path,
            username=self.spec.username,
            password=self.spec.password,
            mac=self.spec.mac,
            serial=self.spec.serial,
            manufacturer=p.manufacturer,
            model=p.model,
            firmware=p.firmware,
            profile_g=self.spec.has_profile_g,
            playback_url_template=template,
            recording_hours=self.spec.recording_hours,
            onvif=p.onvif,
            replay_url=self.rtsp_base() + REPLAY_PATH if self.spec.has_profile_g else None,
        )

    # --- clock and picture ----------------------------------------------------------------------

    def now(self) -> float:
        """The camera's own clock, epoch seconds (true UTC + skew)."""
        return time.time() + self.faults.clock_skew_s

    def now_datetime(self) -> datetime:
        return datetime.fromtimestamp(self.now(), timezone.utc)

    def look(self) -> Look:
        f = self.faults
        mode = f.picture_fault if f.picture_fault != "frozen" else None
        return Look(
            seed=self.spec.scene_seed,
            label=self.name,
            mode=mode or "normal",
            night_ir=f.night_ir,
            frozen_at=self._frozen_at,
        )

    def snapshot(self, size: tuple[int, int] | None = None) -> bytes:
        return self.snapshots.get(self.look(), int(self.now()), size or self.spec.main_size)

    # --- recordings -----------------------------------------------------------------------------

    def recording_window(self) -> tuple[int, int]:
        """(first, last) whole camera seconds on the SD card; footage is kept in 1 s GOPs."""
        now = self.now()
        return math.ceil(now - self.spec.recording_hours * 3600), math.floor(now) - 1

    def has_footage(self, second: int) -> bool:
        if self.faults.sd_card != "ok":
            return False  # no card, or one the camera cannot write: nothing recorded
        first, last = self.recording_window()
        if not first <= second <= last:
            return False
        gap = self.faults.recording_gap
        if gap is None:
            return True
        # A recorder writes whole GOPs: any second that overlaps the gap is missing entirely.
        return not (second + 1 > gap[0].timestamp() and second < gap[1].timestamp())

    @property
    def replay_supported(self) -> bool:
        return self.spec.has_profile_g and not self.faults.replay_unsupported

    # --- faults and sockets ---------------------------------------------------------------------

    async def set_faults(self, faults: Faults) -> None:
        old, self.faults = self.faults, faults
        if faults.frozen and not old.frozen:
            self._frozen_at = float(int(self.now()))
        elif not faults.frozen:
            self._frozen_at = None
        if faults.flapping != old.flapping:
            self._flap_since = time.monotonic()
        await self.reconcile()

    def should_listen(self) -> bool:
        if self.faults.offline:
            return False
        if self.faults.flapping is None:
            return True
        up, down = self.faults.flapping
        return (time.monotonic() - self._flap_since) % (up + down) < up

    async def reconcile(self) -> None:
        """Open or close the listening sockets to match the faults (offline, flapping)."""
        if self.should_listen() and not self._servers:
            await self._open()
        elif not self.should_listen() and self._servers:
            await self.close()

    async def _open(self) -> None:
        # A shared port speaks both protocols; otherwise each port speaks only its own, as on a real
        # camera (HTTP sent to the RTSP port gets an RTSP error, not an ONVIF answer).
        if self.shared_port:
            listeners = [(self.http_port, BOTH_PROTOCOLS)]
        else:
            listeners = [(self.http_port, frozenset({"http"})), (self.rtsp_port, frozenset({"rtsp"}))]
        learned: list[int] = []
        try:
            for port, accepts in listeners:
                server = await asyncio.start_server(
                    functools.partial(self._serve, accepts=accepts), self.host, port, backlog=LISTEN_BACKLOG,
                    reuse_address=True,
                )
                self._servers.append(server)
                learned.append(server.sockets[0].getsockname()[1])
        except BaseException:
            await self.close()
            raise
        self.http_port = learned[0]  # port 0 asks the kernel once; later reopens reuse the port
        self.rtsp_port = learned[0] if self.shared_port else learned[1]
        if self.discovery_port is not None and self.personality.onvif:
            info = self.info()
            advert = advert_for(mac=info.mac, name=f"{info.manufacturer} {info.name}", model=info.model,
                                xaddr=info.device_url)
            self._discovery = await start_unicast(self.host, self.discovery_port, lambda: [advert])

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, accepts: frozenset[str]
    ) -> None:
        self._connections.add(writer)
        try:
            await self._handler(self, reader, writer, accepts)
        finally:
            self._connections.discard(writer)
            writer.transport.abort()

    async def close(self) -> None:
        """Power off: stop listening (connection refused) and drop every open connection."""
        servers, self._servers = self._servers, []
        if self._discovery is not None:
            self._discovery.close()
            self._discovery = None
        for server in servers:
            server.close()
        for writer in list(self._connections):
            writer.transport.abort()
        for server in servers:
            await server.wait_closed()

    @property
    def listening(self) -> bool:
        return bool(self._servers)
