"""Values made plain for JSON: numpy scalars and arrays, tuples, NaN.

Records leave nblabel as JSON in several places (export files, the widget's traits, the
journal); numpy and pandas values reach all of them. :func:`json_safe` turns a value into
plain Python ahead of ``json.dumps``; :func:`json_default` is the ``default=`` hook the
journal gives ``json.dumps`` for the values pandas and numpy put in cells.
"""

from __future__ import annotations

import math
from typing import Any


def json_safe(value: Any) -> Any:
    """``value`` as plain Python that ``json.dumps`` accepts.

    Dict keys become strings, tuples lists, numpy scalars and arrays Python numbers and
    lists; a NaN or infinite float (which JSON has no spelling for) becomes ``None``.

    Example:
        >>> import numpy as np
        >>> json_safe({"bbox": (np.float32(1.5), 2), "score": float("nan"), 3: np.arange(2)})
        {'bbox': [1.5, 2], 'score': None, '3': [0, 1]}
    """
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    tolist = getattr(value, "tolist", None)
    if callable(tolist):  # numpy array or scalar
        return json_safe(tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def json_default(o: Any) -> Any:
    """JSON for the values pandas and numpy put in cells (a ``json.dumps`` ``default=``).

    Example:
        >>> import datetime, json
        >>> import numpy as np
        >>> json.dumps({"n": np.int64(3), "at": datetime.date(2024, 5, 1), "s": {1}},
        ...            default=json_default)
        '{"n": 3, "at": "2024-05-01", "s": [1]}'
    """
    item = getattr(o, "item", None)
    if callable(item):  # numpy scalars
        return item()
    tolist = getattr(o, "tolist", None)
    if callable(tolist):  # numpy arrays
        return tolist()
    iso = getattr(o, "isoformat", None)
    if callable(iso):  # datetime, pandas Timestamp
        return iso()
    if isinstance(o, (set, frozenset, tuple)):
        return list(o)
    return str(o)
