"""Stream copy into MP4 with PyAV — packets are never decoded or re-encoded.

* :class:`AccessUnitMuxer` takes access units from our RTSP client (ONVIF replay, live capture).
  The output stream's codec parameters come from a raw ``h264``/``hevc`` demuxer run over the
  parameter sets plus the first keyframe (so extradata/avcC is built by FFmpeg itself); packets
  are then muxed as Annex-B and FFmpeg's MP4 muxer stores them length-prefixed, byte for byte.
* :func:`remux_url` / :func:`remux_file` copy from anything FFmpeg can open (vendor playback URLs).

H.265 sample entry: ``hev1`` by default. With ``hvc1`` (what Apple players want) FFmpeg's MP4
muxer moves in-band VPS/SPS/PPS out of every sample into the sample entry, so samples are no
longer the camera's bytes and a mid-stream parameter change would be lost; evidence uses
``hev1``, where every sample is exactly the camera's access unit. Pass ``hevc_tag="hvc1"`` for a
viewing copy.

Timestamps: RTP's 90 kHz clock becomes the stream time base, pts relative to the first frame.
The sink gets fragmented MP4 (``frag_keyframe+empty_moov+default_base_moof``): it may be a pipe.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from datetime import datetime
from fractions import Fraction
from types import TracebackType
from typing import Any

import av

from camera_ops.errors import CameraProtocolError, ClipUnavailable
from camera_ops.rtsp.depacketize import AccessUnit
from camera_ops.rtsp.h26x import H264, H265, is_parameter_set, join_annexb
from camera_ops.video.facts import ClipFacts, ClipFactsBuilder
from camera_ops.video.hashing import Writable

RTP_CLOCK_HZ = 90_000
FRAGMENTED_MP4_OPTIONS = {"movflags": "frag_keyframe+empty_moov+default_base_moof"}
EVIDENCE_HEVC_TAG = "hev1"  # parameter sets stay in-band: samples byte-identical (module doc)
_DEMUXER_FOR_CODEC = {H264: "h264", H265: "hevc"}
DEFAULT_URL_TIMEOUT_S = 10.0  # open and per-read deadline for playback URLs
DEFAULT_FPS = 12  # only to date an undated first packet when the stream states no rate


class AccessUnitMuxer:
    """Write :class:`AccessUnit` objects into fragmented MP4 on ``sink``; returns ClipFacts."""

    def __init__(
        self, sink: Writable, codec: str, *, parameter_sets: tuple[bytes, ...] = (),
        clock_rate: int = RTP_CLOCK_HZ, start_time: datetime | None = None,
        hevc_tag: str = EVIDENCE_HEVC_TAG,
    ) -> None:
        if codec not in _DEMUXER_FOR_CODEC:
            raise ValueError(f"cannot mux codec {codec}")
        self.codec = codec
        self._sink = sink
        self._parameter_sets = parameter_sets
        self._hevc_tag = hevc_tag
        self._time_base = Fraction(1, clock_rate)
        self.facts = ClipFactsBuilder(codec, clock_rate=clock_rate, start_time=start_time)
        self._output: Any = None
        self._stream: Any = None
        self._template: Any = None
        self._first_ts: int | None = None
        self._held: AccessUnit | None = None  # written once the next unit gives its duration
        self._last_pts = -1
        self._last_duration = 0
        self._size: tuple[int | None, int | None] = (None, None)
        self._result: ClipFacts | None = None

    def __enter__(self) -> AccessUnitMuxer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if exc_type is None and self._result is None:
            self.close()
        else:
            self.abort()

    def _open(self, first: AccessUnit) -> None:
        nals = first.nal_units
        if not any(is_parameter_set(self.codec, nal) for nal in nals):
            nals = [*self._parameter_sets, *nals]  # sets only out of band (SDP): template only
        self._template = av.open(io.BytesIO(join_annexb(nals)), format=_DEMUXER_FOR_CODEC[self.codec])
        if not self._template.streams.video:
            raise CameraProtocolError("first keyframe has no usable video parameters")
        template = self._template.streams.video[0]
        self._size = (template.codec_context.width or None, template.codec_context.height or None)
        self._output = av.open(self._sink, "w", format="mp4", options=FRAGMENTED_MP4_OPTIONS)
        self._stream = self._output.add_stream_from_template(template)
        self._stream.time_base = self._time_base
        if self.codec == H265:
            self._stream.codec_tag = self._hevc_tag

    def write(self, unit: AccessUnit) -> None:
        if self._output is None:
            if not unit.keyframe:
                self.facts.skipped_before_keyframe += 1  # undecodable without its keyframe
                return
            self._open(unit)
            self._first_ts = unit.rtp_timestamp
        assert self._first_ts is not None
        pts = unit.rtp_timestamp - self._first_ts
        if pts <= self._last_pts:
            raise CameraProtocolError("access unit timestamps go backwards (B-frames are not supported)")
        self._last_pts = pts
        self.facts.add(
            unit.rtp_timestamp, ntp_time=unit.ntp_time, keyframe=unit.keyframe,
            discontinuity=unit.discontinuity, end_of_section=unit.end_of_section,
            damaged=unit.lost_packets > 0,
        )
        if self._held is not None:
            self._mux(self._held, unit.rtp_timestamp - self._held.rtp_timestamp)
        self._held = unit

    def _mux(self, unit: AccessUnit, duration: int) -> None:
        assert self._first_ts is not None
        packet = av.Packet(unit.annexb())
        packet.stream = self._stream
        packet.time_base = self._time_base
        packet.pts = packet.dts = unit.rtp_timestamp - self._first_ts
        packet.duration = duration
        packet.is_keyframe = unit.keyframe
        self._output.mux(packet)
        self._last_duration = duration

    def close(self) -> ClipFacts:
        """Flush the last unit and the MP4 trailer; ClipUnavailable if nothing was playable."""
        if self._result is not None:
            return self._result
        try:
            if self._held is not None:
                self._mux(self._held, self._last_duration or 1)
                self._held = None
            if self._output is None:
                raise ClipUnavailable("no keyframe arrived: nothing playable to store")
            self._output.close()
            self._output = None
        finally:
            self.abort()
        self._result = self.facts.build(
            width=self._size[0], height=self._size[1], last_duration_s=float(self._last_duration * self._time_base)
        )
        return self._result

    def abort(self) -> None:
        """Release FFmpeg objects without finishing the file (the caller discards it)."""
        for attr in ("_output", "_template"):
            container = getattr(self, attr)
            setattr(self, attr, None)
            if container is not None:
                try:
                    container.close()
                except av.FFmpegError:
                    pass


def _frame_ticks(stream: Any) -> int:
    """One frame interval in the stream's time base (from its rate, else DEFAULT_FPS)."""
    rate = stream.average_rate or stream.guessed_rate or Fraction(DEFAULT_FPS)
    return max(1, round(1 / (Fraction(rate) * stream.time_base)))


def _dated_packets(source: Any, stream: Any) -> Iterator[Any]:
    """Demuxed packets with data, each with pts/dts.

    FFmpeg's RTP demuxer hands out the first packet of a session (the opening keyframe) before
    RTCP has synchronised timestamps: it has data but no pts/dts. It is kept, dated one frame
    interval before the next packet (or after the previous one); its bytes are unchanged. Only
    the empty flush packet at end of stream is dropped.
    """
    ticks = _frame_ticks(stream)
    held: list[Any] = []
    previous: int | None = None
    for packet in source.demux(stream):
        if packet.size == 0:
            continue  # the flush packet
        if packet.pts is None and packet.dts is None:
            if previous is None:
                held.append(packet)
                continue
            packet.pts = packet.dts = previous + ticks
        pts = packet.pts if packet.pts is not None else packet.dts
        for back, early in enumerate(reversed(held), start=1):
            early.pts = early.dts = pts - back * ticks
        while held:
            yield held.pop(0)
        previous = pts
        yield packet
    yield from held  # a stream of undated packets only: left for the caller to refuse


def _copy(
    source: Any, sink: Writable, *, start_time: datetime | None, max_duration_s: float | None
) -> ClipFacts:
    if not source.streams.video:
        raise CameraProtocolError("source has no video stream")
    in_stream = source.streams.video[0]
    codec = in_stream.codec_context.name
    # vendor playback carries no wall clock we trust: times are anchored at the requested start
    facts = ClipFactsBuilder(codec, clock_rate=1, start_time=start_time, anchored_source="requested_start")
    time_base = in_stream.time_base
    with av.open(sink, "w", format="mp4", options=FRAGMENTED_MP4_OPTIONS) as output:
        out_stream = output.add_stream_from_template(in_stream)
        if codec == H265:
            out_stream.codec_tag = EVIDENCE_HEVC_TAG
        first_pts: int | None = None
        last_duration = 0.0
        for packet in _dated_packets(source, in_stream):
            if packet.pts is None and packet.dts is None:
                raise CameraProtocolError("source delivered no timestamps at all")
            if first_pts is None and not packet.is_keyframe:
                facts.skipped_before_keyframe += 1  # undecodable without its keyframe
                continue
            pts = packet.pts if packet.pts is not None else packet.dts
            first_pts = pts if first_pts is None else first_pts
            seconds = float((pts - first_pts) * time_base)
            if max_duration_s is not None and seconds > max_duration_s:
                break
            facts.add_seconds(seconds, keyframe=packet.is_keyframe)
            last_duration = float(packet.duration * time_base) if packet.duration else last_duration
            packet.stream = out_stream
            output.mux(packet)
    if first_pts is None:
        raise ClipUnavailable("source delivered no video packets")
    cc = in_stream.codec_context
    return facts.build(width=cc.width or None, height=cc.height or None, last_duration_s=last_duration or None)


def remux_url(
    url: str, sink: Writable, *, start: datetime | None = None, end: datetime | None = None,
    options: Mapping[str, str] | None = None, timeout_s: float = DEFAULT_URL_TIMEOUT_S,
) -> ClipFacts:
    """Stream-copy a playback URL (e.g. Hikvision/Dahua ``starttime=...``) into fragmented MP4.

    ``start`` anchors frame times (vendor URLs carry no wall clock we trust); ``end`` bounds the
    copy for servers that ignore ``endtime``. Blocking: run it in a thread from async code.
    """
    opts = {"rtsp_transport": "tcp", **(options or {})} if url.startswith("rtsp") else dict(options or {})
    max_duration = (end - start).total_seconds() if start and end else None
    try:
        source = av.open(url, options=opts, timeout=(timeout_s, timeout_s))
    except av.FFmpegError as exc:
        raise ClipUnavailable(f"cannot open playback source: {type(exc).__name__}") from exc
    with source:
        try:
            return _copy(source, sink, start_time=start, max_duration_s=max_duration)
        except av.FFmpegError as exc:
            raise ClipUnavailable(f"playback broke off: {type(exc).__name__}") from exc


def remux_file(path: str, sink: Writable, *, start: datetime | None = None) -> ClipFacts:
    """Stream-copy a local video file into fragmented MP4 on ``sink``."""
    with av.open(path) as source:
        return _copy(source, sink, start_time=start, max_duration_s=None)
