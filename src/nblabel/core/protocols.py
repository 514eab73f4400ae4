"""What nblabel asks of a model and of a dataset, declared once as ``typing.Protocol``.

Any object with these methods works (duck typing, as scikit-learn takes any estimator with
``fit``); nothing has to inherit from nblabel. The protocols are ``runtime_checkable``, so
``isinstance(obj, Predictor)`` is the check the loop and the widgets make before they start,
and :func:`missing` names what an object lacks, for an error that says what to do.

- :class:`Predictor`: ``predict(images) -> list[list[record]]``, one list per image;
- :class:`Trainable`: a predictor with ``fit(ds, keys=None, progress=None)``: the loop
  passes the verified keys it may train on (others are held out for grading) and a
  ``progress(fraction, message)`` callback;
- :class:`DatasetLike`: what the loop, the widgets and :func:`nblabel.deidentify` use of a
  :class:`nblabel.Dataset`.

``isinstance`` checks that the members exist, not their signatures: a ``fit`` that takes no
``keys`` passes the check and fails on the first retrain with Python's own TypeError.

Example:
    >>> class Constant:
    ...     def predict(self, images):
    ...         return [[{"label": "cat", "bbox": [0, 0, 1, 1]}] for _ in images]
    >>> isinstance(Constant(), Predictor), isinstance(Constant(), Trainable)
    (True, False)
    >>> missing(Constant(), Trainable)
    ['fit']
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol, runtime_checkable

__all__ = ["DatasetLike", "Predictor", "ProgressFn", "Trainable", "members", "missing"]

ProgressFn = Callable[[float, str], Any]
"""``progress(fraction, message)``: how far a fit has got (0 to 1) and what it is doing."""


@runtime_checkable
class Predictor(Protocol):
    """A model the loop can auto-label with."""

    def predict(self, images: Sequence[Any]) -> list[list[dict]]:
        """One list of annotation records per image (paths or RGB arrays), in image pixels."""
        ...


@runtime_checkable
class Trainable(Predictor, Protocol):
    """A predictor the loop retrains on the images a person has verified."""

    def fit(self, ds: Any, keys: Sequence | None = None, progress: ProgressFn | None = None) -> Any:
        """Learn from ``ds`` (only the rows in ``keys`` when given); return self."""
        ...


@runtime_checkable
class DatasetLike(Protocol):
    """The parts of :class:`nblabel.Dataset` the loop, the widgets and de-identification
    read and write."""

    @property
    def df(self) -> Any: ...

    @property
    def classes(self) -> list[str]: ...

    def keys(self) -> list: ...

    def row(self, key: Any) -> dict: ...

    def image(self, key: Any) -> Any: ...

    def annotate(self, key: Any, annotations: Sequence[dict], **options: Any) -> Any: ...

    def annotate_many(self, writes: Iterable[tuple[Any, Sequence[dict], dict]]) -> list: ...

    def add_classes(self, names: Iterable[str]) -> list[str]: ...

    def update(self, key: Any, **columns: Any) -> None: ...

    def on_change(self, fn: Callable, remove: bool = False) -> Any: ...


def members(protocol: type) -> list[str]:
    """The public members a protocol of this module declares (its bases' first).

    Example:
        >>> members(Trainable)
        ['predict', 'fit']
    """
    names: list[str] = []
    for base in reversed(protocol.__mro__):
        if base.__module__ != __name__:
            continue
        for name in vars(base):
            if not name.startswith("_") and name not in names:
                names.append(name)
    return names


def missing(obj: Any, protocol: type) -> list[str]:
    """The members of ``protocol`` that ``obj`` lacks (those it has but cannot call count too).

    Example:
        >>> missing(object(), Predictor)
        ['predict']
    """
    out = []
    for name in members(protocol):
        try:
            value = getattr(obj, name)
        except Exception:  # a property that fails is as good as missing
            out.append(name)
            continue
        declared = getattr(protocol, name, None)
        if callable(declared) and not isinstance(declared, property) and not callable(value):
            out.append(name)
    return out
