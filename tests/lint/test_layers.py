"""The layer rule of docs/architecture.md, checked on every make test: no file in
core/, vrrp/ or cli/ includes a folder above its own."""
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHECK = ROOT / "tests/lint/check_layers.py"


def run_check(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(CHECK), str(root)], capture_output=True, text=True, timeout=60)


def test_no_file_includes_a_layer_above_its_own():
    result = run_check(ROOT)
    assert result.returncode == 0, result.stdout


def copy_sources(tmp_path: Path) -> Path:
    for folder in ("core", "vrrp", "cli"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    return tmp_path


def test_an_upward_include_is_caught_with_file_and_line(tmp_path):
    root = copy_sources(tmp_path)
    victim = root / "core/base/duration.h"
    victim.write_text(victim.read_text() + '\n#include "core/forward/worker.h"\n')
    result = run_check(root)
    assert result.returncode == 1
    line = len(victim.read_text().splitlines())
    assert f"core/base/duration.h:{line}: core/base includes core/forward/worker.h" in result.stdout


def test_vrrp_may_not_use_the_forwarder_and_config_may_not_use_vrrp(tmp_path):
    root = copy_sources(tmp_path)
    (root / "vrrp/vrrp_fsm.h").write_text((root / "vrrp/vrrp_fsm.h").read_text() + '#include "core/forward/connection.h"\n')
    (root / "core/config/config.h").write_text((root / "core/config/config.h").read_text() + '#include "vrrp/vrrp_types.h"\n')
    result = run_check(root)
    assert result.returncode == 1
    assert "vrrp/vrrp_fsm.h" in result.stdout and "core/config/config.h" in result.stdout
    assert "2 upward include(s)" in result.stdout


def test_a_folder_outside_the_layer_picture_is_reported(tmp_path):
    root = copy_sources(tmp_path)
    (root / "core/misc").mkdir()
    (root / "core/misc/helper.h").write_text("#pragma once\n")
    result = run_check(root)
    assert result.returncode == 1
    assert "core/misc/helper.h: folder 'core/misc' is not a known layer" in result.stdout
