"""float32 -> float16 rounding of whole arrays (the gradients of float16 input, which the backward
kernels write in float32), compiled and on every thread: NumPy's ``astype`` rounds one value at
a time (36 ms for 12.8 million values on the 2-core Xeon of the benchmarks, most of a float16
max 2x2/2 gradient's 76 ms).

A kernel module of its own, so that it is compiled and cached apart from ``_kernels``."""
from __future__ import annotations

import numba as nb

from ._kernels import _NOJIT, _OPTS, HARDWARE_HALF, prange

half_bits = None  # where there are no hardware float16 conversions: NumPy's astype

if HARDWARE_HALF and not _NOJIT:
    from ._kernels import _f322h_hw

    @nb.njit(**_OPTS)
    def half_bits(src, dst, chunks):  # noqa: F811
        """dst[i] = the float16 bits of src[i] rounded to nearest even (LLVM ``fptrunc``: the
        hardware's conversion, as NumPy's rounding; a signalling NaN comes out quiet), in
        ``chunks`` runs, one per thread."""
        n = src.shape[0]
        for c in prange(chunks):
            for i in range(c * n // chunks, (c + 1) * n // chunks):
                dst[i] = _f322h_hw(src[i])
