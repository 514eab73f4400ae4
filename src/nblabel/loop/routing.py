"""Where a predicted image goes: auto-accepted, or the review queue (hardest first).

Pure functions, no Dataset and no model: the loop feeds them records and numbers, so the
rules can be read and tested on their own.

The rules:

* no auto-accept without evidence: until enough verified images that the model did not train
  on exist to estimate its precision at the threshold, and that precision reaches the target,
  every prediction goes to review;
* an image where the model found nothing goes to review (it may have missed everything);
* when a General and a Custom prediction both exist and disagree, review;
* otherwise the image's confidence (its least confident object) decides against the threshold.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from ..core.geometry import box_iou, greedy_match
from ..core.statuses import AUTO, REVIEW
from ..records import image_confidence

# Why an image is in the review queue; shown next to it so the user knows what to look at.
REASON_EMPTY = "nothing found"
# the model found objects, all scored below the display threshold: hidden from the person
REASON_HIDDEN = "all below the display threshold"
REASON_DISAGREE = "models disagree"
REASON_LOW = "low confidence"
REASON_EVIDENCE = "not enough evidence yet"


def match_boxes(
    pred: Sequence[dict], truth: Sequence[dict], min_iou: float = 0.5, same_label: bool = True
) -> list[tuple[int, int, float]]:
    """Greedy one-to-one matching of two lists of records, best overlap first.

    Args:
        pred: Records (e.g. a model's objects).
        truth: Records to match against (e.g. verified objects).
        min_iou: Pairs that overlap less than this are not matched.
        same_label: Only match records with the same ``label``.

    Returns:
        ``(pred_index, truth_index, iou)`` for each matched pair.

    Example:
        >>> a = [{"label": "cat", "bbox": [0, 0, 10, 10]}]
        >>> b = [{"label": "cat", "bbox": [1, 0, 11, 10]}]
        >>> match_boxes(a, b)
        [(0, 0, 0.8181818181818182)]
    """
    m = box_iou([p["bbox"] for p in pred], [t["bbox"] for t in truth])
    allowed = m > 0  # boxes that do not touch are never the same object, even at min_iou=0
    if same_label:
        allowed &= (
            np.asarray([p["label"] for p in pred], dtype=object)[:, None]
            == np.asarray([t["label"] for t in truth], dtype=object)[None, :]
        )
    pairs = greedy_match(np.where(allowed, m, np.nan), min_iou)
    return sorted((i, j, float(m[i, j])) for i, j in pairs)


def disagree(a: Sequence[dict], b: Sequence[dict], min_iou: float = 0.5) -> bool:
    """True when two models' objects for one image do not tell the same story.

    They agree when every object of one has a partner in the other with the same label and
    an IoU of at least ``min_iou`` (so the counts are equal too).

    Example:
        >>> disagree([{"label": "cat", "bbox": [0, 0, 10, 10]}],
        ...          [{"label": "dog", "bbox": [0, 0, 10, 10]}])
        True
    """
    if len(a) != len(b):
        return True
    return len(match_boxes(a, b, min_iou=min_iou)) != len(a)


@dataclass(frozen=True)
class Evidence:
    """What the verified, held-out images say about the model at the threshold.

    Attributes:
        n_images: Verified images the model did not train on that it has predicted.
        n_predicted: Objects it predicted on them with a score at or above the threshold.
        n_correct: Of those, objects matching a verified object (same label, IoU >= 0.5).
        precision: ``n_correct / n_predicted`` (``None`` when nothing was predicted).
        min_images: Images needed before the estimate is trusted.
        target: Precision needed for auto-accepting.
    """

    n_images: int = 0
    n_predicted: int = 0
    n_correct: int = 0
    precision: float | None = None
    min_images: int = 20
    target: float = 0.9

    @property
    def enough(self) -> bool:
        """True when auto-accepting is allowed."""
        return (
            self.n_images >= self.min_images
            and self.precision is not None
            and self.precision >= self.target
        )

    def as_dict(self) -> dict:
        return {
            "n_images": self.n_images,
            "precision": self.precision,
            "min_images": self.min_images,
            "target": self.target,
            "auto_accept_allowed": self.enough,
        }


def estimate_precision(
    pairs: Iterable[tuple[Sequence[dict], Sequence[dict]]],
    threshold: float,
    *,
    min_images: int = 20,
    target: float = 0.9,
    min_iou: float = 0.5,
) -> Evidence:
    """Object precision at ``threshold`` over ``(predicted, verified)`` record lists.

    Only objects scored at or above the threshold count, because those are the ones that
    would be auto-accepted.

    Example:
        >>> p = [{"label": "cat", "bbox": [0, 0, 10, 10], "score": 0.9}]
        >>> t = [{"label": "cat", "bbox": [0, 0, 10, 10]}]
        >>> estimate_precision([(p, t)], 0.5, min_images=1).precision
        1.0
    """
    n_images = n_pred = n_ok = 0
    for pred, truth in pairs:
        n_images += 1
        kept = [
            r for r in pred if (r.get("score") if r.get("score") is not None else 1.0) >= threshold
        ]
        n_pred += len(kept)
        n_ok += len(match_boxes(kept, truth, min_iou=min_iou))
    precision = n_ok / n_pred if n_pred else None
    return Evidence(n_images, n_pred, n_ok, precision, min_images, target)


def route(
    records: Sequence[dict],
    threshold: float,
    evidence: Evidence | bool,
    other: Sequence[dict] | None = None,
    confidence: float | None = None,
) -> tuple[str, str | None]:
    """Status for one predicted image, and why it needs review (``None`` for auto).

    Args:
        records: The model's objects for the image.
        threshold: Confidence at or above which an image may be auto-accepted.
        evidence: :class:`Evidence` (or a bool) saying whether auto-accept is allowed yet.
        other: The other model's objects for the same image (General vs Custom), if any.
        confidence: The image confidence; defaults to its least confident object's score.

    Example:
        >>> recs = [{"label": "cat", "bbox": [0, 0, 9, 9], "score": 0.95}]
        >>> route(recs, 0.5, True)
        ('auto', None)
        >>> route(recs, 0.5, False)
        ('review', 'not enough evidence yet')
        >>> route([], 0.5, True)
        ('review', 'nothing found')
    """
    if not records:
        return REVIEW, REASON_EMPTY
    if other is not None and disagree(records, other):
        return REVIEW, REASON_DISAGREE
    conf = image_confidence(records) if confidence is None else confidence
    if conf is None or conf < threshold:
        return REVIEW, REASON_LOW
    allowed = evidence.enough if isinstance(evidence, Evidence) else bool(evidence)
    if not allowed:
        return REVIEW, REASON_EVIDENCE
    return AUTO, None


def review_order(df, reasons: dict | None = None):
    """Rows waiting for review, hardest first.

    Images where the model found nothing come first (confidence is missing), then by
    rising confidence; ties keep dataset order.

    Args:
        df: The dataset's DataFrame (``ds.df``).
        reasons: Optional ``{key: reason}`` to add as a ``reason`` column.

    Returns:
        A DataFrame with the ``review`` rows sorted.
    """
    q = df[df["status"] == REVIEW].copy()
    q["_pos"] = range(len(q))
    q = q.sort_values(["confidence", "_pos"], na_position="first", kind="stable")
    q = q.drop(columns="_pos")
    if reasons is not None:
        q["reason"] = [
            reasons.get(k) or (REASON_EMPTY if not a else REASON_LOW)
            for k, a in zip(q.index, q["annotations"])
        ]
    return q


def is_held_out(key, fraction: float) -> bool:
    """Whether ``key`` belongs to the held-out share of verified images.

    Decided by a hash of the key, so the split is the same after a restart and a key never
    moves from training to held-out (which would let a model be graded on what it saw).

    Example:
        >>> is_held_out("img1", 0.0), is_held_out("img1", 1.0)
        (False, True)
    """
    if fraction <= 0:
        return False
    if fraction >= 1:
        return True
    digest = hashlib.sha1(json.dumps(key, default=str).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction
