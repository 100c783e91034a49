"""Numba's set-up in a background thread at import (poolkit._warmup): it must never change a
result, hang a fork taken right after the import, or run when turned off."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

JIT_OFF = os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0")


def _run(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, env={**os.environ, **env})


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_fork_right_after_import_runs_in_the_child() -> None:
    # the child of a fork taken while the set-up may still hold Numba's compiler lock must be
    # able to compile or load a kernel (the fork waits for the set-up to finish)
    code = (
        "import os, numpy as np, poolkit as pk\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    x = np.arange(16.0, dtype=np.float32).reshape(1, 4, 4, 1)\n"
        "    y = pk.max_pool(x, 2)[0, :, :, 0]\n"
        "    os._exit(0 if y.tolist() == [[5.0, 7.0], [13.0, 15.0]] else 3)\n"
        "_, status = os.waitpid(pid, 0)\n"
        "raise SystemExit(os.waitstatus_to_exitcode(status))\n")
    done = _run(code)
    assert done.returncode == 0, done.stderr


@pytest.mark.skipif(JIT_OFF, reason="no set-up thread with NUMBA_DISABLE_JIT=1")
@pytest.mark.parametrize("off, started", [("0", True), ("1", False)])
def test_the_set_up_thread_starts_unless_turned_off(off: str, started: bool) -> None:
    code = "import poolkit; print(poolkit._warmup._thread is not None)"
    done = _run(code, POOLKIT_NO_WARMUP=off)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(started)
