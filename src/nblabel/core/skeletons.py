"""Named keypoint skeletons: which point is which, what to draw between them, how to flip.

The one definition of each built-in skeleton (COCO-17 body, YuNet's five face points, 21 hand
points); every other form is derived from these: the widget's payload
(:func:`nblabel.widgets.codecs.skeleton_payload`), COCO's 1-based ``skeleton`` pairs
(:meth:`Skeleton.one_based_edges`), the keypoint names the format writers use.

Keypoints are stored per object as ``[[x, y, v], ...]`` in a fixed order; the skeleton gives
that order a meaning. The widget draws ``edges`` as limbs and labels points by ``names``;
training code that mirrors images horizontally swaps ``flip_pairs`` so a left wrist stays a
left wrist.

Example:
    >>> sk = get_skeleton("coco17")
    >>> sk.names[sk.index("left_wrist")]
    'left_wrist'
    >>> len(sk), sk.edges[0]
    (17, (15, 13))
    >>> # the person faces the camera: their left eye is on the right of the picture
    >>> sk.layout[sk.index("left_eye")][0] > 0.5 > sk.layout[sk.index("right_eye")][0]
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Skeleton:
    """A keypoint layout.

    Attributes:
        name: short identifier (``"coco17"``, ``"face5"``, ``"hand21"``).
        names: one name per keypoint, in storage order.
        edges: pairs of keypoint indices joined by a line when drawn.
        flip_pairs: pairs of indices that swap under a horizontal mirror.
        layout: where each point starts inside a freshly drawn box, as ``(x, y)`` fractions
            of the box (a frontal pose), so a user drags points a short way instead of
            placing every one from nothing. Empty: the widget spreads them on a grid.

    Example:
        >>> Skeleton("pair", ("a", "b"), ((0, 1),)).as_dict()["edges"]
        [[0, 1]]
    """

    name: str
    names: tuple[str, ...]
    edges: tuple[tuple[int, int], ...] = ()
    flip_pairs: tuple[tuple[int, int], ...] = ()
    layout: tuple[tuple[float, float], ...] = ()

    def __post_init__(self):
        n = len(self.names)
        if self.layout and len(self.layout) != n:
            raise ValueError(
                f"skeleton {self.name!r}: layout has {len(self.layout)} points for {n} names"
            )
        if len(set(self.names)) != n:
            raise ValueError(f"skeleton {self.name!r}: keypoint names must be unique")
        for what, pairs in (("edge", self.edges), ("flip pair", self.flip_pairs)):
            for a, b in pairs:
                if not (0 <= a < n and 0 <= b < n) or a == b:
                    raise ValueError(
                        f"skeleton {self.name!r}: {what} ({a}, {b}) must join two different "
                        f"keypoints among 0..{n - 1}"
                    )

    def __len__(self) -> int:
        return len(self.names)

    def index(self, name: str) -> int:
        """Position of the keypoint called ``name`` (``ValueError`` lists the known names)."""
        try:
            return self.names.index(name)
        except ValueError:
            raise ValueError(
                f"skeleton {self.name!r} has no keypoint {name!r}; known: {list(self.names)}"
            ) from None

    def flip_order(self) -> list[int]:
        """Index permutation that relabels keypoints after a horizontal mirror.

        Example:
            >>> get_skeleton("face5").flip_order()
            [1, 0, 2, 4, 3]
        """
        order = list(range(len(self.names)))
        for a, b in self.flip_pairs:
            order[a], order[b] = b, a
        return order

    def flip(self, keypoints: Sequence[Sequence[float]], width: float) -> list[list[float]]:
        """Mirror ``[[x, y, v], ...]`` across an image ``width`` pixels wide.

        Coordinates become ``width - x`` and left/right points trade places.

        Example:
            >>> get_skeleton("face5").flip([[10, 5, 2], [30, 5, 2], [20, 9, 2],
            ...                             [12, 15, 2], [28, 15, 1]], 40)[0]
            [10.0, 5.0, 2]
        """
        if len(keypoints) != len(self.names):
            raise ValueError(
                f"skeleton {self.name!r} has {len(self.names)} keypoints, got {len(keypoints)}"
            )
        mirrored = [[float(width) - float(p[0]), float(p[1]), *p[2:]] for p in keypoints]
        return [mirrored[i] for i in self.flip_order()]

    def one_based_edges(self) -> tuple[tuple[int, int], ...]:
        """The edges with 1-based indices, as COCO's ``categories[].skeleton`` writes them.

        Example:
            >>> get_skeleton("coco17").one_based_edges()[0]
            (16, 14)
        """
        return tuple((a + 1, b + 1) for a, b in self.edges)

    def as_dict(self) -> dict:
        """Plain JSON-ready description (what the widget receives).

        Example:
            >>> import json
            >>> json.loads(json.dumps(get_skeleton("coco17").as_dict()))["names"][0]
            'nose'
        """
        out = {
            "name": self.name,
            "names": list(self.names),
            "edges": [[int(a), int(b)] for a, b in self.edges],
            "flip_pairs": [[int(a), int(b)] for a, b in self.flip_pairs],
        }
        if self.layout:
            out["layout"] = [[float(x), float(y)] for x, y in self.layout]
        return out


def _pairs(names: Sequence[str], joined: Sequence[tuple[str, str]]) -> tuple[tuple[int, int], ...]:
    pos = {n: i for i, n in enumerate(names)}
    return tuple((pos[a], pos[b]) for a, b in joined)


def _lr_pairs(names: Sequence[str]) -> tuple[tuple[int, int], ...]:
    """Pairs ``left_*`` / ``right_*`` present in ``names``."""
    pos = {n: i for i, n in enumerate(names)}
    return tuple(
        (i, pos["right_" + n[5:]])
        for i, n in enumerate(names)
        if n.startswith("left_") and "right_" + n[5:] in pos
    )


# COCO person keypoints: the 17-point order used by COCO, ultralytics YOLO-pose and most
# body-pose datasets.
_COCO17 = (
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
)
COCO17 = Skeleton(
    "coco17",
    _COCO17,
    _pairs(
        _COCO17,
        [
            ("left_ankle", "left_knee"),
            ("left_knee", "left_hip"),
            ("right_ankle", "right_knee"),
            ("right_knee", "right_hip"),
            ("left_hip", "right_hip"),
            ("left_shoulder", "left_hip"),
            ("right_shoulder", "right_hip"),
            ("left_shoulder", "right_shoulder"),
            ("left_shoulder", "left_elbow"),
            ("right_shoulder", "right_elbow"),
            ("left_elbow", "left_wrist"),
            ("right_elbow", "right_wrist"),
            ("left_eye", "right_eye"),
            ("nose", "left_eye"),
            ("nose", "right_eye"),
            ("left_eye", "left_ear"),
            ("right_eye", "right_ear"),
            ("left_ear", "left_shoulder"),
            ("right_ear", "right_shoulder"),
        ],
    ),
    _lr_pairs(_COCO17),
    # a person facing the camera: their left side is on the right of the picture
    (
        (0.50, 0.07),
        (0.54, 0.05),
        (0.46, 0.05),
        (0.58, 0.07),
        (0.42, 0.07),
        (0.66, 0.22),
        (0.34, 0.22),
        (0.74, 0.38),
        (0.26, 0.38),
        (0.79, 0.52),
        (0.21, 0.52),
        (0.61, 0.55),
        (0.39, 0.55),
        (0.62, 0.76),
        (0.38, 0.76),
        (0.63, 0.96),
        (0.37, 0.96),
    ),  # fmt: skip
)

# Five face landmarks in the order cv2.FaceDetectorYN (YuNet) returns them. "Right" is the
# person's right, which appears on the left of a photo of their face.
_FACE5 = ("right_eye", "left_eye", "nose_tip", "right_mouth_corner", "left_mouth_corner")
FACE5 = Skeleton(
    "face5",
    _FACE5,
    _pairs(
        _FACE5,
        [
            ("right_eye", "left_eye"),
            ("right_eye", "nose_tip"),
            ("left_eye", "nose_tip"),
            ("nose_tip", "right_mouth_corner"),
            ("nose_tip", "left_mouth_corner"),
            ("right_mouth_corner", "left_mouth_corner"),
        ],
    ),
    ((0, 1), (3, 4)),
    ((0.30, 0.38), (0.70, 0.38), (0.50, 0.58), (0.35, 0.78), (0.65, 0.78)),
)

# 21 hand landmarks: the wrist, then four joints per finger from the palm out (the order of
# MediaPipe Hands and of the ultralytics hand-keypoints dataset). One hand has no left/right
# pairs: mirroring turns it into the other hand, which is a label change, not a reorder.
_FINGERS = ("thumb", "index_finger", "middle_finger", "ring_finger", "pinky")
_JOINTS = {
    "thumb": ("cmc", "mcp", "ip", "tip"),
    "index_finger": ("mcp", "pip", "dip", "tip"),
    "middle_finger": ("mcp", "pip", "dip", "tip"),
    "ring_finger": ("mcp", "pip", "dip", "tip"),
    "pinky": ("mcp", "pip", "dip", "tip"),
}
_HAND21 = ("wrist",) + tuple(f"{f}_{j}" for f in _FINGERS for j in _JOINTS[f])


def _hand_edges() -> tuple[tuple[int, int], ...]:
    edges = []
    for f in range(5):
        base = 1 + 4 * f
        edges.append((0, base) if f in (0, 1, 4) else (base - 4, base))  # palm
        edges += [(base, base + 1), (base + 1, base + 2), (base + 2, base + 3)]
    edges.append((13, 17))  # ring to pinky knuckle closes the palm
    return tuple(edges)


def _hand_layout() -> tuple[tuple[float, float], ...]:
    """An open hand, fingers up, wrist at the bottom centre."""
    pts = [(0.5, 0.95)]
    # (knuckle x, knuckle y, step x, step y) per finger, thumb first
    fingers = [
        (0.30, 0.75, -0.06, -0.07),
        (0.36, 0.45, -0.02, -0.10),
        (0.50, 0.42, 0.0, -0.11),
        (0.63, 0.45, 0.02, -0.10),
        (0.75, 0.52, 0.04, -0.08),
    ]
    for x, y, dx, dy in fingers:
        pts += [(round(x + i * dx, 3), round(y + i * dy, 3)) for i in range(4)]
    return tuple(pts)


HAND21 = Skeleton("hand21", _HAND21, _hand_edges(), (), _hand_layout())

SKELETONS: dict[str, Skeleton] = {s.name: s for s in (COCO17, FACE5, HAND21)}
_ALIASES = {
    "coco": "coco17",
    "body": "coco17",
    "person": "coco17",
    "pose": "coco17",
    "face": "face5",
    "yunet": "face5",
    "hand": "hand21",
}


def get_skeleton(name: str | Skeleton) -> Skeleton:
    """Look a skeleton up by name (``"coco17"``/``"body"``, ``"face5"``/``"face"``,
    ``"hand21"``/``"hand"``); a :class:`Skeleton` is returned as is.

    Example:
        >>> get_skeleton("face").names[2]
        'nose_tip'
    """
    if isinstance(name, Skeleton):
        return name
    key = _ALIASES.get(str(name).lower(), str(name).lower())
    if key not in SKELETONS:
        raise ValueError(
            f"unknown skeleton {name!r}; known: {sorted(SKELETONS) + sorted(_ALIASES)}"
        )
    return SKELETONS[key]


def skeleton_for(n_keypoints: int) -> Skeleton | None:
    """The built-in skeleton with ``n_keypoints`` points (17, 5, 21), else ``None``.

    Example:
        >>> skeleton_for(17).name, skeleton_for(4)
        ('coco17', None)
    """
    for s in SKELETONS.values():
        if len(s) == n_keypoints:
            return s
    return None
