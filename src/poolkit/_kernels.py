"""Compiled pooling kernels (private).

Every kernel works on rank-3 spatial data: channels-last ``(N, D, H, W, C)`` or channels-first
``(N, C, D, H, W)`` arrays; 1-D and 2-D inputs arrive with leading size-1 spatial dims. The window
geometry comes from the per-dimension tables of :class:`poolkit._spec.Windows` (``b*`` first-tap
coordinate, ``l*``/``h*`` real-tap range, ``d*`` dilation). Outputs are allocated by the caller.

Forward kernels are the window engine plus one reduction: ``max`` (with optional argmax) and
``sum`` (mean, Lp). Channels-last kernels vectorise over C; channels-first kernels work row by
row (fold the window's input rows, then reduce along W with a compile-time stride). Backward
kernels either gather (each input cell sums the outputs whose windows cover it, inverse tables
``p*``/``o*``) or scatter within a plane that one thread owns; both are deterministic.

Reduction modes of the sum kernels: 0 = mean (sum / divisor), 1 = Lp for general p
(``(sum |x|^p)^(1/p)``), 2 = L2, 3 = L1, 4 = L-infinity (max |x|).
"""
from __future__ import annotations

import math
import os
import platform

import numba as nb
import numpy as np
from numba import prange, types
from numba.extending import overload

_OPTS = dict(parallel=True, cache=True, nogil=True, error_model="numpy", fastmath=False)
_NOJIT = os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0")
if _NOJIT:
    prange = range  # noqa: F811 - plain Python fallback

# float16 data reaches the kernels as its uint16 bit patterns (Numba has no float16 type on the
# CPU; poolkit supports no uint16 data, so the type is unambiguous). Three helpers give every kernel
# float16 support without a converted copy of the input or a wider copy of the output:
#   _better(v, b): v beats the running maximum b (larger, or the first NaN; -0 equals +0).
#   _tof(v): the value as float64 (exact).
#   _put(a, i, v): a[i] = v, for float16 bits rounded once from float64 (half to even, as NumPy).
# Compiled on a CPU with float16 conversion instructions (x86 F16C, every 64-bit ARM), they are
# LLVM ``fpext``/``fptrunc`` of ``half``, which vectorise; elsewhere the bit-level versions below
# (exact as well) are compiled instead. Under NUMBA_DISABLE_JIT the Python versions run.
# Two shortcuts sit on top of them: _half_mean4 sums four float16 taps in float32 where that is
# exact (float16 instructions only; elsewhere, and under NUMBA_DISABLE_JIT, it declines), and
# _half_max4 takes the maximum of four taps over 16-bit integer keys (_hkey, any CPU).


_U16 = np.uint16
# How far ahead (bytes) of what they read the streaming kernels prefetch: with two threads the
# hardware prefetcher alone leaves the memory idle part of the time; 2-3 KB measured best.
_AHEAD = 3072
_TW = 32


def _hkey(h):
    """Order-preserving key of float16 bits: -0 equals +0, every NaN is the largest key.
    0x8000 + |h| for h >= 0, 0x8000 - |h| below, 0xFFFF for NaN, in 16-bit arithmetic without
    branches, so that compiled it vectorises 32 lanes wide."""
    m = _U16(h & _U16(0x7FFF))
    k = _U16(_U16(0x8000) - m) if h > _U16(0x7FFF) else _U16(_U16(0x8000) + m)
    return _U16(0xFFFF) if m > _U16(0x7C00) else k


# compiled, and not inlined by Numba: its conditionals trip Numba's check of inlined code
_hkey_nb = nb.njit(_hkey)


def _skey(b):  # the Python version (NUMBA_DISABLE_JIT); compiled, one per width (overload)
    """The order-preserving key of the float whose bits are the signed integer ``b`` (int16,
    int32 or int64): ``b`` with every bit but the sign flipped when the sign is set, so that
    keys compare as the floats do, with -0 below +0 and NaNs beyond the infinities. Three
    integer operations, which vectorise; applied to a key it gives back the bits."""
    t = type(b)
    sh = 8 * np.dtype(t).itemsize - 1
    return t(b ^ ((b >> sh) & ((1 << sh) - 1)))


def _smag(b):  # the Python version (NUMBA_DISABLE_JIT); compiled, one per width (overload)
    """The bits of |float| for the float bits ``b`` (a signed integer, as _skey): above those
    of +inf for NaN, 0 for either zero."""
    t = type(b)
    return t(b & ((1 << (8 * np.dtype(t).itemsize - 1)) - 1))


@nb.njit
def _select(c, u, v):
    """u if c else v (a compiled select: written inline, the branch trips Numba's check of
    inlined code)."""
    return u if c else v


@nb.njit(inline="always")
def _max4_keys(dst, x0, x1, x2, x3):
    """dst = the running maximum of the float16 bits x0..x3 in that order: a tap replaces it
    when its key is larger, so ties keep the earlier tap and the first NaN wins (_better)."""
    for i in range(dst.shape[0]):
        a, b, c, d = x0[i], x1[i], x2[i], x3[i]
        ka, kb, kc = _hkey_nb(a), _hkey_nb(b), _hkey_nb(c)
        m = _select(kb > ka, b, a)
        km = max(ka, kb)
        m = _select(kc > km, c, m)
        dst[i] = _select(_hkey_nb(d) > max(km, kc), d, m)


# 2**(e - 25) for the float16 exponent field e (e = 0: subnormals, 2**-24)
_P2 = np.array([2.0 ** -24] + [2.0 ** (e - 25) for e in range(1, 32)])


def _h2f(h):
    """float16 bits to float64 (exact), written as selects so that it vectorises."""
    e = (h >> 10) & 0x1F
    m = h & 0x3FF
    v = (m + (1024 if e != 0 else 0)) * _P2[e]
    if e == 31:
        v = math.inf if m == 0 else math.nan
    return -v if h & 0x8000 else v


def _d2h(b):
    """float16 bits of the float64 with bits ``b`` (int64), rounded half to even; NaN, overflow
    to inf and subnormals as NumPy's ``astype(float16)``."""
    sign = (b >> 48) & 0x8000
    a = b & 0x7FFFFFFFFFFFFFFF
    if a >= 0x7FF0000000000000:  # inf or NaN (NaN keeps its top payload bits, stays NaN)
        h = 0x7C00 + ((a & 0xFFFFFFFFFFFFF) >> 42)
        if a > 0x7FF0000000000000 and h == 0x7C00:
            h += 1
    elif a >= 0x40EFFE0000000000:  # >= 65520: rounds to inf
        h = 0x7C00
    elif a < 0x3F10000000000000:  # below 2**-14: a subnormal half (or zero / the smallest normal)
        exp = a >> 52
        if exp < 1023 - 26:  # below 2**-26: rounds to zero
            h = 0
        else:
            mant = (a & 0xFFFFFFFFFFFFF) | 0x10000000000000
            shift = 1023 - 24 + 52 - exp  # value * 2**24 = mant >> shift
            h = mant >> shift
            rem = mant - (h << shift)
            half = 1 << (shift - 1)
            if rem > half or (rem == half and (h & 1) == 1):
                h += 1
    else:
        h = (((a >> 52) - 1008) << 10) | ((a >> 42) & 0x3FF)
        rem = a & 0x3FFFFFFFFFF
        if rem > 0x20000000000 or (rem == 0x20000000000 and (h & 1) == 1):
            h += 1
    return sign | h


def _better(v, b):  # the Python version (NUMBA_DISABLE_JIT)
    if isinstance(v, np.uint16):
        return _hkey(int(v)) > _hkey(int(b))
    return v > b or (v != v and b == b)


def _gt(v, b):  # the Python version (NUMBA_DISABLE_JIT)
    if isinstance(v, np.uint16):
        return _hkey(int(v)) > _hkey(int(b))
    return v > b


def _mkey(v):  # the Python version (NUMBA_DISABLE_JIT)
    """What _gt compares for the tap v: v itself, or for float16 bits _hkey (also on CPUs with
    float16 conversion instructions: 16-bit keys fill twice the lanes of float32 values, and
    NaN needs no second pass; 11-14% faster on 2x2/2 NCHW). A running maximum that carries its
    key along converts each float16 tap once instead of at every comparison."""
    if isinstance(v, np.uint16):
        return _hkey(int(v))
    return v


def _isnan(v):  # the Python version (NUMBA_DISABLE_JIT)
    if isinstance(v, np.uint16):
        return (int(v) & 0x7FFF) > 0x7C00
    return v != v


def _odd(v):  # the Python version (NUMBA_DISABLE_JIT)
    """Whether tap v is NaN or -0: a tap that can tie another of different bits, so that which
    of the tied taps a maximum keeps shows. A fold that takes a window's taps out of row-major
    order (rows folded column by column) is exact only without such taps."""
    if isinstance(v, np.uint16):
        return int(v) == 0x8000 or (int(v) & 0x7FFF) > 0x7C00
    if isinstance(v, (float, np.floating)):
        return v != v or (v == 0 and math.copysign(1.0, v) < 0)
    return False


def _tof(v):  # the Python version (NUMBA_DISABLE_JIT)
    if isinstance(v, np.uint16):
        return _h2f(int(v))
    return np.float64(v)


def _put(a, i, v):  # the Python version (NUMBA_DISABLE_JIT)
    if a.dtype == np.uint16:
        a[i] = _d2h(int(np.float64(v).view(np.int64)))
    else:
        a[i] = v


def _is_half(a):  # the Python version (NUMBA_DISABLE_JIT)
    """Whether array `a` holds float16 bits (a compile-time constant when compiled)."""
    return a.dtype == np.uint16


def _half_mean4(yv, x0, x1, x2, x3, r):  # the Python version (NUMBA_DISABLE_JIT): no shortcut
    """For float16 bits: yv = the mean of x0..x3 (summed from +0 in order, times the power of two
    r) through float32, and True when every lane's sum was exact there; False when some lane's
    might not have been (and for other dtypes): the caller then writes yv in float64."""
    return False


def _half_mean2w(yf, d, xf, a0, a1, C, r):  # the Python version (NUMBA_DISABLE_JIT)
    """_half_mean4 for one window two columns wide over two rows of flat float16 bits: yf[d + c]
    from xf[a0 + c], xf[a0 + C + c], xf[a1 + c], xf[a1 + C + c] (c < C); True when exact."""
    return False


def _half_pairs(yf, d, m, xf, a0, a1, r):  # the Python version (NUMBA_DISABLE_JIT): none
    """For float16 bits: the m outputs yf[d + j] of a mean of two rows two columns wide,
    (((0 + x0[2j]) + x1[2j]) + ((0 + x0[2j + 1]) + x1[2j + 1])) * r rounded once to float16
    (x0 = xf[a0:], x1 = xf[a1:], r the reciprocal of a power of two), written eight at a time
    (the last eight overlapping the eight before when 8 does not divide m); how many were
    written (a uint64): m, or 0 when m < 8, for other dtypes and without hardware half
    conversions, where the caller's loop does them, in the same order of sums."""
    return np.uint64(0)


def _half_max4(dst, x0, x1, x2, x3):  # the Python version (NUMBA_DISABLE_JIT)
    """For float16 bits: dst = the running maximum of x0..x3 in that order (as _max4), in one
    pass over 16-bit keys, and True; False for other dtypes (the caller then runs _max4's
    float pass)."""
    if dst.dtype != np.uint16:
        return False
    _max4_keys(dst, x0, x1, x2, x3)
    return True


def _is_float(a):  # the Python version (NUMBA_DISABLE_JIT)
    """Whether array `a` holds floating-point values or float16 bits: values that can tie with
    different bits (-0 and +0, NaNs), so that which tap a maximum keeps shows (a compile-time
    constant when compiled)."""
    return a.dtype.kind == "f" or a.dtype == np.uint16


def _is_double(a):  # the Python version (NUMBA_DISABLE_JIT)
    """Whether array `a` holds float64 values (a compile-time constant when compiled)."""
    return a.dtype == np.float64


def _pow2_bits(b):
    """Whether the float64 with bits ``b`` (int64) is a power of two from 2**-1022 to 2**1023:
    positive, normal, no fraction bits (so multiplying by its reciprocal is exact, the same as
    dividing). Written without branches (a chained comparison's branches, inlined, trip
    Numba's SSA check)."""
    e = b >> 52
    return (e > 0) & (e < 0x7FF) & ((b & 0xFFFFFFFFFFFFF) == 0)


def _pow2(v):  # the Python version (NUMBA_DISABLE_JIT)
    """:func:`_pow2_bits` of the float64 v: a divisor by which a mean may multiply by 1 / v.
    Compiled, a test of v's bits (``math.frexp`` is a library call: it cost 5% of a float16
    mean's rows, one call per row)."""
    return _pow2_bits(int(np.float64(v).view(np.int64)))


def _recips(div):  # the Python version (NUMBA_DISABLE_JIT): unused by its _div_by
    """(yh, yl): 1 / div as a sum of two float64 values (yh rounded down, yl >= 0 the rest
    rounded), for :func:`_div_by`."""
    return 1.0 / div, 0.0


def _div_by(v, div, yh, yl):  # the Python version (NUMBA_DISABLE_JIT): the division itself
    """v / div rounded once, as IEEE division; compiled, v * yh + v * yl in one fused
    multiply-add instead (see _fast_div for when that is the same)."""
    return v / div


def _prefetch(a, i):  # the Python version (NUMBA_DISABLE_JIT): a hint, nothing to do
    """Ask the CPU to start loading the cache line of a[i] (a 1-D array) into its caches."""


def _prefetch_bytes(a, start, nbytes):  # the Python version (NUMBA_DISABLE_JIT): a hint
    """Ask the CPU to start loading the cache lines of bytes start..start + nbytes - 1 of a's
    data (``a`` contiguous; bytes past its end are a valid hint too: a prefetch never faults)."""


def _prefetch_span(a, ahead):  # the Python version (NUMBA_DISABLE_JIT): a hint, nothing to do
    """:func:`_prefetch_bytes` of the bytes ``ahead`` bytes past those of ``a`` (a contiguous
    1-D array, e.g. an input row that a kernel is about to read), at most _AHEAD of them (a
    long row's stream is the hardware prefetcher's; a burst of prefetches for all of it measured
    slower)."""


def _scratch(n, dtype):  # the Python version (NUMBA_DISABLE_JIT)
    """Scratch of a small compile-time size n (a literal), on the stack when compiled: the
    compiler then knows that it aliases no array argument and can keep it in registers (a heap
    array's loads and stores stay in the loop)."""
    return np.empty(n, dtype)


def _hardware_half() -> bool:
    """True when LLVM lowers half conversions to instructions (not to library calls) here."""
    if os.environ.get("NUMBA_CPU_NAME") or os.environ.get("NUMBA_CPU_FEATURES"):
        return False  # a portable target: do not assume the host's instructions
    machine = platform.machine().lower()
    if machine in ("aarch64", "arm64"):
        return True
    if machine in ("x86_64", "amd64"):
        try:
            import llvmlite.binding as llb

            return "+f16c" in llb.get_host_cpu_features().flatten().split(",")
        except Exception:  # pragma: no cover - feature query unavailable
            return False
    return False


HARDWARE_HALF = not _NOJIT and _hardware_half()

if not _NOJIT:
    from llvmlite import ir as _ir
    from numba.core import cgutils
    from numba.extending import intrinsic

    _h2f_nb = nb.njit(inline="always")(_h2f)
    _d2h_nb = nb.njit(inline="always")(_d2h)

    def _bitcast(src, dst, ir_dst):
        @intrinsic
        def cast(typingctx, v):
            if v != src:
                return None

            def codegen(context, builder, sig, args):
                return builder.bitcast(args[0], ir_dst)

            return dst(v), codegen

        return cast

    _f64_bits = _bitcast(types.float64, types.int64, _ir.IntType(64))
    _bits_f64 = _bitcast(types.int64, types.float64, _ir.DoubleType())

    @intrinsic
    def _h2f32_hw(typingctx, h):
        """float16 bits (uint16) -> float32: LLVM fpext half (exact)."""
        if not (isinstance(h, types.Integer) and h.bitwidth == 16):
            return None

        def codegen(context, builder, sig, args):
            return builder.fpext(builder.bitcast(args[0], _ir.HalfType()), _ir.FloatType())

        return types.float32(h), codegen

    @intrinsic
    def _f322h_hw(typingctx, v):
        """float32 -> float16 bits (uint16): LLVM fptrunc to half (round half to even)."""
        if v != types.float32:
            return None

        def codegen(context, builder, sig, args):
            return builder.bitcast(builder.fptrunc(args[0], _ir.HalfType()), _ir.IntType(16))

        return types.uint16(v), codegen

    def _half_type(t):
        return isinstance(t, types.Integer) and t.bitwidth == 16 and not t.signed

    if HARDWARE_HALF:
        def _better_half(v, b):
            fv = _h2f32_hw(v)
            fb = _h2f32_hw(b)
            return fv > fb or (fv != fv and fb == fb)

        def _tof_half(v):
            return np.float64(_h2f32_hw(v))

        def _put_half(a, i, v):
            # float64 -> float32 rounded to odd (truncate, and set float32's last bit if any
            # dropped bit was set), then -> float16 to nearest even: the two roundings give the
            # correctly rounded float16 (float32 keeps more than 11 + 2 bits; values outside
            # float32's normal range are far outside float16's, and round alike)
            b = _f64_bits(np.float64(v))
            s = b & 0x1FFFFFFF  # the 29 bits float32 drops
            a[i] = _f322h_hw(np.float32(_bits_f64((b ^ s) | (np.int64(s != 0) << 29))))

        def _gt_half(v, b):
            return _h2f32_hw(v) > _h2f32_hw(b)
    else:
        def _better_half(v, b):
            return _hkey_nb(v) > _hkey_nb(b)

        def _gt_half(v, b):
            return _hkey_nb(v) > _hkey_nb(b)

        def _tof_half(v):
            return _h2f_nb(np.int32(v))

        def _put_half(a, i, v):
            a[i] = np.uint16(_d2h_nb(_f64_bits(np.float64(v))))

    def _better_num(v, b):
        return v > b or (v != v and b == b)

    def _gt_num(v, b):
        return v > b

    def _isnan_half(v):
        return (v & 0x7FFF) > 0x7C00

    def _isnan_num(v):
        return v != v

    def _tof_num(v):
        return np.float64(v)

    def _put_num(a, i, v):
        a[i] = v

    @overload(_better)
    def _better_ol(v, b):
        return _better_half if _half_type(v) else _better_num

    @overload(_gt)
    def _gt_ol(v, b):
        return _gt_half if _half_type(v) else _gt_num

    @overload(_mkey)
    def _mkey_ol(v):
        if not _half_type(v):
            return lambda v: v
        return lambda v: _hkey_nb(v)

    @overload(_isnan)
    def _isnan_ol(v):
        return _isnan_half if _half_type(v) else _isnan_num

    _f32_bits = _bitcast(types.float32, types.int32, _ir.IntType(32))

    @overload(_odd)
    def _odd_ol(v):
        if _half_type(v):
            return lambda v: (v == 0x8000) | ((v & 0x7FFF) > 0x7C00)
        if isinstance(v, types.Float) and v.bitwidth == 32:
            return lambda v: (v != v) | (_f32_bits(v) == np.int32(-2147483648))
        if isinstance(v, types.Float):
            return lambda v: (v != v) | (_f64_bits(v) == np.int64(-9223372036854775808))
        return lambda v: False

    @overload(_tof)
    def _tof_ol(v):
        return _tof_half if _half_type(v) else _tof_num

    @overload(_put)
    def _put_ol(a, i, v):
        return _put_half if _half_type(a.dtype) else _put_num

    @overload(_is_half)
    def _is_half_ol(a):
        half = _half_type(a.dtype)
        return lambda a: half

    @nb.njit(inline="always")
    def _add_rounds(u, v):
        """s = u + v in float32, and whether that addition rounded: it did not exactly when
        s - u == v and s - v == u as computed (then both differences are exact). When it did,
        the operand of the larger magnitude, say u, gives s - u exactly (Dekker's Fast2Sum
        lemma), which is then not v. True as well when an operand or the sum is infinite or
        NaN (a difference is NaN, or inf against a finite operand)."""
        s = u + v
        return s, ((s - u) != v) | ((s - v) != u)

    # Four float16 values summed in float32, each addition checked with _add_rounds: when none
    # rounded, the float32 sum is the float64 one (the exact sum), as is its product by a power
    # of two r (no underflow for 2**-100 <= r <= 1: a nonzero sum is at least 2**-24), and one
    # rounding to float16 gives what the float64 path gives. Values many binades apart can make
    # an addition round (see test_float16), and inf and NaN fail the check too; the caller
    # then redoes the lanes in float64. (An earlier test on the exponent fields, max - min <=
    # 11 binades, fails on six times as many standard-normal windows: 0.15% against 0.023%;
    # Knuth's TwoSum, whose error is zero exactly when the sum is exact, gives the same answer
    # with more instructions per addition: 10% slower in cache.)

    @nb.njit(inline="always")
    def _half_sum4(a, b, c, d):
        """(((0 + a) + b) + c) + d in float32 from float16 bits, and whether an addition rounded."""
        s1, e1 = _add_rounds(np.float32(0.0) + _h2f32_hw(a), _h2f32_hw(b))
        s2, e2 = _add_rounds(s1, _h2f32_hw(c))
        s3, e3 = _add_rounds(s2, _h2f32_hw(d))
        return s3, e1 | e2 | e3

    def _half_mean4_hw(yv, x0, x1, x2, x3, r):
        r32 = np.float32(r)
        bad = False
        for i in range(yv.shape[0]):
            s, e = _half_sum4(x0[i], x1[i], x2[i], x3[i])
            yv[i] = _f322h_hw(s * r32)
            bad |= e
        return not bad

    def _half_mean2w_hw(yf, d, xf, a0, a1, C, r):
        # _half_mean4_hw over flat indices
        r32 = np.float32(r)
        bad = False
        for c in range(C):
            s, e = _half_sum4(xf[a0 + c], xf[a0 + C + c], xf[a1 + c], xf[a1 + C + c])
            yf[d + c] = _f322h_hw(s * r32)
            bad |= e
        return not bad

    @overload(_half_mean2w, inline="always")
    def _half_mean2w_ol(yf, d, xf, a0, a1, C, r):
        if HARDWARE_HALF and _half_type(yf.dtype):
            return _half_mean2w_hw
        return lambda yf, d, xf, a0, a1, C, r: False

    _PAIRS = 8  # outputs per call of _half_pairs8: 56-output rows (112 wide) end on a whole one

    @intrinsic
    def _half_pairs8(typingctx, yf, d, xf, a0, a1, r):
        """_half_pairs's eight outputs yf[d:d + 8] from xf[a0:a0 + 16], xf[a1:a1 + 16], in
        explicit vectors (LLVM's own vectoriser, from the loop over j, pays a shuffle per
        strided tap and converts each float16 twice, through float32 lanes): each row widened
        to float64 at once, the rows added, the even and odd columns split by one shuffle each
        and added, scaled by r, rounded to odd in float32 (as _put_half) and to float16."""
        if not (isinstance(r, types.Float) and r.bitwidth == 64 and
                all(isinstance(t, types.Integer) and t.bitwidth == 64 for t in (d, a0, a1))
                and all(isinstance(a, types.Array) and a.ndim == 1 and _half_type(a.dtype)
                        for a in (yf, xf))):
            return None
        n = 2 * _PAIRS

        def codegen(context, builder, sig, args):
            yv, dv, xv, a0v, a1v, rv = args
            ya = context.make_array(sig.args[0])(context, builder, yv)
            xa = context.make_array(sig.args[2])(context, builder, xv)
            i16, i32, i64, f64 = (_ir.IntType(16), _ir.IntType(32), _ir.IntType(64),
                                  _ir.DoubleType())
            vec = _ir.VectorType

            def row(off):  # n float16 from flat index off, widened to float64
                p = builder.bitcast(builder.gep(xa.data, [off]), vec(i16, n).as_pointer())
                h = builder.bitcast(builder.load(p, align=2), vec(_ir.HalfType(), n))
                return builder.fpext(h, vec(f64, n))

            zero = _ir.Constant(vec(f64, n), [0.0] * n)
            t = builder.fadd(builder.fadd(zero, row(a0v)), row(a1v))
            ev = builder.shuffle_vector(t, t, _ir.Constant(vec(i32, _PAIRS), list(range(0, n, 2))))
            od = builder.shuffle_vector(t, t, _ir.Constant(vec(i32, _PAIRS), list(range(1, n, 2))))
            rr = builder.insert_element(vec(f64, _PAIRS)(_ir.Undefined), rv, _ir.Constant(i32, 0))
            rr = builder.shuffle_vector(rr, rr, _ir.Constant(vec(i32, _PAIRS), [0] * _PAIRS))
            b = builder.bitcast(builder.fmul(builder.fadd(ev, od), rr), vec(i64, _PAIRS))
            low = builder.and_(b, _ir.Constant(vec(i64, _PAIRS), [0x1FFFFFFF] * _PAIRS))
            odd = builder.zext(builder.icmp_unsigned("!=", low, _ir.Constant(
                vec(i64, _PAIRS), [0] * _PAIRS)), vec(i64, _PAIRS))
            b = builder.or_(builder.xor(b, low),
                            builder.shl(odd, _ir.Constant(vec(i64, _PAIRS), [29] * _PAIRS)))
            f = builder.fptrunc(builder.bitcast(b, vec(f64, _PAIRS)),
                                vec(_ir.FloatType(), _PAIRS))
            h = builder.bitcast(builder.fptrunc(f, vec(_ir.HalfType(), _PAIRS)),
                                vec(i16, _PAIRS))
            p = builder.bitcast(builder.gep(ya.data, [dv]), vec(i16, _PAIRS).as_pointer())
            builder.store(h, p, align=2)
            return context.get_dummy_value()

        return types.none(yf, d, xf, a0, a1, r), codegen

    def _half_pairs_hw(yf, d, m, xf, a0, a1, r):
        step = np.uint64(_PAIRS)
        done = np.uint64(0)
        while done + step <= m:
            _half_pairs8(yf, d + done, xf, a0 + done + done, a1 + done + done, r)
            done += step
        if m > done and m >= step:  # the rest as the last eight (rewriting some: same bits)
            done = m - step
            _half_pairs8(yf, d + done, xf, a0 + done + done, a1 + done + done, r)
            done = m
        return done

    @overload(_half_pairs, inline="always")
    def _half_pairs_ol(yf, d, m, xf, a0, a1, r):
        if HARDWARE_HALF and _half_type(yf.dtype):
            return _half_pairs_hw
        return lambda yf, d, m, xf, a0, a1, r: np.uint64(0)

    @overload(_half_mean4, inline="always")
    def _half_mean4_ol(yv, x0, x1, x2, x3, r):
        if HARDWARE_HALF and _half_type(yv.dtype):
            return _half_mean4_hw
        return lambda yv, x0, x1, x2, x3, r: False

    @overload(_half_max4, inline="always")
    def _half_max4_ol(dst, x0, x1, x2, x3):
        if _half_type(dst.dtype):
            def impl(dst, x0, x1, x2, x3):
                _max4_keys(dst, x0, x1, x2, x3)
                return True

            return impl
        return lambda dst, x0, x1, x2, x3: False

    @intrinsic
    def _stack_ptr(typingctx, n, dtype):
        """A pointer to n uninitialised values of `dtype` in the calling function's stack
        frame (allocated once, in its entry block)."""
        if not (isinstance(n, types.IntegerLiteral) and isinstance(dtype, (types.DType,
                                                                            types.NumberClass))):
            return None
        count = n.literal_value

        def codegen(context, builder, sig, args):
            ty = context.get_value_type(dtype.dtype)
            return cgutils.alloca_once(builder, ty, size=count)

        return types.CPointer(dtype.dtype)(n, dtype), codegen

    @intrinsic
    def _prefetch_addr_nb(typingctx, addr):
        """llvm.prefetch (read, keep in all cache levels) of the byte at address ``addr``."""
        if not isinstance(addr, types.Integer):
            return None

        def codegen(context, builder, sig, args):
            i8p = _ir.PointerType(_ir.IntType(8))
            i32 = _ir.IntType(32)
            fn = cgutils.get_or_insert_function(
                builder.module, _ir.FunctionType(_ir.VoidType(), [i8p, i32, i32, i32]),
                "llvm.prefetch")
            builder.call(fn, [builder.inttoptr(args[0], i8p), _ir.Constant(i32, 0),
                              _ir.Constant(i32, 3), _ir.Constant(i32, 1)])
            return context.get_dummy_value()

        return types.none(addr), codegen

    @intrinsic
    def _fma_nb(typingctx, a, b, c):
        """a * b + c rounded once (llvm.fma: one instruction where the CPU has one, else the C
        library's fma, which is exact too)."""
        if not all(isinstance(t, types.Float) and t.bitwidth == 64 for t in (a, b, c)):
            return None

        def codegen(context, builder, sig, args):
            f64 = _ir.DoubleType()
            fn = cgutils.get_or_insert_function(
                builder.module, _ir.FunctionType(f64, [f64, f64, f64]), "llvm.fma.f64")
            return builder.call(fn, args)

        return types.float64(a, b, c), codegen

    @overload(_is_double)
    def _is_double_ol(a):
        double = isinstance(a.dtype, types.Float) and a.dtype.bitwidth == 64
        return lambda a: double

    @overload(_is_float)
    def _is_float_ol(a):
        flt = isinstance(a.dtype, types.Float) or _half_type(a.dtype)
        return lambda a: flt

    @overload(_recips, inline="always")
    def _recips_ol(div):
        def impl(div):
            # yh rounded down, so that yl >= 0 and v * yl has v's sign: zeros, inf and NaN
            # then come out as v / div does (1 - yh * div is exact)
            yh = 1.0 / div
            if _fma_nb(-yh, div, 1.0) < 0.0:
                yh = np.nextafter(yh, 0.0)
            return yh, _fma_nb(-yh, div, 1.0) / div

        return impl

    _pow2_bits_nb = nb.njit(inline="always")(_pow2_bits)

    @overload(_pow2, inline="always")
    def _pow2_ol(v):
        return lambda v: _pow2_bits_nb(_f64_bits(np.float64(v)))

    @overload(_div_by, inline="always")
    def _div_by_ol(v, div, yh, yl):
        return lambda v, div, yh, yl: _fma_nb(v, yh, v * yl)

    @overload(_prefetch)
    def _prefetch_ol(a, i):
        return lambda a, i: _prefetch_addr_nb(a.ctypes.data + i * a.itemsize)

    @overload(_prefetch_bytes)
    def _prefetch_bytes_ol(a, start, nbytes):
        def impl(a, start, nbytes):
            p = a.ctypes.data + start
            for off in range(0, nbytes, 64):
                _prefetch_addr_nb(p + off)

        return impl

    @overload(_prefetch_span)
    def _prefetch_span_ol(a, ahead):
        return lambda a, ahead: _prefetch_bytes(a, ahead, min(a.shape[0] * a.itemsize,
                                                              _AHEAD))

    def _signed_width(b):
        if isinstance(b, types.Integer) and b.signed and b.bitwidth in (16, 32, 64):
            return getattr(np, f"int{b.bitwidth}"), b.bitwidth - 1
        return None, 0

    @overload(_skey, inline="always")
    def _skey_ol(b):
        t, sh = _signed_width(b)
        if t is not None:
            tsh, mag = t(sh), t((1 << sh) - 1)
            return lambda b: t(b ^ t(t(b >> tsh) & mag))

    @overload(_smag, inline="always")
    def _smag_ol(b):
        t, sh = _signed_width(b)
        if t is not None:
            mag = t((1 << sh) - 1)
            return lambda b: t(b & mag)

    @overload(_scratch)
    def _scratch_ol(n, dtype):
        def impl(n, dtype):
            return nb.carray(_stack_ptr(n, dtype), (n,))

        return impl


# Inlining: helpers that run in a kernel's inner loops over arrays are inlined by Numba
# (inline="always"), which the vectorised loops need; the index helpers that run once per job
# or row (_unravel3, _window_rows, _tap_at, _coords4, _coords8, _full_run, _interior,
# _plane_range) are plain functions that LLVM inlines: inlining them in Numba's IR as well made
# every kernel specialisation take seconds longer to compile for no measurable speed.
@nb.njit(inline="always")
def _second_tap(i0, i1, i2, nh, nw, dd, dh, dw):
    """Coordinates of the second real tap, in row-major order, of a window whose first real tap
    is (i0, i1, i2) and which holds at least two (nh rows, nw taps per row)."""
    if nw >= 2:
        return i0, i1, i2 + dw
    if nh >= 2:
        return i0, i1 + dh, i2
    return i0 + dd, i1, i2


@nb.njit
def _unravel3(job, B, C):
    """(a, b, c) of a parallel job numbered row-major over (A, B, C)."""
    return job // (B * C), (job // C) % B, job % C


@nb.njit
def _window_rows(job, OD, OH, bd, ld, hd, bh, lh, hh, dd, dh):
    """A channels-last job's output row (n, od, oh), and the real input rows of its windows:
    nd x nh of them, the first at (i0, i1)."""
    n, od, oh = _unravel3(job, OD, OH)
    return (n, od, oh, hd[od] - ld[od], hh[oh] - lh[oh], bd[od] + ld[od] * dd,
            bh[oh] + lh[oh] * dh)


@nb.njit
def _tap_at(t, taps, i0, i1, nh, nw, dd, dh, dw):
    """(d, h, w offset) of tap t (the last, taps - 1, when t is past it) in row-major order of
    a window of nh rows of nw taps per plane whose first tap is at (i0, i1, +0)."""
    t = min(t, taps - 1)
    return i0 + (t // (nh * nw)) * dd, i1 + ((t // nw) % nh) * dh, (t % nw) * dw


@nb.njit
def _coords4(i0, i1, nh, nw, dd, dh, dw, taps, t0):
    """(d, h, w offset) of taps t0..t0 + 3 of a window whose first tap is at (i0, i1, +0), in
    row-major order; the last real tap repeats past the window's end."""
    d0, h0, w0 = _tap_at(t0, taps, i0, i1, nh, nw, dd, dh, dw)
    d1, h1, w1 = _tap_at(t0 + 1, taps, i0, i1, nh, nw, dd, dh, dw)
    d2, h2, w2 = _tap_at(t0 + 2, taps, i0, i1, nh, nw, dd, dh, dw)
    d3, h3, w3 = _tap_at(t0 + 3, taps, i0, i1, nh, nw, dd, dh, dw)
    return d0, h0, w0, d1, h1, w1, d2, h2, w2, d3, h3, w3


@nb.njit
def _full_run(lw, hw):
    """(kw_full, a, b): the most real taps a window has along W, and [a, b), the outputs whose
    windows hold all of them, when they are one run (a = b when there is none or, as adaptive
    windows may, they alternate with clipped ones)."""
    OW = lw.shape[0]
    kw_full = hw.max()
    a = 0
    while a < OW and (lw[a] != 0 or hw[a] != kw_full):
        a += 1
    b = a
    while b < OW and lw[b] == 0 and hw[b] == kw_full:
        b += 1
    for ow in range(b, OW):
        if lw[ow] == 0 and hw[ow] == kw_full:
            return kw_full, 0, 0
    return kw_full, a, b


@nb.njit(inline="always")
def _taps4(x, n, i0, i1, i2, nh, nw, dd, dh, dw, taps):
    """The rows over C of the first (up to four) real taps of a channels-last window, in
    row-major order; the last one repeats when there are fewer than four."""
    d0, h0, w0, d1, h1, w1, d2, h2, w2, d3, h3, w3 = _coords4(i0, i1, nh, nw, dd, dh, dw, taps, 0)
    return (x[n, d0, h0, i2 + w0], x[n, d1, h1, i2 + w1], x[n, d2, h2, i2 + w2],
            x[n, d3, h3, i2 + w3])


@nb.njit
def _coords8(i0, i1, nh, nw, dd, dh, dw, taps):
    """(d, h, w offset) of taps 0..7 as _coords4 gives them, in one 24-tuple."""
    return (_coords4(i0, i1, nh, nw, dd, dh, dw, taps, 0)
            + _coords4(i0, i1, nh, nw, dd, dh, dw, taps, 4))


@nb.njit(inline="always")
def _taps8(x, n, i2, c):
    """The rows over C of the eight taps at coordinates c (from _coords8) of the channels-last
    window whose first tap is at W index i2: the eight-tap passes of max_cl and sum_cl."""
    return (x[n, c[0], c[1], i2 + c[2]], x[n, c[3], c[4], i2 + c[5]],
            x[n, c[6], c[7], i2 + c[8]], x[n, c[9], c[10], i2 + c[11]],
            x[n, c[12], c[13], i2 + c[14]], x[n, c[15], c[16], i2 + c[17]],
            x[n, c[18], c[19], i2 + c[20]], x[n, c[21], c[22], i2 + c[23]])


@nb.njit(inline="always")
def _copy(dst, src):
    for i in range(dst.shape[0]):
        dst[i] = src[i]


@nb.njit(inline="always")
def _up(m, v):
    """The running maximum m after the next tap v: v when it is larger (or the first NaN), so
    the earlier tap wins ties and a repeated tap changes nothing."""
    return v if _better(v, m) else m


@nb.njit(inline="always")
def _fast(m, v):
    """_up for taps that are not NaN: one compare-and-select (a hardware max)."""
    return v if _gt(v, m) else m


@nb.njit(inline="always")
def _max_into(dst, src):
    """dst = max(dst, src), NaN-propagating (dst, the earlier tap, wins ties)."""
    for i in range(dst.shape[0]):
        dst[i] = _up(dst[i], src[i])


@nb.njit(inline="always")
def _max4(dst, x0, x1, x2, x3):
    """dst = the running maximum of x0..x3 in that order (repeated taps do not change it): a
    NaN-blind pass (_fast) that notes NaN taps, redone with _up only if there were any. For
    float16 bits, one pass over 16-bit keys instead (_half_max4: twice the lanes of float32,
    and NaN needs no second pass)."""
    if _half_max4(dst, x0, x1, x2, x3):
        return
    nan = False
    for i in range(dst.shape[0]):
        a, b, c, d = x0[i], x1[i], x2[i], x3[i]
        dst[i] = _fast(_fast(_fast(a, b), c), d)
        nan |= _isnan(a) | _isnan(b) | _isnan(c) | _isnan(d)
    if nan:
        for i in range(dst.shape[0]):
            dst[i] = _up(_up(_up(x0[i], x1[i]), x2[i]), x3[i])


@nb.njit(inline="always")
def _max8(dst, x0, x1, x2, x3, x4, x5, x6, x7):
    """dst = the running maximum of x0..x7 in that order (repeated taps do not change it)."""
    nan = False
    for i in range(dst.shape[0]):
        a, b, c, d = x0[i], x1[i], x2[i], x3[i]
        e, f, g, h = x4[i], x5[i], x6[i], x7[i]
        dst[i] = _fast(_fast(_fast(_fast(_fast(_fast(_fast(a, b), c), d), e), f), g), h)
        nan |= _isnan(a) | _isnan(b) | _isnan(c) | _isnan(d) | _isnan(e) | _isnan(f) | \
            _isnan(g) | _isnan(h)
    if nan:
        for i in range(dst.shape[0]):
            m = _up(_up(_up(x0[i], x1[i]), x2[i]), x3[i])
            dst[i] = _up(_up(_up(_up(m, x4[i]), x5[i]), x6[i]), x7[i])


@nb.njit(inline="always")
def _hmax3(dst, r, s0, m, C):
    """dst[q * C + c] = the running maximum of a channels-last row at columns w, w + 1, w + 2
    (left to right) for windows q < m, the first at r[s0:] (r: the input, flattened), the next
    two columns on: NaN-blind (_fast); True when a tap is NaN (dst is then not the maximum).
    Flat unsigned indices: no views per output, and no negative-index wraparound to keep the
    loop from vectorising."""
    nan = False
    uC = np.uint64(C)
    for q in range(np.uint64(m)):
        s = np.uint64(s0) + q * np.uint64(2) * uC
        d = q * uC
        for c in range(uC):
            p0, p1, p2 = r[s + c], r[s + uC + c], r[s + uC + uC + c]
            dst[d + c] = _fast(_fast(p0, p1), p2)
            nan |= _isnan(p0) | _isnan(p1) | _isnan(p2)
    return nan


@nb.njit(inline="always")
def _hmax3_rows(yf, y0, hp, xf, s1, s2, m, C):
    """yf[y0 + q * C + c] = the running maximum of hp (the window's first row, already folded
    along W), then the rows at xf[s1:] and xf[s2:] folded along W as in :func:`_hmax3`: the
    first maximum in row-major window order. hp becomes the last row's fold (the first row of
    the next window when windows three rows tall move by two). NaN-blind; True when a tap of
    the two rows is NaN."""
    nan = False
    uC = np.uint64(C)
    y0 = np.uint64(y0)
    for q in range(np.uint64(m)):
        e = q * np.uint64(2) * uC
        u = np.uint64(s1) + e
        v = np.uint64(s2) + e
        d = q * uC
        for c in range(uC):
            p0, p1, p2 = xf[u + c], xf[u + uC + c], xf[u + uC + uC + c]
            t0, t1, t2 = xf[v + c], xf[v + uC + c], xf[v + uC + uC + c]
            v2 = _fast(_fast(t0, t1), t2)
            yf[y0 + d + c] = _fast(_fast(hp[d + c], _fast(_fast(p0, p1), p2)), v2)
            hp[d + c] = v2
            nan |= _isnan(p0) | _isnan(p1) | _isnan(p2) | _isnan(t0) | _isnan(t1) | _isnan(t2)
    return nan


@nb.njit(inline="always")
def _max_taps_rows(yf, y0, xf, s0, s1, s2, nw, C):
    """yf[y0:y0 + C] = the running maximum of the taps of one window in row-major order: rows
    at xf[s0:], xf[s1:], xf[s2:] (flat offsets of the window's first real column; a repeated
    row changes nothing), nw columns each. NaN-blind; True when a tap is NaN."""
    nan = False
    uC = np.uint64(C)
    y0 = np.uint64(y0)
    for r in range(3):
        base = np.uint64(s0 if r == 0 else (s1 if r == 1 else s2))
        for k in range(np.uint64(nw)):
            u = base + k * uC
            if r == 0 and k == 0:
                for c in range(uC):
                    v = xf[u + c]
                    yf[y0 + c] = v
                    nan |= _isnan(v)
            else:
                for c in range(uC):
                    v = xf[u + c]
                    yf[y0 + c] = _fast(yf[y0 + c], v)
                    nan |= _isnan(v)
    return nan


@nb.njit(inline="always")
def _max2(dst, x0, x1):
    """dst = max(x0, x1): the first two taps of a window in one pass."""
    for i in range(dst.shape[0]):
        dst[i] = _up(x0[i], x1[i])


@nb.njit(inline="always")
def _step(bw, a, b):
    """The step between the windows a..b-1 along W when it is one fixed step (2 for a single
    window), else 0."""
    sw = bw[a + 1] - bw[a] if b > a + 1 else 2
    for ow in range(a, b - 1):
        if bw[ow + 1] != bw[ow] + sw:
            return 0
    return sw


@nb.njit(inline="always")
def _row_starts4(n, rows, i0, i1, nh, dd, dh, D, H, W, C, col):
    """Flat offsets (into a channels-last (N, D, H, W, C) input) of column ``col`` of a window's
    first four real rows in (d, h) order, the last repeated when it has fewer."""
    e0, f0, _ = _tap_at(0, rows, i0, i1, nh, 1, dd, dh, 0)
    e1, f1, _ = _tap_at(1, rows, i0, i1, nh, 1, dd, dh, 0)
    e2, f2, _ = _tap_at(2, rows, i0, i1, nh, 1, dd, dh, 0)
    e3, f3, _ = _tap_at(3, rows, i0, i1, nh, 1, dd, dh, 0)
    return (((n * D + e0) * H + f0) * W + col) * C, (((n * D + e1) * H + f1) * W + col) * C, \
        (((n * D + e2) * H + f2) * W + col) * C, (((n * D + e3) * H + f3) * W + col) * C


@nb.njit(inline="always")
def _prefetch_taps(xf, a0, a1, a2, a3, rows, n):
    """Prefetch the n elements _AHEAD bytes past flat index a0 of xf, and past a1, a2, a3 for
    the rows (up to 4; a fourth only when there are four) that a window reads."""
    z, b = xf.itemsize, n * xf.itemsize
    _prefetch_bytes(xf, a0 * z + _AHEAD, b)
    if rows > 1:
        _prefetch_bytes(xf, a1 * z + _AHEAD, b)
    if rows > 2:
        _prefetch_bytes(xf, a2 * z + _AHEAD, b)
    if rows > 3:
        _prefetch_bytes(xf, a3 * z + _AHEAD, b)


@nb.njit(inline="always")
def _max2w_rows(yf, y0, xf, s0, s1, s2, s3, rows, m, sw, C):
    """yf[y0 + q * C + c] = the running maximum, in row-major window order, of windows q < m two
    columns wide over ``rows`` (1-4) input rows at xf[s0:], xf[s1:], ... (flat offsets of the
    first window's first column; windows move sw columns): the 2x2/2 and 2x2x2/2 interiors as
    flat loops over unsigned indices, with no view per tap. NaN-blind; True when a tap is NaN
    (the caller then redoes the row)."""
    nan = False
    uC = np.uint64(C)
    y0 = np.uint64(y0)
    u0, u1, u2, u3 = np.uint64(s0), np.uint64(s1), np.uint64(s2), np.uint64(s3)
    for q in range(np.uint64(m)):
        e = q * np.uint64(sw) * uC
        d = y0 + q * uC
        a0, a1, a2, a3 = u0 + e, u1 + e, u2 + e, u3 + e
        _prefetch_taps(xf, a0, a1, a2, a3, rows, 2 * C)
        if rows == 1:
            for c in range(uC):
                p0, p1 = xf[a0 + c], xf[a0 + uC + c]
                yf[d + c] = _fast(p0, p1)
                nan |= _isnan(p0) | _isnan(p1)
        elif rows == 2:
            for c in range(uC):
                p0, p1, p2, p3 = xf[a0 + c], xf[a0 + uC + c], xf[a1 + c], xf[a1 + uC + c]
                yf[d + c] = _fast(_fast(_fast(p0, p1), p2), p3)
                nan |= _isnan(p0) | _isnan(p1) | _isnan(p2) | _isnan(p3)
        else:  # three rows repeat the last (a repeated tap changes nothing)
            for c in range(uC):
                p0, p1, p2, p3 = xf[a0 + c], xf[a0 + uC + c], xf[a1 + c], xf[a1 + uC + c]
                t0, t1, t2, t3 = xf[a2 + c], xf[a2 + uC + c], xf[a3 + c], xf[a3 + uC + c]
                yf[d + c] = _fast(_fast(_fast(_fast(_fast(_fast(_fast(p0, p1), p2), p3), t0),
                                               t1), t2), t3)
                nan |= (_isnan(p0) | _isnan(p1) | _isnan(p2) | _isnan(p3) | _isnan(t0)
                        | _isnan(t1) | _isnan(t2) | _isnan(t3))
    return nan


_ROW_RUN = 16  # output rows per job of _max3_rows_cl: its first refolds a row, the others not


@nb.njit(**dict(_OPTS, cache=False))  # a helper: compiled (and cached) into max_cl
def _max3_rows_cl(x, y, done, bd, ld, hd, bh, lh, hh, bw, lw, hw, dd, dh, a, b):
    """The interior outputs a..b-1 of channels-last windows three columns wide at stride 2 with
    two or three real rows, in runs of _ROW_RUN output rows: every row is folded along
    W once per window (:func:`_hmax3`), and a window's first row is taken from the previous
    window's last when it is the same input row (windows three tall at stride 2), so each input
    row is read once from memory instead of re-read from the core's second-level cache, where
    the 28 KB rows of a ResNet stem no longer sit in the first. The max is the first in
    row-major window order, as the reference's. The windows outside a..b (clipped by the
    padding) are taken tap by tap. done[job] is set for the output rows done; a row with a NaN
    tap is left to the caller (and the next row refolds its first row)."""
    N, D, H, W, C = x.shape
    OD, OH, OW = y.shape[1], y.shape[2], y.shape[3]
    J = N * OD * OH
    m = b - a
    xf = x.reshape(-1)
    yf = y.reshape(-1)
    for run in prange((J + _ROW_RUN - 1) // _ROW_RUN):
        hp = np.empty(m * C, x.dtype)  # the fold of input row `held` (flat over N, D, H)
        held = -1
        for job in range(run * _ROW_RUN, min(run * _ROW_RUN + _ROW_RUN, J)):
            n, od, oh, nd, nh, i0, i1 = _window_rows(job, OD, OH, bd, ld, hd, bh, lh, hh, dd,
                                                     dh)
            if not 2 <= nd * nh <= 3:
                continue
            e0, f0, _ = _tap_at(0, nd * nh, i0, i1, nh, 1, dd, dh, 0)
            e1, f1, _ = _tap_at(1, nd * nh, i0, i1, nh, 1, dd, dh, 0)
            e2, f2, _ = _tap_at(2, nd * nh, i0, i1, nh, 1, dd, dh, 0)
            k0 = (n * D + e0) * H + f0
            k1 = (n * D + e1) * H + f1
            k2 = (n * D + e2) * H + f2
            col = bw[a] * C
            nan = False
            if k0 != held:
                nan = _hmax3(hp, xf, k0 * W * C + col, m, C)
            nan |= _hmax3_rows(yf, (job * OW + a) * C, hp, xf, k1 * W * C + col,
                               k2 * W * C + col, m, C)
            for ow in range(OW):
                if a <= ow < b:
                    continue
                nw = hw[ow] - lw[ow]
                if nw == 0:  # a window with no real cell: the caller fills it
                    nan = True
                    break
                c0 = (bw[ow] + lw[ow]) * C
                nan |= _max_taps_rows(yf, (job * OW + ow) * C, xf, k0 * W * C + c0,
                                      k1 * W * C + c0, k2 * W * C + c0, nw, C)
            done[job] = not nan
            held = -1 if nan else k2


@nb.njit(**_OPTS)
def max_cl(x, y, fill, bd, ld, hd, bh, lh, hh, bw, lw, hw, dd, dh, dw):
    """Max without indices, channels-last: each output's taps folded over C (vectorised): a
    window of up to four taps in one pass (eight inside the input; windows three wide and
    tall at stride 2 first, in runs of output rows, :func:`_max3_rows_cl`), else the first
    two in one pass and one per tap."""
    N, D, H, W, C = x.shape
    OD, OH, OW = y.shape[1], y.shape[2], y.shape[3]
    kw_full, a, b = _full_run(lw, hw)
    # windows three wide at stride 2 (the ResNet stem's 3x3/2) share a column with the next
    sw = _step(bw, a, b) if b > a and dw == 1 else 0
    three = kw_full == 3 and sw == 2
    # windows two wide (2x2/2, 2x2x2/2) moving a fixed step: flat loops over each row
    two = kw_full == 2 and sw > 0
    done = np.zeros(N * OD * OH if three else 0, np.bool_)  # output rows _max3_rows_cl did
    if three:
        _max3_rows_cl(x, y, done, bd, ld, hd, bh, lh, hh, bw, lw, hw, dd, dh, a, b)
    xf = x.reshape(-1)
    yf = y.reshape(-1)
    for job in prange(N * OD * OH):
        if three and done[job]:  # (not when a tap is NaN: redone here)
            continue
        n, od, oh, nd, nh, i0, i1 = _window_rows(job, OD, OH, bd, ld, hd, bh, lh, hh, dd, dh)
        lo, hi = 0, 0  # the outputs done by the one-pass interior
        taps = nd * nh * kw_full
        rows = nd * nh
        if two and 1 <= rows <= 4:
            s0, s1, s2, s3 = _row_starts4(n, rows, i0, i1, nh, dd, dh, D, H, W, C, bw[a])
            if not _max2w_rows(yf, (job * OW + a) * C, xf, s0, s1, s2, s3, rows, b - a, sw, C):
                lo, hi = a, b
        elif three and rows == 1:  # one input row (1-D 3/2): the interior as flat loops
            s0, _, _, _ = _row_starts4(n, 1, i0, i1, nh, dd, dh, D, H, W, C, bw[a])
            if not _hmax3(yf[(job * OW + a) * C:], xf, s0, b - a, C):
                lo, hi = a, b
        if hi > lo:
            pass
        elif 1 <= taps <= 4 and b > a:
            # small windows (2x2) inside the input: the taps' positions relative to the window's
            # first are the same for every output
            lo, hi = a, b
            d0, h0, w0, d1, h1, w1, d2, h2, w2, d3, h3, w3 = _coords4(
                i0, i1, nh, kw_full, dd, dh, dw, taps, 0)
            for ow in range(a, b):
                i2 = bw[ow]
                _max4(y[n, od, oh, ow], x[n, d0, h0, i2 + w0], x[n, d1, h1, i2 + w1],
                      x[n, d2, h2, i2 + w2], x[n, d3, h3, i2 + w3])
        elif 5 <= taps <= 9 and b > a:
            # 2x2x2, 3x3 and the like: eight taps in one pass (and a ninth in a second)
            lo, hi = a, b
            c = _coords8(i0, i1, nh, kw_full, dd, dh, dw, taps)
            d8, h8, w8 = _tap_at(8, taps, i0, i1, nh, kw_full, dd, dh, dw)
            for ow in range(a, b):
                x0, x1, x2, x3, x4, x5, x6, x7 = _taps8(x, n, bw[ow], c)
                _max8(y[n, od, oh, ow], x0, x1, x2, x3, x4, x5, x6, x7)
                if taps == 9:
                    _max_into(y[n, od, oh, ow], x[n, d8, h8, bw[ow] + w8])
        if kw_full >= 8 and OW > 1 and nd * nh > 0:
            # wide windows (adaptive ones): window rows outer, outputs inner, so that each
            # input row is swept once while this row of outputs stays in cache (each output
            # still takes its taps in row-major order; a single output, global pooling, gains
            # nothing from it); each window prefetches its span's bytes _AHEAD further on
            for r in range(nd * nh):
                d, h, _ = _tap_at(r, nd * nh, i0, i1, nh, 1, dd, dh, 0)  # the r-th window row
                xr = x[n, d, h]
                for ow in range(OW):
                    if lo <= ow < hi:
                        continue
                    yv = y[n, od, oh, ow]
                    nw = hw[ow] - lw[ow]
                    if nw == 0:  # no real cell (only possible with exotic dilation)
                        for i in range(C):
                            yv[i] = fill
                        continue
                    i2 = bw[ow] + lw[ow] * dw
                    _prefetch_bytes(xr, i2 * C * xr.itemsize + _AHEAD,
                                    ((nw - 1) * dw + 1) * C * xr.itemsize)
                    if r == 0:
                        _copy(yv, xr[i2])
                    for k in range(1 if r == 0 else 0, nw):
                        _max_into(yv, xr[i2 + k * dw])
        else:
            for ow in range(OW):
                if lo <= ow < hi:
                    continue
                yv = y[n, od, oh, ow]
                nw = hw[ow] - lw[ow]
                i2 = bw[ow] + lw[ow] * dw
                taps = nd * nh * nw
                if taps == 0:  # a window with no real cell (only possible with exotic dilation)
                    for i in range(C):
                        yv[i] = fill
                    continue
                if taps <= 4:  # small windows (2x2): every tap in one pass over C
                    xa, xb, xc, xe = _taps4(x, n, i0, i1, i2, nh, nw, dd, dh, dw, taps)
                    _max4(yv, xa, xb, xc, xe)
                    continue
                j0, j1, j2 = _second_tap(i0, i1, i2, nh, nw, dd, dh, dw)
                _max2(yv, x[n, i0, i1, i2], x[n, j0, j1, j2])  # the first two taps in one pass
                t = 0
                for kd in range(nd):
                    for kh in range(nh):
                        for kw in range(nw):
                            if t >= 2:
                                _max_into(yv, x[n, i0 + kd * dd, i1 + kh * dh, i2 + kw * dw])
                            t += 1


@nb.njit(inline="always")
def _argmax_into(yv, iv, xv, flat):
    """yv, iv = xv, flat where xv beats yv (the earlier tap wins ties), as selects with both
    stored unconditionally (a branch per element does not vectorise, and mispredicts on data
    whose running maximum changes at random)."""
    _argmax_flat(yv, iv, 0, xv, 0, yv.shape[0], flat)


@nb.njit(inline="always")
def _argmax_flat(yf, idf, yo, xf, s, n, flat):
    """:func:`_argmax_into` over flat indices: the n values at yf[yo:], idf[yo:] and xf[s:]."""
    for i in range(n):
        v, m = xf[s + i], yf[yo + i]
        c = _better(v, m)
        yf[yo + i] = v if c else m
        idf[yo + i] = flat if c else idf[yo + i]


@nb.njit(inline="always")
def _argmax4(yv, iv, x0, x1, x2, x3, f0, f1, f2, f3):
    """yv, iv = the maximum of x0..x3 and the index (f0..f3) of its first tap: a NaN-blind
    pass (_fast, then the first tap equal to the maximum) that notes NaN taps, redone tap by
    tap (_argmax_into) if there were any (and for float16 bits, always)."""
    if not _is_half(yv):
        nan = False
        for i in range(yv.shape[0]):
            a, b, c, d = x0[i], x1[i], x2[i], x3[i]
            m = _fast(_fast(_fast(a, b), c), d)
            yv[i] = m
            iv[i] = f0 if a == m else (f1 if b == m else (f2 if c == m else f3))
            nan |= _isnan(a) | _isnan(b) | _isnan(c) | _isnan(d)
        if not nan:
            return
    _copy(yv, x0)
    for i in range(iv.shape[0]):
        iv[i] = f0
    _argmax_into(yv, iv, x1, f1)
    _argmax_into(yv, iv, x2, f2)
    _argmax_into(yv, iv, x3, f3)


@nb.njit(**_OPTS)
def argmax_cl(x, y, idx, fill, bd, ld, hd, bh, lh, hh, bw, lw, hw, dd, dh, dw, local):
    """Max with the argmax (first maximum in row-major tap order), channels-last: the flat
    index in the plane, or with ``local`` the tap's number among the window's real taps (for
    a uint8 ``idx``: an eighth of the bytes, which the backward of non-overlapping windows
    reads back). Windows of up to four taps take one pass over C."""
    N, D, H, W, C = x.shape
    OD, OH, OW = y.shape[1], y.shape[2], y.shape[3]
    kw_full, a, b = _full_run(lw, hw)
    xf = x.reshape(-1)
    yf = y.reshape(-1)
    idf = idx.reshape(-1)
    for job in prange(N * OD * OH):
        n, od, oh, nd, nh, i0, i1 = _window_rows(job, OD, OH, bd, ld, hd, bh, lh, hh, dd, dh)
        lo, hi = 0, 0  # the outputs done by the one-pass interior
        taps = nd * nh * kw_full
        if 1 <= taps <= 4 and b > a:
            # small windows (2x2) inside the input: the taps' positions relative to the
            # window's first are the same for every output
            lo, hi = a, b
            d0, h0, w0, d1, h1, w1, d2, h2, w2, d3, h3, w3 = _coords4(
                i0, i1, nh, kw_full, dd, dh, dw, taps, 0)
            # the flat indices, less the output's W index
            f0, f1 = (d0 * H + h0) * W + w0, (d1 * H + h1) * W + w1
            f2, f3 = (d2 * H + h2) * W + w2, (d3 * H + h3) * W + w3
            for ow in range(a, b):
                i2 = bw[ow]
                x0, x1 = x[n, d0, h0, i2 + w0], x[n, d1, h1, i2 + w1]
                x2, x3 = x[n, d2, h2, i2 + w2], x[n, d3, h3, i2 + w3]
                if local:  # (small constants: narrow selects; a repeated last tap never wins)
                    _argmax4(y[n, od, oh, ow], idx[n, od, oh, ow], x0, x1, x2, x3, np.uint8(0),
                             np.uint8(1), np.uint8(2), np.uint8(3))
                else:
                    _argmax4(y[n, od, oh, ow], idx[n, od, oh, ow], x0, x1, x2, x3, f0 + i2,
                             f1 + i2, f2 + i2, f3 + i2)
        # the other windows tap by tap, over flat indices (a view per tap costs as much as the
        # tap's work at C = 64)
        uC = np.uint64(C)
        for ow in range(OW):
            if lo <= ow < hi:
                continue
            yo = np.uint64((job * OW + ow) * C)
            first = True
            t = 0
            for kd in range(ld[od], hd[od]):
                j0 = bd[od] + kd * dd
                for kh in range(lh[oh], hh[oh]):
                    j1 = bh[oh] + kh * dh
                    for kw in range(lw[ow], hw[ow]):
                        j2 = bw[ow] + kw * dw
                        flat = t if local else (j0 * H + j1) * W + j2
                        t += 1
                        s = np.uint64((((n * D + j0) * H + j1) * W + j2) * C)
                        if first:
                            for i in range(uC):
                                yf[yo + i] = xf[s + i]
                                idf[yo + i] = flat
                            first = False
                        else:
                            _argmax_flat(yf, idf, yo, xf, s, uC, flat)
            if first:  # a window with no real cell (only possible with exotic dilation)
                for i in range(uC):
                    yf[yo + i] = fill
                    idf[yo + i] = 255 if local else -1


@nb.njit(inline="always")
def _accum(acc, xr, mode, p):
    """acc += term(xr) elementwise (float64), one loop per mode so that each vectorises."""
    if mode == 0:
        for i in range(acc.shape[0]):
            acc[i] += _tof(xr[i])
    elif mode == 2:
        for i in range(acc.shape[0]):
            v = _tof(xr[i])
            acc[i] += v * v
    elif mode == 3:
        for i in range(acc.shape[0]):
            acc[i] += abs(_tof(xr[i]))
    elif mode == 4:
        for i in range(acc.shape[0]):
            a = abs(_tof(xr[i]))
            b = acc[i]
            acc[i] = a if (a > b or a != a) else b
    else:
        for i in range(acc.shape[0]):
            acc[i] += abs(_tof(xr[i])) ** p


@nb.njit(inline="always")
def _finish_row(yr, acc, mode, p, div):
    """yr = mean (acc / div) or Lp norm of the accumulated row."""
    if mode == 0:
        if _pow2(div):  # a power of two: multiplying by 1/div is exact
            r = 1.0 / div
            for i in range(yr.shape[0]):
                _put(yr, i, acc[i] * r)
        else:
            for i in range(yr.shape[0]):
                _put(yr, i, acc[i] / div)
    elif mode == 2:
        for i in range(yr.shape[0]):
            _put(yr, i, np.sqrt(acc[i]))
    elif mode == 1:
        q = 1.0 / p
        for i in range(yr.shape[0]):
            _put(yr, i, acc[i] ** q)
    else:
        for i in range(yr.shape[0]):
            _put(yr, i, acc[i])


@nb.njit(inline="always")
def _zero(a):
    for i in range(a.shape[0]):
        a[i] = 0.0


@nb.njit(inline="always")
def _sum4(acc, x0, x1, x2, x3, k):
    """acc = the mean's running sum, from +0, of the first k (1-4) of x0..x3 in that order, in
    one pass over C."""
    if k == 4:
        for i in range(acc.shape[0]):
            acc[i] = (((0.0 + _tof(x0[i])) + _tof(x1[i])) + _tof(x2[i])) + _tof(x3[i])
    elif k == 3:
        for i in range(acc.shape[0]):
            acc[i] = ((0.0 + _tof(x0[i])) + _tof(x1[i])) + _tof(x2[i])
    elif k == 2:
        for i in range(acc.shape[0]):
            acc[i] = (0.0 + _tof(x0[i])) + _tof(x1[i])
    else:
        for i in range(acc.shape[0]):
            acc[i] = 0.0 + _tof(x0[i])


@nb.njit(inline="always")
def _mean_pow2(yv, x0, x1, x2, x3, k, r):
    """yv = the mean of the first k (2-4) of x0..x3, summed in order from +0 in float64 and
    scaled by r = 1/div for a power-of-two divisor (exact), rounded once: _sum4 and _finish_row
    in one pass. For float16, through float32 where that is exact (_half_mean4)."""
    if k == 4:
        if 2.0 ** -100 <= r <= 1.0 and _half_mean4(yv, x0, x1, x2, x3, r):
            return
        for i in range(yv.shape[0]):
            _put(yv, i, ((((0.0 + _tof(x0[i])) + _tof(x1[i])) + _tof(x2[i])) + _tof(x3[i])) * r)
    elif k == 3:
        for i in range(yv.shape[0]):
            _put(yv, i, (((0.0 + _tof(x0[i])) + _tof(x1[i])) + _tof(x2[i])) * r)
    else:
        for i in range(yv.shape[0]):
            _put(yv, i, ((0.0 + _tof(x0[i])) + _tof(x1[i])) * r)


@nb.njit
def _mean_row4(yr, r0, r1, r2, r3, bw, w0, w1, w2, w3, a, b, r):
    """_mean_pow2 of four taps for outputs a..b-1 of one output row (W, C), the taps of output
    ow at columns bw[ow] + w0..w3 of rows r0..r3."""
    for ow in range(a, b):
        i2 = bw[ow]
        _mean_pow2(yr[ow], r0[i2 + w0], r1[i2 + w1], r2[i2 + w2], r3[i2 + w3], 4, r)


@nb.njit(inline="always")
def _mean8(yv, x0, x1, x2, x3, x4, x5, x6, x7, div):
    """yv = the mean of x0..x7, summed in order from +0 in float64 and divided by div (multiplied
    by 1/div when that is exact), rounded once: _accum2, six _accum and _finish_row in one
    pass."""
    if _pow2(div):
        r = 1.0 / div
        for i in range(yv.shape[0]):
            s = (((0.0 + _tof(x0[i])) + _tof(x1[i])) + _tof(x2[i])) + _tof(x3[i])
            _put(yv, i, ((((s + _tof(x4[i])) + _tof(x5[i])) + _tof(x6[i])) + _tof(x7[i])) * r)
    else:
        for i in range(yv.shape[0]):
            s = (((0.0 + _tof(x0[i])) + _tof(x1[i])) + _tof(x2[i])) + _tof(x3[i])
            _put(yv, i, ((((s + _tof(x4[i])) + _tof(x5[i])) + _tof(x6[i])) + _tof(x7[i])) / div)


@nb.njit(inline="always")
def _accum2(acc, x0, x1, mode):
    """acc = the running sum (from +0) of the terms of x0 and x1, in one pass: the mean
    (mode 0) and L2 (mode 2) only."""
    if mode == 0:
        for i in range(acc.shape[0]):
            acc[i] = (0.0 + _tof(x0[i])) + _tof(x1[i])
    else:
        for i in range(acc.shape[0]):
            a = _tof(x0[i])
            b = _tof(x1[i])
            acc[i] = (0.0 + a * a) + b * b


@nb.njit(inline="always")
def _accum3(acc, x0, x1, x2):
    """acc = ((0 + x0) + x1) + x2 (the mean's running sum of three taps in one pass)."""
    for i in range(acc.shape[0]):
        acc[i] = ((0.0 + _tof(x0[i])) + _tof(x1[i])) + _tof(x2[i])


# Means by a divisor that is not a power of two, without a division per value. With yh =
# 1/div rounded down and yl = RN(1/div - yh), fma(v, yh, v * yl) is within 2**-104 (relative) of
# v / div. For an integer divisor 3 <= div <= 2**28, v / div is never within 2**-82 of a
# rounding boundary of float64 (a midpoint m: v and div * m are both multiples of half m's
# unit in the last place, and cannot be equal, as div * m has fewer factors of two than v), so
# the fused product rounds to what the division rounds to: the same bits. That needs a quotient
# in float64's normal range; the sums of float32 and float16 values are zero or at least
# 2**-149 in magnitude, so the shortcut is taken for float32 and float16 results only (float64
# results, which also serve integer inputs, divide). Checked against the division on over 10**10
# quotients of random, float32-sum, integer and near-midpoint values for 38 divisors.


@nb.njit(inline="always")
def _fast_div(y, div):
    """Whether means written to y may be divided by div with :func:`_div_by` (see above)."""
    return not _is_double(y) and div == math.floor(div) and 3.0 <= div <= 2.0 ** 28


@nb.njit(inline="always")
def _mean_block(yf, t, step, k, div):
    """yf[j] = (t[j] + t[j + step] (+ t[j + 2*step])) / div for k = 2 or 3 folded taps."""
    if _pow2(div):  # a power of two: multiplying by 1/div is exact
        r = 1.0 / div
        if k == 2:
            for j in range(yf.shape[0]):
                _put(yf, j, (t[j] + t[j + step]) * r)
        else:
            for j in range(yf.shape[0]):
                _put(yf, j, (t[j] + t[j + step] + t[j + 2 * step]) * r)
    elif _fast_div(yf, div):
        yh, yl = _recips(div)
        if k == 2:
            for j in range(yf.shape[0]):
                _put(yf, j, _div_by(t[j] + t[j + step], div, yh, yl))
        else:
            for j in range(yf.shape[0]):
                _put(yf, j, _div_by(t[j] + t[j + step] + t[j + 2 * step], div, yh, yl))
    elif k == 2:
        for j in range(yf.shape[0]):
            _put(yf, j, (t[j] + t[j + step]) / div)
    else:
        for j in range(yf.shape[0]):
            _put(yf, j, (t[j] + t[j + step] + t[j + 2 * step]) / div)


_PREFETCH_BLOCK = 128  # outputs per block of _mean_flat; 256 and 64 measured slower


@nb.njit(inline="always")
def _mean_flat(yf, t, step, k, div, nxt):
    """_mean_block over yf in blocks; before each block, the cache lines of the same stretch of
    `nxt` (the input row the next job reads from memory) are prefetched. The division-bound
    pass keeps the memory busy that way, and the next fold finds its new row in cache (the
    hardware prefetcher does not run that far ahead of these short row streams)."""
    n = yf.shape[0]
    line = max(1, 64 // nxt.itemsize)  # elements per 64-byte cache line
    for j0 in range(0, n, _PREFETCH_BLOCK):
        e = min(j0 + _PREFETCH_BLOCK, n)
        for q in range(j0, min(e, nxt.shape[0]), line):
            _prefetch(nxt, q)
        _mean_block(yf[j0:e], t[j0:], step, k, div)
    for q in range(n, nxt.shape[0], line):
        _prefetch(nxt, q)


@nb.njit(inline="always")
def _mean2w_rows(yf, y0, xf, s0, s1, s2, s3, rows, m, sw, C, mode, pow2, div):
    """yf[y0 + q * C + c] = the mean (mode 0) or L2 norm (mode 2) of windows q < m two columns
    wide over ``rows`` (1, 2 or 4) input rows at xf[s0:], xf[s1:], ... (as
    :func:`_max2w_rows`): terms summed in row-major order from +0 in float64, divided by div
    (multiplied by 1/div when ``pow2``: exact) or square-rooted, rounded once; flat loops, no
    view per tap. Called with literal ``mode`` and ``pow2`` (:func:`_mean2w_call`), so that
    each case compiles to loops of its own (a select between them per element costs a
    division and a square root)."""
    uC = np.uint64(C)
    y0 = np.uint64(y0)
    u0, u1, u2, u3 = np.uint64(s0), np.uint64(s1), np.uint64(s2), np.uint64(s3)
    r = 1.0 / div
    for q in range(np.uint64(m)):
        e = q * np.uint64(sw) * uC
        d = y0 + q * uC
        a0, a1, a2, a3 = u0 + e, u1 + e, u2 + e, u3 + e
        _prefetch_taps(xf, a0, a1, a2, a3, rows, 2 * C)
        if rows == 1:
            for c in range(uC):
                v = (0.0 + _term(_tof(xf[a0 + c]), mode)) + _term(_tof(xf[a0 + uC + c]), mode)
                _put(yf, d + c, _tile_out(v, mode, pow2, r, div))
        elif rows == 2:
            # float16: through float32 where that is exact (as _mean_pow2)
            if mode == 0 and pow2 and 2.0 ** -100 <= r <= 1.0 and \
                    _half_mean2w(yf, d, xf, a0, a1, uC, r):
                continue
            for c in range(uC):
                v = (((0.0 + _term(_tof(xf[a0 + c]), mode)) + _term(_tof(xf[a0 + uC + c]), mode)) +
                     _term(_tof(xf[a1 + c]), mode)) + _term(_tof(xf[a1 + uC + c]), mode)
                _put(yf, d + c, _tile_out(v, mode, pow2, r, div))
        else:
            for c in range(uC):
                v = (((0.0 + _term(_tof(xf[a0 + c]), mode)) + _term(_tof(xf[a0 + uC + c]), mode)) +
                     _term(_tof(xf[a1 + c]), mode)) + _term(_tof(xf[a1 + uC + c]), mode)
                v = (((v + _term(_tof(xf[a2 + c]), mode)) + _term(_tof(xf[a2 + uC + c]), mode)) +
                     _term(_tof(xf[a3 + c]), mode)) + _term(_tof(xf[a3 + uC + c]), mode)
                _put(yf, d + c, _tile_out(v, mode, pow2, r, div))


@nb.njit(inline="always")
def _mean2w_call(yf, y0, xf, s0, s1, s2, s3, rows, m, sw, C, mode, div):
    """:func:`_mean2w_rows` with its case as literals: L2, or a mean by a power of two or
    not."""
    if mode == 2:
        _mean2w_rows(yf, y0, xf, s0, s1, s2, s3, rows, m, sw, C, 2, False, div)
    elif _pow2(div):
        _mean2w_rows(yf, y0, xf, s0, s1, s2, s3, rows, m, sw, C, 0, True, div)
    else:
        _mean2w_rows(yf, y0, xf, s0, s1, s2, s3, rows, m, sw, C, 0, False, div)


@nb.njit(inline="always")
def _wide_row(accs, xf, row, bw, lw, hw, dw, lo, hi, C, mode):
    """accs[ow] += the terms (mode 0: x, mode 2: x * x; a literal) of the taps of window ow
    (outside lo..hi) along the channels-last input row that starts at position ``row`` of xf,
    in tap order, four taps a pass; flat loops, no view per tap (adaptive windows are wide).
    Each pass prefetches the one _AHEAD bytes further on (as global_sum_cl)."""
    af = accs.reshape(-1)
    z = xf.itemsize
    uC = np.uint64(C)
    base = np.uint64(row) * uC
    for ow in range(accs.shape[0]):
        if lo <= ow < hi:
            continue
        nw = hw[ow] - lw[ow]
        i2 = bw[ow] + lw[ow] * dw
        d = np.uint64(ow) * uC
        k = 0
        while k + 4 <= nw:
            s0 = base + np.uint64(i2 + k * dw) * uC
            s1 = base + np.uint64(i2 + (k + 1) * dw) * uC
            s2 = base + np.uint64(i2 + (k + 2) * dw) * uC
            s3 = base + np.uint64(i2 + (k + 3) * dw) * uC
            _prefetch_bytes(xf, s0 * z + _AHEAD, 4 * C * z)
            for c in range(uC):
                af[d + c] = (((af[d + c] + _term(_tof(xf[s0 + c]), mode)) +
                              _term(_tof(xf[s1 + c]), mode)) + _term(_tof(xf[s2 + c]), mode)) + \
                    _term(_tof(xf[s3 + c]), mode)
            k += 4
        while k < nw:
            s0 = base + np.uint64(i2 + k * dw) * uC
            for c in range(uC):
                af[d + c] += _term(_tof(xf[s0 + c]), mode)
            k += 1


@nb.njit(**_OPTS)
def sum_cl(x, y, mode, p, bd, ld, hd, bh, lh, hh, bw, lw, hw, dd, dh, dw, cd, ch, cw):
    """Mean (divisor cd[od] * ch[oh] * cw[ow]) or Lp norm, channels-last, vectorised over C:
    each output's taps straight from the input: a mean window of up to four taps, or of eight
    inside the input, in one pass (in order, from +0), else the first two in one pass and one
    per tap."""
    N, D, H, W, C = x.shape
    OD, OH, OW = y.shape[1], y.shape[2], y.shape[3]
    kw_full, a, b = _full_run(lw, hw)
    for ow in range(a, b):  # one divisor
        if cw[ow] != cw[a]:
            b = a
    # mean and L2 windows two wide (2x2/2, 2x2x2/2) moving a fixed step: flat loops over each
    # row
    sw = _step(bw, a, b) if b > a and dw == 1 else 0
    two = (mode == 0 or mode == 2) and kw_full == 2 and sw > 0
    xf = x.reshape(-1)
    yf = y.reshape(-1)
    for job in prange(N * OD * OH):
        n, od, oh, nd, nh, i0, i1 = _window_rows(job, OD, OH, bd, ld, hd, bh, lh, hh, dd, dh)
        acc = np.empty(C, np.float64)
        lo, hi = 0, 0  # the outputs done by the four-tap interior pass
        taps = nd * nh * kw_full
        rows = nd * nh
        if two and (rows == 1 or rows == 2 or rows == 4):
            lo, hi = a, b
            s0, s1, s2, s3 = _row_starts4(n, rows, i0, i1, nh, dd, dh, D, H, W, C, bw[a])
            _mean2w_call(yf, (job * OW + a) * C, xf, s0, s1, s2, s3, rows, b - a, sw, C, mode,
                         cd[od] * ch[oh] * cw[a])
        elif mode == 0 and 2 <= taps <= 4 and b > a:
            div = cd[od] * ch[oh] * cw[a]
            if _pow2(div):
                # small windows (2x2) inside the input, one power-of-two divisor: the taps'
                # positions relative to the window's first are the same for every output, and
                # the mean goes straight to y
                lo, hi = a, b
                d0, h0, w0, d1, h1, w1, d2, h2, w2, d3, h3, w3 = _coords4(
                    i0, i1, nh, kw_full, dd, dh, dw, taps, 0)
                r = 1.0 / div
                if taps == 4:  # 2x2: in a function of its own, with k known (7-15% faster)
                    _mean_row4(y[n, od, oh], x[n, d0, h0], x[n, d1, h1], x[n, d2, h2],
                               x[n, d3, h3], bw, w0, w1, w2, w3, a, b, r)
                else:
                    for ow in range(a, b):
                        i2 = bw[ow]
                        _mean_pow2(y[n, od, oh, ow], x[n, d0, h0, i2 + w0], x[n, d1, h1, i2 + w1],
                                   x[n, d2, h2, i2 + w2], x[n, d3, h3, i2 + w3], taps, r)
        elif mode == 0 and taps == 8 and kw_full <= 2 and b > a:
            # 2x2x2, 4x2 and the like inside the input: eight taps in one pass, as in max_cl
            # (windows two rows by four taps measured slower this way: 1.62 -> 1.75 ms)
            lo, hi = a, b
            div = cd[od] * ch[oh] * cw[a]
            c = _coords8(i0, i1, nh, kw_full, dd, dh, dw, taps)
            for ow in range(a, b):
                x0, x1, x2, x3, x4, x5, x6, x7 = _taps8(x, n, bw[ow], c)
                _mean8(y[n, od, oh, ow], x0, x1, x2, x3, x4, x5, x6, x7, div)
        if kw_full >= 8 and OW > 1:
            # wide windows (adaptive ones): window rows outer, outputs inner, as in max_cl (the
            # sums in float64 rows, one per output; each still adds its taps in row-major order)
            accs = np.zeros((OW, C), np.float64)
            for r in range(nd * nh):
                d, h, _ = _tap_at(r, nd * nh, i0, i1, nh, 1, dd, dh, 0)  # the r-th window row
                if mode == 0:
                    _wide_row(accs, xf, ((n * D + d) * H + h) * W, bw, lw, hw, dw, lo, hi, C, 0)
                    continue
                if mode == 2:
                    _wide_row(accs, xf, ((n * D + d) * H + h) * W, bw, lw, hw, dw, lo, hi, C, 2)
                    continue
                xr = x[n, d, h]
                for ow in range(OW):
                    if lo <= ow < hi:
                        continue
                    av = accs[ow]
                    nw = hw[ow] - lw[ow]
                    i2 = bw[ow] + lw[ow] * dw
                    for k in range(nw):
                        _accum(av, xr[i2 + k * dw], mode, p)
            for ow in range(OW):
                if not lo <= ow < hi:
                    _finish_row(y[n, od, oh, ow], accs[ow], mode, p, cd[od] * ch[oh] * cw[ow])
            continue
        for ow in range(OW):
            if lo <= ow < hi:
                continue
            nw = hw[ow] - lw[ow]
            i2 = bw[ow] + lw[ow] * dw
            taps = nd * nh * nw
            if mode == 0 and 1 <= taps <= 4:  # a small mean window (2x2): one pass over C
                xa, xb, xc, xe = _taps4(x, n, i0, i1, i2, nh, nw, dd, dh, dw, taps)
                _sum4(acc, xa, xb, xc, xe, taps)
                _finish_row(y[n, od, oh, ow], acc, mode, p, cd[od] * ch[oh] * cw[ow])
                continue
            k = 0  # taps already summed
            if (mode == 0 or mode == 2) and taps >= 2:
                j0, j1, j2 = _second_tap(i0, i1, i2, nh, nw, dd, dh, dw)
                _accum2(acc, x[n, i0, i1, i2], x[n, j0, j1, j2], mode)  # two taps, one pass
                k = 2
            else:
                _zero(acc)
            t = 0
            for kd in range(nd):
                for kh in range(nh):
                    for kw in range(nw):
                        if t >= k:
                            _accum(acc, x[n, i0 + kd * dd, i1 + kh * dh, i2 + kw * dw], mode, p)
                        t += 1
            _finish_row(y[n, od, oh, ow], acc, mode, p, cd[od] * ch[oh] * cw[ow])


# ----------------------------------------------------------------------------------------------
# Backward: gather over the inverse tables. For input coordinate i of one dim, the outputs whose
# window holds i are o[p[i]:p[i+1]] (ascending).


@nb.njit(inline="always")
def _bterm(mode, g, xv, yv, p):
    """Contribution of output gradient g to an input cell with value xv (output value yv) of an
    Lp norm (modes 1-4; the mean has its own backward kernels)."""
    if mode == 3:  # L1: sign(x)
        if xv > 0:
            return g
        if xv < 0:
            return -g
        return 0.0
    if yv == 0.0 or yv != yv:
        return 0.0 if yv == 0.0 else yv
    if mode == 2:
        return g * xv / yv
    if xv == 0.0:  # sub-gradient 0 at x = 0 (also where |x|^(p-1) is unbounded, p < 1)
        return 0.0
    a = abs(xv)
    s = 1.0 if xv > 0 else -1.0
    return g * s * (a / yv) ** (p - 1.0)


@nb.njit(**_OPTS)
def norm_bwd_cl(dy, dx, x, y, mode, p, pd, od_, ph, oh_, pw, ow_):
    """Lp-norm backward, channels-last gather (each cell sums its windows' terms)."""
    N, D, H, W, C = dx.shape
    for job in prange(N * D * H):
        n, i0, i1 = _unravel3(job, D, H)
        for i2 in range(W):
            for c in range(C):
                dx[n, i0, i1, i2, c] = 0.0
            for a in range(pd[i0], pd[i0 + 1]):
                o0 = od_[a]
                for b in range(ph[i1], ph[i1 + 1]):
                    o1 = oh_[b]
                    for e in range(pw[i2], pw[i2 + 1]):
                        o2 = ow_[e]
                        for c in range(C):
                            dx[n, i0, i1, i2, c] += _bterm(
                                mode, np.float64(dy[n, o0, o1, o2, c]),
                                _tof(x[n, i0, i1, i2, c]), _tof(y[n, o0, o1, o2, c]), p)


@nb.njit(**_OPTS)
def mean_bwd_cl(dy, dx, fd, fh, fw, pd, od_, ph, oh_, pw, ow_, rows):
    """Mean backward, channels-last gather, separable (the factor of output (o0, o1, o2) is
    fd[o0] * fh[o1] * fw[o2]): for each input row (n, i0, i1), a vertical pass sums the scaled
    output rows whose windows hold it into one float64 row ``v`` over (OW, C) (up to three rows
    in one pass); a horizontal pass then writes each cell once: the sum of the ``fw``-scaled
    ``v`` cells of its windows, in ascending output order, rounded once. Every cell of ``dx`` is
    written; ``rows`` input rows per job."""
    N, D, H, W, C = dx.shape
    OW = dy.shape[3]
    M = OW * C
    nblk = (H + rows - 1) // rows
    for job in prange(N * D * nblk):
        n, i0, blk = _unravel3(job, D, nblk)
        r0 = blk * rows
        v = np.empty((OW, C), np.float64)
        vf = v.reshape(M)
        for i1 in range(r0, min(H, r0 + rows)):
            k = 0
            f0 = f1 = f2 = 0.0
            s0 = s1 = s2 = dy[n, 0, 0].reshape(M)
            for a in range(pd[i0], pd[i0 + 1]):
                o0 = od_[a]
                for b in range(ph[i1], ph[i1 + 1]):
                    o1 = oh_[b]
                    f = fd[o0] * fh[o1]
                    src = dy[n, o0, o1].reshape(M)
                    if k == 0:
                        s0 = src
                        f0 = f
                    elif k == 1:
                        s1 = src
                        f1 = f
                    elif k == 2:
                        s2 = src
                        f2 = f
                    else:
                        if k == 3:
                            _vsum(vf, s0, f0, s1, f1, s2, f2, 3)
                        _add_scaled(vf, src, f)
                    k += 1
            if k < 4:
                _vsum(vf, s0, f0, s1, f1, s2, f2, k)
            dxr = dx[n, i0, i1]
            for i2 in range(W):  # (explicit loops: slices per cell cost ~30% here)
                e0 = pw[i2]
                k = pw[i2 + 1] - e0
                if k == 0:
                    for c in range(C):
                        dxr[i2, c] = 0.0
                elif k == 1:
                    o2 = ow_[e0]
                    f0 = fw[o2]
                    for c in range(C):
                        dxr[i2, c] = v[o2, c] * f0
                elif k == 2:
                    o2, o3 = ow_[e0], ow_[e0 + 1]
                    f0, f1 = fw[o2], fw[o3]
                    for c in range(C):
                        dxr[i2, c] = v[o2, c] * f0 + v[o3, c] * f1
                elif k == 3:
                    o2, o3, o4 = ow_[e0], ow_[e0 + 1], ow_[e0 + 2]
                    f0, f1, f2 = fw[o2], fw[o3], fw[o4]
                    for c in range(C):
                        dxr[i2, c] = (v[o2, c] * f0 + v[o3, c] * f1) + v[o4, c] * f2
                else:
                    for c in range(C):
                        acc = 0.0
                        for e in range(e0, e0 + k):
                            o2 = ow_[e]
                            acc += v[o2, c] * fw[o2]
                        dxr[i2, c] = acc


@nb.njit(inline="always")
def _vsum(dst, a, fa, b, fb, c, fc, k):
    """dst = the first k (0-3) of a * fa, b * fb, c * fc, summed in that order."""
    if k == 0:
        for i in range(dst.shape[0]):
            dst[i] = 0.0
    elif k == 1:
        for i in range(dst.shape[0]):
            dst[i] = a[i] * fa
    elif k == 2:
        for i in range(dst.shape[0]):
            dst[i] = a[i] * fa + b[i] * fb
    else:
        for i in range(dst.shape[0]):
            dst[i] = (a[i] * fa + b[i] * fb) + c[i] * fc


@nb.njit(**_OPTS)
def norm_bwd_cf(dy, dx, x, y, mode, p, pd, od_, ph, oh_, pw, ow_):
    """Lp-norm backward, channels-first gather (each cell sums its windows' terms)."""
    N, C, D, H, W = dx.shape
    for job in prange(N * C * D):
        n, c, i0 = _unravel3(job, C, D)
        for i1 in range(H):
            for i2 in range(W):
                acc = 0.0
                for a in range(pd[i0], pd[i0 + 1]):
                    o0 = od_[a]
                    for b in range(ph[i1], ph[i1 + 1]):
                        o1 = oh_[b]
                        for e in range(pw[i2], pw[i2 + 1]):
                            o2 = ow_[e]
                            acc += _bterm(mode, np.float64(dy[n, c, o0, o1, o2]),
                                          _tof(x[n, c, i0, i1, i2]), _tof(y[n, c, o0, o1, o2]),
                                          p)
                dx[n, c, i0, i1, i2] = acc


# ----------------------------------------------------------------------------------------------
# Channels-first fast path (no indices): separable row passes. For each output row, a vertical pass
# folds the window's input rows into one contiguous row buffer (vectorised), then a horizontal pass
# reduces along W; its interior (windows fully inside the row) runs with a compile-time stride for
# the common strides 1 and 2 so that it vectorises too. Max is order-independent in value, so this
# gives the same results as ``max_cf``; sums are accumulated in float64 in a different order.


@nb.njit
def _max_edge(yr, tmp, fill, bw, lw, hw, dw, start, stop):
    """Horizontal max for the outputs [start, stop) whose windows are clipped by the row ends."""
    for ow in range(start, stop):
        if lw[ow] >= hw[ow]:
            yr[ow] = fill
            continue
        best = tmp[bw[ow] + lw[ow] * dw]
        for kw in range(lw[ow] + 1, hw[ow]):
            v = tmp[bw[ow] + kw * dw]
            best = v if _better(v, best) else best
        yr[ow] = best


@nb.njit(inline="always")
def _max_edges(yr, row, fill, bw, lw, hw, dw, a, b):
    """_max_edge for the clipped outputs of a row, those outside its interior [a, b) (with no
    interior, a = b = OW): called only where there are some, as a call passes its arrays'
    references."""
    if a > 0:
        _max_edge(yr, row, fill, bw, lw, hw, dw, 0, a)
    if b < yr.shape[0]:
        _max_edge(yr, row, fill, bw, lw, hw, dw, b, yr.shape[0])


@nb.njit(inline="always")
def _sum_edges(acc, tmp, mode, bw, lw, hw, dw, a, b):
    """acc[ow] = the horizontal sum (max of |x| for mode 4) of each clipped output outside the
    interior [a, b) of a folded float64 row, each from +0 in tap order. Written out where it is
    used: a call per row, passing the arrays' references, cost as much as the row's sums."""
    for q in range(acc.shape[0] - (b - a)):
        ow = q if q < a else q + (b - a)  # the outputs below a, then those from b on
        s = 0.0
        for kw in range(lw[ow], hw[ow]):
            v = tmp[bw[ow] + kw * dw]
            if mode == 4:
                s = v if (v > s or v != v) else s
            else:
                s += v
        acc[ow] = s


@nb.njit
def _interior(bw, lw, hw, kw_full):
    """[a, b): the outputs whose window taps all lie inside the row (a = b = OW if none)."""
    OW = bw.shape[0]
    a = 0
    while a < OW and (lw[a] != 0 or hw[a] != kw_full):
        a += 1
    b = OW
    while b > a and (lw[b - 1] != 0 or hw[b - 1] != kw_full):
        b -= 1
    return a, b


@nb.njit(inline="always")
def _hfused_max(yi, r, s, k):
    """yi[j] = max(r[s*j], ..., r[s*j + k - 1]) for k = 2 or 3 taps in one pass (a literal s)."""
    for j in range(yi.shape[0]):
        t = r[s * j]
        v = r[s * j + 1]
        t = v if _better(v, t) else t
        if k == 3:
            v = r[s * j + 2]
            t = v if _better(v, t) else t
        yi[j] = t


@nb.njit(inline="always")
def _hfused_nan(yf, y0, m, xf, s0, s, k):
    """yf[y0 + j] = the running maximum of the k (2 or 3) taps xf[s0 + s*j], ... for j < m (a
    literal stride s; flat unsigned indices), NaN-blind (_fast): True when a tap is NaN (the
    outputs are then not the maxima: the caller redoes the row NaN-aware)."""
    d, u, one, us = np.uint64(y0), np.uint64(s0), np.uint64(1), np.uint64(s)
    nan = False
    for j in range(np.uint64(m)):
        e = u + us * j
        a, b = xf[e], xf[e + one]
        t = _fast(a, b)
        nan |= _isnan(a) | _isnan(b)
        if k == 3:
            c = xf[e + one + one]
            t = _fast(t, c)
            nan |= _isnan(c)
        yf[d + j] = t
    return nan


@nb.njit(inline="always")
def _hfused_row(yf, y0, m, xf, s0, sw, kw):
    """:func:`_hfused_nan` for windows kw (2 or 3) wide at stride sw (1 or 2), each case with
    literal arguments (runtime ones measured 15% slower on 1-D 3/2: the loops vectorise
    less). Also for a folded row known to hold no NaN (the note then goes unused)."""
    if sw == 1 and kw == 2:
        return _hfused_nan(yf, y0, m, xf, s0, 1, 2)
    if sw == 1:
        return _hfused_nan(yf, y0, m, xf, s0, 1, 3)
    if kw == 2:
        return _hfused_nan(yf, y0, m, xf, s0, 2, 2)
    return _hfused_nan(yf, y0, m, xf, s0, 2, 3)


@nb.njit
def _hpass_max(yr, row, buf, fill, bw, lw, hw, dw, kw_full, sw, a, b):
    """yr = the windows' maxima along one (folded) row: the interior [a, b) with a literal
    stride, the clipped ends tap by tap. ``buf``: scratch of twice the row's length."""
    if b > a:
        # interior: taps 0..kw_full-1 all real; slices starting at 0 let the compiler prove
        # indices non-negative (no wrap-around checks)
        if dw == 1 and (kw_full == 2 or kw_full == 3) and (sw == 1 or sw == 2):
            if sw == 1:  # the common small windows: all taps in one pass
                _hfused_max(yr[a:b], row[bw[a]:], 1, kw_full)
            else:
                _hfused_max(yr[a:b], row[bw[a]:], 2, kw_full)
        elif dw == 1 and sw > 2:
            # a larger stride does not vectorise: take the window maximum at every position
            # (stride 1, vectorised), then every sw-th of them
            m = bw[b - 1] - bw[a] + 1
            yi = yr[a:b]
            if kw_full > 3:
                # wide windows (adaptive ones): the maximum of every run of w taps for w = 2,
                # 4, 8, ... (each pass doubles w), then each window as two runs of w that
                # overlap: log2(kw) passes instead of kw. The first maximum along the row
                # wins every comparison it takes part in, so this keeps the tap that one pass
                # per tap keeps (the first maximum, or the first NaN)
                # (the runs go back and forth between the two halves of buf: a pass in place
                # would read what it writes, and then does not vectorise)
                L = m + kw_full - 1  # the taps the windows span
                half = buf.shape[0] // 2
                src, dst = 0, half
                _hfused_max(buf[:L - 1], row[bw[a]:], 1, 2)
                w = 2
                while 2 * w <= kw_full:
                    _hdouble_max(buf[dst:dst + L - 2 * w + 1], buf[src:], buf[src + w:])
                    src, dst = dst, src
                    w *= 2
                bm = buf[src:]
                for j in range(b - a):
                    u = bm[sw * j]
                    v = bm[sw * j + kw_full - w]
                    yi[j] = v if _better(v, u) else u
            else:
                if kw_full == 1:
                    bm = row[bw[a]:bw[a] + m]
                else:
                    bm = buf[:m]
                    _hfused_max(bm, row[bw[a]:], 1, kw_full)
                for j in range(b - a):
                    yi[j] = bm[sw * j]
        else:
            for kw in range(kw_full):
                _hfold_max(yr[a:b], row[bw[a] + kw * dw:], sw, kw == 0)
    _max_edges(yr, row, fill, bw, lw, hw, dw, a, b)


@nb.njit(inline="always")
def _hdouble_max(dst, t, u):
    """dst[i] = the maximum of t[i] and u[i] (two runs of taps, u's the later one): ties and
    the first NaN go to t."""
    for i in range(dst.shape[0]):
        v = u[i]
        b = t[i]
        dst[i] = v if _better(v, b) else b


@nb.njit(inline="always")
def _hfold_max(yi, t0, sw, first):
    """yi[j] = (max of yi[j] and) t0[sw * j]; literal strides 1 and 2 vectorise."""
    m = yi.shape[0]
    if first:
        if sw == 1:
            for j in range(m):
                yi[j] = t0[j]
        elif sw == 2:
            for j in range(m):
                yi[j] = t0[2 * j]
        else:
            for j in range(m):
                yi[j] = t0[sw * j]
    elif sw == 1:
        for j in range(m):
            v = t0[j]
            t = yi[j]
            yi[j] = v if _better(v, t) else t
    elif sw == 2:
        for j in range(m):
            v = t0[2 * j]
            t = yi[j]
            yi[j] = v if _better(v, t) else t
    else:
        for j in range(m):
            v = t0[sw * j]
            t = yi[j]
            yi[j] = v if _better(v, t) else t


@nb.njit(inline="always")
def _kup(m, km, v, kv):
    """(running maximum, its _mkey) after the tap v of key kv: _fast with the keys carried."""
    c = kv > km
    return (v if c else m), (kv if c else km)


@nb.njit(inline="always")
def _knan(k):
    """Whether a tap of _mkey k is NaN where _fast's comparison needs it redone: a float key
    that is NaN (float16 through _hkey compares as _up does: never)."""
    return k != k


@nb.njit(inline="always")
def _tile_max2(yf, d, j, xf, u0, u1):
    """yf[d + j] = the first maximal tap, in row-major order, of columns 2j, 2j + 1 of the two
    rows at flat offsets u0, u1 of xf (_tile_max's two-row window), NaN-blind (_fast on keys);
    True when a key is NaN (float16 keys never are)."""
    one = np.uint64(1)
    e = j + j
    a0, b0, a1, b1 = xf[u0 + e], xf[u0 + e + one], xf[u1 + e], xf[u1 + e + one]
    ka0, kb0, ka1, kb1 = _mkey(a0), _mkey(b0), _mkey(a1), _mkey(b1)
    if _is_float(xf):
        t, kt = _kup(a0, ka0, b0, kb0)
        u, ku = _kup(a1, ka1, b1, kb1)
    else:  # equal integers are the same bits: the pairs down the columns, faster
        t, kt = _kup(a0, ka0, a1, ka1)
        u, ku = _kup(b0, kb0, b1, kb1)
    yf[d + j] = u if ku > kt else t
    return _knan(ka0) | _knan(ka1) | _knan(kb0) | _knan(kb1)


@nb.njit(inline="always")
def _tile_max(yf, y0, m, xf, s0, s1, s2, s3, k):
    """yf[y0 + j] = the first maximal tap, in row-major order, of the window of columns 2j,
    2j + 1 of the first k (2-4) of the rows that start at flat indices s0..s3 of xf, for j < m:
    each row's pair, then the rows in order (merging maxima of consecutive runs of taps keeps
    the first maximal tap; pairing the columns across rows first would not, for -0 and +0 or
    two NaNs). Flat unsigned indices, no view per row (a view's reference counting cost about
    as much as a short uint8 row). A NaN-blind pass first (_fast on keys taken once per tap: a
    float16 tap is converted once); only rows with a NaN tap are redone with _up. Float16
    rows of at least _TW windows go in blocks of _TW, the last block overlapping the one
    before: fixed-length loops that vectorise without a scalar tail."""
    u0, u1, u2, u3 = np.uint64(s0), np.uint64(s1), np.uint64(s2), np.uint64(s3)
    d, one = np.uint64(y0), np.uint64(1)
    nan = False
    if k == 2:
        if _is_half(xf) and m >= _TW:  # 16-bit keys: NaN is their largest, no second pass
            last = np.uint64(m - _TW)
            b = np.uint64(0)
            while True:
                b = min(b, last)
                for jj in range(_TW):
                    _tile_max2(yf, d, b + np.uint64(jj), xf, u0, u1)
                if b == last:
                    return
                b += np.uint64(_TW)
        for j in range(np.uint64(m)):
            nan |= _tile_max2(yf, d, j, xf, u0, u1)
        if nan:
            for j in range(np.uint64(m)):
                e = j + j
                t = _up(xf[u0 + e], xf[u0 + e + one])
                t = _up(t, xf[u1 + e])
                yf[d + j] = _up(t, xf[u1 + e + one])
        return
    for j in range(np.uint64(m)):
        e = j + j
        a0, a1, a2, a3 = xf[u0 + e], xf[u1 + e], xf[u2 + e], xf[u3 + e]
        b0, b1, b2, b3 = xf[u0 + e + one], xf[u1 + e + one], xf[u2 + e + one], xf[u3 + e + one]
        ka0, ka1, ka2, ka3 = _mkey(a0), _mkey(a1), _mkey(a2), _mkey(a3)
        kb0, kb1, kb2, kb3 = _mkey(b0), _mkey(b1), _mkey(b2), _mkey(b3)
        t, kt = _kup(a0, ka0, b0, kb0)
        u, ku = _kup(a1, ka1, b1, kb1)
        t, kt = _kup(t, kt, u, ku)
        u, ku = _kup(a2, ka2, b2, kb2)
        t, kt = _kup(t, kt, u, ku)
        u, ku = _kup(a3, ka3, b3, kb3)
        yf[d + j] = u if ku > kt else t
        nan |= _knan(ka0) | _knan(ka1) | _knan(ka2) | _knan(ka3) | _knan(kb0) | _knan(kb1) | \
            _knan(kb2) | _knan(kb3)
    if not nan:
        return
    for j in range(np.uint64(m)):
        e = j + j
        t = _up(_up(xf[u0 + e], xf[u0 + e + one]), xf[u1 + e])
        t = _up(_up(_up(t, xf[u1 + e + one]), xf[u2 + e]), xf[u2 + e + one])
        yf[d + j] = _up(_up(t, xf[u3 + e]), xf[u3 + e + one])


@nb.njit(inline="always")
def _prefetch_rows(r0, r1, r2, r3, k):
    """_prefetch_span of the first k (1-4) of the input rows r0..r3 that a row kernel is about
    to read: the stretch _AHEAD bytes further on in each row's stream."""
    _prefetch_span(r0, _AHEAD)
    if k > 1:
        _prefetch_span(r1, _AHEAD)
    if k > 2:
        _prefetch_span(r2, _AHEAD)
    if k > 3:
        _prefetch_span(r3, _AHEAD)


@nb.njit(inline="always")
def _tile_starts(base, j0, j1, rows, H, W):
    """The flat offsets of the four rows (the last real one repeated) of a tile window whose
    first real row is (j0, j1) in the planes from flat index ``base``; ``rows``: _coords4 of the
    window from (0, 0), the rows' (d, h) offsets (worked out once per window height)."""
    return (base + ((j0 + rows[0]) * H + j1 + rows[1]) * W,
            base + ((j0 + rows[3]) * H + j1 + rows[4]) * W,
            base + ((j0 + rows[6]) * H + j1 + rows[7]) * W,
            base + ((j0 + rows[9]) * H + j1 + rows[10]) * W)


@nb.njit(**_OPTS)
def max_cf_tiles(x, y, fill, bd, ld, hd, bh, lh, hh, bw, lw, hw, dd, dh, dw):
    """Max, channels-first, for windows two wide at stride 2 that tile every row from its start
    (2x2/2, 3x2/2, 2x2x2/2, 1-D 2/2) with at most four real rows each, in one plane or
    several (the engine's ``_tiles``; the W tables and dw are then implied): each output row
    straight from its input rows (:func:`_tile_max`)."""
    N, C, D, H, W = x.shape
    OD, OH, OW = y.shape[2], y.shape[3], y.shape[4]
    xf = x.reshape(-1)
    yf = y.reshape(-1)
    ahead = min(W, _AHEAD // xf.itemsize)
    for job in prange(N * C * OD):
        n, c, od = _unravel3(job, C, OD)
        base = (n * C + c) * D * H * W  # the plane's first cell in xf
        nd = hd[od] - ld[od]
        i0 = bd[od] + ld[od] * dd
        tile_nh = -1  # the window height the rows' offsets below were worked out for
        rows = _coords4(0, 0, 1, 1, dd, dh, 0, 1, 0)
        for oh in range(OH):
            nh = hh[oh] - lh[oh]
            y0 = (job * OH + oh) * OW
            if nd * nh == 0:
                for ow in range(OW):
                    yf[y0 + ow] = fill
                continue
            if nh != tile_nh:  # (d, h) offsets of the rows from the first; one row repeats
                tile_nh = nh
                rows = _coords4(0, 0, nh, 1, dd, dh, 0, nd * nh, 0)
            s0, s1, s2, s3 = _tile_starts(base, i0, bh[oh] + lh[oh] * dh, rows, H, W)
            _prefetch_taps(xf, s0, s1, s2, s3, nd * nh, ahead)
            _tile_max(yf, y0, OW, xf, s0, s1, s2, s3, max(nd * nh, 2))


@nb.njit(inline="always")
def _tile_out(v, mode, pow2, r, div):
    """The output of a window's sum of terms: the L2 norm (mode 2) or the mean (times the exact
    reciprocal r of a power-of-two divisor: the same result as dividing)."""
    if mode == 2:
        return np.sqrt(v)
    return v * r if pow2 else v / div


@nb.njit(inline="always")
def _tile_sums(yf, y0, m, xf, s0, s1, s2, k, mode, pow2, div):
    """yf[y0 + j] = the mean (mode 0, divided by div) or L2 norm (mode 2) of columns 2j, 2j + 1
    of the first k (0-3) of the rows that start at flat indices s0..s2 of xf, for j < m: each
    column summed from +0 over the rows in order, then the two columns added, rounded once (the
    order of sum_cf_rows's fold and pair, without its folded row). Flat unsigned indices (no
    view per row, as :func:`_tile_max`). Called with literal ``mode`` and ``pow2`` (a mean by
    a power of two: multiplied by its exact reciprocal), so that each case compiles to loops
    of its own."""
    r = 1.0 / div
    u0, u1, u2 = np.uint64(s0), np.uint64(s1), np.uint64(s2)
    d, one = np.uint64(y0), np.uint64(1)
    if k == 0:  # windows wholly in the padding: the sum is +0
        for j in range(np.uint64(m)):
            _put(yf, d + j, _tile_out(0.0 + 0.0, mode, pow2, r, div))
    elif k == 1:
        for j in range(np.uint64(m)):
            e = j + j
            v = (0.0 + _term(_tof(xf[u0 + e]), mode)) + (0.0 + _term(_tof(xf[u0 + e + one]), mode))
            _put(yf, d + j, _tile_out(v, mode, pow2, r, div))
    elif k == 2:
        done = np.uint64(0)
        if mode == 0 and pow2:  # float16 means: in explicit vectors, eight at a time
            done = _half_pairs(yf, d, np.uint64(m), xf, u0, u1, r)
        for j in range(done, np.uint64(m)):
            e = j + j
            v = ((0.0 + _term(_tof(xf[u0 + e]), mode)) + _term(_tof(xf[u1 + e]), mode)) + \
                ((0.0 + _term(_tof(xf[u0 + e + one]), mode)) + _term(_tof(xf[u1 + e + one]), mode))
            _put(yf, d + j, _tile_out(v, mode, pow2, r, div))
    else:
        for j in range(np.uint64(m)):
            e = j + j
            a = ((0.0 + _term(_tof(xf[u0 + e]), mode)) + _term(_tof(xf[u1 + e]), mode)) + \
                _term(_tof(xf[u2 + e]), mode)
            b = ((0.0 + _term(_tof(xf[u0 + e + one]), mode)) +
                 _term(_tof(xf[u1 + e + one]), mode)) + _term(_tof(xf[u2 + e + one]), mode)
            _put(yf, d + j, _tile_out(a + b, mode, pow2, r, div))


@nb.njit(inline="always")
def _tile_sums4(yf, y0, m, xf, s0, s1, s2, s3, mode, pow2, div, t):
    """:func:`_tile_sums` of four rows, over flat indices (output row at yf[y0:y0 + m], input
    rows at xf[s0:], ... xf[s3:]): the rows folded into the float64 row ``t`` in one
    contiguous pass, then the pairs (faster than eight strided taps per output, and no view
    per row: at 3-D sizes a view's reference counting costs a noticeable share of a row)."""
    r = 1.0 / div
    u0, u1, u2, u3 = np.uint64(s0), np.uint64(s1), np.uint64(s2), np.uint64(s3)
    y0 = np.uint64(y0)
    for i in range(np.uint64(2 * m)):
        t[i] = (((0.0 + _term(_tof(xf[u0 + i]), mode)) + _term(_tof(xf[u1 + i]), mode)) +
                _term(_tof(xf[u2 + i]), mode)) + _term(_tof(xf[u3 + i]), mode)
    for j in range(np.uint64(m)):
        _put(yf, y0 + j, _tile_out(t[2 * j] + t[2 * j + 1], mode, pow2, r, div))


@nb.njit(**_OPTS)
def sum_cf_tiles(x, y, mode, bd, ld, hd, bh, lh, hh, dd, dh, cd, ch, cw):
    """Mean (divisor cd[od] * ch[oh] * cw[0]) or L2 norm (mode 2), channels-first, for the
    windows of :func:`max_cf_tiles` (two wide at stride 2, tiling every row from its start; at
    most four real rows, 2-D or 3-D): each output row straight from its one to three input
    rows (:func:`_tile_sums`), or through one folded row from four (:func:`_tile_sums4`), with
    the sums and roundings of :func:`sum_cf_rows`."""
    N, C, D, H, W = x.shape
    OD, OH, OW = y.shape[2], y.shape[3], y.shape[4]
    xf = x.reshape(-1)
    yf = y.reshape(-1)
    ahead = min(W, _AHEAD // xf.itemsize)
    for job in prange(N * C * OD):
        n, c, od = _unravel3(job, C, OD)
        base = (n * C + c) * D * H * W  # the plane's first cell in xf
        nd = hd[od] - ld[od]
        i0 = bd[od] + ld[od] * dd
        t = np.empty(W, np.float64)
        tile_nh = -1  # the window height the rows' offsets below were worked out for
        rows = _coords4(0, 0, 1, 1, dd, dh, 0, 1, 0)
        for oh in range(OH):
            nh = hh[oh] - lh[oh]
            if nh != tile_nh:  # (d, h) offsets of the rows from the first; one row repeats
                tile_nh = nh
                rows = _coords4(0, 0, max(nh, 1), 1, dd, dh, 0, max(nd * nh, 1), 0)
            j0, j1 = i0, bh[oh] + lh[oh] * dh
            if nd * nh == 0:  # (no real row to read: any in-range one will do)
                j0, j1 = 0, 0
            div = cd[od] * ch[oh] * cw[0]
            pow2 = _pow2(div)
            s0, s1, s2, s3 = _tile_starts(base, j0, j1, rows, H, W)
            y0 = (job * OH + oh) * OW
            if nd * nh == 4:
                _prefetch_taps(xf, s0, s1, s2, s3, 4, W)
                if mode == 2:
                    _tile_sums4(yf, y0, OW, xf, s0, s1, s2, s3, 2, False, div, t)
                elif pow2:
                    _tile_sums4(yf, y0, OW, xf, s0, s1, s2, s3, 0, True, div, t)
                else:
                    _tile_sums4(yf, y0, OW, xf, s0, s1, s2, s3, 0, False, div, t)
            else:
                _prefetch_taps(xf, s0, s1, s2, s2, nd * nh, ahead)
                if mode == 2:
                    _tile_sums(yf, y0, OW, xf, s0, s1, s2, nd * nh, 2, False, div)
                elif pow2:
                    _tile_sums(yf, y0, OW, xf, s0, s1, s2, nd * nh, 0, True, div)
                else:
                    _tile_sums(yf, y0, OW, xf, s0, s1, s2, nd * nh, 0, False, div)

@nb.njit(inline="always")
def _vmax3_split(ev, od, r0, r1, r2):
    """ev[i], od[i] = the running maxima of rows r0, r1, r2 at columns 2i and 2i + 1 (NaN-blind,
    _fast): the rows folded and split by column parity in one pass, so that the stride-2 windows
    then read contiguous runs. True when a tap is NaN or -0 (_odd: the caller redoes the row
    in row-major order, since the fold would keep another of tied taps)."""
    nan = False
    for i in range(r0.shape[0] // 2):
        a, b, c = r0[2 * i], r1[2 * i], r2[2 * i]
        ev[i] = _fast(_fast(a, b), c)
        nan |= _odd(a) | _odd(b) | _odd(c)
        a, b, c = r0[2 * i + 1], r1[2 * i + 1], r2[2 * i + 1]
        od[i] = _fast(_fast(a, b), c)
        nan |= _odd(a) | _odd(b) | _odd(c)
    if r0.shape[0] % 2:
        i = r0.shape[0] // 2
        a, b, c = r0[2 * i], r1[2 * i], r2[2 * i]
        ev[i] = _fast(_fast(a, b), c)
        nan |= _odd(a) | _odd(b) | _odd(c)
    return nan


@nb.njit(inline="always")
def _hmax3_split(yi, u, v):
    """yi[j] = the running maximum of u[j], v[j], u[j + 1]: three columns in a row, split by
    parity (u the first column's, NaN-blind, _fast)."""
    for j in range(yi.shape[0]):
        yi[j] = _fast(_fast(u[j], v[j]), u[j + 1])


@nb.njit(inline="always")
def _pad_split(ev, ov, fill, W):
    """The two padding cells on each side of a row of W columns split by parity (column c at
    ev[c // 2 + 1] or ov[(c - 1) // 2 + 1]): columns -2, -1, W and W + 1 hold fill."""
    ev[0] = fill
    ov[0] = fill
    ev[W // 2 + 1 + (W & 1)] = fill
    ov[W // 2 + 1] = fill


@nb.njit
def _three_padded(bw, lw, hw, W):
    """Whether windows three wide at stride 2 (dilation 1) can all be read from a folded row with
    two cells of padding on each side: starts step by 2 from at least -2 to at most W - 1, and each
    window is clipped by the row's ends only."""
    OW = bw.shape[0]
    if OW == 0 or bw[0] < -2 or bw[OW - 1] > W - 1:
        return False
    for ow in range(OW):
        if bw[ow] != bw[0] + 2 * ow or lw[ow] != max(0, -bw[ow]) or hw[ow] != min(3, W - bw[ow]):
            return False
    return True


@nb.njit(inline="always")
def _fold_flat(t, xf, s0, s1, s2, s3, k, first):
    """t = the running maximum of t (unless first) and the k rows at flat offsets s0, s1, ...
    of xf (first: k = 2-4 rows, else 1-3), in that order: one NaN-blind pass (_fast), flat
    unsigned indices (no view per row: with short rows a view costs as much as the pass). True
    when a tap is NaN or -0 (_odd: t is then not the maximum, or the windows read from it may
    not keep the first of tied taps)."""
    nan = False
    uW = np.uint64(t.shape[0])
    if first and k >= 4:
        for i in range(uW):
            p, q, r, v = xf[s0 + i], xf[s1 + i], xf[s2 + i], xf[s3 + i]
            t[i] = _fast(_fast(_fast(p, q), r), v)
            nan |= _odd(p) | _odd(q) | _odd(r) | _odd(v)
    elif first and k == 3:
        for i in range(uW):
            p, q, r = xf[s0 + i], xf[s1 + i], xf[s2 + i]
            t[i] = _fast(_fast(p, q), r)
            nan |= _odd(p) | _odd(q) | _odd(r)
    elif first:
        for i in range(uW):
            p, q = xf[s0 + i], xf[s1 + i]
            t[i] = _fast(p, q)
            nan |= _odd(p) | _odd(q)
    elif k >= 3:
        for i in range(uW):
            p, q, r = xf[s0 + i], xf[s1 + i], xf[s2 + i]
            t[i] = _fast(_fast(_fast(t[i], p), q), r)
            nan |= _odd(p) | _odd(q) | _odd(r)
    elif k == 2:
        for i in range(uW):
            p, q = xf[s0 + i], xf[s1 + i]
            t[i] = _fast(_fast(t[i], p), q)
            nan |= _odd(p) | _odd(q)
    else:
        for i in range(uW):
            p = xf[s0 + i]
            t[i] = _fast(t[i], p)
            nan |= _odd(p)
    return nan


@nb.njit(**_OPTS)
def max_cf_rows(x, y, fill, bd, ld, hd, bh, lh, hh, bw, lw, hw, dd, dh, dw, kw_full, sw):
    N, C, D, H, W = x.shape
    OD, OH, OW = y.shape[2], y.shape[3], y.shape[4]
    a, b = _interior(bw, lw, hw, kw_full)
    three = kw_full == 3 and sw == 2 and dw == 1 and _three_padded(bw, lw, hw, W)
    fused = dw == 1 and (kw_full == 2 or kw_full == 3) and (sw == 1 or sw == 2) and b > a
    c0 = bw[0] if OW > 0 else 0
    xf = x.reshape(-1)
    yf = y.reshape(-1)
    uH, uW = np.uint64(H), np.uint64(W)
    z = x.itemsize
    span = min(W * z, _AHEAD)
    most = max(1, (hd - ld).max() * (hh - lh).max())  # the most real rows a window has
    for job in prange(N * C * OD):
        n, c, od = _unravel3(job, C, OD)
        tmp = np.empty(W, x.dtype)
        buf = np.empty(2 * W + 4, x.dtype)
        offs = np.empty(most, np.uint64)  # the flat offsets of a window's rows
        # 3x3/2: the folded row split by column parity, column c at ev[c // 2 + 1] (even c) or
        # ov[(c - 1) // 2 + 1] (odd c), two cells of padding (fill) on each side; u, v: the
        # first two columns of window 0 onwards, so window j is u[j], v[j], u[j + 1]
        # (their own arrays, not views of buf: the compiler then knows that the folded row's
        # stores cannot change the rows read; in cache, one image: 0.21 -> 0.17 ms)
        ev = np.empty(W + 2, x.dtype)
        ov = np.empty(W + 2, x.dtype)
        if c0 & 1:
            u = ov[(c0 - 1) // 2 + 1:]
            v = ev[(c0 + 1) // 2 + 1:]
        else:
            u = ev[c0 // 2 + 1:]
            v = ov[c0 // 2 + 1:]
        nd = hd[od] - ld[od]
        # the plane of the window's first real row, and the output rows (views taken once a
        # job: per row they cost as much as the 3x3/2 row's own work)
        xq = x[n, c, min(max(bd[od] + ld[od] * dd, 0), D - 1)]
        yq = y[n, c, od]
        for oh in range(OH):
            yr = yq[oh]
            nh = hh[oh] - lh[oh]
            if nd * nh == 0:
                for ow in range(OW):
                    yr[ow] = fill
                continue
            i0 = bd[od] + ld[od] * dd
            i1 = bh[oh] + lh[oh] * dh
            if nd * nh == 1:  # one input row (1-D pooling, or a window one row tall)
                r0 = x[n, c, i0, i1]
                _prefetch_span(r0, _AHEAD)
                # the interior in one NaN-blind pass (1-D (16, 64, 12544) 3/2 pad 1: 2.6 -> 1.6
                # ms; it went through the split row), unless a tap is NaN
                s0 = (((n * C + c) * D + i0) * H + i1) * W + bw[a]
                if fused and not _hfused_row(yf, (job * OH + oh) * OW + a, b - a, xf, s0, sw,
                                             kw_full):
                    _max_edges(yr, r0, fill, bw, lw, hw, dw, a, b)
                    continue
                _hpass_max(yr, r0, buf, fill, bw, lw, hw, dw, kw_full, sw, a, b)
                continue
            if three and nd * nh <= 3:
                # 3x3 at stride 2 (the ResNet stem): two NaN-blind passes, the rows folded
                # and split by column parity, then every window from contiguous runs of the
                # halves (the padding cells hold fill, which no tap is below: a clipped window
                # keeps its first real tap), unless a tap is NaN (the same comparisons, in the
                # same order, as the NaN-aware passes below)
                if nd == 1:  # 2-D pooling: the window's rows lie in one plane
                    r0, r1, r2 = xq[i1], xq[i1 + dh], xq[i1 + min(2, nh - 1) * dh]
                else:
                    e0, f0, _ = _tap_at(0, nd * nh, i0, i1, nh, 1, dd, dh, 0)
                    e1, f1, _ = _tap_at(1, nd * nh, i0, i1, nh, 1, dd, dh, 0)
                    e2, f2, _ = _tap_at(2, nd * nh, i0, i1, nh, 1, dd, dh, 0)
                    r0, r1, r2 = x[n, c, e0, f0], x[n, c, e1, f1], x[n, c, e2, f2]
                # (2-D: the window moves two rows down per output row, so the streams of r0
                # and r1 cover the rows ahead; r2 is the next output row's r0)
                _prefetch_rows(r0, r1, r2, r2, 3 if nd > 1 else 2)
                if not _vmax3_split(ev[1:], ov[1:], r0, r1, r2):
                    _pad_split(ev, ov, fill, W)
                    _hmax3_split(yr, u, v)
                    continue
            # fold the window's rows in (d, h) order: NaN-blind passes of up to four rows over
            # flat offsets (3x3x3/2 NCDHW (4, 32, 32, 56, 56): 8.3 -> 2.5 ms, ONNX Runtime 3.1),
            # then, as above, the three-wide windows at stride 2 from the split row, or windows
            # two or three wide at stride 1 or 2 in one NaN-blind pass (3x3/1 NCHW (16, 64,
            # 112, 112): 9.0 -> 6.7 ms); unless a tap is NaN: then the NaN-aware passes below
            t = 0
            for kd in range(nd):
                rb = (np.uint64((n * C + c) * D + i0 + kd * dd)) * uH
                for kh in range(nh):
                    offs[t] = (rb + np.uint64(i1 + kh * dh)) * uW
                    _prefetch_bytes(xf, offs[t] * z + _AHEAD, span)  # (as _prefetch_span)
                    t += 1
            R = nd * nh
            nan = _fold_flat(tmp, xf, offs[0], offs[1], offs[min(2, R - 1)],
                             offs[min(3, R - 1)], min(R, 4), True)
            t = 4
            while t < R:
                k = min(3, R - t)
                nan |= _fold_flat(tmp, xf, offs[t], offs[min(t + 1, R - 1)],
                                  offs[min(t + 2, R - 1)], offs[t], k, False)
                t += k
            if not nan:
                if three and not _vmax3_split(ev[1:], ov[1:], tmp, tmp, tmp):
                    _pad_split(ev, ov, fill, W)
                    _hmax3_split(yr, u, v)
                    continue
                if fused:  # _hpass_max's interior, NaN-blind, inline (a call per row measured
                    # 20% slower on 3x3/1 NCHW)
                    _hfused_row(yf, (job * OH + oh) * OW + a, b - a, tmp, bw[a], sw, kw_full)
                    _max_edges(yr, tmp, fill, bw, lw, hw, dw, a, b)
                    continue
                _hpass_max(yr, tmp, buf, fill, bw, lw, hw, dw, kw_full, sw, a, b)
                continue
            _max_row_exact(x, yr, n, c, i0, i1, nd, nh, dd, dh, fill, bw, lw, hw, dw)


@nb.njit(inline="always")
def _edges_at(yf, y0, xf, s, bw, lw, hw, a, b, aware):
    """yf[y0 + ow] = the maximum of each clipped window outside the interior [a, b) (dilation 1,
    one to three real taps each) of the row at flat offset s of xf: NaN-aware (as _max_edge)
    when ``aware`` (a literal), else NaN-blind (_fast; a row known to hold no NaN). Inline and
    unrolled: a call per row, passing the arrays, cost a tenth of a 3x3/2 row."""
    for q in range(bw.shape[0] - (b - a)):
        ow = q if q < a else q + (b - a)  # the outputs below a, then those from b on
        e = s + np.uint64(bw[ow] + lw[ow])
        k = hw[ow] - lw[ow]
        m = xf[e]
        if k > 1:
            m = _up(m, xf[e + np.uint64(1)]) if aware else _fast(m, xf[e + np.uint64(1)])
        if k > 2:
            m = _up(m, xf[e + np.uint64(2)]) if aware else _fast(m, xf[e + np.uint64(2)])
        yf[y0 + ow] = m


@nb.njit
def _max_row_exact(x, yr, n, c, i0, i1, nd, nh, dd, dh, fill, bw, lw, hw, dw):
    """One channels-first output row, each window's taps in row-major order with _up: the
    first maximal tap, the first NaN. The rows of the windows' nd * nh real rows (from (i0,
    i1), dd and dh apart) in order, each window's taps within a row left to right, each
    merged into the window's running maximum in yr. The redo of a row whose folds met a NaN or
    -0 tap (_odd), where folding the rows column by column would keep another of tied taps."""
    OW = bw.shape[0]
    first = True
    for kd in range(nd):
        for kh in range(nh):
            row = x[n, c, i0 + kd * dd, i1 + kh * dh]
            for ow in range(OW):
                lo, hi = lw[ow], hw[ow]
                if hi <= lo:
                    yr[ow] = fill
                    continue
                e = bw[ow]
                m = row[e + lo * dw] if first else _up(yr[ow], row[e + lo * dw])
                for kw in range(lo + 1, hi):
                    m = _up(m, row[e + kw * dw])
                yr[ow] = m
            first = False


@nb.njit(**_OPTS)
def max_cf_fold(x, y, fill, bd, ld, hd, bh, lh, hh, bw, lw, hw, dd, dh, dw, kw_full, sw):
    """Channels-first max over windows two or three wide (dilation 1) at stride 1 or 2 whose
    real rows, one to three of them, lie in one plane (2-D pooling: 3x3/2, the ResNet stem;
    2x2/1; 3x3/1), every window with a real tap (the engine checks: ``_folds``; dw, always
    1, is taken only to keep max_cf_rows's arguments).

    Per output row: the window's rows folded into one over flat offsets, then the interior
    windows in one pass with literal width and stride and the clipped ends inline, all NaN-blind
    (_fast) with NaN and -0 taps noted; a row with one is redone (_max_row_exact) in row-major
    order, so that the first of tied taps is kept (+0 and -0, two NaNs). The same passes
    inside max_cf_rows's own loop, which serves every window shape, ran 10-20% slower; (16,
    64, 112, 112) 3x3/2 pad 1, kernel alone: 1.5-1.65 ms in max_cf_rows (its parity-split
    row), 1.25-1.3 here."""
    N, C, D, H, W = x.shape
    OD, OH, OW = y.shape[2], y.shape[3], y.shape[4]
    a, b = _interior(bw, lw, hw, kw_full)
    xf = x.reshape(-1)
    yf = y.reshape(-1)
    uH, uW = np.uint64(H), np.uint64(W)
    z = x.itemsize
    span = min(W * z, _AHEAD)
    step = np.uint64(dh) * uW
    for job in prange(N * C * OD):
        n, c, od = _unravel3(job, C, OD)
        i0 = bd[od] + ld[od] * dd
        plane = np.uint64((n * C + c) * D + i0) * uH
        tmp = np.empty(W, x.dtype)
        for oh in range(OH):
            nh = hh[oh] - lh[oh]
            i1 = bh[oh] + lh[oh] * dh
            s = (plane + np.uint64(i1)) * uW
            y0 = (job * OH + oh) * OW
            if nh == 1:  # a window one row tall: straight from the input row
                _prefetch_bytes(xf, s * z + _AHEAD, span)
                if b > a and _hfused_row(yf, y0 + a, b - a, xf, s + np.uint64(bw[a]), sw,
                                         kw_full):
                    _max_row_exact(x, y[n, c, od, oh], n, c, i0, i1, 1, nh, 0, dh, fill, bw,
                                   lw, hw, 1)
                    continue
                _edges_at(yf, y0, xf, s, bw, lw, hw, a, b, True)
                continue
            if nh == 2:
                _prefetch_bytes(xf, s * z + _AHEAD, span)
                _prefetch_bytes(xf, (s + step) * z + _AHEAD, span)
                nan = _fold_flat(tmp, xf, s, s + step, s, s, 2, True)
            else:
                _prefetch_bytes(xf, s * z + _AHEAD, span)
                _prefetch_bytes(xf, (s + step) * z + _AHEAD, span)
                _prefetch_bytes(xf, (s + step + step) * z + _AHEAD, span)
                nan = _fold_flat(tmp, xf, s, s + step, s + step + step, s, 3, True)
            if nan:
                _max_row_exact(x, y[n, c, od, oh], n, c, i0, i1, 1, nh, 0, dh, fill, bw, lw,
                               hw, 1)
                continue
            if b > a:
                _hfused_row(yf, y0 + a, b - a, tmp, bw[a], sw, kw_full)
            _edges_at(yf, y0, tmp, np.uint64(0), bw, lw, hw, a, b, False)


@nb.njit(inline="always")
def _combine(acc, t, mode):
    """acc += t (max for mode 4): both already float64 terms."""
    if mode == 4:
        for i in range(acc.shape[0]):
            v = t[i]
            b = acc[i]
            acc[i] = v if (v > b or v != v) else b
    else:
        for i in range(acc.shape[0]):
            acc[i] += t[i]


@nb.njit(inline="always")
def _fold_rows(flat, x, n, i0, i1, nd, nh, dd, dh, mode, p, lo, hi):
    """flat[lo:hi] = the terms of the window's nd*nh input rows (flat (W*C) rows) summed from +0
    in row order (three or two rows per pass for the mean, two for L2)."""
    W, C = x.shape[3], x.shape[4]
    out = flat[lo:hi]
    k = 0  # rows already folded
    if mode == 0 and nh >= 3:
        _accum3(out, x[n, i0, i1].reshape(W * C)[lo:hi], x[n, i0, i1 + dh].reshape(W * C)[lo:hi],
                x[n, i0, i1 + 2 * dh].reshape(W * C)[lo:hi])
        k = 3
    elif (mode == 0 or mode == 2) and nd * nh >= 2:
        j0, j1, _ = _second_tap(i0, i1, 0, nh, 1, dd, dh, 0)
        _accum2(out, x[n, i0, i1].reshape(W * C)[lo:hi], x[n, j0, j1].reshape(W * C)[lo:hi],
                mode)
        k = 2
    else:
        _zero(out)
    t = 0
    for kd in range(nd):
        for kh in range(nh):
            if t >= k:
                _accum(out, x[n, i0 + kd * dd, i1 + kh * dh].reshape(W * C)[lo:hi], mode, p)
            t += 1


@nb.njit(inline="always")
def _mean_rows(yf, r0, r1, s, k, div):
    """yf[j] = the mean of k (2 or 3) column sums s apart, each the sum from +0 of two rows:
    what _fold_rows and _mean_flat compute, in the same order, without the folded row (dividing
    by a power of two equals multiplying by its reciprocal)."""
    if k == 3:
        for j in range(yf.shape[0]):
            c0 = (0.0 + _tof(r0[j])) + _tof(r1[j])
            c1 = (0.0 + _tof(r0[j + s])) + _tof(r1[j + s])
            c2 = (0.0 + _tof(r0[j + 2 * s])) + _tof(r1[j + 2 * s])
            _put(yf, j, ((c0 + c1) + c2) / div)
    else:
        for j in range(yf.shape[0]):
            c0 = (0.0 + _tof(r0[j])) + _tof(r1[j])
            c1 = (0.0 + _tof(r0[j + s])) + _tof(r1[j + s])
            _put(yf, j, (c0 + c1) / div)


@nb.njit(inline="always")
def _mean_row1(yf, r0, s, k, div):
    """_mean_rows for windows of one input row: yf[j] = the mean of k (2 or 3) cells s apart,
    each first added to +0 (as _fold_rows does), without the folded row."""
    if k == 3:
        for j in range(yf.shape[0]):
            c0 = 0.0 + _tof(r0[j])
            c1 = 0.0 + _tof(r0[j + s])
            c2 = 0.0 + _tof(r0[j + 2 * s])
            _put(yf, j, ((c0 + c1) + c2) / div)
    else:
        for j in range(yf.shape[0]):
            _put(yf, j, ((0.0 + _tof(r0[j])) + (0.0 + _tof(r0[j + s]))) / div)


@nb.njit(inline="always")
def _mean_stride2(yf, t, C, k, div):
    """yf[q*C + c] = the mean of t[(2q + i)*C + c] for i < k (2 or 3), each first added to +0:
    windows k wide at stride 2 along a channels-last row (t: the folded float64 row, which
    holds no -0, or the one input row itself), in one flat pass, in the order of the
    per-output pass."""
    uC = np.uint64(C)
    u2 = uC + uC
    for q in range(np.uint64(yf.shape[0]) // uC):
        a = q * u2
        d = q * uC
        if k == 3:
            for c in range(uC):
                c0 = 0.0 + _tof(t[a + c])
                c1 = 0.0 + _tof(t[a + uC + c])
                c2 = 0.0 + _tof(t[a + u2 + c])
                _put(yf, d + c, ((c0 + c1) + c2) / div)
        else:
            for c in range(uC):
                _put(yf, d + c, ((0.0 + _tof(t[a + c])) + (0.0 + _tof(t[a + uC + c]))) / div)


@nb.njit(inline="always")
def _next_row(x, job, OD, OH, bd, ld, hd, bh, lh, hh, dd, dh):
    """The (W*C) input row that the job after `job` reads last: with overlapping windows along H
    (or D), the one it does not share with `job`; empty when there is no next job or its
    window has no real rows."""
    W, C = x.shape[3], x.shape[4]
    if job + 1 >= x.shape[0] * OD * OH:
        return x.reshape(x.size)[:0]
    n, _, _, nd, nh, i0, i1 = _window_rows(job + 1, OD, OH, bd, ld, hd, bh, lh, hh, dd, dh)
    if nd <= 0 or nh <= 0:
        return x.reshape(x.size)[:0]
    return x[n, i0 + (nd - 1) * dd, i1 + (nh - 1) * dh].reshape(W * C)


@nb.njit(**_OPTS)
def sum_cl_rows(x, y, mode, p, bd, ld, hd, bh, lh, hh, bw, lw, hw, dd, dh, dw, cd, ch, cw,
                kw_full, sw):
    """Channels-last mean/Lp for overlapping windows along W: the window's input rows are folded
    into one (W, C) float64 row once (two or three rows per pass), then each output sums its kw
    row cells. For a mean with 2 or 3 taps at stride 1 or 2, the outputs whose windows lie
    inside the row (one divisor) are one flat pass over (W, C); over one input row, or two at
    stride 1, that pass reads them directly, and only the edge outputs' columns are folded."""
    N, D, H, W, C = x.shape
    OD, OH, OW = y.shape[1], y.shape[2], y.shape[3]
    a, b = _interior(bw, lw, hw, kw_full)
    # (stride 2 as well: avg 3x3/2 pad 1 NHWC (16, 112, 112, 64) 3.3 -> 2.4 ms)
    flat_ok = mode == 0 and (sw == 1 or sw == 2) and dw == 1 and (kw_full == 2 or kw_full == 3) \
        and b > a
    for ow in range(a, b):
        flat_ok = flat_ok and cw[ow] == cw[a]
    # the columns the edge outputs (those outside [a, b)) read, on each side
    left = 0
    right = W
    for ow in range(OW):
        if ow < a:
            left = max(left, bw[ow] + (hw[ow] - 1) * dw + 1)
        elif ow >= b and hw[ow] > lw[ow]:
            right = min(right, bw[ow] + lw[ow] * dw)
    for job in prange(N * OD * OH):
        n, od, oh, nd, nh, i0, i1 = _window_rows(job, OD, OH, bd, ld, hd, bh, lh, hh, dd, dh)
        tmp = np.empty((W, C), np.float64)
        flat = tmp.reshape(W * C)
        f = cd[od] * ch[oh]
        yi = y[n, od, oh].reshape(OW * C)[a * C:b * C]  # the interior (flat_ok)
        if flat_ok and not _is_half(x) and (nd * nh == 1 or (nd * nh == 2 and sw == 1)):
            # one or two input rows: the interior straight from them (four or six conversions
            # per output cost less than writing and reading a folded float64 row; not for
            # float16, whose conversions cost twice as much; in 1-D, no folded copy of the
            # whole sequence: NWC (16, 12544, 64) avg 3/1 same 10.6 -> 6.2 ms, 2/1 10.6 ->
            # 4.9), and only the edges' columns folded
            o = bw[a] * C
            r0 = x[n, i0, i1].reshape(W * C)[o:]
            if nd * nh == 2:
                j0, j1, _ = _second_tap(i0, i1, 0, nh, 1, dd, dh, 0)
                _mean_rows(yi, r0, x[n, j0, j1].reshape(W * C)[o:], C, kw_full, f * cw[a])
            elif sw == 1:
                _mean_row1(yi, r0, C, kw_full, f * cw[a])
            else:
                _mean_stride2(yi, r0, C, kw_full, f * cw[a])
            _fold_rows(flat, x, n, i0, i1, nd, nh, dd, dh, mode, p, 0, left * C)
            _fold_rows(flat, x, n, i0, i1, nd, nh, dd, dh, mode, p, right * C, W * C)
        else:
            _fold_rows(flat, x, n, i0, i1, nd, nh, dd, dh, mode, p, 0, W * C)
            if flat_ok and sw == 1:
                _mean_flat(yi, flat[bw[a] * C:], C, kw_full, f * cw[a],
                           _next_row(x, job, OD, OH, bd, ld, hd, bh, lh, hh, dd, dh))
            elif flat_ok:
                _mean_stride2(yi, flat[bw[a] * C:], C, kw_full, f * cw[a])
        acc = np.empty(C, np.float64)
        for ow in range(OW):
            if flat_ok and a <= ow < b:
                continue
            _zero(acc)
            for kw in range(lw[ow], hw[ow]):
                _combine(acc, tmp[bw[ow] + kw * dw], mode)
            _finish_row(y[n, od, oh, ow], acc, mode, p, f * cw[ow])


@nb.njit(inline="always")
def _hfold_sum(ai, t0, sw, mode):
    """ai[j] += t0[sw * j] (max for mode 4); literal strides 1 and 2 vectorise."""
    m = ai.shape[0]
    if mode == 4:
        for j in range(m):
            v = t0[sw * j]
            t = ai[j]
            ai[j] = v if (v > t or v != v) else t
    elif sw == 1:
        for j in range(m):
            ai[j] += t0[j]
    elif sw == 2:
        for j in range(m):
            ai[j] += t0[2 * j]
    else:
        for j in range(m):
            ai[j] += t0[sw * j]


@nb.njit(inline="always")
def _hfused_sum(ai, t, s, k):
    """ai[j] = t[s*j] + ... + t[s*j + k - 1] for k = 2 or 3 taps in one pass (a literal s) of a
    folded float64 row ``t`` (whose cells are already sums from +0)."""
    for j in range(ai.shape[0]):
        v = t[s * j] + t[s * j + 1]
        if k == 3:
            v += t[s * j + 2]
        ai[j] = v


@nb.njit(inline="always")
def _hfold_argmax(rv, ri, t0, sw, base, first):
    """Row argmax over one tap: rv[j], ri[j] <- t0[sw*j], base + sw*j when it is larger (or the
    first NaN); ``first`` initialises. Ties keep the earlier tap."""
    m = rv.shape[0]
    if first:
        for j in range(m):
            rv[j] = t0[sw * j]
            ri[j] = base + sw * j
    elif sw == 1:
        for j in range(m):
            v = t0[j]
            if _better(v, rv[j]):
                rv[j] = v
                ri[j] = base + j
    elif sw == 2:
        for j in range(m):
            v = t0[2 * j]
            if _better(v, rv[j]):
                rv[j] = v
                ri[j] = base + 2 * j
    else:
        for j in range(m):
            v = t0[sw * j]
            if _better(v, rv[j]):
                rv[j] = v
                ri[j] = base + sw * j


@nb.njit
def _argmax_edge(rv, ri, xr, bw, lw, hw, dw, rowbase, start, stop):
    for ow in range(start, stop):
        k = lw[ow]
        best = xr[bw[ow] + k * dw]
        bi = bw[ow] + k * dw
        for kw in range(k + 1, hw[ow]):
            v = xr[bw[ow] + kw * dw]
            if _better(v, best):
                best = v
                bi = bw[ow] + kw * dw
        rv[ow] = best
        ri[ow] = rowbase + bi


@nb.njit(inline="always")
def _argmax_edges(rv, ri, xr, bw, lw, hw, dw, rowbase, a, b):
    """_argmax_edge for the clipped outputs outside the interior [a, b), as _max_edges."""
    if a > 0:
        _argmax_edge(rv, ri, xr, bw, lw, hw, dw, rowbase, 0, a)
    if b < rv.shape[0]:
        _argmax_edge(rv, ri, xr, bw, lw, hw, dw, rowbase, b, rv.shape[0])


@nb.njit(**_OPTS)
def argmax_cf_rows(x, y, idx, bd, ld, hd, bh, lh, hh, bw, lw, hw, dd, dh, dw, kw_full, sw):
    """Max with argmax, channels-first: each input row of a window is reduced along W first
    (first max in tap order), then rows are combined in (d, h) order, which is exactly the
    row-major first-maximum rule. Every window must hold a real cell (the spec guarantees it)."""
    N, C, D, H, W = x.shape
    OD, OH, OW = y.shape[2], y.shape[3], y.shape[4]
    a, b = _interior(bw, lw, hw, kw_full)
    for job in prange(N * C * OD):
        n, c, od = _unravel3(job, C, OD)
        rv = np.empty(OW, x.dtype)
        ri = np.empty(OW, np.int64)
        bv = np.empty(W, x.dtype)
        bi = np.empty(W, np.int64)
        for oh in range(OH):
            yr = y[n, c, od, oh]
            ir = idx[n, c, od, oh]
            first = True
            for kd in range(ld[od], hd[od]):
                i0 = bd[od] + kd * dd
                for kh in range(lh[oh], hh[oh]):
                    i1 = bh[oh] + kh * dh
                    xr = x[n, c, i0, i1]
                    rowbase = (i0 * H + i1) * W
                    tv = yr if first else rv
                    ti = ir if first else ri
                    if b > a and dw == 1 and sw > 2:
                        # a larger stride does not vectorise: the argmax at every position
                        # (stride 1, vectorised; the same tap order), then every sw-th
                        m = bw[b - 1] - bw[a] + 1
                        for kw in range(kw_full):
                            _hfold_argmax(bv[:m], bi[:m], xr[bw[a] + kw:], 1,
                                          rowbase + bw[a] + kw, kw == 0)
                        for j in range(b - a):
                            tv[a + j] = bv[sw * j]
                            ti[a + j] = bi[sw * j]
                    elif b > a:
                        for kw in range(kw_full):
                            _hfold_argmax(tv[a:b], ti[a:b], xr[bw[a] + kw * dw:], sw,
                                          rowbase + bw[a] + kw * dw, kw == 0)
                    _argmax_edges(tv, ti, xr, bw, lw, hw, dw, rowbase, a, b)
                    if not first:
                        for ow in range(OW):
                            v = rv[ow]
                            t = yr[ow]
                            if _better(v, t):
                                yr[ow] = v
                                ir[ow] = ri[ow]
                    first = False


@nb.njit(inline="always")
def _term(v, mode):
    """The summed term of a value: itself for the mean (mode 0), its square for L2 (mode 2)."""
    return v * v if mode == 2 else v


@nb.njit(inline="always")
def _result(v, mode, div):
    """The output of a window's sum: the mean (mode 0) or the L2 norm (mode 2)."""
    return np.sqrt(v) if mode == 2 else v / div


@nb.njit
def _row_taps(yf, t, u, rows, s, k, mode, div):
    """yf[j] = the mean (mode 0, divided by div) or L2 norm (mode 2) of the k = 2 or 3 columns
    s*j, s*j + 1 (, s*j + 2), rounded once, in one pass (literal s and rows). The column
    sums are a folded float64 row ``t`` (rows = 0) or are summed here from +0 over the input
    row ``t`` (and ``u``): the order of a fold followed by _hfused_sum, without writing either.
    (One loop per case: a helper taking the arrays per element would cost a reference count per
    element.)"""
    if rows == 0:
        for j in range(yf.shape[0]):
            v = t[s * j] + t[s * j + 1]
            if k == 3:
                v += t[s * j + 2]
            _put(yf, j, _result(v, mode, div))
    elif rows == 1:
        for j in range(yf.shape[0]):
            v = (0.0 + _term(_tof(t[s * j]), mode)) + _term(_tof(t[s * j + 1]), mode)
            if k == 3:
                v += _term(_tof(t[s * j + 2]), mode)
            _put(yf, j, _result(v, mode, div))
    else:
        for j in range(yf.shape[0]):
            v = ((0.0 + _term(_tof(t[s * j]), mode)) + _term(_tof(u[s * j]), mode)) + \
                ((0.0 + _term(_tof(t[s * j + 1]), mode)) + _term(_tof(u[s * j + 1]), mode))
            if k == 3:
                v += (0.0 + _term(_tof(t[s * j + 2]), mode)) + _term(_tof(u[s * j + 2]), mode)
            _put(yf, j, _result(v, mode, div))


@nb.njit(inline="always")
def _sum_edges_rows(acc, x, n, c, od, oh, bd, ld, hd, bh, lh, hh, bw, lw, hw, dd, dh, dw,
                    mode, a, b):
    """acc[ow] = the sum (of terms, mode 0 or 2) of each clipped window (outside [a, b)) of
    output row (od, oh) of plane (n, c), straight from the input: the order of a fold (each
    column summed from +0 over the rows in (d, h) order) followed by _sum_edges."""
    for q in range(acc.shape[0] - (b - a)):
        ow = q if q < a else q + (b - a)  # the outputs below a, then those from b on
        s = 0.0
        for kw in range(lw[ow], hw[ow]):
            i2 = bw[ow] + kw * dw
            col = 0.0
            for kd in range(ld[od], hd[od]):
                for kh in range(lh[oh], hh[oh]):
                    col += _term(_tof(x[n, c, bd[od] + kd * dd, bh[oh] + kh * dh, i2]), mode)
            s += col
        acc[ow] = s


@nb.njit(**_OPTS)
def sum_cf_rows(x, y, mode, p, bd, ld, hd, bh, lh, hh, bw, lw, hw, dd, dh, dw, cd, ch, cw,
                kw_full, sw):
    N, C, D, H, W = x.shape
    OD, OH, OW = y.shape[2], y.shape[3], y.shape[4]
    a, b = _interior(bw, lw, hw, kw_full)
    # a mean (one divisor) or L2 norm over the common short windows: the interior outputs in
    # one pass straight to y, from the input rows when a window spans one, or two at stride 2
    # (not for float16 bits: widening them at a stride does not vectorise, a row copy does),
    # else from the folded row at stride 1
    fused = (mode == 0 or mode == 2) and b > a and dw == 1 and (kw_full == 2 or kw_full == 3) \
        and sw <= 2
    for ow in range(a, b):
        fused = fused and (mode == 2 or cw[ow] == cw[a])
    direct = fused and not _is_half(x)
    for job in prange(N * C * OD):
        n, c, od = _unravel3(job, C, OD)
        tmp = np.empty(W, np.float64)
        acc = np.empty(OW, np.float64)
        buf = np.empty(W, np.float64)
        # the plane of the window's first real row, and the output rows (views taken once a job)
        xq = x[n, c, min(max(bd[od] + ld[od] * dd, 0), D - 1)]
        yq = y[n, c, od]
        for oh in range(OH):
            yr = yq[oh]
            nd, nh = hd[od] - ld[od], hh[oh] - lh[oh]
            f = cd[od] * ch[oh]
            done = False  # y's interior written (acc then holds the clipped windows' sums)
            if direct and nd * nh <= 2:
                i0, i1 = bd[od] + ld[od] * dd, bh[oh] + lh[oh] * dh
                r0 = x[n, c, i0, i1][bw[a]:]
                ya = yr[a:b]
                if nd * nh == 1:
                    if sw == 1:
                        _row_taps(ya, r0, r0, 1, 1, kw_full, mode, f * cw[a])
                    else:
                        _row_taps(ya, r0, r0, 1, 2, kw_full, mode, f * cw[a])
                    done = True
                elif nd * nh == 2 and sw == 2:  # (2x2 windows at stride 1 fold first)
                    j0, j1, _ = _second_tap(i0, i1, 0, nh, 1, dd, dh, 0)
                    _row_taps(ya, r0, x[n, c, j0, j1][bw[a]:], 2, 2, kw_full, mode, f * cw[a])
                    done = True
                if done and (a > 0 or b < OW):  # the clipped windows, from the input rows
                    _sum_edges_rows(acc, x, n, c, od, oh, bd, ld, hd, bh, lh, hh, bw, lw, hw,
                                    dd, dh, dw, mode, a, b)
            if not done:  # fold the window's rows into tmp, then reduce along W
                i1 = bh[oh] + lh[oh] * dh
                if mode == 0 and nd == 1 and nh == 3:  # the same sums, in one pass
                    _accum3(tmp, xq[i1], xq[i1 + dh], xq[i1 + 2 * dh])
                elif (mode == 0 or mode == 2) and nd == 1 and nh == 2:
                    _accum2(tmp, xq[i1], xq[i1 + dh], mode)
                else:
                    _zero(tmp)
                    for kd in range(ld[od], hd[od]):
                        i0 = bd[od] + kd * dd
                        for kh in range(lh[oh], hh[oh]):
                            _accum(tmp, x[n, c, i0, bh[oh] + kh * dh], mode, p)
                if fused and sw == 1:
                    if mode == 0:  # (the same sums and quotients, by _fast_div's divisions)
                        _mean_block(yr[a:b], tmp[bw[a]:], 1, kw_full, f * cw[a])
                    else:
                        _row_taps(yr[a:b], tmp[bw[a]:], tmp, 0, 1, kw_full, mode, f * cw[a])
                    done = True
                elif b > a:
                    if mode != 4 and dw == 1 and (kw_full == 2 or kw_full == 3) and sw <= 2:
                        if sw == 1:  # the common small windows: all taps in one pass
                            _hfused_sum(acc[a:b], tmp[bw[a]:], 1, kw_full)
                        else:
                            _hfused_sum(acc[a:b], tmp[bw[a]:], 2, kw_full)
                    elif dw == 1 and sw > 2:
                        # a larger stride does not vectorise: sum the window at every position
                        # (stride 1, vectorised; the same order), then take every sw-th
                        m = bw[b - 1] - bw[a] + 1
                        bm = buf[:m]
                        _zero(bm)
                        for kw in range(kw_full):
                            _hfold_sum(bm, tmp[bw[a] + kw:], 1, mode)
                        ai = acc[a:b]
                        for j in range(b - a):
                            ai[j] = bm[sw * j]
                    else:
                        _zero(acc)
                        for kw in range(kw_full):
                            _hfold_sum(acc[a:b], tmp[bw[a] + kw * dw:], sw, mode)
                _sum_edges(acc, tmp, mode, bw, lw, hw, dw, a, b)
            # (the outputs the fused pass wrote are skipped by loop bounds, not by a test: a
            # vectorised test would divide the stale cells of acc, at the cost of a microcode
            # assist for each subnormal among them)
            lo, hi = (a, b) if done else (OW, OW)
            if mode == 0 or done:  # (done: the mean or L2 norm of the clipped windows)
                for ow in range(lo):
                    _put(yr, ow, _result(acc[ow], mode, f * cw[ow]))
                for ow in range(hi, OW):
                    _put(yr, ow, _result(acc[ow], mode, f * cw[ow]))
            else:
                _finish_row(yr, acc, mode, p, 1.0)


# ----------------------------------------------------------------------------------------------
# Backward by scatter, for the cases where one thread owns a whole (n, c) plane (or channel block):
# race-free, and each cell adds its contributions in ascending output order, as the gather does.


@nb.njit(**_OPTS)
def max_bwd_scatter_cf(dy, idx, dx):
    """dy, idx: (planes, outputs); dx: (planes, inputs), cleared here plane by plane."""
    P, O = dy.shape
    for p in prange(P):
        _zero(dx[p])
        for o in range(O):
            i = idx[p, o]
            if i >= 0:
                dx[p, i] += dy[p, o]


@nb.njit(**_OPTS)
def max_bwd_scatter_cl(dy, idx, dx, block):
    """dy, idx: (N, outputs, C); dx: (N, inputs, C), cleared here; channel blocks in parallel."""
    N, O, C = dy.shape
    nb_ = (C + block - 1) // block
    for job in prange(N * nb_):
        n = job // nb_
        c0 = (job % nb_) * block
        c1 = min(C, c0 + block)
        for i in range(dx.shape[1]):
            _zero(dx[n, i, c0:c1])
        for o in range(O):
            for c in range(c0, c1):
                i = idx[n, o, c]
                if i >= 0:
                    dx[n, i, c] += dy[n, o, c]


@nb.njit(**_OPTS)
def mean_bwd_rows_cf(dy, dx, fd, fh, fw, bd, ld, hd, bh, lh, hh, bw, lw, hw, dd, dh, dw):
    """Mean backward, channels-first, one thread per plane: each output row is spread along W
    into a row buffer once, which is then added to every input row of its windows (the plane
    is cleared first)."""
    N, C, D, H, W = dx.shape
    OD, OH, OW = dy.shape[2], dy.shape[3], dy.shape[4]
    for job in prange(N * C):
        n = job // C
        c = job % C
        for i0 in range(D):
            for i1 in range(H):
                _zero(dx[n, c, i0, i1])
        row = np.empty(W, np.float64)
        for od in range(OD):
            for oh in range(OH):
                for w in range(W):
                    row[w] = 0.0
                g = dy[n, c, od, oh]
                for ow in range(OW):
                    v = g[ow] * fw[ow]
                    for kw in range(lw[ow], hw[ow]):
                        row[bw[ow] + kw * dw] += v
                f = fd[od] * fh[oh]
                for kd in range(ld[od], hd[od]):
                    i0 = bd[od] + kd * dd
                    for kh in range(lh[oh], hh[oh]):
                        _add_scaled(dx[n, c, i0, bh[oh] + kh * dh], row, f)


@nb.njit(inline="always")
def _add_scaled(dst, src, f):
    for w in range(dst.shape[0]):
        dst[w] += src[w] * f


# ----------------------------------------------------------------------------------------------
# Global pooling of contiguous channels-first planes: each (n, c) plane is one flat vector, reduced
# with 128 independent lanes so that the loop vectorises (the lanes are combined at the end, so the
# sum order differs from a sequential one; max is order-independent).

_LANES = 128


@nb.njit
def _plane_range(c, chunks, P):
    """The planes [lo, hi) of chunk c of `chunks` (scratch is allocated once per chunk, not once
    per plane: an allocation costs as much as reducing a few thousand values)."""
    return c * P // chunks, (c + 1) * P // chunks


@nb.njit(inline="always")
def _lanes_max(lanes, xr, full, xf, base):
    """lanes[j] = the maximum of xr[j::_LANES] over xr[:full], NaN-blind (_fast: one
    compare-and-select, about twice as fast as _up's); True when a tap was NaN, and lanes are
    then to be redone with _up. Without NaN both rules give the same lanes, bit for bit.
    xr = xf[base:...]; each block prefetches the one _AHEAD bytes further on (one plane after
    another is one long stream, which the hardware prefetcher alone keeps too short with two
    threads reading: global mean of (16, 64, 112, 112) float32, two threads, 1.46 -> 1.14 ms,
    PyTorch 1.22)."""
    nan = False
    z = xf.itemsize
    xs = xr[:_LANES]
    _prefetch_bytes(xf, base * z + _AHEAD, _LANES * z)
    for j in range(_LANES):
        v = xs[j]
        lanes[j] = v
        nan |= _isnan(v)
    for s0 in range(_LANES, full, _LANES):
        _prefetch_bytes(xf, (base + s0) * z + _AHEAD, _LANES * z)
        xs = xr[s0:s0 + _LANES]
        for j in range(_LANES):
            v = xs[j]
            lanes[j] = _fast(lanes[j], v)
            nan |= _isnan(v)
    return nan


@nb.njit(**_OPTS)
def global_max_planes(x, y, chunks):
    """y[p] = max of x[p, :] (NaN-propagating); x: (planes, size >= 1)."""
    P, S = x.shape
    full = S - S % _LANES
    xf = x.reshape(-1)
    for c in prange(chunks):
        lo, hi = _plane_range(c, chunks, P)
        lanes = _scratch(_LANES, x.dtype)
        for i in range(lo, hi):
            xr = x[i]
            best = xr[0]
            if full:
                # a NaN: again, with the NaN-propagating rule
                if _lanes_max(lanes, xr, full, xf, i * S):
                    _copy(lanes, xr[:_LANES])
                    for s0 in range(_LANES, full, _LANES):
                        _max_into(lanes, xr[s0:s0 + _LANES])
                best = lanes[0]
                for j in range(1, _LANES):
                    best = _up(best, lanes[j])
            for s in range(full, S):
                best = _up(best, xr[s])
            y[i] = best


# Short planes (global pooling of 7x7, 14x14 maps): below this size a plane is reduced in one
# run, not in _LANES-wide blocks (whose setup and final combination, per plane, then cost more
# than the run itself: global mean of (32, 2048, 7, 7) float32, 5.7 ms -> 0.46 ms).
_SHORT_PLANE = 4096


@nb.njit(**_OPTS)
def global_max_short(x, y, inf, chunks):
    """y[p] = max of x[p, :] (NaN-propagating, the earlier tap winning ties, as _up) for
    floats given as their bits, signed (x, y: int16/32/64; inf: the bits of +inf). The largest
    key (_skey) of a plane, a reduction that vectorises, is the key of its maximum, unless the
    plane holds a NaN (its largest |bits| is above inf) or its maximum is a zero (of either
    sign): then the plane's first NaN, or first zero, is the tap _up would have kept."""
    P, S = x.shape
    uS = np.uint64(S)
    xf = x.reshape(-1)
    for c in prange(chunks):
        lo, hi = _plane_range(c, chunks, P)
        for i in range(np.uint64(lo), np.uint64(hi)):
            a = i * uS
            k, m = _run_kmax(xf, a, uS)
            y[i] = _key_max(xf, a, np.uint64(1), k, m, inf)


@nb.njit
def _key_max(xf, a, step, k, m, inf):
    """The bits of the maximum, as _up keeps it, of the float bits xf[a], xf[a + step], ...
    whose largest key (_skey) is k and largest |bits| (_smag) m: the value of key k, unless m
    is a NaN's (above inf) or k a zero's, which the key does not tell apart: then the first NaN,
    or the first zero, of the sequence."""
    nan = m > inf
    if not (nan or _smag(_skey(k)) == 0):
        return _skey(k)
    t = a
    while not (_smag(xf[t]) > inf if nan else _smag(xf[t]) == 0):
        t += step
    return xf[t]


@nb.njit
def _run_kmax(xf, a, n):
    """(the largest key, the largest |bits|) of the float bits xf[a:a + n] (n >= 1; _skey,
    _smag). A function of its own (in the kernel's parallel loop, the reduction did not
    vectorise), whose loop starts at xf[a] again (from a + 1, it did not vectorise either)."""
    k = _skey(xf[a])
    m = _smag(xf[a])
    for s in range(a, a + n):
        b = xf[s]
        k = max(k, _skey(b))
        m = max(m, _smag(b))
    return k, m


@nb.njit(fastmath={"reassoc"})
def _run_sum(xf, a, n):
    """The sum of float64(xf[a:a + n]), the additions reassociated so that they vectorise (the
    order is the compiler's; under NUMBA_DISABLE_JIT it is sequential)."""
    acc = 0.0
    for s in range(a, a + n):
        acc += _tof(xf[s])
    return acc


@nb.njit(fastmath={"reassoc"})
def _run_sumsq(xf, a, n):
    """The sum of the squares of float64(xf[a:a + n]), as _run_sum."""
    acc = 0.0
    for s in range(a, a + n):
        v = _tof(xf[s])
        acc += v * v
    return acc


@nb.njit(inline="always")
def _lane_sums(lanes, xr, full, mode, p, xf, base):
    """lanes[j] += term(xr[s0 + j]) over the blocks s0 of xr[:full]. The mean and L2 have their
    own loops (mode tested once, not per block), which keep the lanes in registers.
    xr = xf[base:...]; each block prefetches the one _AHEAD bytes further on (as _lanes_max)."""
    z = xf.itemsize
    if mode == 0:
        for s0 in range(0, full, _LANES):
            _prefetch_bytes(xf, (base + s0) * z + _AHEAD, _LANES * z)
            xs = xr[s0:s0 + _LANES]
            for j in range(_LANES):
                lanes[j] += _tof(xs[j])
    elif mode == 2:
        for s0 in range(0, full, _LANES):
            _prefetch_bytes(xf, (base + s0) * z + _AHEAD, _LANES * z)
            xs = xr[s0:s0 + _LANES]
            for j in range(_LANES):
                v = _tof(xs[j])
                lanes[j] += v * v
    else:
        for s0 in range(0, full, _LANES):
            _prefetch_bytes(xf, (base + s0) * z + _AHEAD, _LANES * z)
            _accum(lanes, xr[s0:s0 + _LANES], mode, p)


@nb.njit(inline="always")
def _finish(acc, mode, p, div):
    """One value of :func:`_finish_row` (a division where that uses an exact reciprocal: the
    same result)."""
    if mode == 0:
        return acc / div
    if mode == 2:
        return np.sqrt(acc)
    if mode == 1:
        return acc ** (1.0 / p)
    return acc


@nb.njit(**_OPTS)
def global_sum_planes(x, y, mode, p, div, chunks):
    """y[p] = mean (sum / div) or Lp norm of x[p, :], accumulated in float64 lanes."""
    P, S = x.shape
    full = S - S % _LANES
    xf = x.reshape(-1)
    if S < _SHORT_PLANE and (mode == 0 or mode == 2):  # short planes: one run each
        uS = np.uint64(S)
        for c in prange(chunks):
            lo, hi = _plane_range(c, chunks, P)
            for i in range(np.uint64(lo), np.uint64(hi)):
                a = i * uS
                acc = _run_sum(xf, a, uS) if mode == 0 else _run_sumsq(xf, a, uS)
                _put(y, i, _finish(acc, mode, p, div))
        return
    for c in prange(chunks):
        lo, hi = _plane_range(c, chunks, P)
        lanes = _scratch(_LANES, np.float64)
        tail = _scratch(1, np.float64)
        for i in range(lo, hi):
            xr = x[i]
            _zero(lanes)
            _lane_sums(lanes, xr, full, mode, p, xf, i * S)
            _zero(tail)
            for s in range(full, S):
                _accum(tail, xr[s:s + 1], mode, p)
            acc = tail[0]
            for j in range(_LANES):
                v = lanes[j]
                if mode == 4:
                    acc = v if (v > acc or v != v) else acc
                else:
                    acc += v
            _put(y, i, _finish(acc, mode, p, div))


@nb.njit
def _part_range(job, parts, S):
    """(n, q0, q1): the image and the positions [q0, q1) of job `job` when each image's S
    positions are split into `parts` runs (parts <= S)."""
    n = job // parts
    q0, q1 = _plane_range(job - n * parts, parts, S)
    return n, q0, q1


@nb.njit(**_OPTS)
def global_sum_cl(x, y, mode, div, parts):
    """y[n, c] = the mean (mode 0, sum / div) or L2 norm (mode 2) of x[n, :, c], channels-last
    (x: (N, positions, C)), in flat loops (no view per position) vectorised over the channels.
    With parts == 1 each channel is summed from +0 over the positions in order, as the window
    engine sums a global window (the same result); when the batch alone cannot keep the
    threads busy, the positions of an image are split into `parts` runs, summed alike and
    then added in order. Each position prefetches the one _AHEAD bytes further on (the hardware
    prefetcher alone keeps the stream too short: global mean of (16, 112, 112, 64) float32,
    two threads, 1.3 -> 1.0 ms in cache, and faster back to that after a pause)."""
    N, S, C = x.shape
    xf = x.reshape(-1)
    z = xf.itemsize
    uC = np.uint64(C)
    sums = np.empty((N * parts if parts > 1 else 0, C), np.float64)
    for job in prange(N * parts):
        n, q0, q1 = _part_range(job, parts, S)
        acc = np.zeros(C, np.float64)
        base = np.uint64(n) * np.uint64(S) * uC
        if mode == 2:
            for q in range(np.uint64(q0), np.uint64(q1)):
                a = base + q * uC
                _prefetch_bytes(xf, a * z + _AHEAD, C * z)
                for c in range(uC):
                    v = _tof(xf[a + c])
                    acc[c] += v * v
        else:
            for q in range(np.uint64(q0), np.uint64(q1)):
                a = base + q * uC
                _prefetch_bytes(xf, a * z + _AHEAD, C * z)
                for c in range(uC):
                    acc[c] += _tof(xf[a + c])
        if parts > 1:
            sums[job] = acc
        else:
            _finish_row(y[n], acc, mode, 1.0, div)
    if parts > 1:
        for n in prange(N):
            acc = sums[n * parts].copy()
            for p in range(1, parts):
                acc += sums[n * parts + p]
            _finish_row(y[n], acc, mode, 1.0, div)


@nb.njit(**_OPTS)
def global_max_cl(x, y, inf, parts):
    """y[n, c] = max of x[n, :, c] (NaN-propagating, the earlier tap winning ties, as _up),
    channels-last (x: (N, positions, C)) floats given as their bits, signed (as
    global_max_short). Each run of positions (one per image, or `parts` per image when the
    batch alone cannot keep the threads busy) takes the largest key (_skey) and |bits|
    (_smag) of every channel, integer maxima vectorised over the channels (a float compare
    and select did not vectorise here); the runs' maxima are then combined. A channel whose
    largest |bits| is a NaN's, or whose maximum is a zero, takes its first NaN, or first
    zero: the tap _up would have kept."""
    N, S, C = x.shape
    xf = x.reshape(-1)
    z = xf.itemsize
    uC = np.uint64(C)
    keys = np.empty((N * parts, C), x.dtype)
    mags = np.empty((N * parts, C), x.dtype)
    for job in prange(N * parts):
        n, q0, q1 = _part_range(job, parts, S)
        # a job's own arrays, stored to once per position: rows of `keys` written by two
        # threads shared a cache line (two runs per image took twice as long as one)
        kj = np.empty(C, x.dtype)
        mj = np.empty(C, x.dtype)
        base = np.uint64(n) * np.uint64(S) * uC
        a = base + np.uint64(q0) * uC
        for c in range(uC):
            b = xf[a + c]
            kj[c] = _skey(b)
            mj[c] = _smag(b)
        for q in range(np.uint64(q0), np.uint64(q1)):  # from q0 again: the loop vectorises
            a = base + q * uC
            _prefetch_bytes(xf, a * z + _AHEAD, C * z)  # (as global_sum_cl)
            for c in range(uC):
                b = xf[a + c]
                kj[c] = max(kj[c], _skey(b))
                mj[c] = max(mj[c], _smag(b))
        keys[job] = kj
        mags[job] = mj
    for n in prange(N):
        yn = y[n]
        base = np.uint64(n) * np.uint64(S) * uC
        for c in range(C):
            k = keys[n * parts, c]
            m = mags[n * parts, c]
            for p in range(1, parts):
                k = max(k, keys[n * parts + p, c])
                m = max(m, mags[n * parts + p, c])
            yn[c] = _key_max(xf, base + np.uint64(c), uC, k, m, inf)


@nb.njit(inline="always")
def _pick(dst, g, ix, flat):
    for c in range(dst.shape[0]):
        dst[c] = g[c] if ix[c] == flat else 0.0


@nb.njit(inline="always")
def _scaled_tap(dst, g, f):
    for c in range(dst.shape[0]):
        dst[c] = g[c] * f


@nb.njit(**_OPTS)
def bwd_tiles_cl(dy, idx, dx, fd, fh, fw, bd, ld, hd, bh, lh, hh, bw, lw, hw, dd, dh, dw,
                 is_max, local):
    """Max or mean backward, channels-last, for windows that never overlap: every input cell
    of a window is written exactly once, vectorised over C. Max (``is_max``): its output's
    gradient where it won (``idx``: flat indices in the plane, or with ``local`` the winning
    tap's number among the window's real taps), else 0. Mean: the gradient times 1/divisor =
    fd * fh * fw (one product, rounded once; ``idx`` is unused). Cells outside every window
    keep the caller's zeros."""
    N, D, H, W, C = dx.shape
    OD, OH, OW = dy.shape[1], dy.shape[2], dy.shape[3]
    for job in prange(N * OD * OH):
        n, od, oh = _unravel3(job, OD, OH)
        for ow in range(OW):
            g = dy[n, od, oh, ow]
            ix = idx[n, od, oh, ow] if is_max else idx[0, 0, 0, 0]
            f = fd[od] * fh[oh] * fw[ow]
            t = 0
            for kd in range(ld[od], hd[od]):
                i0 = bd[od] + kd * dd
                for kh in range(lh[oh], hh[oh]):
                    i1 = bh[oh] + kh * dh
                    for kw in range(lw[ow], hw[ow]):
                        i2 = bw[ow] + kw * dw
                        if is_max:
                            flat = t if local else (i0 * H + i1) * W + i2
                            _pick(dx[n, i0, i1, i2], g, ix, flat)
                            t += 1
                        else:
                            _scaled_tap(dx[n, i0, i1, i2], g, f)


# ---------------------------------------------------------------------------------------------
# small planes, channels-first: many planes of a few hundred cells (a network's last stages, e.g.
# 2048 channels of 7x7). The row kernels' fixed work per plane (views, tables, a few short rows)
# costs several times the plane's own; here the planes go in blocks, and every step is one pass
# over the block's planes: tables built once per window geometry give each (d, h) row group's
# rows (``rows``, ``nr``: offsets in the plane) and each output's columns (``cols``, ``nc``), so
# a group's columns are folded once for all its outputs, then each output folds its columns.
# The taps are taken column by column (w outer, then (d, h)), as the row kernels fold them: the
# max keeps the same tap of several equal maxima, and each sum adds the same terms in the same
# order (each column from +0, then the columns), so the results are those of the row kernels.

_SMALL_BLOCK_BYTES = 32768  # the input of one block of planes: L1 or a little more


@nb.njit(inline="always")
def _small_sizes(yf, rows, nr, cols, P, block, chunks):
    """(groups, rows per group, columns per output, planes, blocks, runs of blocks) of the
    small-plane kernels' tables and output (one run per thread, at most one per block)."""
    G = nr.shape[0]
    planes = yf.shape[0] // P
    nblocks = -(-planes // block)
    return G, rows.shape[0] // G, cols.shape[0] // P, planes, nblocks, min(chunks, nblocks)


@nb.njit(inline="always")
def _block_at(blk, block, planes, S, P):
    """Block ``blk`` of the small-plane kernels: its number of planes (the last block may be
    short), its first input cell and its first output cell."""
    q0 = blk * block
    return min(block, planes - q0), q0 * S, q0 * P


@nb.njit(**_OPTS)
def max_cf_small(xf, yf, fill, rows, nr, cols, nc, taps, nt, S, W, P, OW, block, direct,
                 chunks):
    """Max over every plane of ``S`` cells (rows ``W`` long) in ``xf`` (flat) into ``P``
    outputs (rows ``OW`` long) each in ``yf``, ``block`` planes at a time: per row group and
    column, the maximum of the group's rows for each plane of the block (``cs``, one column
    after the other: the outputs then read it contiguously), then per output the maximum of
    its columns; ``fill`` for a window with no real tap. NaN-blind (_fast); a block with a NaN
    or -0 tap (_odd: where the column order could keep another of tied taps) is redone output
    by output over ``taps`` (``nt[o]`` offsets at ``o * K``, in row-major order) with _up,
    where the first NaN wins. ``chunks`` runs of blocks (one per thread).
    ``direct``: each output's maximum straight over ``taps`` instead (faster for windows two
    wide at stride 2, where the fold shares little)."""
    G, R, KC, planes, nblocks, runs = _small_sizes(yf, rows, nr, cols, P, block, chunks)
    K = taps.shape[0] // P
    for ch in prange(runs):
        lo, hi = _plane_range(ch, runs, nblocks)
        cs = np.empty(G * W * block, xf.dtype)
        m = np.empty(block, xf.dtype)
        for blk in range(lo, hi):
            nb_, xb, yb = _block_at(blk, block, planes, S, P)
            nan = False
            nbu, su = np.uint64(nb_), np.uint64(S)
            for o in range(P if direct else 0):
                k = nt[o]
                yo, pu = np.uint64(yb + o), np.uint64(P)
                if k == 0:
                    for b in range(nbu):
                        yf[yo + b * pu] = fill
                    continue
                off = np.uint64(xb + taps[o * K])
                for b in range(nbu):
                    v = xf[off + b * su]
                    m[b] = v
                    nan |= _isnan(v)
                for t in range(1, k):
                    off = np.uint64(xb + taps[o * K + t])
                    for b in range(nbu):
                        v = xf[off + b * su]
                        m[b] = _fast(m[b], v)
                        nan |= _isnan(v)
                for b in range(nbu):
                    yf[yo + b * pu] = m[b]
            for g in range(G if not direct else 0):
                k = nr[g]
                if k == 0:
                    continue
                for w in range(W):
                    c0 = np.uint64((g * W + w) * block)
                    off = np.uint64(xb + rows[g * R] + w)
                    for b in range(nbu):
                        v = xf[off + b * su]
                        cs[c0 + b] = v
                        nan |= _odd(v)
                    for r in range(1, k):
                        off = np.uint64(xb + rows[g * R + r] + w)
                        for b in range(nbu):
                            v = xf[off + b * su]
                            cs[c0 + b] = _fast(cs[c0 + b], v)
                            nan |= _odd(v)
            for o in range(P if not direct else 0):
                g = o // OW
                k = nc[o]
                if k == 0 or nr[g] == 0:
                    for b in range(nb_):
                        yf[yb + b * P + o] = fill
                    continue
                c0 = np.uint64((g * W + cols[o * KC]) * block)
                for b in range(nbu):
                    m[b] = cs[c0 + b]
                for c in range(1, k):
                    c0 = np.uint64((g * W + cols[o * KC + c]) * block)
                    for b in range(nbu):
                        m[b] = _fast(m[b], cs[c0 + b])
                yo, pu = np.uint64(yb + o), np.uint64(P)
                for b in range(nbu):
                    yf[yo + b * pu] = m[b]
            if nan:
                for b in range(nb_):
                    for o in range(P):
                        k = nt[o]
                        if k > 0:
                            v = xf[xb + b * S + taps[o * K]]
                            for t in range(1, k):
                                v = _up(v, xf[xb + b * S + taps[o * K + t]])
                            yf[yb + b * P + o] = v


@nb.njit(inline="always")
def _small_term(v, mode, p):
    """The summed term of value v (float64) in reduction ``mode`` (see the module notes)."""
    if mode == 0:
        return v
    if mode == 2:
        return v * v
    if mode == 1:
        return abs(v) ** p
    return abs(v)


@nb.njit(inline="always")
def _small_add(a, t, mode):
    """a plus the term t: the larger (the first NaN kept) for L-infinity (mode 4)."""
    if mode == 4:
        return t if (t > a or t != t) else a
    return a + t


@nb.njit(inline="always")
def _tfold_block(xf, yf, T, cs, acc, xb, yb, nb_, rows, nr, R, cols, nc, KC, div, S, W, P, OW,
                 block, mode, p):
    """One block of :func:`sum_cf_small` (a literal ``mode`` for the common reductions, so
    that each compiles to loops of its own): terms to T, each group's column sums (from +0,
    rows in order) to cs, each output's sum of its columns (from +0, in order), its result."""
    G = nr.shape[0]
    bu = np.uint64(block)
    nbu = np.uint64(nb_)
    for b in range(nbu):
        src = np.uint64(xb) + b * np.uint64(S)
        for s_ in range(np.uint64(S)):
            T[s_ * bu + b] = _small_term(_tof(xf[src + s_]), mode, p)
    for g in range(G):
        k = nr[g]
        for w in range(W):
            c0 = np.uint64((g * W + w) * block)
            if k == 0:
                for b in range(nbu):
                    cs[c0 + b] = 0.0
                continue
            t0 = np.uint64(rows[g * R] + w) * bu
            for b in range(nbu):  # (+0 plus the first term: the sum from +0, one pass less)
                cs[c0 + b] = _small_add(0.0, T[t0 + b], mode)
            for r in range(1, k):
                t0 = np.uint64(rows[g * R + r] + w) * bu
                for b in range(nbu):
                    cs[c0 + b] = _small_add(cs[c0 + b], T[t0 + b], mode)
    for o in range(P):
        g = o // OW
        d = div[o]
        k = nc[o]
        if k == 0:
            for b in range(nbu):
                acc[b] = _finish(0.0, mode, p, d)
        else:  # a column sum is never -0, so +0 plus it is itself: start from the first
            c0 = np.uint64((g * W + cols[o * KC]) * block)
            for b in range(nbu):
                acc[b] = cs[c0 + b]
            for c in range(1, k - 1):
                c0 = np.uint64((g * W + cols[o * KC + c]) * block)
                for b in range(nbu):
                    acc[b] = _small_add(acc[b], cs[c0 + b], mode)
            if k > 1:  # the last column and the result in one pass
                c0 = np.uint64((g * W + cols[o * KC + k - 1]) * block)
                for b in range(nbu):
                    acc[b] = _finish(_small_add(acc[b], cs[c0 + b], mode), mode, p, d)
            else:
                for b in range(nbu):
                    acc[b] = _finish(acc[b], mode, p, d)
        yo, pu = np.uint64(yb + o), np.uint64(P)
        for b in range(nbu):
            _put(yf, yo + b * pu, acc[b])


@nb.njit(**_OPTS)
def sum_cf_small(xf, yf, mode, p, rows, nr, cols, nc, div, S, W, P, OW, block, chunks):
    """Mean (divided by ``div[o]``) or Lp norm (reduction ``mode``, see the module notes) over
    the planes and windows of :func:`max_cf_small`, ``block`` planes at a time: the block's
    terms are first laid out cell by cell in float64 (``T``: each cell's planes contiguous),
    so that every later step is a vectorised pass over the block (:func:`_tfold_block`)."""
    G, R, KC, planes, nblocks, runs = _small_sizes(yf, rows, nr, cols, P, block, chunks)
    for ch in prange(runs):
        lo, hi = _plane_range(ch, runs, nblocks)
        T = np.empty(S * block, np.float64)
        cs = np.empty(G * W * block, np.float64)
        acc = np.empty(block, np.float64)
        for blk in range(lo, hi):
            nb_, xb, yb = _block_at(blk, block, planes, S, P)
            if mode == 0:
                _tfold_block(xf, yf, T, cs, acc, xb, yb, nb_, rows, nr, R, cols, nc, KC, div, S,
                             W, P, OW, block, 0, p)
            elif mode == 2:
                _tfold_block(xf, yf, T, cs, acc, xb, yb, nb_, rows, nr, R, cols, nc, KC, div, S,
                             W, P, OW, block, 2, p)
            else:
                _tfold_block(xf, yf, T, cs, acc, xb, yb, nb_, rows, nr, R, cols, nc, KC, div, S,
                             W, P, OW, block, mode, p)
