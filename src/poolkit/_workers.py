"""The threads that run the kernels.

Every kernel takes its share of the work from its last two arguments, ``tid`` of ``nthr``
(contiguous runs of its jobs, as Numba's static schedule of a ``prange`` loop would give). The
kernels are compiled with ``nogil=True`` and without Numba's ``parallel=True``: its parfor
passes, and its second compilation of each loop body, tripled the compile time of the larger
kernels (max_cl for float32: 35 s against 12.5 s) for the same machine code.

:func:`run` calls a kernel with ``tid`` 1 to ``nthr - 1`` on worker threads (started on first
use, then parked on their queues) and with ``tid`` 0 on the calling thread, and returns once all
shares are done. Calls from several threads at once queue on the same workers; a forked child
starts workers of its own.
"""
from __future__ import annotations

import os
import queue
import threading

_queues: list[queue.SimpleQueue] = []  # one per worker thread: (kernel, args, tid, nthr, done)
_lock = threading.Lock()


def _work(tasks: queue.SimpleQueue) -> None:
    while True:
        kern, args, tid, nthr, done = tasks.get()
        try:
            kern(*args, tid, nthr)
        except BaseException as e:  # noqa: BLE001 - handed to the caller, raised there
            done.put(e)
        else:
            done.put(None)


def _start(count: int) -> None:
    with _lock:
        while len(_queues) < count:
            tasks: queue.SimpleQueue = queue.SimpleQueue()
            threading.Thread(target=_work, args=(tasks,), daemon=True,
                             name=f"poolkit-worker-{len(_queues) + 1}").start()
            _queues.append(tasks)


def _forget() -> None:
    """In a forked child: the parent's workers do not exist there."""
    global _lock
    _queues.clear()
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget)


def run(kern, args: tuple, nthr: int) -> None:
    """``kern(*args, tid, nthr)`` for every ``tid`` in ``range(nthr)``, at once on ``nthr``
    threads (the calling thread's share is ``tid`` 0); the first error raised by a share is
    raised here, after every share has finished."""
    if nthr <= 1:
        kern(*args, 0, 1)
        return
    if len(_queues) < nthr - 1:
        _start(nthr - 1)
    done: queue.SimpleQueue = queue.SimpleQueue()
    for tid in range(1, nthr):
        _queues[tid - 1].put((kern, args, tid, nthr, done))
    error = None
    try:
        kern(*args, 0, nthr)
    except BaseException as e:  # noqa: BLE001 - raised once the other shares are done
        error = e
    for _ in range(nthr - 1):  # (they write into the caller's arrays: wait for every one)
        e = done.get()
        if error is None and e is not None:
            error = e
    if error is not None:
        raise error
