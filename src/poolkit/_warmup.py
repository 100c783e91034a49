"""Numba's own start-up, begun in the background when poolkit is imported.

The first compiled call of a process, even with every kernel in Numba's on-disk cache, spends
most of its time in Numba's one-time set-up of its typing and target contexts (importing the
modules that register its NumPy support, one of which loads SciPy's BLAS when SciPy is
installed): about 0.4 s against 0.03 s for loading the kernel itself. A thread started at
import does that set-up while the caller goes on (reading data, building arrays), under Numba's
compiler lock, so a call that comes first simply waits for it. A fork waits for it too (a child
must not inherit the lock mid-set-up), and interpreter exit joins it.
"""
from __future__ import annotations

import os
import threading

_thread: threading.Thread | None = None


def _set_up() -> None:
    try:
        from numba.core.compiler_lock import global_compiler_lock
        from numba.core.registry import cpu_target

        with global_compiler_lock:
            cpu_target.typing_context.refresh()
            cpu_target.target_context.refresh()
    except Exception:  # noqa: BLE001 - an optimisation only: the first call does it instead
        pass


def _join() -> None:
    if _thread is not None and _thread is not threading.current_thread():
        _thread.join()


def start() -> None:
    """Begin Numba's set-up in a background thread (once; not with ``NUMBA_DISABLE_JIT=1``, nor
    with ``POOLKIT_NO_WARMUP=1``)."""
    global _thread
    from ._kernels import _NOJIT

    if _thread is not None or _NOJIT or os.environ.get("POOLKIT_NO_WARMUP", "0") not in ("", "0"):
        return
    _thread = threading.Thread(target=_set_up, name="poolkit-numba-setup")
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(before=_join)
    _thread.start()
