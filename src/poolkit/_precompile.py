"""Compile the kernels ahead of their first call, several processes at a time.

Numba compiles a kernel once per argument type on first use and keeps the machine code in its
on-disk cache; a cold cache costs seconds per kernel and dtype (minutes for all of them, one
after the other). :func:`precompile` finds every (kernel, argument types) pair that poolkit's
operations reach for the given dtypes, without running a kernel (each kernel is swapped for a
recorder while a fixed set of tiny calls runs), then compiles them in worker processes. Each
kernel goes to one worker with all of its signatures, so no two processes ever write the cache
index of the same kernel.
"""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator, Sequence

import numba
import numpy as np
from numba.core.registry import CPUDispatcher

DTYPES = ("float16", "float32", "float64", "int8", "uint8", "int16", "int32", "int64")


def _modules() -> list:
    from . import _half, _kernels, unpool

    return [_kernels, _half, unpool]


def _kernels() -> list[tuple[object, str]]:
    """(module, name) of every compiled function of the kernel modules. Only the kernels are
    called from Python code (the helpers are compiled into them), so only they are recorded."""
    return [(mod, name) for mod in _modules() for name, obj in sorted(vars(mod).items())
            if isinstance(obj, CPUDispatcher)]


class _Recorder:
    """Stands in for a kernel: notes the argument types of each call and runs nothing (returns
    -1, which the index checks of unpooling read as "all indices valid")."""

    def __init__(self, key: str, log: list) -> None:
        self.key = key
        self.log = log

    def __call__(self, *args):
        self.log.append((self.key, tuple(numba.typeof(a) for a in args)))
        return -1


@contextlib.contextmanager
def _recording(log: list) -> Iterator[None]:
    kernels = _kernels()
    saved = [(mod, name, getattr(mod, name)) for mod, name in kernels]
    try:
        for mod, name in kernels:
            setattr(mod, name, _Recorder(f"{mod.__name__}.{name}", log))
        yield
    finally:
        for mod, name, obj in saved:
            setattr(mod, name, obj)


def _calls(dtype: str) -> Iterator:
    """Zero-argument callables covering every kernel path of the operations for one dtype (call
    each as it comes: they read the arrays of the loop's current layout)."""
    import poolkit as pk

    dt = np.dtype(dtype)
    for fmt in ("channels_last", "channels_first"):
        x2 = np.ones((1, 6, 6, 2) if fmt == "channels_last" else (1, 2, 6, 6), dt)
        x3 = np.ones((1, 4, 4, 4, 2) if fmt == "channels_last" else (1, 2, 4, 4, 4), dt)
        kw = dict(data_format=fmt)
        wide = ()  # channels-first rows longer than 16: the row kernels (shorter: small planes)
        if fmt == "channels_first":
            wide = (np.ones((1, 2, 6, 18), dt), np.ones((1, 2, 4, 4, 18), dt))
        for x in (x2, x3, *wide):
            yield lambda x=x: pk.max_pool(x, 2, **kw)
            yield lambda x=x: pk.max_pool(x, 3, 2, 1, **kw)
            yield lambda x=x: pk.max_pool(x, 3, 1, "same", **kw)  # (float16's fold kernel)
            yield lambda x=x: pk.max_pool(x, 2, return_indices=True, **kw)
            yield lambda x=x: pk.avg_pool(x, 2, **kw)
            yield lambda x=x: pk.avg_pool(x, 3, 1, "same", **kw)
            yield lambda x=x: pk.lp_pool(x, 2, 2, **kw)
            yield lambda x=x: pk.global_max_pool(x, **kw)
            yield lambda x=x: pk.global_avg_pool(x, **kw)
            yield lambda x=x: pk.global_lp_pool(x, 2, **kw)
            yield lambda x=x: pk.adaptive_avg_pool(x, 2, **kw)
            yield lambda x=x: pk.adaptive_max_pool(x, 2, **kw)
        if fmt == "channels_first":  # float planes of 4096 values or more: the per-lane path
            yield lambda: pk.global_max_pool(np.ones((1, 1, 64, 64), dt), **kw)
        x = x2
        for op, args in ((pk.max_pool, (2,)), (pk.max_pool, (3, 2, 1)), (pk.avg_pool, (2,)),
                         (pk.avg_pool, (3, 1, "same")), (pk.lp_pool, (2, 2)),
                         (pk.lp_pool, (2, 3, 1, "same"))):
            # (the output gradient in x's dtype: float16's is widened by a kernel of its own)
            yield lambda op=op, args=args: pk.grad(op, x, np.ones(op(x, *args, **kw).shape, dt),
                                                   *args, **kw)
        shape = pk.output_shape(x.shape, 2, data_format=fmt)
        # the gradient through the flat indices the caller asked for (not tap numbers)
        yield lambda: pk.vjp(pk.max_pool, x, 2, return_indices=True, **kw)[1](np.ones(shape, dt))
        y, idx = np.ones(shape, dt), np.zeros(shape, np.int64)
        yield lambda: pk.max_unpool(y, idx, pool_size=2, **kw)
        yield lambda: pk.vjp(pk.max_unpool, y, idx, pool_size=2, **kw)[1](np.ones(x.shape))
        rois = np.array([[0, 0, 0, 3, 3]], np.float64)
        yield lambda: pk.vjp(pk.roi_max_pool, x, rois, 2, **kw)[1](
            np.ones((1, 2, 2, 2)))


def plan(dtypes: Sequence[str] = DTYPES) -> list[tuple[str, tuple]]:
    """The (kernel, argument types) pairs that poolkit's operations compile for ``dtypes``, in
    the order first reached, without compiling or running any kernel."""
    log: list = []
    with _recording(log), np.errstate(all="ignore"):
        for dtype in dtypes:
            for call in _calls(dtype):
                try:
                    call()
                except Exception:  # a result read back from a kernel that did not run
                    pass
    seen: dict = {}
    for key, sig in log:
        seen.setdefault((key, sig), None)
    return list(seen)


# Seconds to compile one signature of a kernel (cold cache, mean over its dtypes, measured on a
# 2-core Xeon with two workers at once); kernels not listed take about 2. Only the split among
# workers uses them: by signature count alone, one worker drew the heaviest kernels and finished
# minutes after the other; with the previous estimates, 795 s against 869 s (now 828 against 836
# predicted from the same measurement).
_COST = {"sum_cl": 54.0, "max_cf_rows": 50.0, "max_cl": 38.0, "sum_cf_rows": 28.0,
         "sum_cl_rows": 27.0, "max_cf_fold": 22.0, "sum_cf_small": 16.0, "sum_cf_tiles": 15.0,
         "argmax_cl": 11.0, "max_cf_tiles": 8.2, "global_sum_planes": 6.9, "argmax_cf_rows": 6.5,
         "global_sum_cl": 6.2, "mean_bwd_cl": 4.6, "global_max_cl": 4.4, "max_cf_small": 3.9,
         "mean_bwd_rows_cf": 2.6, "global_max_planes": 2.5}


def cost(key: str) -> float:
    """The estimated compile seconds of one signature of kernel ``key`` (``module.name``)."""
    return _COST.get(key.rsplit(".", 1)[-1], 2.0)


def assign(pairs: list[tuple[str, tuple]], workers: int) -> list[list[tuple[str, tuple]]]:
    """Split the pairs among ``workers``: every kernel, with all its signatures, to one worker
    (the least loaded in estimated compile seconds, the costliest kernels first)."""
    by_kernel: dict[str, list] = {}
    for key, sig in pairs:
        by_kernel.setdefault(key, []).append((key, sig))
    shares: list[list] = [[] for _ in range(max(1, workers))]
    loads = [0.0] * len(shares)
    for key in sorted(by_kernel, key=lambda k: (-cost(k) * len(by_kernel[k]), k)):
        i = loads.index(min(loads))
        shares[i].extend(by_kernel[key])
        loads[i] += cost(key) * len(by_kernel[key])
    return shares


def _kernel(key: str):
    """The kernel a plan names ``module.name``."""
    mod, name = key.rsplit(".", 1)
    return getattr(next(m for m in _modules() if m.__name__ == mod), name)


def _compile(share: list[tuple[str, tuple]]) -> None:
    for key, sig in share:
        _kernel(key).compile(sig)


def _worker(index: int, workers: int, dtypes: Sequence[str]) -> None:
    _compile(assign(plan(dtypes), workers)[index])


def precompile(processes: int | None = None, dtypes: Sequence[str] = DTYPES) -> dict:
    """Compile poolkit's kernels for ``dtypes`` into Numba's on-disk cache now, in parallel.

    The first call of an operation otherwise compiles its kernel for the input's dtype (seconds
    each; all of them take minutes one after the other). After this, every process on the
    machine (same Python, Numba and CPU) loads them from the cache instead. Kernels already in
    the cache are loaded, not compiled again. With ``NUMBA_DISABLE_JIT=1`` there is nothing to
    compile.

    Parameters
    ----------
    processes : int, optional
        Worker processes; default: the CPUs this process may use. Each kernel is compiled by
        one worker, with all of its dtypes.
    dtypes : sequence of str
        Input dtypes to compile for (default: every supported one).

    Returns
    -------
    dict
        ``kernels`` and ``signatures`` compiled or loaded, ``processes`` used, ``seconds``.

    Examples
    --------
    >>> import poolkit
    >>> poolkit.precompile(dtypes=["float32"])  # doctest: +SKIP
    {'kernels': 23, 'signatures': 23, 'processes': 2, 'seconds': 74.2}
    >>> poolkit.precompile(processes=0)
    Traceback (most recent call last):
    ...
    ValueError: `processes` must be a positive integer; received processes=0
    """
    from ._kernels import _NOJIT

    bad = [d for d in dtypes if d not in DTYPES]
    if isinstance(dtypes, str) or bad:
        raise ValueError(f"`dtypes` must be a sequence of {', '.join(DTYPES)}; "
                         f"received dtypes={dtypes!r}")
    if processes is None:
        processes = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
            os.cpu_count() or 1)
    if isinstance(processes, bool) or not isinstance(processes, (int, np.integer)) \
            or processes < 1:
        raise ValueError(f"`processes` must be a positive integer; received "
                         f"processes={processes!r}")
    start = time.perf_counter()
    if _NOJIT:
        return dict(kernels=0, signatures=0, processes=0, seconds=0.0)
    pairs = plan(dtypes)
    shares = assign(pairs, int(processes))  # each worker rebuilds the plan and takes its share
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH", "")) if p)
    code = ("import sys; from poolkit._precompile import _worker; "
            "_worker(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3].split(','))")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(i), str(len(shares)),
                               ",".join(dtypes)], env=env)
             for i, share in enumerate(shares) if share]
    failed = [p.args[3] for p in procs if p.wait() != 0]
    if failed:
        raise RuntimeError(f"precompile workers {', '.join(failed)} of {len(shares)} failed "
                           "(their output is above)")
    return dict(kernels=len({k for k, _ in pairs}), signatures=len(pairs),
                processes=len(procs), seconds=round(time.perf_counter() - start, 1))
