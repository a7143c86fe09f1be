"""H.264 / H.265 bitstream facts we need: NAL unit types, Annex-B split/join, SPS width/height.

Only what the client needs to label access units and report a resolution; no decoding.
"""

from __future__ import annotations

from dataclasses import dataclass

H264 = "h264"
H265 = "hevc"

START_CODE = b"\x00\x00\x00\x01"

# H.264 nal_unit_type (ITU-T H.264 Table 7-1)
H264_IDR = 5
H264_SEI = 6
H264_SPS = 7
H264_PPS = 8
H264_AUD = 9
# H.265 nal_unit_type (ITU-T H.265 Table 7-1)
H265_IRAP_FIRST, H265_IRAP_LAST = 16, 21  # BLA/IDR/CRA: random access points
H265_VPS = 32
H265_SPS = 33
H265_PPS = 34


def nal_type(codec: str, nal: bytes) -> int:
    if not nal:
        return -1
    return (nal[0] & 0x1F) if codec == H264 else (nal[0] >> 1) & 0x3F


def is_keyframe_nal(codec: str, nal: bytes) -> bool:
    kind = nal_type(codec, nal)
    if codec == H264:
        return kind == H264_IDR
    return H265_IRAP_FIRST <= kind <= H265_IRAP_LAST


def is_parameter_set(codec: str, nal: bytes) -> bool:
    kind = nal_type(codec, nal)
    if codec == H264:
        return kind in (H264_SPS, H264_PPS)
    return kind in (H265_VPS, H265_SPS, H265_PPS)


def split_annexb(data: bytes) -> list[bytes]:
    """Split an Annex-B byte stream into NAL units (start codes of 3 or 4 bytes removed)."""
    nals: list[bytes] = []
    index = data.find(b"\x00\x00\x01")
    while index >= 0:
        start = index + 3
        nxt = data.find(b"\x00\x00\x01", start)
        end = len(data) if nxt < 0 else nxt
        # trailing zeros belong to the next 4-byte start code (or are trailing_zero_8bits);
        # a NAL unit itself never ends in 0x00
        nal = data[start:end].rstrip(b"\x00")
        if nal:
            nals.append(nal)
        index = nxt
    return nals


def join_annexb(nals: list[bytes]) -> bytes:
    return b"".join(START_CODE + nal for nal in nals)


def unescape_rbsp(data: bytes) -> bytes:
    """Remove emulation prevention bytes (00 00 03 → 00 00)."""
    if b"\x00\x00\x03" not in data:
        return data
    out = bytearray()
    zeros = 0
    for byte in data:
        if zeros >= 2 and byte == 3:
            zeros = 0
            continue
        out.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    return bytes(out)


class BitReader:
    """MSB-first bit reader with Exp-Golomb codes (ITU-T H.264 9.1)."""

    def __init__(self, data: bytes) -> None:
        self._value = int.from_bytes(data, "big")
        self._bits = len(data) * 8
        self._pos = 0

    def u(self, count: int) -> int:
        if count == 0:
            return 0
        if self._pos + count > self._bits:
            raise ValueError("read past end of bitstream")
        self._pos += count
        return (self._value >> (self._bits - self._pos)) & ((1 << count) - 1)

    def skip(self, count: int) -> None:
        self.u(count) if count <= 64 else [self.u(1) for _ in range(count)]

    def ue(self) -> int:
        zeros = 0
        while self.u(1) == 0:
            zeros += 1
            if zeros > 31:
                raise ValueError("Exp-Golomb code too long")
        return (1 << zeros) - 1 + self.u(zeros)

    def se(self) -> int:
        k = self.ue()
        return (k + 1) // 2 if k % 2 else -(k // 2)


@dataclass(frozen=True)
class SpsInfo:
    width: int
    height: int
    profile_idc: int
    level_idc: int


_H264_HIGH_PROFILES = {100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135}


def _skip_scaling_list(bits: BitReader, size: int) -> None:
    last, nxt = 8, 8
    for _ in range(size):
        if nxt != 0:
            nxt = (last + bits.se() + 256) % 256
        last = nxt if nxt != 0 else last


def parse_h264_sps(nal: bytes) -> SpsInfo:
    """Width/height of an H.264 SPS NAL unit (with its 1-byte NAL header)."""
    bits = BitReader(unescape_rbsp(nal[1:]))
    profile_idc = bits.u(8)
    bits.skip(8)  # constraint flags
    level_idc = bits.u(8)
    bits.ue()  # seq_parameter_set_id
    chroma_format_idc = 1
    if profile_idc in _H264_HIGH_PROFILES:
        chroma_format_idc = bits.ue()
        if chroma_format_idc == 3:
            bits.skip(1)  # separate_colour_plane_flag
        bits.ue()  # bit_depth_luma_minus8
        bits.ue()  # bit_depth_chroma_minus8
        bits.skip(1)  # qpprime_y_zero_transform_bypass_flag
        if bits.u(1):  # seq_scaling_matrix_present_flag
            for index in range(8 if chroma_format_idc != 3 else 12):
                if bits.u(1):
                    _skip_scaling_list(bits, 16 if index < 6 else 64)
    bits.ue()  # log2_max_frame_num_minus4
    poc_type = bits.ue()
    if poc_type == 0:
        bits.ue()
    elif poc_type == 1:
        bits.skip(1)
        bits.se()
        bits.se()
        for _ in range(bits.ue()):
            bits.se()
    bits.ue()  # max_num_ref_frames
    bits.skip(1)  # gaps_in_frame_num_value_allowed_flag
    width_mbs = bits.ue() + 1
    height_units = bits.ue() + 1
    frame_mbs_only = bits.u(1)
    if not frame_mbs_only:
        bits.skip(1)  # mb_adaptive_frame_field_flag
    bits.skip(1)  # direct_8x8_inference_flag
    width = width_mbs * 16
    height = (2 - frame_mbs_only) * height_units * 16
    if bits.u(1):  # frame_cropping_flag
        left, right, top, bottom = bits.ue(), bits.ue(), bits.ue(), bits.ue()
        if chroma_format_idc == 0:
            unit_x, unit_y = 1, 2 - frame_mbs_only
        else:
            sub_w = 1 if chroma_format_idc == 3 else 2
            sub_h = 2 if chroma_format_idc == 1 else 1
            unit_x, unit_y = sub_w, sub_h * (2 - frame_mbs_only)
        width -= (left + right) * unit_x
        height -= (top + bottom) * unit_y
    return SpsInfo(width, height, profile_idc, level_idc)


def parse_h265_sps(nal: bytes) -> SpsInfo:
    """Width/height of an H.265 SPS NAL unit (with its 2-byte NAL header)."""
    bits = BitReader(unescape_rbsp(nal[2:]))
    bits.skip(4)  # sps_video_parameter_set_id
    max_sub_layers_minus1 = bits.u(3)
    bits.skip(1)  # sps_temporal_id_nesting_flag
    # profile_tier_level(1, max_sub_layers_minus1)
    bits.skip(3)  # general_profile_space, general_tier_flag
    profile_idc = bits.u(5)
    bits.skip(32 + 48)  # compatibility flags, constraint flags
    level_idc = bits.u(8)
    flags = [(bits.u(1), bits.u(1)) for _ in range(max_sub_layers_minus1)]
    if max_sub_layers_minus1 > 0:
        bits.skip(2 * (8 - max_sub_layers_minus1))
    for profile_present, level_present in flags:
        if profile_present:
            bits.skip(88)
        if level_present:
            bits.skip(8)
    bits.ue()  # sps_seq_parameter_set_id
    chroma_format_idc = bits.ue()
    if chroma_format_idc == 3:
        bits.skip(1)
    width, height = bits.ue(), bits.ue()
    if bits.u(1):  # conformance_window_flag
        left, right, top, bottom = bits.ue(), bits.ue(), bits.ue(), bits.ue()
        sub_w = 2 if chroma_format_idc in (1, 2) else 1
        sub_h = 2 if chroma_format_idc == 1 else 1
        width -= sub_w * (left + right)
        height -= sub_h * (top + bottom)
    return SpsInfo(width, height, profile_idc, level_idc)


def parse_sps(codec: str, nal: bytes) -> SpsInfo:
    return parse_h264_sps(nal) if codec == H264 else parse_h265_sps(nal)
