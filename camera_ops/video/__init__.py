"""Evidence-safe video handling: stream copy into MP4 (never re-encode), hashing while writing,
clip facts (first/last frame times, gaps), and one-frame decodes for picture health."""

from camera_ops.video.facts import ClipFacts, ClipFactsBuilder, Gap
from camera_ops.video.hashing import HashingSink
from camera_ops.video.remux import AccessUnitMuxer, remux_file, remux_url

__all__ = ["AccessUnitMuxer", "ClipFacts", "ClipFactsBuilder", "Gap", "HashingSink", "remux_file", "remux_url"]
