"""The guard in tests/conftest.py that fails a run which wrote into the checkout."""

from __future__ import annotations

import subprocess
from pathlib import Path

from conftest import checkout_state


def _repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "data" / "stromstad").mkdir(parents=True)
    (root / "data" / "stromstad" / "profile.toml").write_text("name = 'x'\n", encoding="utf-8")
    (root / ".gitignore").write_text("data/*/walks.gpkg*\n", encoding="utf-8")
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


def test_a_new_ignored_store_in_data_is_noticed(tmp_path):
    root = _repo(tmp_path)
    before = checkout_state(root)
    assert checkout_state(root) == before
    (root / "data" / "stromstad" / "walks.gpkg").write_bytes(b"x")  # git-ignored
    changed = checkout_state(root) ^ before
    assert any("data/stromstad/walks.gpkg" in c for c in changed)


def test_a_changed_data_file_and_a_stray_output_are_noticed(tmp_path):
    root = _repo(tmp_path)
    before = checkout_state(root)
    (root / "data" / "stromstad" / "profile.toml").write_text("name = 'y!'\n",
                                                              encoding="utf-8")
    (root / "karta.html").write_text("<html></html>", encoding="utf-8")
    changed = checkout_state(root) ^ before
    assert any("profile.toml" in c for c in changed)
    assert any(c.startswith("git: ") and "karta.html" in c for c in changed)
    (root / "__pycache__").mkdir()
    (root / "__pycache__" / "m.pyc").write_bytes(b"")
    assert checkout_state(root) ^ before == changed  # tool caches are not the tests' doing
