"""poolkit must also work with Numba's JIT switched off (``NUMBA_DISABLE_JIT=1``).

The kernels then run as plain Python, so a tiny subset of the reference comparisons runs in a
subprocess (the variable is read when numba is first imported).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent(
    """
    import numba, numpy as np
    assert numba.config.DISABLE_JIT, "NUMBA_DISABLE_JIT was not honoured"
    import poolkit as pk
    from tests.registry import OPS, check_op, make_input

    cases = [
        ("max_pool", (2, 1), dict(padding="same", return_indices=True)),
        ("max_pool", (3, 2), dict(padding=1, dilation=1, ceil_mode=True,
                                  data_format="channels_first")),
        ("max_pool", (3, 2), dict(padding=1)),  # channels-last, a column carried
        ("avg_pool", (3, 2), dict(padding="same_lower", count_include_pad=True)),
        ("avg_pool", (2, 1), dict(padding=((1, 0), (0, 1)), divisor_override=3,
                                  data_format="channels_first")),
        ("avg_pool", (2, 2), dict(padding="same", data_format="channels_first")),  # tiles
        ("lp_pool", (3, 2, 1), dict(padding=1)),
        ("lp_pool", (2, 2, 2), dict(data_format="channels_first")),
        ("lp_pool", (2, 2, 2), dict()),  # channels-last, two-wide flat loops
        ("global_max_pool", (), dict(keepdims=True)),
        ("global_avg_pool", (), dict(data_format="channels_first")),
        ("global_avg_pool", (), dict(keepdims=True)),  # channels-last flat blocks
        ("global_lp_pool", (2,), dict()),
        ("adaptive_max_pool", ((2, 3),), dict(return_indices=True)),
        ("adaptive_avg_pool", ((3, 2),), dict(data_format="channels_first")),
    ]
    for i, (op, args, kwargs) in enumerate(cases):
        for dtype in ("float32", "int16") if OPS[op].exact else ("float64",):
            x = make_input((1, 4, 5, 2), dtype, i)
            check_op(OPS[op], x, *args, **kwargs)
    x = make_input((2, 6, 3), "float32", 7)  # 1-D
    check_op(OPS["max_pool"], x, 2, 2, "same", return_indices=True)
    x = make_input((1, 3, 3, 4, 2), "float64", 8)  # 3-D
    check_op(OPS["avg_pool"], x, 2, 1, 1, count_include_pad=True)
    check_op(OPS["avg_pool"], x, 2, 2, data_format="channels_first")  # four rows folded
    assert pk.precompile()["signatures"] == 0  # nothing to compile
    print("nojit ok")
    """
)


def test_everything_works_with_the_jit_disabled() -> None:
    env = dict(os.environ)
    env["NUMBA_DISABLE_JIT"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), str(ROOT / "src"), env.get("PYTHONPATH", "")) if p)
    proc = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "nojit ok" in proc.stdout
