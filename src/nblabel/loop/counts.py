"""How many images General AI may auto-label in one run.

The rule the setup panel and the loop share: at least 100 images, at most all of them. A
folder with fewer than 100 images has no choice to make, so the count is fixed to the number
of images (the panel shows it disabled) and any other value is a mistake worth reporting.
"""

from __future__ import annotations

import numbers

MIN_AUTOLABEL = 100


def _as_int(value, what: str) -> int:
    # bool is an int subclass; True as "1 image" is almost certainly a bug in the caller
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{what} must be a whole number, got {value!r}")
    return int(value)


def autolabel_count_range(n_images: int) -> tuple[int, int, bool]:
    """The allowed auto-label counts for a dataset of ``n_images`` images.

    Args:
        n_images: Number of images in the dataset.

    Returns:
        ``(minimum, maximum, fixed)``; when ``fixed`` is true the only allowed value is
        ``maximum`` (== ``n_images``).

    Example:
        >>> autolabel_count_range(250)
        (100, 250, False)
        >>> autolabel_count_range(40)
        (40, 40, True)
    """
    n = _as_int(n_images, "n_images")
    if n < 0:
        raise ValueError(f"n_images must be 0 or more, got {n}")
    if n < MIN_AUTOLABEL:
        return n, n, True
    return MIN_AUTOLABEL, n, False


def check_count(n_images: int, count: int | None = None) -> int:
    """Validate the number of images to auto-label; ``None`` means "all of them".

    Args:
        n_images: Number of images in the dataset.
        count: Requested number of images, or ``None`` for the default (the maximum).

    Returns:
        The count to use.

    Raises:
        ValueError: ``count`` is outside the allowed range, or differs from ``n_images``
            when the dataset has fewer than 100 images (the count is then fixed).

    Example:
        >>> check_count(250, None)
        250
        >>> check_count(250, 120)
        120
    """
    lo, hi, fixed = autolabel_count_range(n_images)
    if count is None:
        return hi
    c = _as_int(count, "count")
    if fixed:
        if c != hi:
            raise ValueError(
                f"the auto-label count is fixed to {hi} because the dataset has fewer than "
                f"{MIN_AUTOLABEL} images; got {c}. Leave count=None to label all {hi}."
            )
        return c
    if not lo <= c <= hi:
        raise ValueError(
            f"the auto-label count must be between {lo} and {hi} (the number of images); got {c}"
        )
    return c
