"""Temporary files of uploaded imports (no Streamlit here).

An uploaded findings file is saved under its content hash in :data:`UPLOAD_DIR`
(``<tmp>/trygga-uploads``) only while the importers read it by path
(:func:`saved_upload`, a context manager that removes it afterwards; or
:func:`save_upload` + :func:`discard_upload`), and whatever an earlier run left behind (a
crashed server) is removed when the app starts (:func:`purge_uploads_once`). Files younger than :data:`STALE_AFTER_S` are kept at
start-up, so a second server on the same machine does not lose an upload in progress.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path, PurePath

from layers.io import write_atomic
from walks.importers import SUPPORTED_EXTENSIONS

logger = logging.getLogger(__name__)

#: Folder for uploaded import files, each saved under its content hash.
UPLOAD_DIR = Path(tempfile.gettempdir()) / "trygga-uploads"
#: Uploads older than this (seconds) are removed at start-up: 1 hour.
STALE_AFTER_S = 3600.0


def upload_folder(folder: Path | None = None) -> Path:
    """*folder* (default :data:`UPLOAD_DIR`), created with mode 0700.

    Raises
    ------
    PermissionError
        The folder is a symbolic link or belongs to another user (in a shared ``/tmp``,
        someone else could read or replace the uploads).
    """
    folder = UPLOAD_DIR if folder is None else folder
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    info = os.lstat(folder)
    if stat.S_ISLNK(info.st_mode) or (hasattr(os, "getuid") and info.st_uid != os.getuid()):
        raise PermissionError(f"{folder} is a link or belongs to another user; remove it or "
                              "set TMPDIR to a private folder")
    return folder


def save_upload(data: bytes, uploaded_name: str, folder: Path | None = None) -> Path | None:
    """Save an uploaded import file under its content hash; None for unsupported types.

    Only the *extension* of the uploaded name is used, and only if it is one the importers
    read (:data:`walks.importers.SUPPORTED_EXTENSIONS`), so no uploaded name ever becomes
    a path (no path traversal).

    >>> p = save_upload(b"a;b\\n", "../../etc/x.CSV", Path(tempfile.mkdtemp()))
    >>> p.name == hashlib.sha256(b"a;b\\n").hexdigest() + ".csv"
    True
    """
    name = upload_name(data, uploaded_name)
    if name is None:
        return None
    target = upload_folder(folder) / name
    if not target.exists():
        write_atomic(target, data)
    else:
        os.utime(target)  # in use again: not stale
    return target


def upload_name(data: bytes, uploaded_name: str) -> str | None:
    """``<sha256><ext>`` of an upload, or None when the extension is not importable."""
    ext = PurePath(str(uploaded_name).replace("\\", "/")).suffix.lower()
    if ext not in SUPPORTED_EXTENSIONS:
        return None
    return f"{hashlib.sha256(data).hexdigest()}{ext}"


@contextlib.contextmanager
def saved_upload(data: bytes, uploaded_name: str,
                 folder: Path | None = None) -> Iterator[Path | None]:
    """The upload as a file while the ``with`` block runs; removed afterwards.

    Yields None for an unsupported extension. Each use gets its own private subfolder, so
    two sessions uploading the same file never remove each other's copy.
    """
    name = upload_name(data, uploaded_name)
    if name is None:
        yield None
        return
    private = Path(tempfile.mkdtemp(prefix="use-", dir=upload_folder(folder)))
    try:
        target = private / name
        write_atomic(target, data)
        yield target
    finally:
        shutil.rmtree(private, ignore_errors=True)


def discard_upload(path: Path, folder: Path | None = None) -> bool:
    """Remove a saved upload after use; only files inside the upload folder.

    Returns True when a file was removed.
    """
    folder = (UPLOAD_DIR if folder is None else folder).resolve()
    path = Path(path)
    if path.parent.resolve() != folder or not path.is_file():
        return False
    path.unlink(missing_ok=True)
    return True


def purge_uploads(folder: Path | None = None, older_than_s: float = STALE_AFTER_S,
                  now: float | None = None) -> int:
    """Remove saved uploads (and temporary files of interrupted writes) older than
    *older_than_s* seconds. Returns how many were removed."""
    folder = UPLOAD_DIR if folder is None else folder
    if not folder.is_dir():
        return 0
    cutoff = (time.time() if now is None else now) - older_than_s
    removed = 0
    for entry in folder.iterdir():
        try:
            if entry.is_symlink() or entry.lstat().st_mtime > cutoff:
                continue
            if entry.is_file():
                entry.unlink()
            elif entry.is_dir():  # a saved_upload of a process that died
                shutil.rmtree(entry)
            else:
                continue
            removed += 1
        except OSError:  # removed by someone else meanwhile
            continue
    if removed:
        logger.info("removed %d old upload(s) from %s", removed, folder)
    return removed


@functools.cache
def purge_uploads_once() -> int:
    """:func:`purge_uploads` once per process (the app calls it at start-up)."""
    try:
        return purge_uploads()
    except OSError as exc:
        logger.warning("could not clean %s: %s", UPLOAD_DIR, exc)
        return 0
