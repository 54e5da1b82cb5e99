"""Atomic frame writer: RGB frames -> a video file (PyAV), a PNG frame folder, or one PNG image.

Decisions:
- Container from the extension: ``.mp4/.m4v`` (mp4), ``.mov``, ``.mkv`` (Matroska), ``.webm``, ``.avi``. A path with
  no extension (or an existing folder) is a PNG frame folder; a ``.png`` path is a single image; any other extension
  is refused (a typo such as ``.mp5`` must not silently become a folder).
- Frame folders: ``00000000.png``, ``00000001.png``, ... (index from 0, zero-padded to 8 digits, wider only past 10**8
  frames), 8-bit RGB PNG for uint8 frames and 16-bit RGB PNG for uint16 frames.
- Colour: RGB -> YUV with BT.709 for HD output (height >= 720 or width >= 1280) and BT.601 for SD, limited range,
  and the stream is tagged with exactly that matrix/range (plus matching primaries/transfer, or the source's
  primaries/transfer when ``like`` has them, since no transfer conversion is done). A source tagged BT.709, BT.601
  or BT.2020 keeps that matrix whatever the output size.
  RGB pixel formats (FFV1's default ``bgr0``) are lossless and tagged ``rgb``/full range.
- Bit depth: the default pixel format keeps the source's depth (:mod:`wildvsr.video.depth`): uint8 frames get the
  codec's 8-bit format, uint16 frames from a 10-bit source ``yuv420p10le`` (12-bit: ``yuv420p12le`` where the
  encoder has it). An encoder with nothing as deep (this build's libvpx-vp9, mpeg4) writes its deepest format with a
  warning naming the lost bits. An explicit ``pix_fmt`` is always obeyed (8-bit on request is not a loss to warn of).
- Odd sizes: chroma-subsampled formats (yuv420p) need even sizes. When ``pix_fmt`` is not given, an odd-sized output
  uses the codec's 4:4:4 format instead (a warning says so; nothing is cropped or padded); when ``yuv420p`` is asked for
  explicitly, or the codec has no 4:4:4 format (mpeg4), :class:`~wildvsr.errors.InputError` says what to do.
- Timestamps: ``write(image, pts)`` takes pts in the writer's time base (``time_base``, else ``like.time_base``, else
  ``1/fps``) and they are passed through, so constant and variable frame rates are kept (the muxer may round them to
  its own time base, e.g. 1/1000 s in Matroska).
- ``copy_streams_from``: its audio and subtitle streams are remuxed without re-encoding when the output container
  accepts their codec; otherwise audio is transcoded (AAC for mp4/mov/avi, Opus for mkv/webm) with a warning, text
  subtitles are converted packet by packet (srt/ass <-> mov_text <-> webvtt; styling lost) with a warning, and bitmap
  subtitles the container cannot hold are dropped with a warning. Packets are interleaved with the video as it is
  written. ``copy_range=(t0, t1)`` (seconds of the source) copies only the packets whose span ``[pts, pts + duration)``
  overlaps ``[t0, t1)``, with their source timestamps: the preview of one segment whose frames carry the source's
  pts has that segment's sound, in sync.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import Interpolation, VideoReformatter

from wildvsr.errors import InputError, OutputExistsError, VideoIOError
from wildvsr.utils.files import atomic_path, check_output_path
from wildvsr.video.colour import ENCODE_TAGS, SWS_MATRIX, SWS_RANGE, encode_matrix, needs_matrix
from wildvsr.video.depth import encoder_formats, pick_deep_format
from wildvsr.video.info import IMAGE_EXTENSIONS, VideoInfo, is_video_path
from wildvsr.video.x264 import deterministic_x264_options
from wildvsr.video.colour import PRIMARIES_NAMES, TRANSFER_NAMES

logger = logging.getLogger(__name__)

#: Output extensions -> FFmpeg muxer names.
CONTAINERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm", ".avi": "avi"}
#: Codec -> (default crf, default preset, default pix_fmt for uint8 input, default pix_fmt for uint16 input).
CODEC_DEFAULTS = {
    "libx264": (18, "medium", "yuv420p", "yuv420p10le"),
    "libx265": (20, "medium", "yuv420p", "yuv420p10le"),
    "ffv1": (None, None, "bgr0", "gbrp16le"),  # this FFmpeg's FFV1 has no 8-bit gbrp
    "libvpx-vp9": (30, None, "yuv420p", "yuv420p10le"),
    "libaom-av1": (30, None, "yuv420p", "yuv420p10le"),
    "libsvtav1": (35, "8", "yuv420p", "yuv420p10le"),
    "mpeg4": (3, None, "yuv420p", "yuv420p"),
}
#: Codec -> (lowest, highest) value of ``crf`` (mpeg4: the qscale it stands for; ffv1 is lossless and takes none).
CRF_RANGES = {"libx264": (0, 51), "libx265": (0, 51), "libvpx-vp9": (0, 63), "libaom-av1": (0, 63),
              "libsvtav1": (0, 63), "mpeg4": (2, 31), "ffv1": None}
#: Codec -> accepted presets (other codecs ignore a preset, with a warning).
X26X_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow",
                "placebo")
PRESETS = {"libx264": X26X_PRESETS, "libx265": X26X_PRESETS, "libsvtav1": tuple(str(i) for i in range(14))}
_444 = {"yuv420p": "yuv444p", "yuv420p10le": "yuv444p10le", "yuv420p12le": "yuv444p12le", "yuv422p": "yuv444p",
        "yuv422p10le": "yuv444p10le"}
_FRAME_NAME_DIGITS = 8

X265_MIN_SIZE = (16, 64)
"""Smallest (height, width) libx265 is given: the x265 in PyAV's FFmpeg build corrupts the heap on narrower frames
(measured: widths 34 to 48 crash the process; heights below 16 are refused)."""

X265_POOL_MIN_PIXELS = 256 * 256
"""Frames below this many pixels are encoded by x265 without its thread pool: with it, 96x96 frames at preset
ultrafast failed at the flush ("Invalid argument") in 6 of 30 runs (a race; 0 of 60 without the pool), and a frame that
small gains nothing from threads."""
#: A segment's copied audio/subtitles are read from this many seconds before its start, not from the source's start
#: (a subtitle cue that began earlier than that and lasts into the segment is missed).
_SEEK_MARGIN = 30.0


def _holds_size(pix_fmt: str, width: int, height: int) -> bool:
    """False when chroma subsampling needs an even side that is odd (4:2:0 needs both even, 4:2:2 an even width)."""
    fmt = av.VideoFormat(pix_fmt)
    halved_w, halved_h = fmt.chroma_width(2) < 2, fmt.chroma_height(2) < 2  # chroma_width(w): the chroma plane width
    return not ((width % 2 and halved_w) or (height % 2 and halved_h))


def _supported_codecs(fmt: str) -> set[str]:
    with av.open(io.BytesIO(), "w", format=fmt) as probe:
        return set(probe.supported_codecs)


def _codec_available(codec: str) -> bool:
    try:
        av.codec.Codec(codec, "w")
    except (av.FFmpegError, ValueError, KeyError):  # UnknownCodecError is a ValueError
        return False
    return True


def check_encoder_options(codec: str, crf: float | None, preset: str | None, pix_fmt: str | None) -> None:
    """Refuse a crf outside the codec's range, an unknown preset or a pixel format the encoder cannot take, before
    any frame is made (FFmpeg would only say so when the encoder opens, after the first frame's work).

    Raises:
        InputError: naming the allowed values.
    """
    if crf is not None and codec in CRF_RANGES:
        span = CRF_RANGES[codec]
        if span is None:
            raise InputError(f"codec {codec} is lossless and takes no crf; drop the crf option")
        if not span[0] <= crf <= span[1]:
            raise InputError(f"crf {crf:g} is out of range for {codec}; use {span[0]}-{span[1]} (lower is better)")
    if preset is not None and codec in PRESETS and str(preset) not in PRESETS[codec]:
        allowed = PRESETS[codec]
        shown = f"{allowed[0]}-{allowed[-1]}" if allowed[0].isdigit() else ", ".join(allowed)
        raise InputError(f"preset {preset!r} is not known to {codec}; use one of {shown}")
    if pix_fmt is not None:
        _check_pix_fmt(codec, pix_fmt)


def _check_pix_fmt(codec: str, pix_fmt: str) -> None:
    supported = encoder_formats(codec)
    try:
        av.VideoFormat(pix_fmt)
        known = True
    except ValueError:
        known = False
    if not known or (supported and pix_fmt not in supported):
        shown = ", ".join(supported[:12]) + (", ..." if len(supported) > 12 else "")
        raise InputError(f"codec {codec} cannot encode pixel format {pix_fmt!r}; it supports {shown}")


def check_video_output(path: str | os.PathLike, codec: str, crf: float | None = None, preset: str | None = None,
                       pix_fmt: str | None = None) -> None:
    """Refuse a codec this build lacks or the container of ``path`` cannot hold, and the options of
    :func:`check_encoder_options`, before any work (what :class:`VideoWriter` checks when it is made; callers that
    load a model first call it earlier).

    Raises:
        InputError: naming what to use instead.
    """
    path = Path(path)
    if not _codec_available(codec):
        hint = " (try libsvtav1)" if "av1" in codec else ""
        raise InputError(f"codec {codec} is not available in this FFmpeg build{hint}; available here: "
                         f"{', '.join(c for c in CODEC_DEFAULTS if _codec_available(c))}")
    fmt = CONTAINERS.get(path.suffix.lower())
    if fmt is not None and codec not in _supported_codecs(fmt):
        raise InputError(f"codec {codec} cannot be stored in a {path.suffix} file; use .mkv (or another codec)")
    check_encoder_options(codec, crf, preset, pix_fmt)


class VideoWriter:
    """Write RGB frames atomically: ``with VideoWriter(path, like=reader.info) as w: w.write(image, pts)``.

    Args:
        path: output file (container from the extension) or frame folder (no video extension / existing folder).
        like: the source's :class:`VideoInfo`; gives fps, time base, colour primaries/transfer, rotation (carried when
            it was not applied) and the input path that must not be overwritten.
        fps: frame rate (overrides ``like``; default 25 when neither says).
        time_base: unit of ``pts`` in :meth:`write` (default ``like.time_base``, else ``1/fps``).
        codec: ``libx264`` (default), ``libx265``, ``ffv1`` (lossless), ``libvpx-vp9``, ``libaom-av1``,
            ``libsvtav1``, ``mpeg4``; any other FFmpeg encoder name is passed through.
        crf: quality (codec defaults: x264 18, x265 20, vp9/aom 30, svt-av1 35; for mpeg4 it is the qscale 2-31).
        preset: encoder preset (x264/x265 ``medium`` by default; svt-av1 a number 0-13).
        pix_fmt: encoder pixel format (default: the codec's format at the source's depth, see "Bit depth" above:
            ``yuv420p`` for 8-bit, ``yuv420p10le`` for 10-bit; ffv1 ``bgr0``/``gbrp16le``).
        bit_rate: target bit rate in bit/s (used instead of crf when crf is not given).
        copy_streams_from: a video file whose audio and subtitle streams are copied into the output.
        copy_range: ``(t0, t1)`` seconds of ``copy_streams_from`` (``t1`` None: to its end): only audio/subtitle
            packets overlapping ``[t0, t1)`` are copied, keeping their timestamps (a segment's preview). None: all.
        overwrite: replace an existing output (only once writing succeeded).
        options: extra encoder options (strings), e.g. ``{"tune": "film"}``.

    Raises:
        OutputExistsError: the output exists (without ``overwrite``) or is an input.
        InputError: missing/read-only output folder, unknown or unavailable codec, codec the container cannot hold,
            bad frames (shape, dtype, size change, non-increasing pts), odd size with an explicit 4:2:0 format.
        VideoIOError: nothing was written, or FFmpeg failed to encode/mux.
    """

    def __init__(self, path: str | os.PathLike, *, like: VideoInfo | None = None, fps: float | Fraction | None = None,
                 time_base: Fraction | None = None, codec: str | None = "libx264", crf: float | None = None,
                 preset: str | None = None, pix_fmt: str | None = None, bit_rate: int | None = None,
                 copy_streams_from: str | os.PathLike | None = None,
                 copy_range: tuple[float, float | None] | None = None, overwrite: bool = False,
                 options: dict[str, str] | None = None) -> None:
        self.path = Path(path)
        self.like = like
        self.overwrite = overwrite
        self.copy_from = Path(copy_streams_from) if copy_streams_from else None
        suffix = self.path.suffix.lower()
        if suffix in IMAGE_EXTENSIONS and suffix != ".png" and not self.path.is_dir():
            raise InputError(f"cannot write a {suffix} image; single-image output is .png (or give a folder)")
        if self.path.is_dir() or not suffix:
            self.kind = "folder"
        elif suffix == ".png":
            self.kind = "image"
        else:
            self.kind = "video"
            if suffix not in CONTAINERS:
                what = "files" if is_video_path(self.path) else "files (unknown extension)"
                raise InputError(f"cannot write {suffix} {what}; use one of {', '.join(sorted(CONTAINERS))}, .png "
                                 f"(one image), or a path without extension (a folder of PNG frames)")
        self.inputs = [p for p in ((like.path if like else None), self.copy_from) if p]
        check_output_path(self.path, overwrite=overwrite, inputs=self.inputs)  # fail before any work
        if self.copy_from is not None and not self.copy_from.is_file():
            raise InputError(f"copy_streams_from={self.copy_from} is not a file")
        self.copy_range = _check_copy_range(copy_range)
        if self.copy_range is not None and self.copy_from is None:
            raise InputError("copy_range applies to copy_streams_from; give the source to copy the audio from")

        fps = Fraction(fps).limit_denominator(1001000) if fps else (like.fps if like and like.fps else None)
        self.fps = fps or Fraction(25)
        self.time_base = Fraction(time_base) if time_base else (
            like.time_base if (like and like.time_base) else 1 / self.fps)
        self.codec = codec or "libx264"
        self.crf, self.preset, self.pix_fmt, self.bit_rate = crf, preset, pix_fmt, bit_rate
        self.options = dict(options or {})
        if self.kind == "video":
            check_video_output(self.path, self.codec, self.crf, self.preset, self.pix_fmt)
        elif self.pix_fmt is not None:
            raise InputError(f"a pixel format ({self.pix_fmt}) applies to video output only; PNG frames keep the "
                             f"frames' depth (8 or 16 bits)")
        self._stack: contextlib.ExitStack | None = None
        self._tmp: Path | None = None
        self._impl: _VideoSink | _PngSink | None = None
        self.count = 0
        self._last_pts: int | None = None
        self._shape: tuple | None = None

    # -- context -------------------------------------------------------------------------------------------------
    def __enter__(self) -> VideoWriter:
        self._stack = contextlib.ExitStack()
        try:
            self._tmp = self._stack.enter_context(atomic_path(self.path, overwrite=self.overwrite,
                                                              directory=self.kind == "folder", inputs=self.inputs))
        except (InputError, OutputExistsError):
            self._stack = None
            raise
        except OSError as exc:  # e.g. a read-only or virtual file system that os.access() did not reveal
            self._stack = None
            raise InputError(f"cannot create files in {self.path.parent or '.'} ({exc.strerror or exc}); choose "
                             f"another output folder") from exc
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        assert self._stack is not None
        stack, self._stack = self._stack, None
        try:
            if exc_type is None:
                if self.count == 0:
                    raise VideoIOError(f"no frames were written to {self.path}; nothing to save")
                if self._impl is not None:
                    self._impl.close()
                _public_permissions(self._tmp)
            elif self._impl is not None:
                self._impl.abort()
        except BaseException as err:
            if not stack.__exit__(type(err), err, err.__traceback__):
                raise
            return False
        return bool(stack.__exit__(exc_type, exc, tb))

    # -- writing -------------------------------------------------------------------------------------------------
    def write(self, image: np.ndarray, pts: int | None = None) -> None:
        """Append one frame.

        Args:
            image: ``(H, W, 3)`` RGB, uint8 or uint16 (the first frame fixes size and dtype).
            pts: presentation time in the writer's time base (default: the previous frame's + 1/fps); must increase.
        """
        if self._stack is None:
            raise InputError("VideoWriter.write() outside its 'with' block")
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype not in (np.uint8, np.uint16):
            raise InputError(f"frames must be (H, W, 3) uint8 or uint16 RGB, got {image.shape} {image.dtype}")
        if self._shape is None:
            self._shape = (image.shape, image.dtype)
            self._impl = self._open(image.shape[1], image.shape[0], self._source_depth(image.dtype))
        elif (image.shape, image.dtype) != self._shape:
            raise InputError(f"frame {self.count} is {image.shape} {image.dtype} but the first was "
                             f"{self._shape[0]} {self._shape[1]}; all frames must match")
        if pts is None:
            pts = round(self.count / self.fps / self.time_base)
            if self._last_pts is not None and pts <= self._last_pts:
                pts = self._last_pts + 1
        pts = int(pts)
        if self._last_pts is not None and pts <= self._last_pts:
            raise InputError(f"frame {self.count}: pts {pts} does not increase (previous {self._last_pts})")
        self._impl.write(np.ascontiguousarray(image), pts, self.count)
        self._last_pts = pts
        self.count += 1

    def _source_depth(self, dtype: np.dtype) -> int:
        """Bits the default format must keep: 8 for uint8 frames; for uint16 frames the source's depth when ``like``
        says it is above 8 bits, 10 for an 8-bit ``like`` (frames read deep on purpose), 16 with no ``like``."""
        if dtype == np.uint8:
            return 8
        if self.like is None:
            return 16
        return max(10, self.like.bit_depth)

    def _open(self, width: int, height: int, depth: int) -> _VideoSink | _PngSink:
        assert self._tmp is not None
        if self.kind == "video":
            return _VideoSink(self, self._tmp, width, height, depth)
        return _PngSink(self._tmp, single=self.kind == "image")


class _PngSink:
    """PNG frames into a folder (``%08d.png``) or one PNG file."""

    def __init__(self, target: Path, single: bool) -> None:
        self.target, self.single = target, single

    def write(self, image: np.ndarray, _pts: int, index: int) -> None:  # PNG frames carry no time
        if self.single:
            if index > 0:
                raise InputError(f"{self.target.name}: a .png output holds one image; give a folder for frames")
            path = self.target
        else:
            path = self.target / f"{index:0{_FRAME_NAME_DIGITS}d}.png"
        write_png(path, image)

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass


def write_png(path: Path, image: np.ndarray) -> None:
    """Write an ``(H, W, 3)`` uint8 (8-bit) or uint16 (16-bit) RGB PNG."""
    fmt = "rgb24" if image.dtype == np.uint8 else "rgb48le"
    ctx = av.CodecContext.create("png", "w")
    ctx.width, ctx.height = image.shape[1], image.shape[0]
    ctx.pix_fmt = "rgb24" if image.dtype == np.uint8 else "rgb48be"
    ctx.options = {"compression_level": "3"}
    frame = av.VideoFrame.from_ndarray(image, format=fmt)
    if fmt != ctx.pix_fmt:
        frame = frame.reformat(format=ctx.pix_fmt)
    data = b"".join(bytes(p) for p in ctx.encode(frame)) + b"".join(bytes(p) for p in ctx.encode(None))
    with open(path, "wb") as fh:
        fh.write(data)


def _output_matrix(like: VideoInfo | None, width: int, height: int) -> str:
    """The source's matrix when it is tagged with one we encode (BT.709/601/2020: an HLG phone clip stays BT.2020,
    a small BT.709 clip stays BT.709 although its x4 output is SD); otherwise the size rule (BT.709 for HD)."""
    if like is not None and like.color_matrix is not None and like.decode_matrix in ENCODE_TAGS:
        return like.decode_matrix
    return encode_matrix(width, height)


def _default_pix_fmt(codec: str, depth: int) -> str:
    """The codec's format for frames of a ``depth``-bit source (a warning when it cannot hold that many bits)."""
    _, _, pix8, pix16 = CODEC_DEFAULTS.get(codec, (None, None, "yuv420p", "yuv420p10le"))
    if depth <= 8:
        return pix8
    return pick_deep_format(codec, pix16, depth)


class _VideoSink:
    """An open output container: the video encoder plus copied/transcoded audio and subtitle streams."""

    def __init__(self, writer: VideoWriter, tmp: Path, width: int, height: int, depth: int) -> None:
        self.writer = writer
        fmt = CONTAINERS[writer.path.suffix.lower()]
        codec = writer.codec
        crf_default, preset_default, _, _ = CODEC_DEFAULTS.get(codec, (None, None, "yuv420p", "yuv420p10le"))
        pix_fmt = writer.pix_fmt or _default_pix_fmt(codec, depth)
        supported = encoder_formats(codec)
        if not _holds_size(pix_fmt, width, height):
            alt = _444.get(pix_fmt)
            if writer.pix_fmt is not None or alt is None or (supported and alt not in supported):
                raise InputError(f"{width}x{height} has an odd side, which {pix_fmt} (subsampled chroma) cannot hold; "
                                 f"use an even size, or a 4:4:4 pixel format such as yuv444p with "
                                 f"libx264/libx265/libvpx-vp9, or ffv1")
            logger.warning("%dx%d has an odd side: encoding %s instead of %s (nothing cropped)", width, height, alt,
                           pix_fmt)
            pix_fmt = alt
        _check_pix_fmt(codec, pix_fmt)  # the default for the frames' depth, or the 4:4:4 one chosen above
        if codec == "libx265" and (height < X265_MIN_SIZE[0] or width < X265_MIN_SIZE[1]):
            raise InputError(f"{width}x{height} frames are too small for libx265 (this FFmpeg build's x265 corrupts "
                             f"memory below {X265_MIN_SIZE[1]}x{X265_MIN_SIZE[0]}); use libx264 or ffv1")
        self.pix_fmt = pix_fmt
        self.rgb_in = "rgb24" if depth == 8 else "rgb48le"
        self.time_base = writer.time_base
        # AVI stores one frame per tick of a constant rate, and MPEG-4 part 2 allows time-base denominators up to
        # 65535: encode in 1/fps there and rescale the pts (VFR is then rounded to the frame grid).
        self.pts_scale = None
        needs_grid = fmt == "avi" or (codec == "mpeg4" and self.time_base.denominator > 65535)
        if needs_grid and self.time_base != 1 / writer.fps:
            self.pts_scale = self.time_base * writer.fps
            self.time_base = 1 / writer.fps
        like = writer.like

        # Colour: the matrix/range we convert with are the ones we tag.
        self.yuv = needs_matrix(pix_fmt)
        if self.yuv:
            self.matrix = _output_matrix(like, width, height)
            self.range = "full" if pix_fmt.startswith("yuvj") else "limited"
        else:
            self.matrix, self.range = None, "full"
        self.container = av.open(str(tmp), "w", format=fmt)
        try:
            self._add_video(width, height, crf_default, preset_default, like)
            self.copier = (_StreamCopier(writer.copy_from, self.container, fmt, span=writer.copy_range)
                           if writer.copy_from else None)
        except BaseException:
            self.container.close()
            raise
        self.reformatter = VideoReformatter()
        self.last_pts: int | None = None

    def _add_video(self, width, height, crf_default, preset_default, like) -> None:
        w = self.writer
        stream = self.container.add_stream(w.codec, rate=w.fps)
        stream.width, stream.height, stream.pix_fmt = width, height, self.pix_fmt
        cc = stream.codec_context
        cc.time_base = self.time_base
        stream.time_base = self.time_base
        if self.yuv:
            spc, pri, trc = ENCODE_TAGS.get(self.matrix, (6, 6, 6))
            rng = 2 if self.range == "full" else 1
        else:
            spc, pri, trc, rng = 0, 1, 13, 2  # RGB, sRGB
        if like is not None:
            pri = _tag_value("primaries", like.color_primaries) or pri
            trc = _tag_value("transfer", like.color_transfer) or trc
        cc.colorspace, cc.color_range, cc.color_primaries, cc.color_trc = spc, rng, pri, trc
        self.tags = (spc, rng, pri, trc)
        opts: dict[str, str] = {}
        crf = w.crf if w.crf is not None else (None if w.bit_rate else crf_default)
        preset = w.preset or preset_default
        if w.codec == "mpeg4":
            if crf is not None:
                cc.qscale = True
                cc.global_quality = int(max(2, min(31, round(crf)))) * 118  # FF_QP2LAMBDA
        elif crf is not None:
            opts["crf"] = str(crf)
            if w.codec in ("libvpx-vp9", "libaom-av1"):
                opts["b"] = "0"  # constant quality
        if preset is not None:
            if w.codec in ("libx264", "libx265", "libsvtav1"):
                opts["preset"] = str(preset)
            else:
                logger.warning("preset %r is ignored by %s", preset, w.codec)
        if w.codec == "libx265":
            # One frame thread: x265's frame-parallel encoding orders its output by timing, and under load a short
            # clip's flush was refused by the muxer ("Invalid argument", seen once in a loaded CI rehearsal); with one
            # the packets (and bytes) are the same on every run. Small frames also go without the thread pool.
            pools = ":pools=none" if width * height < X265_POOL_MIN_PIXELS else ""
            opts["x265-params"] = f"log-level=error:frame-threads=1{pools}"
        if w.codec == "libvpx-vp9":
            opts.setdefault("row-mt", "1")
        if w.bit_rate:
            cc.bit_rate = int(w.bit_rate)
        opts.update({str(k): str(v) for k, v in w.options.items()})
        stream.options = deterministic_x264_options(w.codec, opts)
        if like is not None and like.rotation and not like.rotation_applied:
            stream.set_display_rotation(like.rotation)
        self.stream = stream

    def write(self, image: np.ndarray, pts: int, index: int) -> None:
        frame = av.VideoFrame.from_ndarray(image, format=self.rgb_in)
        if self.yuv:
            frame = self.reformatter.reformat(frame, format=self.pix_fmt, dst_colorspace=SWS_MATRIX[self.matrix],
                                              dst_color_range=SWS_RANGE[self.range],
                                              interpolation=Interpolation.BILINEAR)
        else:
            frame = self.reformatter.reformat(frame, format=self.pix_fmt)
        _, rng, pri, trc = self.tags
        frame.color_range, frame.color_primaries, frame.color_trc = rng, pri, trc
        if self.pts_scale is not None:
            pts = round(pts * self.pts_scale)
            if self.last_pts is not None and pts <= self.last_pts:
                pts = self.last_pts + 1
        self.last_pts = pts
        frame.pts = pts
        frame.time_base = self.time_base
        try:
            packets = self.stream.encode(frame)
            for packet in packets:
                self.container.mux(packet)
        except av.FFmpegError as exc:
            raise VideoIOError(f"encoding frame {index} with {self.writer.codec} failed: {exc}") from exc
        if self.copier is not None:
            self.copier.pump(float(pts * self.time_base))

    def close(self) -> None:
        try:
            for packet in self.stream.encode(None):
                self.container.mux(packet)
            if self.copier is not None:
                self.copier.pump(None)
        except av.FFmpegError as exc:
            raise VideoIOError(f"finishing {self.writer.path} failed: {exc}") from exc
        finally:
            self._close_all()

    def abort(self) -> None:
        self._close_all()

    def _close_all(self) -> None:
        if self.copier is not None:
            self.copier.close()
        try:
            self.container.close()
        except av.FFmpegError as exc:
            raise VideoIOError(f"writing {self.writer.path} failed: {exc}") from exc


class _StreamCopier:
    """Audio/subtitle streams of a source file, remuxed (or transcoded) into the output as video is written."""

    def __init__(self, source: Path, out: av.container.OutputContainer, fmt: str,
                 span: tuple[float, float | None] | None = None) -> None:
        try:
            self.src = av.open(str(source), "r", metadata_errors="ignore")
        except av.FFmpegError as exc:
            raise VideoIOError(f"cannot read the audio/subtitles of {source}: {exc}") from exc
        self.span = span
        self.out = out
        supported = set(out.supported_codecs)
        self.map: dict[int, tuple] = {}
        for s in list(self.src.streams.audio) + list(self.src.streams.subtitles):
            name = s.codec_context.name if s.codec_context else "unknown"
            if name in supported:
                out_s = out.add_stream_from_template(s)
                if s.type == "audio" or s.type == "subtitle":
                    with contextlib.suppress(AttributeError, ValueError, TypeError):
                        out_s.codec_context.codec_tag = 0  # let the muxer pick its own tag
                self.map[s.index] = ("copy", out_s, None)
            elif s.type == "audio":
                target = "aac" if fmt in ("mp4", "mov", "avi") else "libopus"
                rate = s.codec_context.sample_rate or 48000
                if target == "libopus" and rate not in (48000, 24000, 16000, 12000, 8000):
                    rate = 48000
                out_s = out.add_stream(target, rate=rate)
                layout = s.codec_context.layout
                if layout is not None and layout.nb_channels:
                    out_s.layout = layout.name if layout.nb_channels <= 2 or target == "aac" else "stereo"
                logger.warning("audio stream %d (%s) cannot go into a %s file as is: transcoding it to %s",
                               s.index, name, fmt, target)
                self.map[s.index] = ("encode", out_s, s)
            elif (target := _text_subtitle_target(name, supported)) is not None:
                out_s = out.add_mux_stream(target)
                out_s.time_base = s.time_base
                if s.language:
                    out_s.metadata["language"] = s.language
                logger.warning("subtitle stream %d (%s) cannot go into a %s file as is: converting its text to %s "
                               "(styling is lost)", s.index, name, fmt, target)
                self.map[s.index] = ("text", out_s, (name, target))
            else:
                logger.warning("subtitle stream %d (%s) cannot go into a %s file; dropping it", s.index, name, fmt)
        self.streams = [self.src.streams[i] for i in self.map]
        if self.streams and span is not None and span[0] > _SEEK_MARGIN:
            self._seek(span[0] - _SEEK_MARGIN)
        self.demux = self.src.demux(*self.streams) if self.streams else iter(())
        self.pending: av.Packet | None = None
        self.done = not self.streams
        self.ended: set[int] = set()  # streams whose packets all start at or after span's end

    def _seek(self, seconds: float) -> None:
        """Start demuxing near ``seconds`` instead of at the file's start (a late segment of a long source)."""
        try:  # backward: lands on or before the time, and the span filter drops what comes before t0
            self.src.seek(int(seconds * av.time_base), backward=True)
        except av.FFmpegError:
            self.src.seek(0)

    def _outside(self, packet: av.Packet) -> bool:
        """True when ``packet`` lies outside ``span`` (and notes a stream that has passed its end)."""
        if self.span is None or packet.pts is None or packet.time_base is None:
            return False
        t0, t1 = self.span
        start = packet.pts * packet.time_base
        end = start + (packet.duration or 0) * packet.time_base
        if t1 is not None and start >= t1:
            self.ended.add(packet.stream.index)
            return True
        return end <= t0 and start < t0  # a zero-length packet at t0 is inside

    def pump(self, until: float | None) -> None:
        """Mux source packets up to ``until`` seconds (all remaining when None)."""
        while not self.done:
            packet = self.pending or next(self.demux, None)
            self.pending = None
            if packet is None:
                self.done = True
                self._flush_encoders()
                return
            if (until is not None and packet.pts is not None and packet.time_base is not None
                    and float(packet.pts * packet.time_base) > until):
                self.pending = packet
                return
            if self._outside(packet):
                if len(self.ended) == len(self.streams):  # packets come in time order per stream: nothing more
                    self.done = True
                    self._flush_encoders()
                    return
                continue
            mode, out_s, in_s = self.map[packet.stream.index]
            if mode == "copy":
                if packet.dts is None and packet.size == 0:
                    continue  # demuxer flush packet
                packet.stream = out_s
                self.out.mux(packet)
            elif mode == "text":
                if packet.size:
                    self.out.mux(_convert_text_packet(packet, out_s, *in_s))
            else:
                for frame in packet.decode():
                    for out_packet in out_s.encode(frame):
                        self.out.mux(out_packet)

    def _flush_encoders(self) -> None:
        for mode, out_s, _ in self.map.values():
            if mode == "encode":
                for packet in out_s.encode(None):
                    self.out.mux(packet)

    def close(self) -> None:
        self.src.close()


def _check_copy_range(span) -> tuple[float, float | None] | None:
    """``copy_range`` as ``(t0, t1)`` floats, refused when it is not a non-empty time range."""
    if span is None:
        return None
    try:
        t0, t1 = span
        t0, t1 = float(t0), (None if t1 is None else float(t1))
    except (TypeError, ValueError) as exc:
        raise InputError(f"copy_range must be (start, end) in seconds (end may be None), got {span!r}") from exc
    if t1 is not None and t1 <= t0:
        raise InputError(f"copy_range {span!r} is empty; the end must be after the start")
    return t0, t1


def _tag_value(kind: str, name: str | None) -> int | None:
    if name is None:
        return None
    table = PRIMARIES_NAMES if kind == "primaries" else TRANSFER_NAMES
    for value, label in table.items():
        if label == name:
            return value
    return None


def _public_permissions(path: Path | None) -> None:
    """Temp files are created 0600 (dirs 0700); give the result the usual permissions (umask applied)."""
    if path is None:
        return
    umask = os.umask(0)
    os.umask(umask)
    mode = 0o777 if path.is_dir() else 0o666
    with contextlib.suppress(OSError):
        os.chmod(path, mode & ~umask)


# -- text subtitles: converted packet by packet (all are UTF-8 text with different framing) --------------------------
_TEXT_SUBTITLES = ("srt", "subrip", "ass", "ssa", "mov_text", "webvtt", "text")


def _text_subtitle_target(codec: str, supported: set[str]) -> str | None:
    """The text-subtitle codec to convert ``codec`` into for a container supporting ``supported`` (None: drop)."""
    if codec not in _TEXT_SUBTITLES:
        return None  # bitmap subtitles (dvd/pgs) cannot be turned into text
    for target in ("mov_text", "subrip", "webvtt"):
        if target in supported:
            return target
    return None


def _subtitle_text(data: bytes, codec: str) -> str:
    if codec == "mov_text":
        n = int.from_bytes(data[:2], "big") if len(data) >= 2 else 0
        return data[2:2 + n].decode("utf-8", "replace")
    text = data.decode("utf-8", "replace")
    if codec in ("ass", "ssa"):  # ReadOrder,Layer,Style,Name,MarginL,MarginR,MarginV,Effect,Text
        text = text.split(",", 8)[-1]
        text = re.sub(r"\{[^}]*\}", "", text).replace("\\N", "\n").replace("\\n", "\n")
    return text


def _convert_text_packet(packet: av.Packet, out_stream, codec: str, target: str) -> av.Packet:
    text = _subtitle_text(bytes(packet), codec)
    if target == "mov_text":
        raw = text.encode("utf-8")
        data = len(raw).to_bytes(2, "big") + raw
    else:
        data = text.encode("utf-8")
    new = av.Packet(data)
    new.pts, new.dts, new.duration, new.time_base = packet.pts, packet.dts, packet.duration, packet.time_base
    new.stream = out_stream
    return new
