"""A pickle payload for hostile-checkpoint tests: unpickling it runs ``touch <marker>``,
so a test sees whether a loader executed code by whether the marker file exists."""

from __future__ import annotations

import os


class Payload:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))
