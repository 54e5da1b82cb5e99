"""What the server accepts from a client: files inside Gradio's upload folder only, of an accepted type, within the
limits; a zip of frames is unpacked (images only, flat) into a job folder. A refused upload is deleted.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from wildvsr.app.settings import AppSettings
from wildvsr.errors import InputError
from wildvsr.video import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, read_info

ZIP_EXTENSIONS = frozenset({".zip"})
ACCEPTED_EXTENSIONS = tuple(sorted(VIDEO_EXTENSIONS | IMAGE_EXTENSIONS | ZIP_EXTENSIONS))
VIDEO_LIKE_EXTENSIONS = tuple(sorted(VIDEO_EXTENSIONS | IMAGE_EXTENSIONS))


def upload_folder() -> Path:
    """Gradio's upload folder (``GRADIO_TEMP_DIR``, else ``<tmp>/gradio``), resolved."""
    return Path(os.environ.get("GRADIO_TEMP_DIR") or Path(tempfile.gettempdir()) / "gradio").resolve()


def uploaded_path(value: str | os.PathLike | None, what: str = "upload") -> Path:
    """The client's file as a path inside the upload folder; refuses anything else (``../`` names, links out).

    Raises:
        InputError: no file, or a path outside Gradio's upload folder.
    """
    if value is None or str(value) == "":
        raise InputError(f"no {what}: choose a file first")
    root = upload_folder()
    path = (root / value).resolve()  # an absolute value replaces root; a relative one is taken from root
    if not path.is_relative_to(root) or path == root:
        raise InputError(f"refused {what} {Path(str(value)).name!r}: only files uploaded to this page are read")
    if not path.is_file():
        raise InputError(f"{what} {path.name!r} is not a file")
    return path


def discard(path: Path) -> None:
    """Delete a refused upload (and its folder when Gradio made one just for it and it is now empty)."""
    root = upload_folder()
    if not path.resolve().is_relative_to(root):
        return  # never delete outside the upload folder
    with contextlib.suppress(OSError):
        path.unlink()
    with contextlib.suppress(OSError):
        if path.parent.resolve() != root:
            path.parent.rmdir()  # only when empty


def check_upload(path: Path, settings: AppSettings, accepted: tuple[str, ...] = ACCEPTED_EXTENSIONS) -> None:
    """Type and size of an upload (before anything decodes it).

    Raises:
        InputError: a type not in ``accepted`` or a file over ``settings.max_upload_mb``.
    """
    suffix = path.suffix.lower()
    if suffix not in accepted:
        raise InputError(f"{path.name!r} is not an accepted file type; accepted: {' '.join(accepted)}")
    size = path.stat().st_size
    if size > settings.max_upload_bytes:
        raise InputError(f"{path.name!r} is too large ({size / 2**20:.1f} MiB; the limit is "
                         f"{settings.max_upload_mb} MiB)")


def check_length(source: Path, settings: AppSettings) -> int | None:
    """Decode the header of a video, image or frame folder and enforce the frame and duration limits.

    Returns:
        The frame count when the container knows it.

    Raises:
        InputError: not a readable video/image (the reader's message), too many frames, or too long.
    """
    info = read_info(source)
    if info.num_frames is not None and info.num_frames > settings.max_frames:
        raise InputError(f"{source.name!r} is too long: {info.num_frames} frames (the limit is "
                         f"{settings.max_frames})")
    if info.duration is not None and info.duration > settings.max_seconds:
        raise InputError(f"{source.name!r} is too long: {info.duration:.1f} s (the limit is "
                         f"{settings.max_seconds:g} s)")
    return info.num_frames


def unpack_frames(archive: Path, folder: Path, settings: AppSettings) -> Path:
    """Unpack the images of a zip into ``folder`` (flat; other members ignored) and return it.

    Member names are used only for their final component (``a/../../x.png`` becomes ``x.png``), so nothing is
    written outside ``folder``. The unpacked size is bounded by the upload limit times 20 (a zip bomb stops early).

    Raises:
        InputError: not a zip, no images, duplicate names, too many images or too much data.
    """
    budget = settings.max_upload_bytes * 20
    try:
        with zipfile.ZipFile(archive) as zf:
            members = [m for m in zf.infolist() if not m.is_dir()
                       and PurePosixPath(m.filename).suffix.lower() in IMAGE_EXTENSIONS]
            if not members:
                raise InputError(f"{archive.name!r} holds no images ({' '.join(sorted(IMAGE_EXTENSIONS))})")
            if len(members) > settings.max_frames:
                raise InputError(f"{archive.name!r} is too long: {len(members)} frames (the limit is "
                                 f"{settings.max_frames})")
            folder.mkdir(parents=True, exist_ok=False)
            for member in members:
                name = PurePosixPath(member.filename.replace("\\", "/")).name
                target = folder / name
                if not name or name.startswith(".") or target.exists():
                    raise InputError(f"{archive.name!r}: member {member.filename!r} has an unusable or duplicate "
                                     "name (the frames must have distinct file names)")
                with zf.open(member) as src, open(target, "wb") as dst:
                    budget -= _copy_bounded(src, dst, budget)
    except zipfile.BadZipFile as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise InputError(f"{archive.name!r} is not a readable zip file ({exc})") from exc
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return folder


def _copy_bounded(src, dst, budget: int) -> int:
    copied = 0
    while chunk := src.read(1 << 20):
        copied += len(chunk)
        if copied > budget:
            raise InputError("the zip unpacks to too much data for the upload limit")
        dst.write(chunk)
    return copied
