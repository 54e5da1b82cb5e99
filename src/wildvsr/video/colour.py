"""Colour tags: FFmpeg enum values <-> names, and the matrix/range rules used for YUV <-> RGB.

Rules (the ones players use):
- A stream's own matrix and range tags win.
- Untagged matrix: BT.709 when the picture is HD (height >= 720 or width >= 1280), else BT.601. JPEG (mjpeg) is always
  BT.601 (JFIF).
- Untagged range: full for the ``yuvj*`` pixel formats and JPEG, limited for every other YUV format.
- RGB, gray and palette sources need no matrix (``decode_matrix`` is None).
"""

from __future__ import annotations

from av.video.reformatter import ColorRange, Colorspace

# AVColorSpace (matrix coefficients), AVColorRange, AVColorPrimaries, AVColorTransferCharacteristic -> FFmpeg names.
MATRIX_NAMES = {0: "rgb", 1: "bt709", 4: "fcc", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m", 8: "ycgco",
                9: "bt2020nc", 10: "bt2020c", 11: "smpte2085", 12: "chroma-derived-nc", 13: "chroma-derived-c",
                14: "ictcp"}
RANGE_NAMES = {1: "limited", 2: "full"}
PRIMARIES_NAMES = {1: "bt709", 4: "bt470m", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m", 8: "film", 9: "bt2020",
                   10: "smpte428", 11: "smpte431", 12: "smpte432", 22: "ebu3213"}
TRANSFER_NAMES = {1: "bt709", 4: "gamma22", 5: "gamma28", 6: "smpte170m", 7: "smpte240m", 8: "linear", 9: "log100",
                  10: "log316", 11: "iec61966-2-4", 12: "bt1361e", 13: "iec61966-2-1", 14: "bt2020-10",
                  15: "bt2020-12", 16: "smpte2084", 17: "smpte428", 18: "arib-std-b67"}

# Matrix tag -> the swscale matrix used to decode it (the names we report as ``decode_matrix``).
_DECODE = {1: "bt709", 4: "fcc", 5: "bt601", 6: "bt601", 7: "smpte240m", 9: "bt2020", 10: "bt2020"}
SWS_MATRIX = {"bt709": Colorspace.ITU709, "bt601": Colorspace.ITU601, "bt2020": Colorspace.BT2020,
              "fcc": Colorspace.FCC, "smpte240m": Colorspace.SMPTE240M}
SWS_RANGE = {"limited": ColorRange.MPEG, "full": ColorRange.JPEG}

# What the writer tags for each matrix it converts with: (colorspace, primaries, transfer) enum values.
ENCODE_TAGS = {"bt709": (1, 1, 1), "bt601": (6, 6, 6), "bt2020": (9, 9, 14)}


def tag_name(table: dict[int, str], value: int | None) -> str | None:
    """Name of an FFmpeg colour enum value, or None when unspecified/unknown."""
    if value is None:
        return None
    return table.get(int(value))


def is_hd(width: int, height: int) -> bool:
    """The players' rule for untagged video: HD when height >= 720 or width >= 1280."""
    return height >= 720 or width >= 1280


def needs_matrix(pix_fmt: str) -> bool:
    """True for YUV-family pixel formats (those that need a matrix to become RGB)."""
    name = pix_fmt.lower()
    return name.startswith(("yuv", "yuvj", "nv", "p0", "p2", "p4", "y2", "uyv", "yuy", "yvy", "ayuv", "vuy", "xv",
                            "v30", "y21", "y41", "uyyv"))


def decode_params(pix_fmt: str, matrix_tag: int | None, range_tag: int | None, width: int, height: int,
                  codec: str = "") -> tuple[str | None, str | None]:
    """The (matrix, range) names to decode a stream with, following the rules in the module docstring.

    Returns (None, None) for sources that are not YUV (RGB, gray, palette): no matrix applies.
    """
    if not needs_matrix(pix_fmt):
        return None, None
    jpeg = codec in ("mjpeg", "jpegls") or pix_fmt.startswith("yuvj")
    matrix = _DECODE.get(int(matrix_tag)) if matrix_tag is not None else None
    if matrix is None:
        matrix = "bt601" if jpeg else ("bt709" if is_hd(width, height) else "bt601")
    rng = RANGE_NAMES.get(int(range_tag)) if range_tag is not None else None
    if rng is None:
        rng = "full" if jpeg else "limited"
    return matrix, rng


def encode_matrix(width: int, height: int) -> str:
    """The matrix the writer converts RGB with: BT.709 for HD sizes, BT.601 for SD."""
    return "bt709" if is_hd(width, height) else "bt601"
