"""The error a format reader raises for a file it cannot read."""

from __future__ import annotations

from ..core.errors import NblabelError


class FormatError(NblabelError, ValueError):
    """A file that cannot be read as the format it claims to be.

    The message names the file (and the line, when the parser knows it) and says what to do.

    Attributes:
        path: the offending file.
        line: 1-based line number, or ``None``.
    """

    def __init__(self, path, problem: str, line: int | None = None):
        self.path = str(path)
        self.line = line
        self.problem = problem
        where = f"{self.path}, line {line}" if line else self.path
        super().__init__(f"{where}: {problem}")
