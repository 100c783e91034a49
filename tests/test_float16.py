"""float16 is handled inside the kernels as raw bits: widened exactly, compared exactly, and
rounded once (half to even) on output. These tests check every float16 value and every rounding
midpoint against NumPy's own float16 conversions, both for the bit-level helpers (the code the
kernels compile on CPUs without float16 instructions, and run under NUMBA_DISABLE_JIT) and
through the public ops (whichever conversion the compiled kernels use on this machine)."""

from __future__ import annotations

import numpy as np
import pytest

import poolkit as pk
from poolkit import _kernels as K

from . import reference as ref

# channels-first cases run through the small-plane kernels and again through the row kernels
pytestmark = pytest.mark.usefixtures("plane_paths")

ALL_BITS = np.arange(1 << 16, dtype=np.uint16)
ALL_HALF = ALL_BITS.view(np.float16)
FINITE = ALL_HALF[np.isfinite(ALL_HALF)]
MAGNITUDES = np.unique(np.abs(FINITE.astype(np.float64)))  # every finite |float16|, ascending
MIDPOINTS = (MAGNITUDES[:-1] + MAGNITUDES[1:]) / 2  # halfway between neighbours: ties


def _midpoints() -> np.ndarray:
    """float64 values on, just below and just above every rounding midpoint of float16 (both
    signs), plus the overflow threshold and the subnormal range edges."""
    mid = MIDPOINTS
    top = 65504.0 + 16.0  # halfway to the next (missing) binade: rounds to inf
    extra = np.array([top, np.nextafter(top, 0), 2.0 ** -25, 2.0 ** -26, 2.0 ** -24 * 1.5,
                      1e-300, 5e-324, 1e300, np.inf])
    vals = np.concatenate([mid, np.nextafter(mid, 0), np.nextafter(mid, np.inf), extra])
    return np.concatenate([vals, -vals])


def _bits(a) -> np.ndarray:
    with np.errstate(over="ignore"):
        return np.asarray(a, np.float64).astype(np.float16).view(np.uint16)


def test_bit_helpers_widen_every_float16_exactly():
    got = np.array([K._h2f(int(h)) for h in ALL_BITS])
    want = ALL_HALF.astype(np.float64)
    np.testing.assert_array_equal(got, want)  # NaNs compare equal here
    assert np.array_equal(np.signbit(got), np.signbit(want))


def test_bit_helper_rounds_like_numpy():
    vals = _midpoints()[::7]  # every 7th: the Python loop stays quick, all branches still hit
    got = np.array([K._d2h(int(v)) for v in vals.view(np.int64)], np.uint16)
    np.testing.assert_array_equal(got, _bits(vals))


def test_kernel_rounding_matches_numpy_at_every_midpoint():
    """The conversion the compiled kernels use on this machine (float32 rounded to odd, then
    float16 instructions; or the bit-level helper) on every midpoint, one float64 step either
    side of it, the overflow and subnormal edges, and values far outside float32's range."""
    import numba as nb

    @nb.njit
    def put_all(v, out):
        for i in range(v.size):
            K._put(out, i, v[i])

    vals = _midpoints()
    got = np.empty(vals.size, np.uint16)
    put_all(vals, got)
    np.testing.assert_array_equal(got, _bits(vals))
    nan = np.empty(1, np.uint16)
    put_all(np.array([np.nan]), nan)
    assert np.isnan(nan.view(np.float16)[0])


def test_bit_helper_rounds_nan_to_nan():
    for v in (np.nan, -np.nan, np.float64(np.uint64(0x7FF0000000000001).view(np.float64))):
        h = K._d2h(int(np.float64(v).view(np.int64)))
        assert np.isnan(np.uint16(h).view(np.float16))


@pytest.mark.parametrize("key", [K._hkey, K._hkey_nb], ids=["python", "compiled"])
def test_order_key_matches_float16_comparison(key):
    """The order key of the bits (the compiled one is what the 2x2 max compares, in 16-bit
    lanes), over every float16 value."""
    keys = np.array([key(np.uint16(h)) for h in ALL_BITS], dtype=np.int64)
    rng = np.random.default_rng(4)
    i = rng.integers(0, 1 << 16, 200000)
    j = rng.integers(0, 1 << 16, 200000)
    j[:2000] = i[:2000] ^ 0x8000  # sign flips
    i[:2], j[:2] = (0x0000, 0x8000), (0x8000, 0x0000)  # +0 against -0, both ways
    fa, fb = ALL_HALF[i], ALL_HALF[j]
    want = (fa > fb) | (np.isnan(fa) & ~np.isnan(fb))
    np.testing.assert_array_equal(keys[i] > keys[j], want)


@pytest.mark.parametrize("data_format, shape", [
    ("channels_last", (2, 6, 8, 70)),
    # rows of 35, 64 and 67 windows: channels-first rows go in blocks of 32 windows, the last
    # block overlapping the one before it
    ("channels_first", (2, 3, 6, 70)), ("channels_first", (1, 2, 4, 128)),
    ("channels_first", (1, 2, 4, 134))])
def test_two_by_two_max_keeps_the_first_maximal_tap(data_format, shape):
    """2x2 windows over random float16 bits (every NaN payload, both zeros, infinities,
    subnormals): each output is the bits of the first tap, in row-major order, that no later
    tap beats (larger, or the first NaN): the reference's argmax."""
    rng = np.random.default_rng(8)
    bits = rng.integers(0, 1 << 16, shape).astype(np.uint16)
    special = np.array([0x0000, 0x8000, 0x7C00, 0xFC00, 0x7C01, 0xFE00, 0x0001, 0x8001],
                       np.uint16)
    pick = rng.random(bits.shape) < 0.5
    bits[pick] = rng.choice(special, bits.shape)[pick]
    x = bits.view(np.float16)
    got = pk.max_pool(x, 2, 2, data_format=data_format).view(np.uint16)
    _, idx = ref.max_pool(x, 2, 2, return_indices=True, data_format=data_format)
    if data_format == "channels_last":
        n, h, w, c = bits.shape
        want = np.take_along_axis(bits.reshape(n, h * w, c), idx.reshape(n, -1, c), axis=1)
    else:
        n, c = bits.shape[:2]
        want = np.take_along_axis(bits.reshape(n, c, -1), idx.reshape(n, c, -1), axis=2)
    np.testing.assert_array_equal(got, want.reshape(got.shape))


def test_identity_window_round_trips_every_float16():
    """A 1x1 mean widens every float16 value and rounds it back: the bits must survive."""
    x = ALL_HALF.reshape(1, -1, 1)
    y = pk.avg_pool(x, 1, 1)
    assert y.dtype == np.float16
    # NaN payloads are not kept; -0 averages to +0 (a sum starts at +0, as in the frameworks)
    finite = ~np.isnan(ALL_HALF) & (ALL_BITS != 0x8000)
    np.testing.assert_array_equal(y.ravel().view(np.uint16)[finite], ALL_BITS[finite])
    assert np.isnan(y.ravel()[np.isnan(ALL_HALF)]).all()


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_means_round_once_at_every_midpoint(data_format):
    """Pairs of neighbouring float16 values average to exact rounding midpoints (ties to even);
    pairs one step further apart average to representable values."""
    h = np.concatenate([MAGNITUDES, -MAGNITUDES])
    for gap in (1, 2, 3):
        a, b = h[:-gap], h[gap:]
        keep = np.sign(a) == np.sign(b)
        pair = np.stack([a[keep], b[keep]], axis=1).astype(np.float16)  # (n, 2)
        want = _bits((pair[:, 0].astype(np.float64) + pair[:, 1]) / 2)
        x = pair.reshape(1, -1, 1) if data_format == "channels_last" else pair.reshape(1, 1, -1)
        y = pk.avg_pool(x, 2, 2, data_format=data_format)
        np.testing.assert_array_equal(y.ravel().view(np.uint16), want)


def test_global_mean_and_norm_round_once():
    rng = np.random.default_rng(7)
    x = (rng.standard_normal((3, 5, 7, 9)) * 300).astype(np.float16)
    x64 = x.astype(np.float64)
    got = pk.global_avg_pool(x, data_format="channels_first").view(np.uint16)
    np.testing.assert_array_equal(got, _bits(x64.mean(axis=(2, 3))))
    got = pk.global_lp_pool(x, 2, data_format="channels_first").view(np.uint16)
    np.testing.assert_array_equal(got, _bits(np.sqrt((x64 ** 2).sum(axis=(2, 3)))))


def test_max_orders_signed_zero_and_nan_like_float16():
    """-0 ties +0 (the first one wins), the first NaN wins, inf beats every finite value."""
    rows = np.array([[-0.0, 0.0], [0.0, -0.0], [np.inf, 65504], [-np.inf, -65504],
                     [1.0, np.nan], [6e-8, -6e-8]], np.float16)
    y = pk.max_pool(rows.reshape(1, -1, 1), 2, 2).ravel()
    want = np.array([rows[0, 0], rows[1, 0], rows[2, 0], rows[3, 1], np.nan, rows[5, 0]],
                    np.float16)
    finite = [0, 1, 2, 3, 5]
    np.testing.assert_array_equal(y.view(np.uint16)[finite], want.view(np.uint16)[finite])
    assert np.isnan(y[4])


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("side", [-1, 1])
def test_means_just_off_a_midpoint_round_to_the_nearer_side(data_format, side):
    """A quotient a hair (2**-40 relative) above or below a float16 midpoint must round away
    from the midpoint: rounding it to float32 first would land on the midpoint and tie."""
    mid = MIDPOINTS[::5]
    for m in np.array_split(mid, 8):
        for v in (1024.0, 0.5):
            target = m * (1 + side * 2.0 ** -40)
            d = v / target
            ok = np.isfinite(d) & (d > 0)
            for div in d[ok][:: max(1, ok.sum() // 40)]:
                x = np.full((1, 1, 1), v, np.float16)
                y = pk.avg_pool(x, 1, 1, divisor_override=float(div), data_format=data_format)
                assert y.view(np.uint16).item() == _bits(v / div).item(), (v, div)


def _mean4(v, dtype):
    """Each window's mean of its four taps (the last axis), summed from +0 in that order and
    scaled by 1/4, all in `dtype`."""
    f = v.astype(dtype)
    return ((((dtype(0) + f[..., 0]) + f[..., 1]) + f[..., 2]) + f[..., 3]) * dtype(0.25)


def test_two_by_two_means_where_float32_sums_would_round():
    """Channels-last 2x2 and 1x4 means of float16 sum through float32 where every partial sum
    is exact there, and in float64 elsewhere. Windows of values far apart in magnitude, whose
    float32 sum rounds to a different float16 mean, sit among ordinary windows in every row, and
    one at a time in an output position; the means must still be the correctly rounded ones."""
    rng = np.random.default_rng(11)
    n = 400_000
    v = (rng.standard_normal((n, 4)) * 2.0 ** rng.integers(-20, 12, (n, 4))).astype(np.float16)
    hard = v[_bits(_mean4(v, np.float32)) != _bits(_mean4(v, np.float64))]
    assert len(hard) > 100
    # and windows only 14 binades apart: 1025 + (2**-4 + 2**-14) rounds to 1025 + 2**-4 in
    # float32 (a tie, to even), so after - 1025 the float32 mean misses 2**-16 of 2**-6 + 2**-16
    base = np.array([1025, 2.0 ** -4 + 2.0 ** -14, -1025, 0])
    near = np.array([base * s * 2.0 ** k for k in range(-8, 5) for s in (1, -1)], np.float16)
    assert (_bits(_mean4(near, np.float32)) != _bits(_mean4(near, np.float64))).all()
    # and windows with one rounding, in the first, second or third addition: with t = 2**-14,
    # 1024 + t and 1024.5 + t tie to 1024 and 1024.5 in float32, and the float32 mean 256.125 is
    # a float16 midpoint (a tie, to even: 256, where the exact mean rounds up to 256.25); with
    # u = 2**-16, so small that 1024 - u rounds to 1024 as well, on either side of the addition
    t, u = 2.0 ** -14, 2.0 ** -16
    bases = np.array([[1024, t, 0.5, 0], [1024, 0.5, t, 0], [1024, 0.5, 0, t],
                      [u, 1024, 0.5, 0], [1024, u, 0.5, 0], [1024, 0.5, u, 0], [1024, 0.5, 0, u]])
    last = np.array([b * s * 2.0 ** k for b in bases for k in range(-8, 5) for s in (1, -1)],
                    np.float16)
    assert (_bits(_mean4(last, np.float32)) != _bits(_mean4(last, np.float64))).all()
    hard = np.concatenate([hard, np.repeat(near, 20, axis=0), np.repeat(last, 20, axis=0)])
    easy = rng.standard_normal((len(hard) * 7, 4)).astype(np.float16)
    w = np.concatenate([hard, easy])[rng.permutation(len(hard) * 8)]  # (8k, 4)
    w = w[: len(w) // 48 * 48].reshape(-1, 48, 4)  # windows, channels, taps
    # and one hard window at a time among 47 ordinary ones (one output position's channels), so
    # that no other channel's failed check sends the position to float64 in its place
    one = rng.standard_normal((3 * len(near) + 3 * len(last), 48, 4)).astype(np.float16)
    pick = np.concatenate([near, near, near, last, last, last])
    one[np.arange(len(one)), rng.integers(0, 48, len(one))] = pick
    for w in (w, one):
        want = _bits(_mean4(w, np.float64))
        # each window's taps in two rows and two columns (the two-column pass)
        x = np.empty((1, 2, 2 * len(w), 48), np.float16)
        x[0, 0, 0::2], x[0, 0, 1::2], x[0, 1, 0::2], x[0, 1, 1::2] = np.moveaxis(w, 2, 0)
        got = pk.avg_pool(x, 2, 2, data_format="channels_last")
        np.testing.assert_array_equal(got[0, 0].view(np.uint16), want)
        # one row high and four columns wide (the four-tap pass): the taps side by side along W
        x = np.moveaxis(w, 2, 1).reshape(1, 1, -1, 48)
        got = pk.avg_pool(x, (1, 4), (1, 4), data_format="channels_last")
        np.testing.assert_array_equal(got[0, 0].view(np.uint16), want)


def test_channels_first_two_by_two_means_where_float32_sums_would_round():
    """Channels-first 2x2/2 means of float16 (each row of windows read from two whole input
    rows) are the float64 sum rounded once, also for windows whose float32 sum rounds the mean
    the wrong way: 12 binades wide, the narrowest span that can (so a float32 route gated on
    the rows' span must stop at 11), wider ones, 11 binades wide (float32 is exact there),
    subnormals, inf and NaN, sums of negative zeros, and one hard window among ordinary ones."""
    def span(v):  # binades between the largest and smallest nonzero magnitudes' exponent fields
        e = np.maximum((_bits(v) & 0x7FFF) >> 10, 1).astype(np.int64)
        nz = v != 0
        return np.where(nz, e, 0).max(axis=1) - np.where(nz, e, 99).min(axis=1)

    rng = np.random.default_rng(12)
    # 12 binades, the narrowest span that can round: 2047 + 2047 + 3.75 + (0.25 + 2**-12) is
    # 4098 + 2**-12, a tie in float32 (to 4098), whose mean 1024.5 is a float16 tie (to 1024);
    # the exact mean rounds up to 1025
    base = np.array([2047, 2047, 3.75, 0.25 + 2.0 ** -12])
    at12 = np.array([rng.permutation(base) * sg * 2.0 ** k for k in range(-8, 6)
                     for sg in (1, -1)], np.float16)
    v = (rng.standard_normal((400_000, 4)) *
         2.0 ** rng.integers(-20, 12, (400_000, 4))).astype(np.float16)
    wrong = _bits(_mean4(v, np.float32)) != _bits(_mean4(v, np.float64))
    s = span(v)
    wide = v[wrong][:200]
    assert (span(at12) == 12).all()
    assert (_bits(_mean4(at12, np.float32)) != _bits(_mean4(at12, np.float64))).all()
    assert len(wide) == 200 and not (wrong & (s <= 11)).any()  # (the bound, on these windows)
    at11 = v[s == 11][:200]
    assert len(at11) == 200
    sub = np.array([[2.0 ** -24, 3 * 2.0 ** -24, 2.0 ** -14 - 2.0 ** -24, 2.0 ** -13],
                    [-(2.0 ** -24), 2.0 ** -3, 0, 2.0 ** -14]], np.float16)
    special = np.array([[np.inf, 2.0 ** 10, 2.0 ** 12, 3], [-np.inf, np.inf, 2.0 ** 14, 2.0 ** 13],
                        [np.nan, 2.0 ** 13, 2.0 ** 12, 2.0 ** 14], [-0.0, -0.0, -0.0, -0.0]],
                       np.float16)
    rows = [np.repeat(w[None], 56, axis=0) for w in (*at12, *wide, *at11, *sub, *special)]
    for w in at12:  # and one hard window among 55 ordinary ones
        row = rng.standard_normal((56, 4)).astype(np.float16)
        row[rng.integers(56)] = w
        rows.append(row)
    w = np.stack(rows)  # (planes, 56 windows, 4 taps)
    x = np.empty((1, len(w), 2, 112), np.float16)  # each plane one row of windows
    x[0, :, 0, 0::2], x[0, :, 1, 0::2], x[0, :, 0, 1::2], x[0, :, 1, 1::2] = np.moveaxis(w, 2, 0)
    with np.errstate(invalid="ignore"):  # (inf - inf)
        want = _mean4(w, np.float64)
    got = pk.avg_pool(x, 2, 2, data_format="channels_first")
    np.testing.assert_array_equal(got[0, :, 0], want.astype(np.float16))
    num = ~np.isnan(want)  # (and +0 where the sum from +0 is zero, not -0)
    np.testing.assert_array_equal(np.signbit(got[0, :, 0])[num], np.signbit(want)[num])


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_channels_first_two_by_two_means_of_every_bit_pattern(padding):
    """Channels-first 2x2/2 means of float16 over rows of 1 to 40 windows (whole blocks of the
    vectorised path, a block and a part, shorter rows; "same" pads odd rows with a real row and
    a padded one, which divide by 2) from random bit patterns: every exponent, subnormals, inf,
    NaN and signed zeros, against the float64 sum from +0 in the kernels' order rounded once."""
    rng = np.random.default_rng(7)
    for m in range(1, 41):
        h = 3 if padding == "same" else 4
        bits = rng.integers(0, 1 << 16, (2, 3, h, 2 * m), dtype=np.uint64).astype(np.uint16)
        x = bits.view(np.float16)
        got = pk.avg_pool(x, 2, 2, padding, data_format="channels_first")
        f = x.astype(np.float64)
        with np.errstate(invalid="ignore", over="ignore"):
            top = ((0.0 + f[:, :, 0::2, 0::2]) + f[:, :, 1::2, 0::2][:, :, :h // 2]) + \
                ((0.0 + f[:, :, 0::2, 1::2]) + f[:, :, 1::2, 1::2][:, :, :h // 2])
            want = top[:, :, :h // 2] / 4
            if h == 3:  # the last window row: one real row of two columns, divided by 2
                last = ((0.0 + f[:, :, 2, 0::2]) + (0.0 + f[:, :, 2, 1::2])) / 2
                want = np.concatenate([want, last[:, :, None]], axis=2)
            want = want.astype(np.float16)
        num = ~np.isnan(want)
        assert got.shape == want.shape
        np.testing.assert_array_equal(np.isnan(got), ~num)
        np.testing.assert_array_equal(got.view(np.uint16)[num], want.view(np.uint16)[num])


def test_gradient_rounding_to_float16_matches_numpy():
    # float16 gradients are written in float32 by the kernels and rounded by a compiled pass
    # (hardware conversions where the CPU has them, else NumPy's): every float16 midpoint, the
    # values around it, random float32 bit patterns, signed zeros, infinities and overflow
    from poolkit import _engine as E

    rng = np.random.default_rng(7)
    mid = np.concatenate([MIDPOINTS, -MIDPOINTS]).astype(np.float32)  # exact in float32
    near = np.concatenate([np.nextafter(mid, np.float32(0)), np.nextafter(mid, np.float32(np.inf))])
    noise = rng.integers(0, 1 << 32, 1 << 18, dtype=np.uint64).astype(np.uint32).view(np.float32)
    edge = np.array([0.0, -0.0, np.inf, -np.inf, 65504, 65520, -65520, 2.0 ** -25, 1e-45],
                    np.float32)
    a = np.concatenate([mid, near, noise, edge])
    quiet = ~np.isnan(a) | (a.view(np.uint32) & 0x400000 != 0)  # NaNs come out quiet
    got = E._rounded(a, np.dtype(np.float16))
    with np.errstate(over="ignore"):
        want = a.astype(np.float16)
    assert got.dtype == np.float16
    np.testing.assert_array_equal(got.view(np.uint16)[quiet], want.view(np.uint16)[quiet])
    assert np.isnan(got[np.isnan(a)]).all()


def test_output_gradient_widening_to_float32_matches_numpy():
    # the output gradient of float16 input reaches the backward kernels widened to float32 by a
    # compiled pass (hardware conversions where the CPU has them, else NumPy's): every float16
    from poolkit import _engine as E

    dy = np.concatenate([ALL_HALF, ALL_HALF[::-1]]).reshape(2, 256, 256)
    got = E._grad_input(dy, np.dtype(np.float32))
    want = dy.astype(np.float32)
    quiet = ~np.isnan(dy) | (dy.view(np.uint16) & 0x200 != 0)  # NaNs come out quiet
    assert got.dtype == np.float32 and got.shape == dy.shape and not got.flags.writeable
    np.testing.assert_array_equal(got.view(np.uint32)[quiet], want.view(np.uint32)[quiet])
    assert np.isnan(got[np.isnan(dy)]).all()
