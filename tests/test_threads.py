"""The kernels' shares of work on several threads (poolkit._workers): every kernel gives the same
result on any number of threads as on one, errors reach the caller, and calls from several
threads at once, or from a forked child, are answered."""

from __future__ import annotations

import multiprocessing
import sys
import threading

import numpy as np
import pytest

import poolkit as pk
from poolkit import _engine, _kernels, _workers

from .registry import make_input

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@given(st.integers(0, 10_000), st.integers(1, 64))
def test_shares_split_the_jobs_into_contiguous_runs(n: int, nthr: int) -> None:
    bounds = [tuple(int(v) for v in _kernels._share(n, tid, nthr)) for tid in range(nthr)]
    assert bounds[0][0] == 0 and bounds[-1][1] == n
    for (_, hi), (lo, _) in zip(bounds, bounds[1:]):
        assert hi == lo  # no job twice, none left out
    sizes = [hi - lo for lo, hi in bounds]
    assert min(sizes) >= 0 and max(sizes) - min(sizes) <= 1


def _calls(dtype: str, fmt: str) -> list:
    """(name, call) covering every kernel of the forward and backward passes, on inputs with
    more jobs than threads (and fewer: a single plane, a single row)."""
    cl = fmt == "channels_last"
    kw = dict(data_format=fmt)

    def x_of(shape_cl: tuple, seed: int) -> np.ndarray:
        x = make_input(shape_cl, dtype, seed)
        return x if cl else np.ascontiguousarray(np.moveaxis(x, -1, 1))

    xs = {"2d": x_of((3, 13, 11, 4), 1), "3d": x_of((2, 5, 6, 7, 3), 2),
          "rows": x_of((2, 6, 18, 3), 3), "one": x_of((1, 3, 9, 1), 4)}
    out = []
    for key, x in xs.items():
        for name, op, args in (("max2", pk.max_pool, (2,)), ("max3s2", pk.max_pool, (3, 2, 1)),
                               ("max3s1", pk.max_pool, (3, 1, "same")),
                               ("avg2", pk.avg_pool, (2,)), ("avg3s1", pk.avg_pool, (3, 1, "same")),
                               ("lp2", pk.lp_pool, (2, 2)), ("lp3", pk.lp_pool, (3, 3, 1, "same"))):
            out.append((f"{key}-{name}", lambda op=op, x=x, a=args: op(x, *a, **kw)))
            dy = make_input(op(x, *args, **kw).shape, "float32", 5).astype(x.dtype)
            out.append((f"{key}-{name}-grad",
                        lambda op=op, x=x, a=args, dy=dy: pk.grad(op, x, dy, *a, **kw)))
        out.append((f"{key}-argmax", lambda x=x: pk.max_pool(x, 2, return_indices=True, **kw)))
        for name, op, args in (("gmax", pk.global_max_pool, ()), ("gavg", pk.global_avg_pool, ()),
                               ("glp", pk.global_lp_pool, (2,)),
                               ("amax", pk.adaptive_max_pool, (3,)),
                               ("aavg", pk.adaptive_avg_pool, (3,))):
            out.append((f"{key}-{name}", lambda op=op, x=x, a=args: op(x, *a, **kw)))
    big = x_of((1, 32, 32, 5), 6)  # one image: its positions split into runs (channels-last)
    for name, op in (("gmax", pk.global_max_pool), ("gavg", pk.global_avg_pool)):
        out.append((f"big-{name}", lambda op=op: op(big, **kw)))
    return out


def _as_list(r) -> list:
    return [np.asarray(v) for v in (r if isinstance(r, tuple) else (r,))]


@pytest.mark.parametrize("fmt", ["channels_last", "channels_first"])
@pytest.mark.parametrize("dtype", ["float32", "float16", "int16"])
def test_every_kernel_gives_the_same_result_on_any_number_of_threads(
        dtype: str, fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_engine, "SMALL_WORK", 0)  # every call in shares, however small
    calls = _calls(dtype, fmt)
    monkeypatch.setattr(_engine, "threads", lambda: 1)
    one = {name: _as_list(call()) for name, call in calls}  # (kept alive: no memory reused)
    for nthr in (2, 3, 7):
        monkeypatch.setattr(_engine, "threads", lambda n=nthr: n)
        for name, call in calls:
            got = _as_list(call())
            for g, e in zip(got, one[name], strict=True):
                if name.startswith("big-gavg") and fmt == "channels_last":
                    # the runs' float64 sums are added at the end: one rounding of the mean
                    # may differ from summing the positions in one run
                    np.testing.assert_allclose(g, e, rtol=2e-3 if dtype == "float16" else 1e-6)
                else:
                    np.testing.assert_array_equal(g, e, err_msg=f"{name} on {nthr} threads")


def test_an_error_in_a_share_reaches_the_caller_after_every_share() -> None:
    finished = []

    def kern(out, tid, nthr):
        if tid == 1:
            raise ValueError(f"share {tid} of {nthr}")
        out[tid] = tid
        finished.append(tid)

    out = np.zeros(4)
    with pytest.raises(ValueError, match="share 1 of 4"):
        _workers.run(kern, (out,), 4)
    assert sorted(finished) == [0, 2, 3]
    np.testing.assert_array_equal(out, [0, 0, 2, 3])
    # the workers are still there for the next call
    _workers.run(lambda o, tid, nthr: o.__setitem__(tid, 10 + tid), (out,), 4)
    np.testing.assert_array_equal(out, [10, 11, 12, 13])


def test_calls_from_several_threads_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_engine, "SMALL_WORK", 0)
    monkeypatch.setattr(_engine, "threads", lambda: 3)
    xs = [make_input((2, 16, 16, 8), "float32", s) for s in range(6)]
    expected = [(pk.max_pool(x, 2), pk.avg_pool(x, 3, 1, "same")) for x in xs]
    errors: list = []

    def caller(i: int) -> None:
        try:
            for _ in range(20):
                x = xs[i]
                np.testing.assert_array_equal(pk.max_pool(x, 2), expected[i][0])
                np.testing.assert_array_equal(pk.avg_pool(x, 3, 1, "same"), expected[i][1])
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    ts = [threading.Thread(target=caller, args=(i,)) for i in range(len(xs))]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    assert not any(t.is_alive() for t in ts)
    assert errors == []


def _fill(out: np.ndarray, tid: int, nthr: int) -> None:
    out[tid] = tid + 1


def _child(conn) -> None:
    out = np.zeros(3)
    _workers.run(_fill, (out,), 3)
    conn.send(out)
    conn.close()


@pytest.mark.skipif(sys.platform == "win32", reason="no fork")
def test_a_forked_child_runs_shares_on_threads_of_its_own() -> None:
    out = np.zeros(3)
    _workers.run(_fill, (out,), 3)  # the parent's workers are running now
    np.testing.assert_array_equal(out, [1, 2, 3])
    ctx = multiprocessing.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_child, args=(send,))
    child.start()
    send.close()
    try:
        assert recv.poll(60), "the child did not answer: its shares went to the parent's workers"
        np.testing.assert_array_equal(recv.recv(), [1, 2, 3])
        child.join(30)
        assert child.exitcode == 0
    finally:
        if child.is_alive():
            child.kill()


def _kernels_child(conn, expected: dict) -> None:
    _engine.SMALL_WORK = 0
    _engine.threads = lambda: 3
    wrong = []
    for fmt in ("channels_last", "channels_first"):
        for name, call in _calls("float32", fmt):
            for g, e in zip(_as_list(call()), expected[fmt, name], strict=True):
                if not np.array_equal(g, e, equal_nan=True):
                    wrong.append(f"{fmt} {name}")
    conn.send(wrong)
    conn.close()


@pytest.mark.skipif(sys.platform == "win32", reason="no fork")
def test_a_forked_child_runs_every_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    """The kernels use no Numba parallel region (no prange, no array expression turned into
    one): under Numba's OpenMP threading layer a forked child of a process that has run one is
    terminated on its own first one."""
    monkeypatch.setattr(_engine, "SMALL_WORK", 0)
    monkeypatch.setattr(_engine, "threads", lambda: 3)
    expected = {(fmt, name): _as_list(call()) for fmt in ("channels_last", "channels_first")
                for name, call in _calls("float32", fmt)}
    ctx = multiprocessing.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_kernels_child, args=(send, expected))
    child.start()
    send.close()
    try:
        assert recv.poll(120), f"the child did not answer (exit code {child.exitcode})"
        assert recv.recv() == []
        child.join(30)
        assert child.exitcode == 0
    finally:
        if child.is_alive():
            child.kill()
