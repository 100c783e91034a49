"""poolkit: exact, fast pooling for NumPy arrays.

Max, average, Lp, global and adaptive pooling in 1-3 spatial dimensions with the semantics of
TensorFlow/Keras, PyTorch and ONNX, forward and backward, on compiled multi-threaded kernels.
"""
from . import layers
from ._buffers import set_buffer_cache
from ._precompile import precompile
from .grad import grad, vjp
from .unpool import max_unpool, roi_max_pool
from .ops import (adaptive_avg_pool, adaptive_max_pool, avg_pool, global_avg_pool,
                  global_lp_pool, global_max_pool, lp_pool, max_pool, output_shape)

from . import _warmup

__version__ = "0.1.0"

_warmup.start()

__all__ = [
    "max_pool", "avg_pool", "lp_pool", "global_max_pool", "global_avg_pool", "global_lp_pool",
    "adaptive_max_pool", "adaptive_avg_pool", "output_shape", "max_unpool", "roi_max_pool",
    "vjp", "grad", "layers", "set_buffer_cache", "precompile", "__version__",
]
