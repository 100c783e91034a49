"""The same-process A/B of kernels (``python -m benchmarks.ab``), on a toy row.

The baseline kernel module is a copy of this checkout's, as is or with one result changed:
the A/B must find the copy bit-identical, catch the change, and report a kernel the baseline
lacks. Nothing is asserted about speed.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import ab  # noqa: E402

KERNELS = ROOT / ab.KERNELS
ROW = "gavg2d-f32-nchw-fwd"  # one small kernel (global_sum_planes) to compile


def _baseline(tmp_path: Path, old: str = "", new: str = "") -> Path:
    path = tmp_path / "kernels_copy.py"
    text = KERNELS.read_text()
    if old:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path.write_text(text)
    return path


def _run(path: Path, capsys) -> tuple[int, str]:
    rc = ab.main(["--old-file", str(path), "--rows", ROW, "--quick", "--blocks", "1",
                  "--calls", "1", "--threads", "1"])
    return rc, capsys.readouterr().out


def test_a_copy_of_the_kernels_gives_the_same_bits(tmp_path, capsys):
    rc, out = _run(_baseline(tmp_path), capsys)
    assert rc == 0, out
    line = next(ln for ln in out.splitlines() if ln.startswith(f"| {ROW} |"))
    assert line.rstrip().endswith("| same |"), out


def test_a_changed_result_is_caught(tmp_path, capsys):
    # the mean of every plane one unit larger in the baseline
    path = _baseline(tmp_path, "        return acc / div\n", "        return acc / div + 1.0\n")
    rc, out = _run(path, capsys)
    assert rc == 1, out
    assert "| DIFFER |" in out


def test_a_kernel_missing_from_the_baseline_is_reported(tmp_path, capsys):
    path = _baseline(tmp_path, "def global_sum_planes(", "def global_sum_planes_renamed(")
    rc, out = _run(path, capsys)
    assert rc == 1, out
    assert "not replayed: LookupError: kernel global_sum_planes is not in the baseline" in out


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match=r"`rows` matched no row; received rows='no-such-row'"):
        ab.main(["--old-file", str(KERNELS), "--rows", "no-such-row"])
    with pytest.raises(ValueError, match=r"`blocks` must be at least 1"):
        ab.main(["--old-file", str(KERNELS), "--blocks", "0"])
    with pytest.raises(ValueError, match=r"`threads` must be between 1 and"):
        ab.main(["--old-file", str(KERNELS), "--rows", ROW, "--threads", "0"])


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_a_revision_names_its_kernel_file(tmp_path):
    inside = subprocess.run(["git", "rev-parse", "--is-inside-work-tree"], cwd=ROOT,
                            capture_output=True, text=True)
    if inside.returncode != 0:
        pytest.skip("not a git checkout")
    path = ab.kernels_at("HEAD", tmp_path)
    assert "def global_sum_planes(" in path.read_text()
    with pytest.raises(ValueError, match=r"`rev` must name a git revision .*rev='no-such-rev'"):
        ab.kernels_at("no-such-rev", tmp_path)


def test_a_call_that_launches_no_kernel_is_said_so(tmp_path, capsys, monkeypatch):
    from benchmarks.peers import PoolkitPeer, Prepared

    monkeypatch.setattr(PoolkitPeer, "prepare",
                        lambda self, *a, **k: Prepared(lambda: None, lambda v: v))
    rc, out = _run(_baseline(tmp_path), capsys)
    assert rc == 0, out
    assert f"| {ROW} | | | | | no kernel launched |" in out
