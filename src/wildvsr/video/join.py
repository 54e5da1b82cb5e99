"""Join separately encoded segment files of one video into one file, without re-encoding the video.

A long video is upscaled segment by segment (frames ``[A, B)`` each, possibly on different machines); each segment is
written by :class:`~wildvsr.video.writer.VideoWriter` as its own file whose frames carry the *source's* timestamps.
:func:`join_segments` remuxes their video packets in order into one stream and copies the audio and subtitles once
from the source, so nothing is cut at whole seconds, no frame is dropped or repeated at a seam and A/V stay in sync.

Why the parts join without re-encoding: every part is a complete encode whose first frame is an IDR (H.264) / IRAP
(HEVC) key frame, which resets the decoder, and no frame of a part references a frame of another part. Parts encoded
with the same encoder settings at the same size get the same parameter sets (SPS/PPS, stored once per file as
extradata), so one stream header is valid for all of them; that is why the parts' extradata must match byte for byte.
The timestamps need no shifting because the parts already hold the source's: the video packets keep their pts, and
their dts, which x264/x265 put a fixed reorder delay below the pts (B-frames), stay increasing across each seam because
every part has the same delay. All of this is checked, not assumed, before the output is written.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av

from wildvsr.errors import InputError, VideoIOError
from wildvsr.utils.files import atomic_path, check_output_path
from wildvsr.video.writer import CONTAINERS, _public_permissions, _StreamCopier, _supported_codecs

#: Parts with fewer frames than this may lack the B-frame dts delay of the others (x264 defaults: <= 2 frames do).
_SHORT_PART = 4


@dataclass
class _Part:
    """What the checks need from one part's video stream; timestamps in seconds (exact Fractions), decode order."""

    index: int
    path: Path
    codec: str
    width: int
    height: int
    pix_fmt: str | None
    extradata: bytes
    time_base: Fraction
    first_is_key: bool
    pts: list[Fraction] = field(default_factory=list)
    dts: list[Fraction | None] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"part {self.index} ({self.path.name})"


def join_segments(parts: Sequence[str | os.PathLike], dst: str | os.PathLike, *,
                  streams_from: str | os.PathLike | None = None, overwrite: bool = False) -> Path:
    """Concatenate segment videos ``parts`` (in time order) into ``dst`` by remuxing their video packets.

    Args:
        parts: segment files, each a video stream that starts with a key frame and carries the source's timestamps
            (as :class:`~wildvsr.video.writer.VideoWriter` writes them with ``like=`` the source's info and each frame's
            source pts); all with the same codec, size, pixel format and parameter sets.
        dst: output file; the container comes from its extension (see
            :data:`~wildvsr.video.writer.CONTAINERS`). Written atomically; never one of ``parts`` or ``streams_from``.
        streams_from: the original source, whose audio and subtitle streams are copied into ``dst`` once (transcoded
            or converted only where the container cannot hold them, as ``VideoWriter(copy_streams_from=...)`` does),
            interleaved with the video by time. None: video only.
        overwrite: replace an existing ``dst`` (only once joining succeeded).

    Returns:
        ``dst`` as a :class:`~pathlib.Path`.

    Raises:
        InputError: no parts, a missing part or source, an output extension that is not a video container, parts
            that differ from part 0 (codec, size, pixel format, extradata), a part without video packets or not
            starting with a key frame, parts out of time order.
        OutputExistsError: ``dst`` exists (without ``overwrite``) or is one of the inputs.
        VideoIOError: a part cannot be read or FFmpeg fails to write the output.
    """
    dst = Path(dst)
    paths = [Path(p) for p in parts]
    source = Path(streams_from) if streams_from is not None else None
    if not paths:
        raise InputError("join_segments got no parts; give the segment files in time order")
    fmt = CONTAINERS.get(dst.suffix.lower())
    if fmt is None:
        raise InputError(f"cannot join into a {dst.suffix or 'extension-less'} file; use one of "
                         f"{', '.join(sorted(CONTAINERS))}")
    inputs = [*paths, *([source] if source else [])]
    check_output_path(dst, overwrite=overwrite, inputs=inputs)  # before reading anything
    for i, path in enumerate(paths):
        if not path.is_file():
            raise InputError(f"part {i} ({path}) does not exist; upscale that segment first (or fix the list)")
    if source is not None and not source.is_file():
        raise InputError(f"streams_from={source} is not a file; give the original video (or None for no audio)")

    scanned = [_scan(i, path) for i, path in enumerate(paths)]
    _check_compatible(scanned)
    if scanned[0].codec not in _supported_codecs(fmt):
        raise InputError(f"{scanned[0].codec} video cannot be stored in a {dst.suffix} file without re-encoding; "
                         f"use .mkv")
    _check_order(scanned)
    dts = _decode_times(scanned)

    with atomic_path(dst, overwrite=overwrite, inputs=inputs) as tmp:
        _mux(paths, scanned, dts, tmp, fmt, source)
        _public_permissions(tmp)
    return dst


# -- reading and checking -----------------------------------------------------------------------------------------------
def _open(path: Path, what: str) -> av.container.InputContainer:
    try:
        return av.open(str(path), "r", metadata_errors="ignore")
    except av.FFmpegError as exc:
        raise VideoIOError(f"cannot read {what}: {exc}; is it a complete video file?") from exc


def _is_flush(packet: av.Packet) -> bool:
    """The empty packet PyAV's demuxer yields at the end of each stream (no data, no timestamps)."""
    return packet.size == 0 and packet.dts is None and packet.pts is None


def _scan(index: int, path: Path) -> _Part:
    """Read one part's stream parameters and every video packet's timestamps (demuxing only, nothing decoded)."""
    with _open(path, f"part {index} ({path})") as container:
        if not container.streams.video:
            raise InputError(f"part {index} ({path.name}) has no video stream; give the segment video files")
        stream = container.streams.video[0]
        cc = stream.codec_context
        tb = Fraction(stream.time_base)
        part = _Part(index, path, cc.name, cc.width, cc.height, cc.format.name if cc.format else None,
                     bytes(cc.extradata or b""), tb, first_is_key=False)
        try:
            for packet in container.demux(stream):
                if _is_flush(packet):
                    continue
                if packet.pts is None:
                    raise InputError(f"{part.name} has a video packet without a timestamp; write the segment with "
                                     f"wildvsr's VideoWriter (or remux it to .mp4)")
                if not part.pts:
                    part.first_is_key = packet.is_keyframe
                part.pts.append(packet.pts * tb)
                part.dts.append(None if packet.dts is None else packet.dts * tb)
        except av.FFmpegError as exc:
            raise VideoIOError(f"cannot read {part.name}: {exc}; re-create that segment") from exc
    if not part.pts:
        raise InputError(f"{part.name} has no video packets; re-create that segment (it must hold >= 1 frame)")
    if not part.first_is_key:
        raise InputError(f"{part.name} does not start with a key frame, so it cannot be decoded after the previous "
                         f"part; encode each segment as its own file from its first frame")
    return part


def _check_compatible(parts: list[_Part]) -> None:
    """Every part must be decodable with part 0's stream header: same codec, size, pixel format and parameter sets."""
    ref = parts[0]
    for part in parts[1:]:
        for label, mine, theirs in (("codec", part.codec, ref.codec),
                                    ("size", f"{part.width}x{part.height}", f"{ref.width}x{ref.height}"),
                                    ("pixel format", part.pix_fmt, ref.pix_fmt)):
            if mine != theirs:
                raise InputError(f"{part.name} has {label} {mine} but {ref.name} has {theirs}; encode all segments "
                                 f"with the same model, scale and encoder settings")
        if part.extradata != ref.extradata:
            raise InputError(f"{part.name} has other codec parameter sets (SPS/PPS) than {ref.name}, so it cannot "
                             f"share one stream header; encode all segments with the same encoder settings")


def _check_order(parts: list[_Part]) -> None:
    """Each part must start after the previous one ends (its earliest pts later than the previous part's latest)."""
    for prev, part in zip(parts, parts[1:]):
        end, start = max(prev.pts), min(part.pts)
        if start <= end:
            raise InputError(f"{part.name} starts at {float(start):.3f} s, not after {prev.name} (last frame at "
                             f"{float(end):.3f} s); give the parts in time order, each a later segment of the source")


def _decode_times(parts: list[_Part]) -> list[list[Fraction]]:
    """Every packet's dts (seconds), checked: known dts are kept; missing ones are filled in.

    Matroska stores no dts, and FFmpeg's demuxer leaves the first packets of each file without one (as many as the
    reorder delay ``D``), guessing the rest as ``dts[k] = sorted_pts[k - D]``. Over the joined stream the same rule,
    with the sorted pts of *all* parts, gives the missing ones: the previous part's last ``D`` presentation times, or
    for part 0 times extrapolated below its first pts by its first frame interval. MP4 parts already hold exactly
    these values (x264/x265 put each part's dts the same ``D`` frames below its pts), so both agree at a mixed seam.

    Raises:
        InputError: dts that do not increase (across a seam: parts with different reorder delays) or exceed a pts.
    """
    all_pts = sorted(t for part in parts for t in part.pts)
    step = all_pts[1] - all_pts[0] if len(all_pts) > 1 else Fraction(1, 1000)
    out: list[list[Fraction]] = []
    start = 0  # global decode index of the part's first packet
    prev: Fraction | None = None
    for part in parts:
        delay = next((k for k, d in enumerate(part.dts) if d is not None), len(part.dts))
        times = []
        for k, (pts, dts) in enumerate(zip(part.pts, part.dts)):
            if dts is None:
                g = start + k - delay
                dts = all_pts[g] if g >= 0 else all_pts[0] + g * step
            if dts > pts:
                raise InputError(f"{part.name}: packet {k} is decoded after it is shown (dts {float(dts):.4f} s > "
                                 f"pts {float(pts):.4f} s); the file is damaged, re-create that segment")
            if prev is not None and dts <= prev:
                raise InputError(_dts_error(part, k, dts, prev, parts[part.index - 1]))
            times.append(dts)
            prev = dts
        out.append(times)
        start += len(part.pts)
    return out


def _dts_error(part: _Part, k: int, dts: Fraction, prev: Fraction, prev_part: _Part) -> str:
    """The message for decode times that go back, with the likely cause."""
    times = f"({float(dts):.4f} s after {float(prev):.4f} s)"
    if k:
        return f"{part.name}: decode timestamps go back at packet {k} {times}; the file is damaged, re-create it"
    if len(prev_part.pts) < _SHORT_PART:
        # x264 (default B-frames) delays dts by 2 frames, but not in an encode of <= 2 frames, which has no B-frames:
        # such a part's dts equal its pts, and the next part's first dts (2 frames below its pts) fall behind them.
        return (f"{part.name}: decode timestamps go back at the seam {times} because {prev_part.name} has only "
                f"{len(prev_part.pts)} frame(s), too few for the encoder's B-frame delay; merge short segments into "
                f"a neighbour (all but the last need >= {_SHORT_PART} frames)")
    return (f"{part.name}: decode timestamps go back at the seam {times}; encode all segments with the same "
            f"encoder settings")


# -- writing ------------------------------------------------------------------------------------------------------------
def _ticks(seconds: Fraction, time_base: Fraction) -> int:
    """``seconds`` in ``time_base`` units, rounded half up (exact: no float in between)."""
    return math.floor(seconds / time_base + Fraction(1, 2))


def _mux(paths: list[Path], parts: list[_Part], dts: list[list[Fraction]], tmp: Path, fmt: str,
         source: Path | None) -> None:
    """Write the video packets of all parts (timestamps from the scan) and the source's audio/subtitles to ``tmp``."""
    out = av.open(str(tmp), "w", format=fmt)
    copier = None
    try:
        with _open(paths[0], parts[0].name) as first:
            # opaque=True: take the decoder's codec object, so remuxing needs no encoder for the codec in this build.
            # The template carries the codec parameters: extradata, colour tags and the display matrix (rotation).
            ost = out.add_stream_from_template(first.streams.video[0], opaque=True)
            if first.streams.video[0].average_rate:
                ost.codec_context.framerate = first.streams.video[0].average_rate
        copier = _StreamCopier(source, out, fmt) if source is not None else None
        out.start_encoding()  # the muxer fixes its time base here (Matroska: 1/1000 s)
        tb = Fraction(ost.time_base)
        last_dts = None
        shown = None  # latest pts muxed so far (seconds): audio is pumped up to it
        for path, part, part_dts in zip(paths, parts, dts):
            with _open(path, part.name) as container:
                packets = (p for p in container.demux(container.streams.video[0]) if not _is_flush(p))
                k = -1
                for k, packet in enumerate(packets):
                    if k >= len(part.pts) or packet.pts * part.time_base != part.pts[k]:
                        raise VideoIOError(f"{part.name} changed while joining; re-run the join")
                    pts, d = _ticks(part.pts[k], tb), _ticks(part_dts[k], tb)
                    if last_dts is not None and d <= last_dts:  # two times rounded onto one tick of the container
                        raise InputError(f"{part.name}: frames too close in time for the {fmt} time base ({tb}); "
                                         f"join into .mp4 or .mov instead")
                    duration = _ticks(packet.duration * part.time_base, tb) if packet.duration else 0
                    packet.stream = ost
                    packet.time_base = tb  # already rescaled: PyAV's mux then leaves them as they are
                    packet.pts, packet.dts, packet.duration = pts, d, duration
                    out.mux(packet)
                    last_dts = d
                    shown = part.pts[k] if shown is None else max(shown, part.pts[k])
                    if copier is not None:
                        copier.pump(float(shown))
                if k + 1 != len(part.pts):
                    raise VideoIOError(f"{part.name} changed while joining; re-run the join")
        if copier is not None:
            copier.pump(None)
    except BaseException as exc:
        if copier is not None:
            copier.close()
        with contextlib.suppress(av.FFmpegError):
            out.close()  # the partial file is removed by atomic_path
        if isinstance(exc, av.FFmpegError):
            raise VideoIOError(f"joining into {tmp.name} failed: {exc}") from exc
        raise
    if copier is not None:
        copier.close()
    try:
        out.close()  # writes the trailer (MP4: the index)
    except av.FFmpegError as exc:
        raise VideoIOError(f"writing the joined file failed: {exc}") from exc

