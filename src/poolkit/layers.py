"""Keras-style pooling layers on NumPy arrays, with a backward pass.

The layers are thin wrappers around poolkit's functional API: the constructor validates the
configuration once (so bad arguments fail where the layer is built, not on the first call),
``layer(x)`` runs the forward pass through :func:`poolkit.vjp` and keeps the pullback, and
``layer.backward(dy)`` applies it to the gradient of the last output.

The Keras classes keep Keras's names, constructor signatures, defaults and results
(``MaxPooling1D/2D/3D``, ``AveragePooling1D/2D/3D``, ``GlobalMaxPooling1D/2D/3D``,
``GlobalAveragePooling1D/2D/3D``, ``AdaptiveMaxPooling1D/2D/3D``,
``AdaptiveAveragePooling1D/2D/3D`` and the aliases ``MaxPool2D``, ``AvgPool2D``,
``GlobalAvgPool2D``, ...). ``data_format=None`` means ``"channels_last"`` (there is no Keras
config file to read). Beyond Keras there are ``LpPooling1D/2D/3D`` and ``GlobalLpPooling1D/2D/3D``,
and the window layers take the functional API's extra keyword-only knobs (``dilation``,
``ceil_mode``, and for averages ``count_include_pad`` and ``divisor_override``) and its extra
padding forms (``"same_lower"``, ints, per-dimension ``(lo, hi)`` pairs).

Examples
--------
>>> import numpy as np
>>> from poolkit.layers import MaxPooling2D
>>> layer = MaxPooling2D(pool_size=2)
>>> x = np.arange(16.0).reshape(1, 4, 4, 1)
>>> y = layer(x)
>>> y[0, :, :, 0]
array([[ 5.,  7.],
       [13., 15.]])
>>> dx = layer.backward(np.ones_like(y))
>>> dx[0, :, :, 0]
array([[0., 0., 0., 0.],
       [0., 1., 0., 1.],
       [0., 0., 0., 0.],
       [0., 1., 0., 1.]])
>>> layer.compute_output_shape((None, 4, 4, 1))
(None, 2, 2, 1)
>>> MaxPooling2D.from_config(layer.get_config()) == layer
True
"""
from __future__ import annotations

import itertools
import numbers
import re
import threading
from typing import Any, Callable, ClassVar, Mapping, Optional, Sequence, Union

import numpy as np

from . import _spec
from ._spec import check_bool, check_divisor, check_p

__all__ = [
    "MaxPooling1D", "MaxPooling2D", "MaxPooling3D",
    "AveragePooling1D", "AveragePooling2D", "AveragePooling3D",
    "LpPooling1D", "LpPooling2D", "LpPooling3D",
    "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D",
    "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D",
    "GlobalLpPooling1D", "GlobalLpPooling2D", "GlobalLpPooling3D",
    "AdaptiveMaxPooling1D", "AdaptiveMaxPooling2D", "AdaptiveMaxPooling3D",
    "AdaptiveAveragePooling1D", "AdaptiveAveragePooling2D", "AdaptiveAveragePooling3D",
    "MaxPool1D", "MaxPool2D", "MaxPool3D",
    "AvgPool1D", "AvgPool2D", "AvgPool3D",
    "GlobalMaxPool1D", "GlobalMaxPool2D", "GlobalMaxPool3D",
    "GlobalAvgPool1D", "GlobalAvgPool2D", "GlobalAvgPool3D",
    "PoolingLayer",
]

IntOrTuple = Union[int, Sequence[int]]
Padding = Union[str, int, Sequence[int], Sequence[Sequence[int]]]

# --------------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------------

_name_lock = threading.Lock()
_name_counters: dict[str, itertools.count] = {}


def _snake_case(name: str) -> str:
    """Keras's CamelCase -> snake_case rule (``MaxPooling2D`` -> ``max_pooling2d``)."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _unique_name(prefix: str) -> str:
    """``prefix`` the first time, then ``prefix_1``, ``prefix_2``, ... (as Keras names layers)."""
    with _name_lock:
        counter = _name_counters.setdefault(prefix, itertools.count())
        i = next(counter)
    return prefix if i == 0 else f"{prefix}_{i}"


def _freeze(value: Any) -> Any:
    """Lists (e.g. from a JSON round trip of a config) -> tuples, recursively."""
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


def _functional(op_name: str) -> Callable[..., Any]:
    """The public functional op ``poolkit.<op_name>``, looked up at call time.

    The lookup is lazy so that ``poolkit/__init__.py`` may import this module.
    """
    import poolkit

    return getattr(poolkit, op_name)


# --------------------------------------------------------------------------------------------
# the common base
# --------------------------------------------------------------------------------------------


class PoolingLayer:
    """Base class of all poolkit layers (not meant to be instantiated directly).

    A subclass sets ``rank`` (the number of spatial dimensions) and ``_op_name`` (the
    functional op it delegates to), validates its arguments in ``__init__``, and implements
    :meth:`_op_kwargs`, :meth:`_config` and :meth:`compute_output_shape`.

    Parameters
    ----------
    name : str, optional
        Name of the layer; by default the snake-case class name made unique with a counter
        (``"max_pooling2d"``, ``"max_pooling2d_1"``, ...), as in Keras.
    """

    rank: ClassVar[int] = 0
    _op_name: ClassVar[str] = ""

    def __init__(self, name: Optional[str] = None) -> None:
        if type(self).rank not in (1, 2, 3):
            raise TypeError(f"{type(self).__name__} is an abstract base class; use one of the "
                            "1D/2D/3D layers")
        if name is None:
            name = _unique_name(_snake_case(type(self).__name__))
        elif not isinstance(name, str):
            raise TypeError(f"`name` must be a string or None; received name={name!r}")
        self._name = name
        self._pullback: Optional[Callable[[np.ndarray], np.ndarray]] = None
        self._out_shape: Optional[tuple[int, ...]] = None

    # --- configuration -----------------------------------------------------------------------
    @property
    def name(self) -> str:
        """The layer's name."""
        return self._name

    def _config(self) -> dict[str, Any]:  # pragma: no cover - overridden
        raise NotImplementedError

    def _op_kwargs(self) -> dict[str, Any]:  # pragma: no cover - overridden
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        """Return the layer's configuration as a plain dict.

        ``type(layer).from_config(layer.get_config())`` rebuilds an equal layer.

        Returns
        -------
        dict
            ``name`` followed by the normalised constructor arguments.
        """
        return {"name": self._name, **self._config()}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "PoolingLayer":
        """Build a layer from the dict returned by :meth:`get_config`.

        Parameters
        ----------
        config : mapping
            Constructor arguments; lists (as after a JSON round trip) are accepted for tuples.

        Returns
        -------
        PoolingLayer
            A new layer equal to the one the config came from.
        """
        if not isinstance(config, Mapping):
            raise TypeError(f"`config` must be a mapping; received config={config!r}")
        return cls(**{k: _freeze(v) for k, v in config.items()})

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PoolingLayer):
            return NotImplemented
        return type(self) is type(other) and self.get_config() == other.get_config()

    def __hash__(self) -> int:
        return hash((type(self), tuple(self.get_config().items())))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"

    # --- running -----------------------------------------------------------------------------
    def _check_input(self, x: Any) -> np.ndarray:
        if not isinstance(x, np.ndarray):
            x = np.asarray(x)
        expected = self.rank + 2
        if x.ndim != expected:
            raise ValueError(
                f"Input of layer '{self._name}' is incompatible with the layer: expected "
                f"ndim={expected}, found ndim={x.ndim}. Full shape received: {x.shape}"
            )
        return x

    def __call__(self, x: Any) -> np.ndarray:
        """Run the forward pass and remember what :meth:`backward` needs.

        Parameters
        ----------
        x : array_like
            Input of rank ``rank + 2``, laid out as ``data_format`` says.

        Returns
        -------
        numpy.ndarray
            The pooled output.
        """
        self._pullback = self._out_shape = None  # a failed call leaves nothing stale behind
        x = self._check_input(x)
        vjp = _functional("vjp")
        y, pullback = vjp(_functional(self._op_name), x, **self._op_kwargs())
        self._pullback = pullback
        self._out_shape = tuple(np.shape(y))
        return y

    def backward(self, dy: Any) -> np.ndarray:
        """Gradient with respect to the input of the last forward call.

        Parameters
        ----------
        dy : array_like
            Gradient with respect to the last output (same shape as that output).

        Returns
        -------
        numpy.ndarray
            Gradient with respect to the last input (same shape as that input).

        Raises
        ------
        RuntimeError
            If the layer has not been called yet.
        ValueError
            If ``dy`` does not have the shape of the last output.
        """
        if self._pullback is None:
            raise RuntimeError(
                f"{type(self).__name__} '{self._name}': backward() was called before any "
                "forward call; call the layer on an input first, e.g. y = layer(x)"
            )
        if not isinstance(dy, np.ndarray):
            dy = np.asarray(dy)
        if dy.shape != self._out_shape:
            raise ValueError(
                f"`dy` must have the shape of the last output {self._out_shape}; received dy "
                f"with shape={dy.shape}"
            )
        return self._pullback(dy)

    def _check_shape(self, input_shape: Any) -> tuple[Optional[int], ...]:
        try:
            shape = tuple(input_shape)
        except TypeError:
            raise TypeError("`input_shape` must be a tuple of ints (None allowed); received "
                            f"input_shape={input_shape!r}") from None
        if len(shape) != self.rank + 2:
            raise ValueError(
                f"`input_shape` must have {self.rank + 2} entries (batch, {self.rank} spatial, "
                f"channels) for {type(self).__name__}; received input_shape={input_shape!r}"
            )
        for v in shape:
            if v is not None and (isinstance(v, (bool, np.bool_))
                                  or not isinstance(v, (numbers.Integral, np.integer)) or v < 0):
                raise ValueError("`input_shape` must hold non-negative ints or None; received "
                                 f"input_shape={input_shape!r}")
        return tuple(None if v is None else int(v) for v in shape)

    def _split(self, shape: tuple[Optional[int], ...], data_format: str):
        """(batch, spatial dims, channels) of a full shape."""
        if data_format == "channels_last":
            return shape[0], shape[1:-1], shape[-1]
        return shape[0], shape[2:], shape[1]

    @staticmethod
    def _join(batch, spatial, channels, data_format: str) -> tuple[Optional[int], ...]:
        if data_format == "channels_last":
            return (batch, *spatial, channels)
        return (batch, channels, *spatial)

    def compute_output_shape(self, input_shape: Sequence[Optional[int]]
                             ) -> tuple[Optional[int], ...]:  # pragma: no cover - overridden
        """Output shape for an input shape (``None`` entries allowed, as in Keras)."""
        raise NotImplementedError


# --------------------------------------------------------------------------------------------
# sliding-window layers: max, average, Lp
# --------------------------------------------------------------------------------------------


class _WindowPooling(PoolingLayer):
    """Shared code of the sliding-window layers: one validated :class:`~poolkit._spec.PoolSpec`."""

    def __init__(self, pool_size: IntOrTuple, strides: Optional[IntOrTuple] = None,
                 padding: Padding = "valid", data_format: Optional[str] = None,
                 name: Optional[str] = None, *, dilation: IntOrTuple = 1,
                 ceil_mode: bool = False) -> None:
        super().__init__(name)
        self._spec = _spec.PoolSpec.build(self.rank, _freeze(pool_size), _freeze(strides),
                                          _freeze(padding), _freeze(dilation), ceil_mode)
        self._data_format = _spec.normalize_data_format(data_format)

    @property
    def pool_size(self) -> tuple[int, ...]:
        """Window size per spatial dimension."""
        return self._spec.window

    @property
    def strides(self) -> tuple[int, ...]:
        """Stride per spatial dimension."""
        return self._spec.strides

    @property
    def padding(self) -> Union[str, tuple[tuple[int, int], ...]]:
        """``"valid"``, ``"same"``, ``"same_lower"`` or explicit ``(lo, hi)`` pairs."""
        return self._spec.padding

    @property
    def dilation(self) -> tuple[int, ...]:
        """Dilation per spatial dimension."""
        return self._spec.dilation

    @property
    def ceil_mode(self) -> bool:
        """Whether output sizes round up."""
        return self._spec.ceil_mode

    @property
    def data_format(self) -> str:
        """``"channels_last"`` or ``"channels_first"``."""
        return self._data_format

    def _config(self) -> dict[str, Any]:
        s = self._spec
        return {"pool_size": s.window, "strides": s.strides, "padding": s.padding,
                "data_format": self._data_format, "dilation": s.dilation,
                "ceil_mode": s.ceil_mode}

    def _op_kwargs(self) -> dict[str, Any]:
        s = self._spec
        return {"pool_size": s.window, "strides": s.strides, "padding": s.padding,
                "dilation": s.dilation, "ceil_mode": s.ceil_mode,
                "data_format": self._data_format}

    def compute_output_shape(self, input_shape: Sequence[Optional[int]]
                             ) -> tuple[Optional[int], ...]:
        """Output shape for an input shape, without data.

        Parameters
        ----------
        input_shape : tuple of int or None
            Full input shape; ``None`` (unknown) is allowed anywhere, and an unknown spatial size
            gives an unknown output size.

        Returns
        -------
        tuple of int or None
        """
        shape = self._check_shape(input_shape)
        batch, spatial, channels = self._split(shape, self._data_format)
        known = [v if v is not None else (self._spec.window[i] - 1) * self._spec.dilation[i] + 1
                 for i, v in enumerate(spatial)]
        out = self._spec.resolve(known).out_shape
        out_sp = tuple(None if v is None else o for v, o in zip(spatial, out))
        return self._join(batch, out_sp, channels, self._data_format)


class _MaxPooling(_WindowPooling):
    """Max pooling family (base of ``MaxPooling1D/2D/3D``)."""

    _op_name = "max_pool"

    def __init__(self, pool_size: IntOrTuple = 2, strides: Optional[IntOrTuple] = None,
                 padding: Padding = "valid", data_format: Optional[str] = None,
                 name: Optional[str] = None, *, dilation: IntOrTuple = 1,
                 ceil_mode: bool = False) -> None:
        super().__init__(pool_size, strides, padding, data_format, name, dilation=dilation,
                         ceil_mode=ceil_mode)


class _AveragePooling(_WindowPooling):
    """Average pooling family (base of ``AveragePooling1D/2D/3D``)."""

    _op_name = "avg_pool"

    def __init__(self, pool_size: IntOrTuple, strides: Optional[IntOrTuple] = None,
                 padding: Padding = "valid", data_format: Optional[str] = None,
                 name: Optional[str] = None, *, dilation: IntOrTuple = 1,
                 ceil_mode: bool = False, count_include_pad: bool = False,
                 divisor_override: Optional[float] = None) -> None:
        super().__init__(pool_size, strides, padding, data_format, name, dilation=dilation,
                         ceil_mode=ceil_mode)
        self._count_include_pad = check_bool("count_include_pad", count_include_pad)
        self._divisor_override = check_divisor(divisor_override)

    @property
    def count_include_pad(self) -> bool:
        """Whether padded cells count in the divisor."""
        return self._count_include_pad

    @property
    def divisor_override(self) -> Optional[Union[int, float]]:
        """Fixed divisor replacing the window count, or None."""
        return self._divisor_override

    def _config(self) -> dict[str, Any]:
        return {**super()._config(), "count_include_pad": self._count_include_pad,
                "divisor_override": self._divisor_override}

    def _op_kwargs(self) -> dict[str, Any]:
        return {**super()._op_kwargs(), "count_include_pad": self._count_include_pad,
                "divisor_override": self._divisor_override}


class _LpPooling(_WindowPooling):
    """Lp pooling family (base of ``LpPooling1D/2D/3D``)."""

    _op_name = "lp_pool"

    def __init__(self, p: float = 2, pool_size: IntOrTuple = 2,
                 strides: Optional[IntOrTuple] = None, padding: Padding = "valid",
                 data_format: Optional[str] = None, name: Optional[str] = None, *,
                 dilation: IntOrTuple = 1, ceil_mode: bool = False) -> None:
        super().__init__(pool_size, strides, padding, data_format, name, dilation=dilation,
                         ceil_mode=ceil_mode)
        self._p = check_p(p)

    @property
    def p(self) -> Union[int, float]:
        """The exponent of the norm."""
        return self._p

    def _config(self) -> dict[str, Any]:
        return {"p": self._p, **super()._config()}

    def _op_kwargs(self) -> dict[str, Any]:
        return {"p": self._p, **super()._op_kwargs()}


# --------------------------------------------------------------------------------------------
# global layers
# --------------------------------------------------------------------------------------------


class _GlobalPooling(PoolingLayer):
    """Shared code of the global layers (reduce every spatial dimension)."""

    def __init__(self, data_format: Optional[str] = None, keepdims: bool = False,
                 name: Optional[str] = None) -> None:
        super().__init__(name)
        self._data_format = _spec.normalize_data_format(data_format)
        self._keepdims = check_bool("keepdims", keepdims)

    @property
    def data_format(self) -> str:
        """``"channels_last"`` or ``"channels_first"``."""
        return self._data_format

    @property
    def keepdims(self) -> bool:
        """Whether the reduced spatial dimensions are kept with size 1."""
        return self._keepdims

    def _config(self) -> dict[str, Any]:
        return {"data_format": self._data_format, "keepdims": self._keepdims}

    def _op_kwargs(self) -> dict[str, Any]:
        return {"data_format": self._data_format, "keepdims": self._keepdims}

    def compute_output_shape(self, input_shape: Sequence[Optional[int]]
                             ) -> tuple[Optional[int], ...]:
        """Output shape for an input shape, without data.

        Parameters
        ----------
        input_shape : tuple of int or None
            Full input shape; ``None`` (unknown) is allowed anywhere.

        Returns
        -------
        tuple of int or None
            ``(batch, channels)``, or with ``keepdims`` the input shape with spatial sizes 1.
        """
        shape = self._check_shape(input_shape)
        batch, _, channels = self._split(shape, self._data_format)
        if not self._keepdims:
            return (batch, channels)
        return self._join(batch, (1,) * self.rank, channels, self._data_format)


class _GlobalMaxPooling(_GlobalPooling):
    """Global max pooling family (base of ``GlobalMaxPooling1D/2D/3D``)."""

    _op_name = "global_max_pool"


class _GlobalAveragePooling(_GlobalPooling):
    """Global average pooling family (base of ``GlobalAveragePooling1D/2D/3D``)."""

    _op_name = "global_avg_pool"


class _GlobalLpPooling(_GlobalPooling):
    """Global Lp pooling family (base of ``GlobalLpPooling1D/2D/3D``)."""

    _op_name = "global_lp_pool"

    def __init__(self, p: float = 2, data_format: Optional[str] = None, keepdims: bool = False,
                 name: Optional[str] = None) -> None:
        super().__init__(data_format, keepdims, name)
        self._p = check_p(p)

    @property
    def p(self) -> Union[int, float]:
        """The exponent of the norm."""
        return self._p

    def _config(self) -> dict[str, Any]:
        return {"p": self._p, **super()._config()}

    def _op_kwargs(self) -> dict[str, Any]:
        return {"p": self._p, **super()._op_kwargs()}


# --------------------------------------------------------------------------------------------
# adaptive layers
# --------------------------------------------------------------------------------------------


class _AdaptivePooling(PoolingLayer):
    """Shared code of the adaptive layers (fixed output size, PyTorch's window rule)."""

    def __init__(self, output_size: IntOrTuple, data_format: Optional[str] = None,
                 name: Optional[str] = None) -> None:
        super().__init__(name)
        self._output_size = _spec.int_tuple("output_size", _freeze(output_size), self.rank)
        self._data_format = _spec.normalize_data_format(data_format)

    @property
    def output_size(self) -> tuple[int, ...]:
        """Spatial output size."""
        return self._output_size

    @property
    def data_format(self) -> str:
        """``"channels_last"`` or ``"channels_first"``."""
        return self._data_format

    def _config(self) -> dict[str, Any]:
        return {"output_size": self._output_size, "data_format": self._data_format}

    def _op_kwargs(self) -> dict[str, Any]:
        return {"output_size": self._output_size, "data_format": self._data_format}

    def compute_output_shape(self, input_shape: Sequence[Optional[int]]
                             ) -> tuple[Optional[int], ...]:
        """Output shape for an input shape, without data.

        Parameters
        ----------
        input_shape : tuple of int or None
            Full input shape; ``None`` (unknown) is allowed anywhere.

        Returns
        -------
        tuple of int or None
            Batch and channels from the input, spatial sizes from ``output_size``.
        """
        shape = self._check_shape(input_shape)
        batch, _, channels = self._split(shape, self._data_format)
        return self._join(batch, self._output_size, channels, self._data_format)


class _AdaptiveMaxPooling(_AdaptivePooling):
    """Adaptive max pooling family (base of ``AdaptiveMaxPooling1D/2D/3D``)."""

    _op_name = "adaptive_max_pool"


class _AdaptiveAveragePooling(_AdaptivePooling):
    """Adaptive average pooling family (base of ``AdaptiveAveragePooling1D/2D/3D``)."""

    _op_name = "adaptive_avg_pool"


# --------------------------------------------------------------------------------------------
# the public 1D/2D/3D classes
# --------------------------------------------------------------------------------------------


class MaxPooling1D(_MaxPooling):
    """Max pooling over 1 spatial dimension, as ``keras.layers.MaxPooling1D``.

    Parameters
    ----------
    pool_size : int or tuple of 1 int, default 2
    strides : int or tuple of 1 int, optional
        Defaults to ``pool_size``.
    padding : {"valid", "same", "same_lower"}, int or tuple, default "valid"
    data_format : {"channels_last", "channels_first"}, optional
        ``None`` means ``"channels_last"``: input ``(batch, steps, channels)``.
    name : str, optional
    dilation : int or tuple of 1 int, default 1
    ceil_mode : bool, default False

    Examples
    --------
    >>> import numpy as np
    >>> MaxPooling1D(2, padding="same")(np.array([[[1.0], [3.0], [2.0]]]))[0, :, 0]
    array([3., 2.])
    """

    rank = 1


class MaxPooling2D(_MaxPooling):
    """Max pooling over 2 spatial dimensions, as ``keras.layers.MaxPooling2D``.

    Parameters
    ----------
    pool_size : int or tuple of 2 ints, default (2, 2)
    strides : int or tuple of 2 ints, optional
        Defaults to ``pool_size``.
    padding : {"valid", "same", "same_lower"}, int or tuple, default "valid"
    data_format : {"channels_last", "channels_first"}, optional
        ``None`` means ``"channels_last"``: input ``(batch, rows, cols, channels)``.
    name : str, optional
    dilation : int or tuple of 2 ints, default 1
    ceil_mode : bool, default False

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[1., 2., 3.], [4., 5., 6.], [7., 8., 9.]]).reshape(1, 3, 3, 1)
    >>> MaxPooling2D(pool_size=(2, 2), strides=(1, 1))(x)[0, :, :, 0]
    array([[5., 6.],
           [8., 9.]])
    """

    rank = 2


class MaxPooling3D(_MaxPooling):
    """Max pooling over 3 spatial dimensions, as ``keras.layers.MaxPooling3D``.

    Parameters
    ----------
    pool_size : int or tuple of 3 ints, default (2, 2, 2)
    strides : int or tuple of 3 ints, optional
        Defaults to ``pool_size``.
    padding : {"valid", "same", "same_lower"}, int or tuple, default "valid"
    data_format : {"channels_last", "channels_first"}, optional
        ``None`` means ``"channels_last"``: input ``(batch, d1, d2, d3, channels)``.
    name : str, optional
    dilation : int or tuple of 3 ints, default 1
    ceil_mode : bool, default False

    Examples
    --------
    >>> import numpy as np
    >>> MaxPooling3D()(np.arange(8.0).reshape(1, 2, 2, 2, 1)).ravel()
    array([7.])
    """

    rank = 3


class AveragePooling1D(_AveragePooling):
    """Average pooling over 1 spatial dimension, as ``keras.layers.AveragePooling1D``.

    With ``padding="same"`` padded cells are left out of the mean (as in Keras) unless
    ``count_include_pad=True``.

    Parameters
    ----------
    pool_size : int or tuple of 1 int
    strides : int or tuple of 1 int, optional
        Defaults to ``pool_size``.
    padding : {"valid", "same", "same_lower"}, int or tuple, default "valid"
    data_format : {"channels_last", "channels_first"}, optional
        ``None`` means ``"channels_last"``.
    name : str, optional
    dilation : int or tuple of 1 int, default 1
    ceil_mode : bool, default False
    count_include_pad : bool, default False
    divisor_override : float, optional

    Examples
    --------
    >>> import numpy as np
    >>> AveragePooling1D(2, padding="same")(np.array([[[1.0], [3.0], [2.0]]]))[0, :, 0]
    array([2., 2.])
    """

    rank = 1


class AveragePooling2D(_AveragePooling):
    """Average pooling over 2 spatial dimensions, as ``keras.layers.AveragePooling2D``.

    With ``padding="same"`` padded cells are left out of the mean (as in Keras) unless
    ``count_include_pad=True``.

    Parameters
    ----------
    pool_size : int or tuple of 2 ints
    strides : int or tuple of 2 ints, optional
        Defaults to ``pool_size``.
    padding : {"valid", "same", "same_lower"}, int or tuple, default "valid"
    data_format : {"channels_last", "channels_first"}, optional
        ``None`` means ``"channels_last"``.
    name : str, optional
    dilation : int or tuple of 2 ints, default 1
    ceil_mode : bool, default False
    count_include_pad : bool, default False
    divisor_override : float, optional

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(9.0).reshape(1, 3, 3, 1)
    >>> AveragePooling2D(2, padding="same")(x)[0, :, :, 0]
    array([[2. , 3.5],
           [6.5, 8. ]])
    """

    rank = 2


class AveragePooling3D(_AveragePooling):
    """Average pooling over 3 spatial dimensions, as ``keras.layers.AveragePooling3D``.

    Parameters
    ----------
    pool_size : int or tuple of 3 ints
    strides : int or tuple of 3 ints, optional
        Defaults to ``pool_size``.
    padding : {"valid", "same", "same_lower"}, int or tuple, default "valid"
    data_format : {"channels_last", "channels_first"}, optional
        ``None`` means ``"channels_last"``.
    name : str, optional
    dilation : int or tuple of 3 ints, default 1
    ceil_mode : bool, default False
    count_include_pad : bool, default False
    divisor_override : float, optional

    Examples
    --------
    >>> import numpy as np
    >>> AveragePooling3D(2)(np.arange(8.0).reshape(1, 2, 2, 2, 1)).ravel()
    array([3.5])
    """

    rank = 3


class LpPooling1D(_LpPooling):
    """Lp pooling over 1 spatial dimension: ``(sum |x|**p) ** (1/p)`` over each window.

    Padded cells contribute nothing (ONNX ``LpPool`` semantics); ``p=inf`` gives ``max |x|``.

    Parameters
    ----------
    p : float, default 2
    pool_size : int or tuple of 1 int, default 2
    strides : int or tuple of 1 int, optional
        Defaults to ``pool_size``.
    padding : {"valid", "same", "same_lower"}, int or tuple, default "valid"
    data_format : {"channels_last", "channels_first"}, optional
    name : str, optional
    dilation : int or tuple of 1 int, default 1
    ceil_mode : bool, default False

    Examples
    --------
    >>> import numpy as np
    >>> LpPooling1D(2, 2)(np.array([[[3.0], [-4.0]]]))[0, :, 0]
    array([5.])
    """

    rank = 1


class LpPooling2D(_LpPooling):
    """Lp pooling over 2 spatial dimensions: ``(sum |x|**p) ** (1/p)`` over each window.

    Padded cells contribute nothing (ONNX ``LpPool`` semantics); ``p=inf`` gives ``max |x|``.

    Parameters
    ----------
    p : float, default 2
    pool_size : int or tuple of 2 ints, default (2, 2)
    strides : int or tuple of 2 ints, optional
        Defaults to ``pool_size``.
    padding : {"valid", "same", "same_lower"}, int or tuple, default "valid"
    data_format : {"channels_last", "channels_first"}, optional
    name : str, optional
    dilation : int or tuple of 2 ints, default 1
    ceil_mode : bool, default False

    Examples
    --------
    >>> import numpy as np
    >>> LpPooling2D(p=1)(np.array([[1.0, -2.0], [3.0, -4.0]]).reshape(1, 2, 2, 1)).ravel()
    array([10.])
    """

    rank = 2


class LpPooling3D(_LpPooling):
    """Lp pooling over 3 spatial dimensions: ``(sum |x|**p) ** (1/p)`` over each window.

    Padded cells contribute nothing (ONNX ``LpPool`` semantics); ``p=inf`` gives ``max |x|``.

    Parameters
    ----------
    p : float, default 2
    pool_size : int or tuple of 3 ints, default (2, 2, 2)
    strides : int or tuple of 3 ints, optional
        Defaults to ``pool_size``.
    padding : {"valid", "same", "same_lower"}, int or tuple, default "valid"
    data_format : {"channels_last", "channels_first"}, optional
    name : str, optional
    dilation : int or tuple of 3 ints, default 1
    ceil_mode : bool, default False

    Examples
    --------
    >>> import numpy as np
    >>> LpPooling3D(p=float("inf"))(-np.arange(8.0).reshape(1, 2, 2, 2, 1)).ravel()
    array([7.])
    """

    rank = 3


class GlobalMaxPooling1D(_GlobalMaxPooling):
    """Global max pooling over steps, as ``keras.layers.GlobalMaxPooling1D``.

    Parameters
    ----------
    data_format : {"channels_last", "channels_first"}, optional
    keepdims : bool, default False
    name : str, optional

    Examples
    --------
    >>> import numpy as np
    >>> GlobalMaxPooling1D()(np.array([[[1.0, 5.0], [4.0, 2.0]]]))
    array([[4., 5.]])
    """

    rank = 1


class GlobalMaxPooling2D(_GlobalMaxPooling):
    """Global max pooling over rows and columns, as ``keras.layers.GlobalMaxPooling2D``.

    Parameters
    ----------
    data_format : {"channels_last", "channels_first"}, optional
    keepdims : bool, default False
    name : str, optional

    Examples
    --------
    >>> import numpy as np
    >>> GlobalMaxPooling2D(keepdims=True)(np.arange(8.0).reshape(1, 2, 2, 2)).shape
    (1, 1, 1, 2)
    """

    rank = 2


class GlobalMaxPooling3D(_GlobalMaxPooling):
    """Global max pooling over 3 spatial dimensions, as ``keras.layers.GlobalMaxPooling3D``.

    Parameters
    ----------
    data_format : {"channels_last", "channels_first"}, optional
    keepdims : bool, default False
    name : str, optional

    Examples
    --------
    >>> import numpy as np
    >>> GlobalMaxPooling3D("channels_first")(np.arange(16.0).reshape(1, 2, 2, 2, 2))
    array([[ 7., 15.]])
    """

    rank = 3


class GlobalAveragePooling1D(_GlobalAveragePooling):
    """Global average pooling over steps, as ``keras.layers.GlobalAveragePooling1D``.

    Parameters
    ----------
    data_format : {"channels_last", "channels_first"}, optional
    keepdims : bool, default False
    name : str, optional

    Examples
    --------
    >>> import numpy as np
    >>> GlobalAveragePooling1D()(np.array([[[1.0, 5.0], [4.0, 2.0]]]))
    array([[2.5, 3.5]])
    """

    rank = 1


class GlobalAveragePooling2D(_GlobalAveragePooling):
    """Global average pooling over rows and columns, as ``keras.layers.GlobalAveragePooling2D``.

    Parameters
    ----------
    data_format : {"channels_last", "channels_first"}, optional
    keepdims : bool, default False
    name : str, optional

    Examples
    --------
    >>> import numpy as np
    >>> GlobalAveragePooling2D()(np.arange(8.0).reshape(1, 2, 2, 2))
    array([[3., 4.]])
    """

    rank = 2


class GlobalAveragePooling3D(_GlobalAveragePooling):
    """Global average pooling over 3 spatial dimensions, as ``keras.layers.GlobalAveragePooling3D``.

    Parameters
    ----------
    data_format : {"channels_last", "channels_first"}, optional
    keepdims : bool, default False
    name : str, optional

    Examples
    --------
    >>> import numpy as np
    >>> GlobalAveragePooling3D()(np.arange(16.0).reshape(1, 2, 2, 2, 2))
    array([[7., 8.]])
    """

    rank = 3


class GlobalLpPooling1D(_GlobalLpPooling):
    """Global Lp pooling over steps: ``(sum |x|**p) ** (1/p)`` per channel.

    Parameters
    ----------
    p : float, default 2
    data_format : {"channels_last", "channels_first"}, optional
    keepdims : bool, default False
    name : str, optional

    Examples
    --------
    >>> import numpy as np
    >>> GlobalLpPooling1D()(np.array([[[3.0], [4.0]]]))
    array([[5.]])
    """

    rank = 1


class GlobalLpPooling2D(_GlobalLpPooling):
    """Global Lp pooling over rows and columns: ``(sum |x|**p) ** (1/p)`` per channel.

    Parameters
    ----------
    p : float, default 2
    data_format : {"channels_last", "channels_first"}, optional
    keepdims : bool, default False
    name : str, optional

    Examples
    --------
    >>> import numpy as np
    >>> GlobalLpPooling2D(p=1)(np.array([[1.0, -2.0], [3.0, -4.0]]).reshape(1, 2, 2, 1))
    array([[10.]])
    """

    rank = 2


class GlobalLpPooling3D(_GlobalLpPooling):
    """Global Lp pooling over 3 spatial dimensions: ``(sum |x|**p) ** (1/p)`` per channel.

    Parameters
    ----------
    p : float, default 2
    data_format : {"channels_last", "channels_first"}, optional
    keepdims : bool, default False
    name : str, optional

    Examples
    --------
    >>> import numpy as np
    >>> GlobalLpPooling3D(p=1)(np.ones((1, 2, 2, 2, 1)))
    array([[8.]])
    """

    rank = 3


class AdaptiveMaxPooling1D(_AdaptiveMaxPooling):
    """Adaptive max pooling to a fixed number of steps, as ``keras.layers.AdaptiveMaxPooling1D``.

    Output ``i`` pools input cells ``floor(i*n/out)`` to ``ceil((i+1)*n/out) - 1`` (PyTorch's
    rule).

    Parameters
    ----------
    output_size : int or tuple of 1 int
    data_format : {"channels_last", "channels_first"}, optional
    name : str, optional

    Examples
    --------
    >>> import numpy as np
    >>> AdaptiveMaxPooling1D(3)(np.array([1.0, 5.0, 2.0, 4.0, 3.0]).reshape(1, 5, 1))[0, :, 0]
    array([5., 5., 4.])
    """

    rank = 1


class AdaptiveMaxPooling2D(_AdaptiveMaxPooling):
    """Adaptive max pooling to a fixed spatial size, as ``keras.layers.AdaptiveMaxPooling2D``.

    Parameters
    ----------
    output_size : int or tuple of 2 ints
    data_format : {"channels_last", "channels_first"}, optional
    name : str, optional

    Examples
    --------
    >>> import numpy as np
    >>> AdaptiveMaxPooling2D(1)(np.arange(9.0).reshape(1, 3, 3, 1)).shape
    (1, 1, 1, 1)
    """

    rank = 2


class AdaptiveMaxPooling3D(_AdaptiveMaxPooling):
    """Adaptive max pooling to a fixed spatial size, as ``keras.layers.AdaptiveMaxPooling3D``.

    Parameters
    ----------
    output_size : int or tuple of 3 ints
    data_format : {"channels_last", "channels_first"}, optional
    name : str, optional

    Examples
    --------
    >>> import numpy as np
    >>> AdaptiveMaxPooling3D((1, 1, 2))(np.arange(8.0).reshape(1, 2, 2, 2, 1)).ravel()
    array([6., 7.])
    """

    rank = 3


class AdaptiveAveragePooling1D(_AdaptiveAveragePooling):
    """Adaptive average pooling to a fixed number of steps, as Keras's layer of that name.

    Output ``i`` averages input cells ``floor(i*n/out)`` to ``ceil((i+1)*n/out) - 1``
    (PyTorch's rule).

    Parameters
    ----------
    output_size : int or tuple of 1 int
    data_format : {"channels_last", "channels_first"}, optional
    name : str, optional

    Examples
    --------
    >>> import numpy as np
    >>> AdaptiveAveragePooling1D(2)(np.array([1.0, 2.0, 3.0, 4.0, 6.0]).reshape(1, 5, 1))[0, :, 0]
    array([2.        , 4.33333333])
    """

    rank = 1


class AdaptiveAveragePooling2D(_AdaptiveAveragePooling):
    """Adaptive average pooling to a fixed spatial size, as Keras's layer of that name.

    Parameters
    ----------
    output_size : int or tuple of 2 ints
    data_format : {"channels_last", "channels_first"}, optional
    name : str, optional

    Examples
    --------
    >>> import numpy as np
    >>> AdaptiveAveragePooling2D(1)(np.arange(9.0).reshape(1, 3, 3, 1)).ravel()
    array([4.])
    """

    rank = 2


class AdaptiveAveragePooling3D(_AdaptiveAveragePooling):
    """Adaptive average pooling to a fixed spatial size, as Keras's layer of that name.

    Parameters
    ----------
    output_size : int or tuple of 3 ints
    data_format : {"channels_last", "channels_first"}, optional
    name : str, optional

    Examples
    --------
    >>> import numpy as np
    >>> AdaptiveAveragePooling3D((1, 1, 2))(np.arange(8.0).reshape(1, 2, 2, 2, 1)).ravel()
    array([3., 4.])
    """

    rank = 3


# Keras's aliases
MaxPool1D, MaxPool2D, MaxPool3D = MaxPooling1D, MaxPooling2D, MaxPooling3D
AvgPool1D, AvgPool2D, AvgPool3D = AveragePooling1D, AveragePooling2D, AveragePooling3D
GlobalMaxPool1D, GlobalMaxPool2D, GlobalMaxPool3D = (
    GlobalMaxPooling1D, GlobalMaxPooling2D, GlobalMaxPooling3D)
GlobalAvgPool1D, GlobalAvgPool2D, GlobalAvgPool3D = (
    GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalAveragePooling3D)
