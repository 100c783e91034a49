"""Reuse of large output buffers between calls.

A large result (a 51 MB gradient, say) freshly allocated on every call costs more than the
pooling itself: the C allocator maps new pages for it and the operating system faults and zeroes
them one by one on first write (about 4-5 ms per 51 MB, against ~1.5 ms to write hot memory).
Frameworks avoid this with caching allocators. poolkit keeps a few large blocks instead: each
result is a view of a block, and a block whose only reference is the cache's own (every view of
it has been dropped) is handed out again for the next result of the same size.

Only results of at least ``MIN_BYTES`` use the cache (smaller ones are recycled well by the C
allocator), and idle blocks are kept only while the cache holds at most its limit in all
(``set_buffer_cache``; ``POOLKIT_BUFFER_CACHE_MB`` sets the limit at import, 0 turns it off).
The cache relies on CPython's reference counts and is off on other interpreters.
"""
from __future__ import annotations

import math
import os
import sys
import threading

import numpy as np

MIN_BYTES = 16 << 20
DEFAULT_LIMIT = 256 << 20


def _env_limit() -> int:
    raw = os.environ.get("POOLKIT_BUFFER_CACHE_MB")
    if raw is None:
        return DEFAULT_LIMIT
    try:
        mb = float(raw)
    except ValueError:
        raise ValueError(
            f"`POOLKIT_BUFFER_CACHE_MB` must be a number of megabytes; received {raw!r}") from None
    if not mb >= 0 or math.isinf(mb):
        raise ValueError(
            f"`POOLKIT_BUFFER_CACHE_MB` must be a finite number >= 0; received {raw!r}")
    return int(mb * (1 << 20))


def _refs(blocks: list, i: int) -> int:
    """References to ``blocks[i]``; every use goes through here, so that the count of an idle
    block (held by the list alone) is the same number as the calibration below."""
    return sys.getrefcount(blocks[i])


def _calibrate() -> int:
    """The count ``_refs`` gives for an idle block, or -1 when views do not show in it (then
    an idle block cannot be told from one in use, and the cache stays off)."""
    if sys.implementation.name != "cpython" or not getattr(sys, "_is_gil_enabled", lambda: 1)():
        return -1
    probe = [np.empty(8, np.uint8)]
    idle = _refs(probe, 0)
    view = probe[0].view(np.float64)
    busy = _refs(probe, 0)
    del view
    return idle if busy > idle == _refs(probe, 0) else -1


_IDLE_REFS = _calibrate()
_SUPPORTED = _IDLE_REFS > 0
_lock = threading.Lock()
_blocks: list[np.ndarray] = []  # 1-D uint8 arrays, most recently used last
_limit = _env_limit() if _SUPPORTED else 0


def set_buffer_cache(max_bytes: int) -> int:
    """Set how many bytes of large result buffers poolkit may keep for reuse.

    Results of 16 MiB or more are views of cached blocks; once every view of a block has been
    dropped, the block serves the next result of the same size, which saves the page faults of a
    fresh allocation. Blocks beyond the limit are released (blocks still in use are simply
    forgotten: they are freed with their last view, as any array).

    Parameters
    ----------
    max_bytes : int
        The most bytes the cache may hold; 0 turns it off and releases every idle block.
        The default is 256 MiB, or ``POOLKIT_BUFFER_CACHE_MB`` megabytes if that is set.

    Returns
    -------
    int
        The previous limit.

    Examples
    --------
    >>> import poolkit
    >>> old = poolkit.set_buffer_cache(0)      # no reuse: every result is freshly allocated
    >>> poolkit.set_buffer_cache(old)
    0
    """
    global _limit
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, (int, np.integer)):
        raise TypeError(f"`max_bytes` must be an integer; received max_bytes={max_bytes!r}")
    if max_bytes < 0:
        raise ValueError(f"`max_bytes` must be >= 0; received max_bytes={max_bytes!r}")
    with _lock:
        old = _limit
        _limit = int(max_bytes) if _SUPPORTED else 0
        _trim(0)
    return old


def _held() -> int:
    return sum(b.nbytes for b in _blocks)


def _trim(extra: int) -> None:
    """Forget the least recently used blocks until ``extra`` more bytes fit under the limit."""
    while _blocks and _held() + extra > _limit:
        _blocks.pop(0)


def _take(nbytes: int) -> np.ndarray | None:
    """A 1-D uint8 block of ``nbytes`` from the cache (reused when one is idle), or None when
    the result is too small or too large to cache."""
    if nbytes < MIN_BYTES or nbytes > _limit:
        return None
    with _lock:
        for i in range(len(_blocks)):
            if _blocks[i].nbytes == nbytes and _refs(_blocks, i) == _IDLE_REFS:
                b = _blocks.pop(i)
                _blocks.append(b)
                return b
        _trim(nbytes)
        b = np.empty(nbytes, np.uint8)
        _blocks.append(b)
        return b


def empty(shape: tuple, dtype) -> np.ndarray:
    """``np.empty(shape, dtype)``, from a reused block when the result is large."""
    dtype = np.dtype(dtype)
    b = _take(math.prod(shape) * dtype.itemsize)
    return np.empty(shape, dtype) if b is None else b.view(dtype).reshape(shape)


def zeros(shape: tuple, dtype) -> np.ndarray:
    """``np.zeros(shape, dtype)``, from a reused block (cleared) when the result is large."""
    dtype = np.dtype(dtype)
    b = _take(math.prod(shape) * dtype.itemsize)
    if b is None:
        return np.zeros(shape, dtype)
    b.fill(0)
    return b.view(dtype).reshape(shape)
