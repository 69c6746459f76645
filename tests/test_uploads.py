"""ui.uploads: upload temp files are removed after use and, when stale, at start-up."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from ui import uploads


def test_discard_after_use_removes_only_files_in_the_folder(tmp_path):
    folder = tmp_path / "trygga-uploads"
    saved = uploads.save_upload(b"id;kategori\n", "fynd.csv", folder)
    assert saved is not None and saved.parent == folder and saved.exists()
    assert oct(folder.stat().st_mode & 0o777) == "0o700"
    outside = tmp_path / "annat.csv"
    outside.write_bytes(b"x")
    assert not uploads.discard_upload(outside, folder) and outside.exists()
    assert uploads.discard_upload(saved, folder) and not saved.exists()
    assert not uploads.discard_upload(saved, folder)  # twice is fine


def test_purge_at_start_removes_stale_uploads_and_keeps_fresh_ones(tmp_path):
    folder = tmp_path / "trygga-uploads"
    old = uploads.save_upload(b"gammal", "a.csv", folder)
    fresh = uploads.save_upload(b"ny", "b.gpx", folder)
    leftover = folder / ".tmp-0123.csv"  # an interrupted write
    leftover.write_bytes(b"half")
    hour_ago = time.time() - uploads.STALE_AFTER_S - 1
    for p in (old, leftover):
        os.utime(p, (hour_ago, hour_ago))
    assert uploads.purge_uploads(folder) == 2
    assert sorted(p.name for p in folder.iterdir()) == [fresh.name]
    assert uploads.purge_uploads(folder, older_than_s=0) == 1
    assert list(folder.iterdir()) == []
    assert uploads.purge_uploads(tmp_path / "saknas") == 0


def test_saving_again_makes_an_upload_fresh(tmp_path):
    folder = tmp_path / "u"
    first = uploads.save_upload(b"data", "a.csv", folder)
    hour_ago = time.time() - uploads.STALE_AFTER_S - 1
    os.utime(first, (hour_ago, hour_ago))
    assert uploads.save_upload(b"data", "a.csv", folder) == first
    assert uploads.purge_uploads(folder) == 0


def test_a_foreign_or_linked_upload_folder_is_refused(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "trygga-uploads"
    link.symlink_to(real, target_is_directory=True)
    with pytest.raises(PermissionError, match="link or belongs to another user"):
        uploads.save_upload(b"x", "a.csv", link)
    assert list(real.iterdir()) == []


def test_app_start_purges_the_upload_folder(tmp_path, monkeypatch):
    folder = tmp_path / "trygga-uploads"
    stale = uploads.save_upload(b"x", "a.csv", folder)
    hour_ago = time.time() - uploads.STALE_AFTER_S - 1
    os.utime(stale, (hour_ago, hour_ago))
    monkeypatch.setattr(uploads, "UPLOAD_DIR", folder)
    uploads.purge_uploads_once.cache_clear()
    try:
        assert uploads.purge_uploads_once() == 1
        assert not Path(stale).exists()
    finally:
        uploads.purge_uploads_once.cache_clear()


def test_saved_upload_exists_only_inside_the_block(tmp_path):
    folder = tmp_path / "trygga-uploads"
    with uploads.saved_upload(b"id;kategori\n", "../x.CSV", folder) as path:
        assert path is not None and path.read_bytes() == b"id;kategori\n"
        assert path.suffix == ".csv" and path.parent.parent == folder
    assert list(folder.iterdir()) == []
    with pytest.raises(RuntimeError), uploads.saved_upload(b"x", "a.gpx", folder) as path:
        raise RuntimeError("import failed")
    assert list(folder.iterdir()) == []
    with uploads.saved_upload(b"x", "evil.exe", folder) as path:
        assert path is None
