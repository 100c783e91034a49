"""float16 <-> float32 conversions of whole arrays for the gradients of float16 input (the
backward kernels read the output gradient and write the input's in float32), compiled and on
every thread: NumPy's ``astype`` converts one value at a time (12.8 million values on the 2-core
Xeon of the benchmarks: 36 ms to round float32 to float16, most of a float16 max 2x2/2
gradient's 76 ms, and 48 ms to widen float16 to float32).

A kernel module of its own, so that it is compiled and cached apart from ``_kernels``."""
from __future__ import annotations

import numba as nb

from ._kernels import _OPTS, HARDWARE_HALF, prange

half_bits = single_bits = None  # where there are no float16 instructions: NumPy's astype

if HARDWARE_HALF:  # (never under NUMBA_DISABLE_JIT)
    from ._kernels import _f322h_hw, _h2f32_hw

    @nb.njit(**_OPTS)
    def half_bits(src, dst, chunks):  # noqa: F811
        """dst[i] = the float16 bits of src[i] rounded to nearest even (LLVM ``fptrunc``: the
        hardware's conversion, as NumPy's rounding; a signalling NaN comes out quiet), in
        ``chunks`` runs, one per thread."""
        n = src.shape[0]
        for c in prange(chunks):
            for i in range(c * n // chunks, (c + 1) * n // chunks):
                dst[i] = _f322h_hw(src[i])

    @nb.njit(**_OPTS)
    def single_bits(src, dst, chunks):  # noqa: F811
        """dst[i] = the float16 whose bits are src[i], as float32 (LLVM ``fpext``: exact; a
        signalling NaN comes out quiet), in ``chunks`` runs, one per thread."""
        n = src.shape[0]
        for c in prange(chunks):
            for i in range(c * n // chunks, (c + 1) * n // chunks):
                dst[i] = _h2f32_hw(src[i])
