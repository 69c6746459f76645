"""write_atomic: whole file or nothing, no temporary files left behind."""

import pytest

from layers.io import write_atomic


def test_write_atomic_replaces_and_sets_mode(tmp_path):
    path = tmp_path / "sub" / "a.html"
    write_atomic(path, b"one")
    write_atomic(path, b"two", mode=0o600)
    assert path.read_bytes() == b"two"
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["a.html"]


def test_write_atomic_keeps_the_old_file_on_error(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(b"old")
    with pytest.raises(TypeError):
        write_atomic(path, "not bytes")  # type: ignore[arg-type]
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.csv"]
