"""Atomic output: write beside the target, rename on success, never clobber an input.

A failed or interrupted write leaves nothing at the target path and leaves an existing file untouched. The temporary
path (``.<stem>.XXXXXXXX.partial<ext>``, or ``.<name>.XXXXXXXX.partial/`` for a folder) is removed on any exception;
after a kill -9 it stays behind, so the next write of the same target removes such stale partials first. A writer
holds an advisory lock (``flock``) on its partial for as long as it writes, and the kernel drops the lock when the
process dies: a partial nobody holds is stale, one that is held belongs to a live writer and is left alone.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from wildvsr.errors import InputError, OutputExistsError


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """True when two paths name the same file or folder (resolving links; False if either is missing)."""
    pa, pb = Path(a), Path(b)
    try:
        return pa.exists() and pb.exists() and os.path.samefile(pa, pb)
    except OSError:
        return pa.resolve() == pb.resolve()


def check_output_path(target: str | os.PathLike, *, overwrite: bool = False,
                      inputs: Iterable[str | os.PathLike] = ()) -> Path:
    """Validate an output path before any work starts.

    Raises:
        OutputExistsError: the target exists and ``overwrite`` is False, or it is one of ``inputs``.
        InputError: the parent folder is missing or not writable.
    """
    target = Path(target)
    for src in inputs:
        if src is not None and (same_file(target, src) or Path(src).resolve() == target.resolve()):
            raise OutputExistsError(f"output {target} is the input; choose a different output path")
    if target.exists() and not overwrite:
        raise OutputExistsError(f"output {target} already exists; pass --overwrite to replace it")
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"output folder {parent} does not exist; create it first")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"output folder {parent} is not writable; choose another output path")
    return target


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, *, overwrite: bool = False, directory: bool = False,
                inputs: Iterable[str | os.PathLike] = ()) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` when the block succeeds.

    Args:
        target: the final file (or folder, with ``directory=True``).
        overwrite: replace an existing target on success (it is untouched until then).
        directory: create the temporary path as an empty folder instead of reserving a file name.
        inputs: paths that must never be written to (raises if ``target`` is one of them).
    """
    target = check_output_path(target, overwrite=overwrite, inputs=inputs)
    parent = target.parent
    remove_stale_partials(target)
    prefix, suffix = _partial_affixes(target, directory)
    try:
        if directory:
            tmp = Path(tempfile.mkdtemp(prefix=prefix, suffix=suffix, dir=parent))
            fd = os.open(tmp, os.O_RDONLY)
        else:
            fd, name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=parent)
            tmp = Path(name)
    except OSError as exc:  # read-only file system, quota, ...: one line, not a traceback
        raise InputError(f"cannot write in {parent} ({exc.strerror or exc}); choose another output path") from exc
    try:
        _try_lock(fd)  # held until the end: marks the partial as live for remove_stale_partials
        try:
            yield tmp
        except BaseException:
            _remove(tmp)
            raise
        try:
            _apply_default_mode(tmp, directory)
            if directory and target.exists():
                if not overwrite:
                    raise OutputExistsError(f"output {target} appeared while writing; pass --overwrite to replace it")
                backup = target.with_name(f".{target.name}.old")
                _remove(backup)
                os.replace(target, backup)
                os.replace(tmp, target)
                _remove(backup)
            else:
                if target.exists() and not overwrite:
                    raise OutputExistsError(f"output {target} appeared while writing; pass --overwrite to replace it")
                os.replace(tmp, target)
        except BaseException:
            _remove(tmp)
            raise
    finally:
        os.close(fd)  # drops the lock


def _partial_affixes(target: Path, directory: bool) -> tuple[str, str]:
    """(prefix, suffix) of the temporary names for ``target``; a file keeps its extension (container guessing)."""
    if directory:
        return f".{target.name}.", ".partial"
    return f".{target.stem}.", f".partial{''.join(target.suffixes[-1:])}"


def remove_stale_partials(target: str | os.PathLike) -> list[Path]:
    """Remove the temporary outputs that killed writers of ``target`` left beside it (file or folder partials);
    a partial whose writer still runs (it holds the lock) is kept. Returns what was removed."""
    target = Path(target)
    parent = target.parent if str(target.parent) else Path(".")
    patterns = set()
    for directory in (False, True):
        prefix, suffix = _partial_affixes(target, directory)
        patterns.add(re.compile(re.escape(prefix) + r"[a-z0-9_]{8}" + re.escape(suffix) + r"\Z"))
    removed = []
    with contextlib.suppress(OSError):
        for entry in parent.iterdir():
            if any(p.match(entry.name) for p in patterns) and not entry.is_symlink() and _is_stale(entry):
                _remove(entry)
                removed.append(entry)
    return removed


def _is_stale(path: Path) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        return _try_lock(fd)
    finally:
        os.close(fd)  # closing drops the lock just taken


def _try_lock(fd: int) -> bool:
    """Take an exclusive advisory lock without waiting; False when another open file holds it. Where ``flock`` does
    not exist (Windows) every partial counts as live, so none is ever removed by mistake."""
    try:
        import fcntl
    except ImportError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _apply_default_mode(path: Path, directory: bool) -> None:
    """mkstemp/mkdtemp create 0600/0700 entries; give the final output the usual umask-based mode."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, (0o777 if directory else 0o666) & ~umask)


def atomic_write_bytes(target: str | os.PathLike, data: bytes, *, overwrite: bool = True) -> Path:
    """Write ``data`` to ``target`` atomically (default: replace an existing file)."""
    with atomic_path(target, overwrite=overwrite) as tmp:
        tmp.write_bytes(data)
    return Path(target)


def atomic_write_text(target: str | os.PathLike, text: str, *, overwrite: bool = True) -> Path:
    """Write UTF-8 ``text`` to ``target`` atomically (default: replace an existing file)."""
    return atomic_write_bytes(target, text.encode("utf-8"), overwrite=overwrite)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
