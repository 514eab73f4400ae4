"""Class colours: the same list draws the canvas in the browser and the saved picture.

Example:
    >>> class_color("dog", ["cat", "dog"]) == PALETTE[1]
    True
    >>> class_color("owl", ["cat", "dog"])
    '#888888'
"""

from __future__ import annotations

from collections.abc import Sequence

# Tableau 10; the browser uses the same list so the snapshot matches the canvas.
PALETTE = (
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
)  # fmt: skip
# The colour of a label that is not among the classes.
UNKNOWN_COLOR = "#888888"
# De-identification regions: a colour no class gets, so the layer never reads as a label.
REGION_COLOR = "#ff00d4"
# Errors said in a widget (a failed retrain, a callback that raised).
ERROR_COLOR = "#c44e52"


def class_color(label: str, classes: Sequence[str]) -> str:
    """The colour of ``label``: its position in ``classes`` picks from the palette."""
    try:
        return PALETTE[list(classes).index(label) % len(PALETTE)]
    except ValueError:
        return UNKNOWN_COLOR
