"""``poolkit compare``: translate pooling arguments between PyTorch, TensorFlow, Keras and ONNX.

Every framework's arguments are first turned into poolkit's own (the most general form: per-dim
``(lo, hi)`` pads, ``ceil_mode``, ``count_include_pad``).  For each target framework the module then
searches that framework's argument space for a setting whose windows cover exactly the same input
cells with the same divisors, one spatial dimension at a time, either for every input size (checked
over a range of sizes) or for the given ``--input-size`` only.  When nothing matches it says why,
and offers an exact composition (explicit padding, then pooling) where one exists.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from typing import Any, Iterable, Sequence

import numpy as np

from ._cli_geometry import expand, parse_int_tuple, resolve_dim
from ._cli_io import CLIError

FRAMEWORKS = ("torch", "tf", "keras", "onnx")
LAYOUT = {"torch": "channels_first (N, C, *spatial)", "onnx": "channels_first (N, C, *spatial)",
          "tf": "channels_last (N, *spatial, C)", "keras": "channels_last (N, *spatial, C)"}
_SIZE_RANGE = range(1, 33)  # input sizes tried for "exact for every input size"


@dataclass(frozen=True)
class Cfg:
    """One pooling configuration in poolkit's terms (plus how a framework would spell it)."""

    op: str
    k: tuple[int, ...]
    s: tuple[int, ...]
    d: tuple[int, ...]
    pad: tuple  # per dim: "same", "same_lower" or (lo, hi)
    ceil: bool = False
    cip: bool = False
    div: int | None = None
    p: float = 2.0
    prepad: bool = False  # padding applied explicitly before a padding-free pooling call
    torch_lp: bool = False  # PyTorch's lp_pool: only exact when every window is full

    @property
    def nd(self) -> int:
        return len(self.k)


# --------------------------------------------------------------------------- window model


def _dim_windows(cfg: Cfg, i: int, n: int):
    """Per-dim windows ``[(real cells, divisor factor)]`` of `cfg` for input length `n`, or None."""
    k, s, d, pad = cfg.k[i], cfg.s[i], cfg.d[i], cfg.pad[i]
    if cfg.prepad:
        lo, hi = pad
        g = resolve_dim(n + lo + hi, k, s, d, (0, 0), cfg.ceil)
        shift = -lo
    else:
        g = resolve_dim(n, k, s, d, pad, cfg.ceil)
        shift = 0
        lo, hi = g.pad_lo, g.pad_hi
    if g.out < 1:
        return None
    out = []
    for w in range(g.out):
        pos = [q + shift for q in g.positions(w)]
        real = tuple(q for q in pos if 0 <= q < n)
        if not real:
            return None
        if cfg.torch_lp and len(real) != k:
            return "partial"
        if cfg.prepad or cfg.cip:
            factor = sum(1 for q in pos if -lo <= q < n + hi)
        else:
            factor = len(real)
        out.append((real, factor))
    return out


def _dim_match(src: Cfg, tgt: Cfg, i: int, sizes: Iterable[int]) -> bool:
    """Whether `tgt` has the same windows as `src` along dim `i` for every valid size in `sizes`."""
    seen = False
    for n in sizes:
        a = _dim_windows(src, i, n)
        if a is None:
            continue
        if a == "partial":  # PyTorch's rescaled lp window: nothing else computes it
            return False
        b = _dim_windows(tgt, i, n)
        if b is None or b == "partial" or len(a) != len(b):
            return False
        if [w[0] for w in a] != [w[0] for w in b]:
            return False
        if src.op == "avg" and src.div is None and tgt.div is None:
            if [w[1] for w in a] != [w[1] for w in b]:
                return False
        seen = True
    return seen


def _divisors_match(src: Cfg, tgt: Cfg, sizes: Sequence[int]) -> bool:
    """Full divisor check when a divisor_override is involved (only for one concrete size)."""
    if src.op != "avg" or (src.div is None and tgt.div is None):
        return True
    if src.div is not None and tgt.div is not None:
        return src.div == tgt.div

    def divisors(cfg: Cfg) -> np.ndarray:
        if cfg.div is not None:
            return np.array([float(cfg.div)])
        arr = np.ones(())
        for i, n in enumerate(sizes):
            w = _dim_windows(cfg, i, n)
            if w is None or w == "partial":
                return np.array([np.nan])
            arr = np.multiply.outer(arr, np.array([f for _, f in w], dtype=float))
        return arr.ravel()

    a, b = divisors(src), divisors(tgt)
    return bool(np.all(a == b)) if a.size and b.size else False


# --------------------------------------------------------------------------- parsing sources


def _int_list(text: str | None, name: str) -> tuple[int, ...] | None:
    v = parse_int_tuple(text, name)
    if v is None:
        return None
    return (v,) if isinstance(v, int) else v


def _ex(v: tuple[int, ...], nd: int, name: str) -> tuple[int, ...]:
    return expand(v[0] if len(v) == 1 else v, nd, name)


def _infer_nd(dims: int | None, *values: tuple[int, ...] | None) -> int:
    if dims is not None:
        return dims
    lens = {len(v) for v in values if v is not None and len(v) > 1}
    if len(lens) > 1:
        raise CLIError(f"options give different numbers of spatial dims: {sorted(lens)}")
    return lens.pop() if lens else 2


def parse_source(framework: str, op: str, pool_size: str, stride: str | None,
                 padding: str | None, pads: str | None, dilation: str | None, ceil_mode: bool,
                 count_include_pad: bool | None, divisor_override: int | None, p: float,
                 input_size: str | None, dims: int | None) -> tuple[Cfg, tuple[int, ...] | None, str]:
    """Turn one framework's arguments into a :class:`Cfg`; also returns the input size and the
    source call written out."""
    fw = {"pytorch": "torch", "tensorflow": "tf", "tf.keras": "keras"}.get(framework.lower(), framework.lower())
    if fw not in FRAMEWORKS:
        raise CLIError(f"`from` must be torch, tf, keras or onnx; received from={framework!r}")
    op = {"average": "avg", "mean": "avg", "maximum": "max"}.get(op.lower(), op.lower())
    if op not in ("max", "avg", "lp"):
        raise CLIError(f"`op` must be max, avg or lp; received op={op!r}")
    k0 = _int_list(pool_size, "pool_size")
    s0 = _int_list(stride, "strides")
    d0 = _int_list(dilation, "dilation")
    n0 = _int_list(input_size, "input_size")
    torch_pad = None
    onnx_pads = _int_list(pads, "pads")
    pad_text = (padding or "").strip()
    if fw == "torch" and pad_text:
        torch_pad = _int_list(pad_text, "padding")
    nd = _infer_nd(dims, k0, s0, d0, n0, torch_pad,
                   tuple(onnx_pads[: len(onnx_pads) // 2]) if onnx_pads and len(onnx_pads) > 2 else None)
    k = _ex(k0, nd, "pool_size")
    s = _ex(s0, nd, "strides") if s0 is not None else k
    d = _ex(d0, nd, "dilation") if d0 is not None else (1,) * nd
    n = _ex(n0, nd, "input_size") if n0 is not None else None
    for name, v in (("pool_size", k), ("strides", s), ("dilation", d)) + ((("input_size", n),) if n else ()):
        if any(x < 1 for x in v):
            raise CLIError(f"`{name}` must be positive integers; received {name}={v}")
    if op == "lp" and not (p > 0):
        raise CLIError(f"`p` must be positive; received p={p}")

    def reject(what: str) -> None:
        raise CLIError(what)

    cip = False
    if fw == "torch":
        pad = _ex(torch_pad, nd, "padding") if torch_pad is not None else (0,) * nd
        if op in ("avg", "lp") and any(v != 1 for v in d):
            reject(f"PyTorch's {op}_pool has no dilation argument")
        if op == "lp" and any(pad):
            reject("PyTorch's lp_pool has no padding argument")
        if op == "lp" and math.isinf(p):
            reject("PyTorch's lp_pool needs a finite norm_type")
        for pv, kv in zip(pad, k):
            if pv < 0 or pv > kv // 2:
                reject(f"PyTorch requires 0 <= padding <= kernel_size // 2; received padding={pad} "
                       f"with kernel_size={k}")
        if divisor_override is not None and (op != "avg" or nd == 1):
            reject("divisor_override exists only for PyTorch avg_pool2d/avg_pool3d")
        cip = (True if count_include_pad is None else count_include_pad) if op == "avg" else False
        cfg = Cfg(op, k, s, d, tuple((v, v) for v in pad), ceil_mode, cip, divisor_override, p,
                  torch_lp=(op == "lp"))
    elif fw in ("tf", "keras"):
        mode = (pad_text or "valid").lower()
        if mode not in ("valid", "same"):
            reject(f"`padding` for {fw} must be valid or same; received padding={padding!r}")
        if ceil_mode:
            reject(f"{'TensorFlow' if fw == 'tf' else 'Keras'} has no ceil_mode")
        if count_include_pad:
            reject("TensorFlow/Keras average pooling never counts padding (no count_include_pad)")
        if divisor_override is not None:
            reject("TensorFlow/Keras have no divisor_override")
        if op == "lp":
            reject("TensorFlow/Keras have no Lp pooling")
        if any(v != 1 for v in d):
            if fw == "keras":
                reject("Keras pooling layers have no dilation")
            if any(v != 1 for v in s):
                reject("TensorFlow allows dilation only with strides 1 (tf.nn.pool)")
            if mode == "same":
                reject("TensorFlow's tf.nn.pool implements dilation only with VALID padding")
        pad_dims = ("same",) * nd if mode == "same" else ((0, 0),) * nd
        cfg = Cfg(op, k, s, d, pad_dims, False, False, None, p)
    else:  # onnx
        auto = (pad_text or "NOTSET").upper().replace("-", "_")
        if auto == "SAME":
            auto = "SAME_UPPER"
        if auto not in ("NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"):
            reject(f"`padding` (auto_pad) for onnx must be NOTSET, VALID, SAME_UPPER or SAME_LOWER; "
                   f"received padding={padding!r}")
        if divisor_override is not None:
            reject("ONNX has no divisor_override")
        if op == "lp" and (math.isinf(p) or p != int(p)):
            reject(f"ONNX LpPool needs an integer p; received p={p}")
        if auto == "NOTSET":
            pl = onnx_pads or (0,) * (2 * nd)
            if len(pl) != 2 * nd:
                reject(f"`pads` must hold {2 * nd} ints (begins then ends); received pads={pl}")
            if any(v < 0 for v in pl):
                reject(f"`pads` must be non-negative; received pads={pl}")
            pad_dims = tuple((pl[i], pl[i + nd]) for i in range(nd))
        elif onnx_pads:
            reject("`pads` can only be given with auto_pad NOTSET")
        elif auto == "VALID":
            pad_dims = ((0, 0),) * nd
        else:
            pad_dims = (("same" if auto == "SAME_UPPER" else "same_lower"),) * nd
        cip = bool(count_include_pad) if op == "avg" else False
        cfg = Cfg(op, k, s, d, pad_dims, ceil_mode, cip, None, p)
    if op != "avg" and (count_include_pad or divisor_override is not None):
        reject("count_include_pad and divisor_override apply to average pooling only")
    return cfg, n, fw


# --------------------------------------------------------------------------- spelling


def _t(v: Sequence[int]) -> str:
    v = tuple(v)
    return str(v[0]) if len(set(v)) == 1 else str(v)


def _l(v: Sequence[int]) -> str:
    return "[" + ", ".join(str(x) for x in v) + "]"


def _pk_padding(cfg: Cfg) -> str:
    if all(p == "same" for p in cfg.pad):
        return "'same'"
    if all(p == "same_lower" for p in cfg.pad):
        return "'same_lower'"
    if all(p == (0, 0) for p in cfg.pad):
        return "'valid'"
    if all(lo == hi for lo, hi in cfg.pad):
        return _t([lo for lo, _ in cfg.pad])
    return str(tuple(tuple(p) for p in cfg.pad))


def spell_poolkit(cfg: Cfg, fw: str = "torch") -> str:
    fn = {"max": "max_pool", "avg": "avg_pool", "lp": "lp_pool"}[cfg.op]
    args = [f"{cfg.p:g}"] if cfg.op == "lp" else []
    args += [f"pool_size={_t(cfg.k)}", f"strides={_t(cfg.s)}", f"padding={_pk_padding(cfg)}"]
    if any(v != 1 for v in cfg.d):
        args.append(f"dilation={_t(cfg.d)}")
    if cfg.ceil:
        args.append("ceil_mode=True")
    if cfg.op == "avg" and cfg.cip:
        args.append("count_include_pad=True")
    if cfg.div is not None:
        args.append(f"divisor_override={cfg.div}")
    fmt = "channels_first" if fw in ("torch", "onnx") else "channels_last"
    return f"pk.{fn}(x, {', '.join(args)}, data_format='{fmt}')"


def _torch_pad_arg(pads: Sequence[tuple[int, int]]) -> str:
    flat: list[int] = []
    for lo, hi in reversed(list(pads)):  # F.pad takes the last dim first
        flat += [lo, hi]
    return "(" + ", ".join(str(v) for v in flat) + ")"


def spell(fw: str, cfg: Cfg) -> str:
    """Write `cfg` as a call in framework `fw` (an expression of ``x``)."""
    nd = cfg.nd
    if fw == "torch":
        x = "x"
        if cfg.prepad:
            value = "float('-inf')" if cfg.op == "max" else "0.0"
            x = f"torch.nn.functional.pad(x, {_torch_pad_arg(cfg.pad)}, value={value})"
            pad = 0
        else:
            pad = _t([lo for lo, _ in cfg.pad])
        if cfg.op == "max":
            return (f"torch.nn.functional.max_pool{nd}d({x}, kernel_size={_t(cfg.k)}, "
                    f"stride={_t(cfg.s)}, padding={pad}, dilation={_t(cfg.d)}, ceil_mode={cfg.ceil})")
        if cfg.op == "avg":
            extra = f", divisor_override={cfg.div}" if cfg.div is not None else ""
            return (f"torch.nn.functional.avg_pool{nd}d({x}, kernel_size={_t(cfg.k)}, "
                    f"stride={_t(cfg.s)}, padding={pad}, ceil_mode={cfg.ceil}, "
                    f"count_include_pad={cfg.cip}{extra})")
        return (f"torch.nn.functional.lp_pool{nd}d({x}, norm_type={cfg.p:g}, "
                f"kernel_size={_t(cfg.k)}, stride={_t(cfg.s)}, ceil_mode={cfg.ceil})")
    if fw == "tf":
        kind = "MAX" if cfg.op == "max" else "AVG"
        if cfg.prepad:
            value = ", constant_values=x.dtype.min" if cfg.op == "max" else ""
            padl = [[0, 0]] + [list(p) for p in cfg.pad] + [[0, 0]]
            x = f"tf.pad(x, {padl}{value})"
            padding = "'VALID'"
        else:
            x = "x"
            if all(p == "same" for p in cfg.pad):
                padding = "'SAME'"
            elif all(p == (0, 0) for p in cfg.pad):
                padding = "'VALID'"
            else:
                padding = str([[0, 0]] + [list(p) for p in cfg.pad] + [[0, 0]])
        if any(v != 1 for v in cfg.d):
            return (f"tf.nn.pool({x}, window_shape={_l(cfg.k)}, pooling_type='{kind}', "
                    f"strides={_l(cfg.s)}, padding={padding}, dilations={_l(cfg.d)})")
        fn = "max_pool" if cfg.op == "max" else "avg_pool"
        return f"tf.nn.{fn}{nd}d({x}, ksize={_l(cfg.k)}, strides={_l(cfg.s)}, padding={padding})"
    if fw == "keras":
        cls = ("MaxPooling" if cfg.op == "max" else "AveragePooling") + f"{nd}D"
        padding = "'same'" if all(p == "same" for p in cfg.pad) else "'valid'"
        if cfg.prepad:
            zp = tuple(cfg.pad[0]) if nd == 1 else tuple(tuple(p) for p in cfg.pad)
            return (f"keras.layers.{cls}(pool_size={_t(cfg.k)}, strides={_t(cfg.s)}, "
                    f"padding='valid')(keras.layers.ZeroPadding{nd}D({zp})(x))")
        return f"keras.layers.{cls}(pool_size={_t(cfg.k)}, strides={_t(cfg.s)}, padding={padding})(x)"
    # onnx
    name = {"max": "MaxPool", "avg": "AveragePool", "lp": "LpPool"}[cfg.op]
    attrs = [f"kernel_shape={_l(cfg.k)}", f"strides={_l(cfg.s)}"]
    if all(p == "same" for p in cfg.pad):
        attrs.append("auto_pad='SAME_UPPER'")
    elif all(p == "same_lower" for p in cfg.pad):
        attrs.append("auto_pad='SAME_LOWER'")
    else:
        attrs.append(f"pads={_l([lo for lo, _ in cfg.pad] + [hi for _, hi in cfg.pad])}")
    if any(v != 1 for v in cfg.d):
        attrs.append(f"dilations={_l(cfg.d)}")
    if cfg.ceil:
        attrs.append("ceil_mode=1")
    if cfg.op == "avg" and cfg.cip:
        attrs.append("count_include_pad=1")
    if cfg.op == "lp":
        attrs.append(f"p={int(cfg.p)}")
    return f"onnx.helper.make_node('{name}', ['x'], ['y'], {', '.join(attrs)})"


# --------------------------------------------------------------------------- target search


def _pad_options(fw: str, cfg: Cfg, i: int, n: int | None) -> list:
    """Candidate per-dim paddings of framework `fw`, the natural one first."""
    k, d = cfg.k[i], cfg.d[i]
    eff = (k - 1) * d + 1
    src = cfg.pad[i]
    concrete = None
    if isinstance(src, str) and n is not None:
        g = resolve_dim(n, k, cfg.s[i], d, src, cfg.ceil)
        concrete = (g.pad_lo, g.pad_hi)
    elif not isinstance(src, str):
        concrete = tuple(src)
    opts: list = []

    def add(o):
        if o not in opts:
            opts.append(o)

    if fw == "torch":
        if concrete is not None and concrete[0] == concrete[1] and concrete[0] <= k // 2:
            add(concrete)
        for v in range(0, k // 2 + 1):
            add((v, v))
    elif fw == "onnx":
        # ONNX's SAME formula does not clamp the total pad at 0 (ONNX Runtime then rejects the
        # negative pad), so auto_pad is only safe when the window spans at least one stride.
        # ONNX Runtime also sizes SAME differently from the ONNX formula once dilations > 1.
        if isinstance(src, str) and d == 1 and (eff >= cfg.s[i] or (
                n is not None and (-(-n // cfg.s[i]) - 1) * cfg.s[i] + eff - n >= 0)):
            add(src)
        if concrete is not None:
            add(concrete)
        for lo in range(eff):
            for hi in range(eff):
                add((lo, hi))
    return opts


def _globals(fw: str, cfg: Cfg) -> list[dict]:
    """Candidate framework-wide settings (ceil_mode, count_include_pad, TF padding mode)."""
    ceil = [cfg.ceil, not cfg.ceil]
    cips = [cfg.cip, not cfg.cip] if cfg.op == "avg" else [False]
    if fw == "torch":
        if cfg.op == "lp":
            return [dict(ceil=c, cip=False) for c in ceil]
        return [dict(ceil=c, cip=ci) for c in ceil for ci in cips]
    if fw == "onnx":
        return [dict(ceil=c, cip=ci) for c in ceil for ci in cips]
    return [dict(ceil=False, cip=False)]


def _allowed(fw: str, cfg: Cfg) -> str | None:
    """Why framework `fw` cannot express `cfg` at all, or None."""
    nd_dil = any(v != 1 for v in cfg.d)
    if fw == "torch":
        if cfg.op in ("avg", "lp") and nd_dil:
            return f"PyTorch's {cfg.op}_pool has no dilation"
        if cfg.op == "lp" and math.isinf(cfg.p):
            return "PyTorch's lp_pool needs a finite norm_type"
        if cfg.div is not None and cfg.nd == 1:
            return "PyTorch's avg_pool1d has no divisor_override"
    if fw in ("tf", "keras"):
        if cfg.op == "lp":
            return "TensorFlow/Keras have no Lp pooling"
        if cfg.div is not None:
            return "divisor_override exists only in PyTorch"
        if nd_dil and fw == "keras":
            return "Keras pooling layers have no dilation"
        if nd_dil and any(v != 1 for v in cfg.s):
            return "TensorFlow supports dilation only with strides 1 (tf.nn.pool)"
    if fw == "onnx":
        if cfg.div is not None:
            return "ONNX AveragePool has no divisor_override"
        if cfg.op == "lp" and (math.isinf(cfg.p) or cfg.p != int(cfg.p)):
            return f"ONNX LpPool takes an integer p (here p={cfg.p:g})"
    return None


def _candidates(fw: str, cfg: Cfg, n: tuple[int, ...] | None) -> Iterable[tuple[dict, list[list]]]:
    """Yield (global settings, per-dim pad options) for framework `fw`."""
    nd = cfg.nd
    if fw in ("tf", "keras"):
        modes = [("same",) * nd, ((0, 0),) * nd]
        if any(v != 1 for v in cfg.d):
            modes = [((0, 0),) * nd]  # tf.nn.pool implements SAME only without dilation
        if all(p == (0, 0) for p in cfg.pad if not isinstance(p, str)) and not any(
                isinstance(p, str) for p in cfg.pad):
            modes.reverse()
        for m in modes:
            yield dict(ceil=False, cip=False), [[m[i]] for i in range(nd)]
        if fw == "tf" and cfg.op == "max" and nd <= 2 and all(v == 1 for v in cfg.d):
            opts = []
            for i in range(nd):
                eff = cfg.k[i]
                o = []
                src = cfg.pad[i]
                if not isinstance(src, str):
                    o.append(tuple(src))
                elif n is not None:
                    g = resolve_dim(n[i], cfg.k[i], cfg.s[i], 1, src, False)
                    o.append((g.pad_lo, g.pad_hi))
                o += [(lo, hi) for lo in range(eff) for hi in range(eff) if (lo, hi) not in o]
                opts.append(o)
            yield dict(ceil=False, cip=False, explicit=True), opts
        return
    for gl in _globals(fw, cfg):
        yield gl, [_pad_options(fw, cfg, i, None if n is None else n[i]) for i in range(nd)]


def _one(cfg: Cfg, i: int, pad: Any = None, **changes: Any) -> Cfg:
    """The 1-D configuration of spatial dim `i` (optionally with another padding)."""
    return replace(cfg, k=(cfg.k[i],), s=(cfg.s[i],), d=(cfg.d[i],),
                   pad=(cfg.pad[i] if pad is None else pad,), **changes)


def _sizes(i: int, n: tuple[int, ...] | None, everywhere: bool) -> list[int]:
    return (list(_SIZE_RANGE) + ([n[i]] if n else [])) if everywhere else [n[i]]  # type: ignore[index]


def _search(fw: str, cfg: Cfg, n: tuple[int, ...] | None, everywhere: bool) -> Cfg | None:
    """The first setting of framework `fw` with the same windows as `cfg`, or None."""
    div = cfg.div if fw == "torch" else None
    torch_lp = fw == "torch" and cfg.op == "lp"
    for gl, opts in _candidates(fw, cfg, n):
        chosen = []
        for i in range(cfg.nd):
            src1 = _one(cfg, i)
            hit = next((o for o in opts[i] if _dim_match(
                src1, _one(cfg, i, o, ceil=gl["ceil"], cip=gl["cip"], div=div, torch_lp=torch_lp),
                0, _sizes(i, n, everywhere))), None)
            if hit is None:
                break
            chosen.append(hit)
        else:
            kinds = {p if isinstance(p, str) else "explicit" for p in chosen}
            if len(kinds) > 1:  # auto_pad is one setting for all dims: spell the pads out
                if everywhere or n is None:
                    continue
                chosen = [
                    p if not isinstance(p, str) else
                    (lambda g: (g.pad_lo, g.pad_hi))(resolve_dim(n[i], cfg.k[i], cfg.s[i], cfg.d[i], p))
                    for i, p in enumerate(chosen)
                ]
            tgt = Cfg(cfg.op, cfg.k, cfg.s, cfg.d, tuple(chosen), gl["ceil"], gl["cip"], div,
                      cfg.p, torch_lp=torch_lp)
            if cfg.div is not None and tgt.div is None and (everywhere or not _divisors_match(cfg, tgt, n)):
                continue
            return tgt
    return None


def _workaround(fw: str, cfg: Cfg, n: tuple[int, ...] | None) -> Cfg | None:
    """An exact 'pad explicitly, then pool without padding' composition, if one exists."""
    if fw not in ("torch", "tf", "keras") or cfg.div is not None or cfg.op == "lp":
        return None
    if cfg.op == "max" and fw == "keras":
        return None  # ZeroPadding would let zeros win the max
    if cfg.op == "avg" and not cfg.cip:
        return None  # zero padding would count in the mean
    if _allowed(fw, replace(cfg, pad=((0, 0),) * cfg.nd)) is not None:
        return None
    if any(isinstance(p, str) for p in cfg.pad):
        if n is None:
            return None
        pads = []
        for i in range(cfg.nd):
            g = resolve_dim(n[i], cfg.k[i], cfg.s[i], cfg.d[i], cfg.pad[i], cfg.ceil)
            pads.append((g.pad_lo, g.pad_hi))
        everywhere = False
    else:
        pads = list(cfg.pad)
        everywhere = True
    for ceil in ([cfg.ceil, False] if fw == "torch" else [False]):
        t = Cfg(cfg.op, cfg.k, cfg.s, cfg.d, tuple(pads), ceil, cfg.cip, None, cfg.p, prepad=True)
        if all(_dim_match(_one(cfg, i), _one(t, i), 0, _sizes(i, n, everywhere))
               for i in range(cfg.nd)):
            return t
    return None


def _reasons(fw: str, cfg: Cfg, n: tuple[int, ...] | None) -> list[str]:
    why = []
    name = {"torch": "PyTorch", "tf": "TensorFlow", "keras": "Keras", "onnx": "ONNX"}[fw]
    resolved = []
    for i in range(cfg.nd):
        p = cfg.pad[i]
        if isinstance(p, str):
            if n is None:
                resolved.append(None)
            else:
                g = resolve_dim(n[i], cfg.k[i], cfg.s[i], cfg.d[i], p, cfg.ceil)
                resolved.append((g.pad_lo, g.pad_hi))
        else:
            resolved.append(tuple(p))
    if any(r is None for r in resolved) and fw == "torch":
        why.append("SAME padding depends on the input size; pass --input-size to get an exact answer")
    if fw == "torch" and any(r is not None and r[0] != r[1] for r in resolved):
        odd = [r for r in resolved if r is not None and r[0] != r[1]]
        why.append(f"PyTorch pads the same amount on both sides; here the padding (before, after) "
                   f"is {odd[0]}" + (" (an odd total)" if sum(odd[0]) % 2 else ""))
    if fw == "torch" and any(r is not None and r[0] == r[1] and r[0] > k // 2
                             for r, k in zip(resolved, cfg.k)):
        why.append("PyTorch allows at most kernel_size // 2 padding")
    if fw == "torch" and cfg.op == "lp" and any(r not in (None, (0, 0)) for r in resolved):
        why.append("PyTorch's lp_pool has no padding")
    if fw == "torch" and cfg.op == "lp" and cfg.ceil:
        why.append("PyTorch's lp_pool rescales windows cut short by ceil_mode (it is avg_pool * k)")
    if fw in ("tf", "keras"):
        if cfg.ceil:
            why.append(f"{name} has no ceil_mode")
        if cfg.op == "avg" and cfg.cip and any(r != (0, 0) for r in resolved):
            why.append(f"{name} average pooling never counts padded cells "
                       "(count_include_pad=True has no equivalent)")
        if any(r is not None and r != (0, 0) for r in resolved) or any(isinstance(p, str) for p in cfg.pad):
            why.append(f"{name} pads only as VALID (no padding) or SAME (out = ceil(in / stride), "
                       "extra cell at the end)" + (" or explicit pads (tf.nn.max_pool1d/2d only)"
                                                   if fw == "tf" else ""))
        if any(isinstance(p, str) and p == "same_lower" for p in cfg.pad):
            why.append(f"{name} has no SAME_LOWER")
    if fw == "onnx" and any(isinstance(p, str) for p in cfg.pad) and n is None:
        if any(v != 1 for v in cfg.d):
            why.append("ONNX Runtime sizes auto_pad SAME differently once dilations > 1; "
                       "pass --input-size to get explicit pads")
        if any((k - 1) * d + 1 < st for k, d, st in zip(cfg.k, cfg.d, cfg.s)):
            why.append("ONNX's SAME formula gives a negative pad when the window is shorter than "
                       "the stride (ONNX Runtime rejects it); pass --input-size to get explicit pads")
    if not why:
        why.append(f"no setting of {name}'s pooling arguments covers the same cells with the same divisors")
    return why


def translate(cfg: Cfg, fw_from: str, n: tuple[int, ...] | None) -> dict:
    """The answer for every target framework, as plain data."""
    result: dict[str, Any] = {}
    for fw in FRAMEWORKS:
        entry: dict[str, Any] = {"layout": LAYOUT[fw]}
        why = _allowed(fw, cfg)
        tgt = None
        scope = None
        if why is None:
            tgt = _search(fw, cfg, n, everywhere=True)
            scope = "every input size"
            if tgt is None and n is not None:
                tgt = _search(fw, cfg, n, everywhere=False)
                scope = f"input size {_t(n) if len(set(n)) == 1 and len(n) == 1 else 'x'.join(map(str, n))} only"
        if tgt is not None:
            entry.update(exact=True, scope=scope, call=spell(fw, tgt))
            notes = []
            if fw == "torch" and cfg.op == "lp" and cfg.p % 2 != 0:
                notes.append("PyTorch's lp_pool sums x**p, not |x|**p: equal for x >= 0 "
                             "(or an even p)")
            if fw == "torch" and cfg.op == "avg" and tgt.cip and fw != fw_from:
                notes.append("count_include_pad=True is PyTorch's default")
            if fw == "torch" and cfg.op == "avg" and not tgt.cip:
                notes.append("say count_include_pad=False explicitly: PyTorch's default is True")
            if notes:
                entry["notes"] = notes
        else:
            entry.update(exact=False, reasons=[why] if why else _reasons(fw, cfg, n))
            wa = _workaround(fw, cfg, n) if why is None or fw == "tf" else None
            if wa is not None:
                entry["workaround"] = spell(fw, wa)
        result[fw] = entry
    return result


def run_compare(*, framework: str, op: str, pool_size: str, stride: str | None,
                padding: str | None, pads: str | None, dilation: str | None, ceil_mode: bool,
                count_include_pad: bool | None, divisor_override: int | None, p: float,
                input_size: str | None, dims: int | None, as_json: bool, console: Any) -> None:
    """Print the translation of one framework's pooling arguments into the others'."""
    from rich.text import Text

    cfg, n, fw = parse_source(framework, op, pool_size, stride, padding, pads, dilation, ceil_mode,
                              count_include_pad, divisor_override, p, input_size, dims)
    warnings = []
    if fw == "torch" and cfg.op == "lp" and cfg.ceil:
        partial = n is None or any(
            _dim_windows(_one(cfg, i, torch_lp=True), 0, n[i]) == "partial" for i in range(cfg.nd))
        if partial:
            warnings.append(
                "PyTorch's lp_pool with ceil_mode multiplies a window cut short at the edge by "
                "k / (cells in it) (it is avg_pool of x**p times k), so that window differs from a "
                "true Lp norm" + ("" if n is not None else " when a window is cut short"))
    answer = translate(cfg, fw, n)
    source_call = answer[fw].get("call") if answer[fw].get("exact") else None
    geometry = None
    if n is not None:
        geometry = []
        for i in range(cfg.nd):
            g = resolve_dim(n[i], cfg.k[i], cfg.s[i], cfg.d[i], cfg.pad[i], cfg.ceil)
            geometry.append({"in": n[i], "out": g.out, "pad": [g.pad_lo, g.pad_hi]})
    data = {"from": fw, "op": cfg.op, "poolkit": spell_poolkit(cfg, fw), "input_size": n,
            "geometry": geometry, "targets": {k: v for k, v in answer.items() if k != fw}}
    if source_call:
        data["source"] = source_call
    if warnings:
        data["warnings"] = warnings
    if as_json:
        print(json.dumps(data, indent=2))
        return
    console.print(Text(f"From {fw}: {cfg.op} pooling", style="bold"))
    console.print(Text(f"  poolkit: {data['poolkit']}"), soft_wrap=True)
    for w in data.get("warnings", []):
        console.print(Text(f"  warning: {w}", style="yellow"), soft_wrap=True)
    if geometry:
        desc = ", ".join(f"in {g['in']} -> out {g['out']} with pads {tuple(g['pad'])}" for g in geometry)
        console.print(Text(f"  per spatial dim: {desc}"), soft_wrap=True)
    for target, entry in data["targets"].items():
        console.print()
        head = Text(f"{target}", style="bold cyan")
        head.append(f"  (x is {entry['layout']})", style="dim")
        console.print(head)
        if entry["exact"]:
            console.print(Text(f"  exact for {entry['scope']}:", style="green"))
            console.print(Text(f"    {entry['call']}"), soft_wrap=True)
            for note in entry.get("notes", []):
                console.print(Text(f"    note: {note}", style="yellow"), soft_wrap=True)
        else:
            console.print(Text("  no exact equivalent:", style="red"))
            for r in entry["reasons"]:
                console.print(Text(f"    - {r}"), soft_wrap=True)
            if "workaround" in entry:
                console.print(Text("  exact workaround (pad explicitly, then pool):", style="yellow"))
                console.print(Text(f"    {entry['workaround']}"), soft_wrap=True)
