"""Every ``trygga`` command: one clear message and exit code 1/2, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from trygga_cli import common
from trygga_cli.main import app

ROOT = Path(__file__).resolve().parents[1]
PROFILE = str(ROOT / "data/stromstad/profile.toml")
runner = CliRunner()


def _trygga(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TRYGGA_LANG": "en", "COLUMNS": "200"}
    env.pop("TRYGGA_PROFILE", None)
    return subprocess.run([sys.executable, "-c", "from trygga_cli.main import main; main()",
                           *args], capture_output=True, text=True, env=env, cwd=cwd,
                          timeout=120)


def test_default_profile_is_found_from_any_folder(tmp_path):
    result = _trygga(tmp_path, "promises", "list")
    assert result.returncode == 0, result.stderr
    assert "trafikkontroller" in result.stdout


def test_missing_default_profile_says_which_profile_to_pass(tmp_path, monkeypatch):
    monkeypatch.setattr(common, "REPO_ROOT", tmp_path / "no-repo")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TRYGGA_PROFILE", raising=False)
    result = runner.invoke(app, ["walks", "list"])
    assert result.exit_code == 2
    assert "--profile" in result.output and "data/stromstad/profile.toml" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_missing_profile_file_is_one_message(tmp_path):
    result = _trygga(tmp_path, "layers", "--profile", str(tmp_path / "nope.toml"))
    assert result.returncode == 2
    assert "nope.toml: profile file not found" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.parametrize("command", [
    ["walks", "list"], ["walks", "export-public", "--out", "x.geojson"],
    ["public-map", "--out", "x.html"], ["promises", "status", "--year", "2024"],
])
def test_damaged_store_is_one_message(tmp_path, command):
    bad = tmp_path / "walks.gpkg"
    bad.write_bytes(b"this is no database\n" * 300)
    result = _trygga(tmp_path, *command, "--store", str(bad), "--profile", PROFILE)
    assert result.returncode in (1, 2), result.stdout
    assert "Traceback" not in result.stderr + result.stdout
    assert "walks.gpkg" in result.stderr
    assert not (tmp_path / "x.html").exists() and not (tmp_path / "x.geojson").exists()


def test_unexpected_error_is_one_message_without_traceback(monkeypatch):
    import walks.service

    def boom(*_a, **_k):
        raise RuntimeError("something odd")
    monkeypatch.setattr(walks.service, "open_store", boom)
    result = runner.invoke(app, ["walks", "list", "--profile", PROFILE])
    assert result.exit_code == 1
    assert "Unexpected error (RuntimeError: something odd)" in result.output or \
        "Oväntat fel (RuntimeError: something odd)" in result.output
    assert "--verbose" in result.output


def test_os_error_names_the_file(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    result = runner.invoke(app, ["promises", "template", "--out", str(folder)])
    assert result.exit_code == 2
    assert str(folder) in result.output and "Traceback" not in result.output
