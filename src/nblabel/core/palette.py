"""Class colours: the same list draws the canvas in the browser and the saved picture.

Example:
    >>> class_color("dog", ["cat", "dog"]) == PALETTE[1]
    True
    >>> class_color("owl", ["cat", "dog"])
    '#888888'
    >>> STATUS_COLORS["verified"], ink_on(STATUS_COLORS["verified"])
    ('#59a14f', '#ffffff')
"""

from __future__ import annotations

from collections.abc import Sequence

from .statuses import AUTO, PREDICTED, REVIEW, UNLABELED, VERIFIED

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
# Each image status's colour: the badge over the image and its cell on a video's frame strip
# (the browser is sent these). Grey for an image nobody labeled; the others are Tableau hues
# that say how far along an image is: red for a person to look at, green when one did.
STATUS_COLORS = {
    UNLABELED: "#d0d0d0",
    PREDICTED: PALETTE[1],  # orange
    REVIEW: PALETTE[2],  # red
    AUTO: PALETTE[0],  # blue
    VERIFIED: PALETTE[4],  # green
}
# Text on a fill lighter than this (relative luminance, 0 black to 1 white) is dark, else white.
_LIGHT_FILL = 0.5
DARK_INK, LIGHT_INK = "#222222", "#ffffff"


def class_color(label: str, classes: Sequence[str]) -> str:
    """The colour of ``label``: its position in ``classes`` picks from the palette."""
    try:
        return PALETTE[list(classes).index(label) % len(PALETTE)]
    except ValueError:
        return UNKNOWN_COLOR


def ink_on(fill: str) -> str:
    """The text colour that reads on ``fill`` (``#rrggbb``): dark on light fills, else white.

    Uses the relative luminance of WCAG 2 (sRGB channels linearised, then weighted).
    """
    rgb = [int(fill[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    luminance = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    return DARK_INK if luminance > _LIGHT_FILL else LIGHT_INK
