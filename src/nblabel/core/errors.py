"""The base class of nblabel's own errors.

Every error nblabel raises on purpose (a bad record, an unreadable image, a file that is not
the format it claims, a missing model file, ...) derives from :class:`NblabelError` as well
as from the built-in error it always was (``ValueError``, ``FileNotFoundError``, ...), so
``except ValueError`` keeps working and ``except nblabel.NblabelError`` catches them all.

Example:
    >>> class ShapeError(NblabelError, ValueError):
    ...     pass
    >>> isinstance(ShapeError("bad"), ValueError), isinstance(ShapeError("bad"), NblabelError)
    (True, True)
"""

from __future__ import annotations


class NblabelError(Exception):
    """An error nblabel raises on purpose; its message says what went wrong and what to do."""
