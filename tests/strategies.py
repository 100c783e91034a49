"""Hypothesis strategies shared by the test modules."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st


@st.composite
def window_geometry(draw: Any, rank: int, max_k: int = 3) -> tuple:
    """``(pool_size, strides, padding, dilation)`` for ``rank`` spatial dims, with padding in
    every form the API takes ("valid"/"same"/"same_lower", one int, one per dim, ``(lo, hi)``
    pairs), each pad smaller than the dilated window."""
    k = tuple(draw(st.lists(st.integers(1, max_k), min_size=rank, max_size=rank)))
    s = tuple(draw(st.lists(st.integers(1, 3), min_size=rank, max_size=rank)))
    d = tuple(draw(st.lists(st.integers(1, 2), min_size=rank, max_size=rank)))
    eff = [(kk - 1) * dd + 1 for kk, dd in zip(k, d)]
    form = draw(st.sampled_from(["valid", "same", "same_lower", "int", "per_dim", "pairs"]))
    if form in ("valid", "same", "same_lower"):
        pad: Any = form
    elif form == "int":
        pad = draw(st.integers(0, min(eff) - 1))
    elif form == "per_dim":
        pad = tuple(draw(st.integers(0, e - 1)) for e in eff)
    else:
        pad = tuple((draw(st.integers(0, e - 1)), draw(st.integers(0, e - 1))) for e in eff)
    return k, s, pad, d
