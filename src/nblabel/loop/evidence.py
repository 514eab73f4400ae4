"""What reviewed images prove about a model: grades, a guaranteed accept threshold, and the
score below which showing a prediction costs more than it saves.

Every image a person verifies was predicted, before the correction, by a model version that
had not trained on it (models train only on verified images). That prediction is therefore
an unbiased sample of the version's quality: *prequential* evidence, which needs no images
held out of training. :func:`grade` turns (prediction, the person's final objects) into a
:class:`Grade`; the loop stores each grade in the row's ``evidence`` column, so it survives a
restart.

From the grades:

* :func:`accept_threshold` is the lowest image confidence at which the images graded at or
  above it were right with a one-sided Clopper-Pearson lower bound (95 %) of at least the
  target accuracy. Only images at or above it are auto-accepted; :func:`guarantee` states the
  expected number of wrong images among those accepted, and the bound on it.
* :func:`display_threshold` picks the object score below which predictions are hidden, to
  minimise expected seconds: a shown false object costs a deletion, a hidden true one a box.

Grades of all versions are pooled. Later versions trained on more images, so pooling older
grades makes the bound conservative when the model improves; the loop can restrict it to the
recent grades (``window``) to follow a model whose quality changes.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field

from ..records import image_confidence, shown
from .routing import match_boxes

# Grades the accept threshold is computed from: the most recent ones, so the evidence follows
# the model as it improves and the computation stays small on a large dataset.
WINDOW = 1000
# An object is right when it matches a person's object of the same label at this IoU (the
# COCO / PASCAL criterion the benchmarks score by).
MATCH_IOU = 0.5
CONFIDENCE = 0.95  # of the lower bound
TARGET = 0.95  # image accuracy needed for auto-accepting


@dataclass(frozen=True)
class Grade:
    """One reviewed image: how the model's prediction compared with the person's result.

    Attributes:
        version: Model version that made the prediction.
        confidence: The prediction's image confidence (least confident object; ``None``
            when nothing was predicted).
        correct: Every predicted object matched and nothing was missing or extra.
        scores: Score of each predicted object.
        hits: Whether each predicted object matched a person's object.
        n_true: Objects the person kept.
        labels: Label of each predicted object (same order as ``scores``).
    """

    version: str
    confidence: float | None
    correct: bool
    scores: tuple[float, ...]
    hits: tuple[bool, ...]
    n_true: int
    labels: tuple[str, ...] = ()

    @property
    def classes(self) -> frozenset[str]:
        """Labels of the objects that were on screen (those scored at least
        ``confidence``, the least confident object shown): the classes the image's
        verdict speaks for."""
        if self.confidence is None:
            return frozenset()
        return frozenset(lab for lab, s in zip(self.labels, self.scores) if s >= self.confidence)

    def at(self, keep_from: float) -> Grade:
        """The same review graded as if the objects scored at least ``keep_from`` had been
        the image's labels: what an image auto-accepted with that rule would have been.

        Exact for grades made by :func:`grade`, whose hits are matched in score order (a
        higher-scored object is matched first, so the objects above any score keep the
        matches they had).

        Example:
            >>> g = Grade("v", 0.2, False, (0.9, 0.2), (True, False), 1)
            >>> g.at(0.5).correct, g.at(0.5).confidence, g.at(0.1).correct
            (True, 0.9, False)
        """
        kept = [(s, h) for s, h in zip(self.scores, self.hits) if s >= keep_from]
        return Grade(
            version=self.version,
            confidence=min(s for s, _ in kept) if kept else None,
            correct=all(h for _, h in kept) and len(kept) == self.n_true,
            scores=self.scores,
            hits=self.hits,
            n_true=self.n_true,
            labels=self.labels,
        )

    def as_dict(self) -> dict:
        d = asdict(self)
        d["scores"], d["hits"] = list(self.scores), list(self.hits)
        d["labels"] = list(self.labels)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Grade:
        return cls(
            version=str(d["version"]),
            confidence=None if d.get("confidence") is None else float(d["confidence"]),
            correct=bool(d["correct"]),
            scores=tuple(float(s) for s in d.get("scores") or ()),
            hits=tuple(bool(h) for h in d.get("hits") or ()),
            n_true=int(d.get("n_true") or 0),
            labels=tuple(str(x) for x in d.get("labels") or ()),
        )


def grade(
    pred: Sequence[dict], final: Sequence[dict], version: str, shown_from: float = 0.0
) -> Grade:
    """Compare a prediction with what the person kept.

    The image is right when what was on screen (the objects scored at least ``shown_from``)
    matches the person's result one to one; its confidence is that of the objects on
    screen. Every object's score and hit is kept, hidden ones too, so the display threshold
    can learn what hiding them costs.

    Example:
        >>> p = [{"label": "cat", "bbox": [0, 0, 10, 10], "score": 0.9}]
        >>> grade(p, [{"label": "cat", "bbox": [0, 0, 10, 11]}], "v1").correct
        True
        >>> grade(p, [], "v1").correct
        False
        >>> extra = p + [{"label": "cat", "bbox": [50, 50, 60, 60], "score": 0.2}]
        >>> grade(extra, [{"label": "cat", "bbox": [0, 0, 10, 11]}], "v1", shown_from=0.3).correct
        True
    """
    scores = tuple(float(r.get("score") if r.get("score") is not None else 1.0) for r in pred)
    # matched most confident first (as COCO scores detections), so a low duplicate never
    # takes the match of the object above it and Grade.at can re-grade at any score
    order = sorted(range(len(pred)), key=lambda i: -scores[i])
    hit, free = set(), list(range(len(final)))
    for i in order:
        m = match_boxes([pred[i]], [final[j] for j in free], min_iou=MATCH_IOU)
        if m:
            hit.add(i)
            del free[m[0][1]]
    on_screen = shown(pred, shown_from)
    right = len(match_boxes(on_screen, final, min_iou=MATCH_IOU)) == len(on_screen) == len(final)
    return Grade(
        version=str(version),
        confidence=image_confidence(on_screen) if on_screen else None,
        correct=right,
        scores=scores,
        hits=tuple(i in hit for i in range(len(pred))),
        n_true=len(final),
        labels=tuple(str(r.get("label")) for r in pred),
    )


def _log_binom_tail(k: int, n: int, p: float) -> float:
    """log P(X >= k) for X ~ Binomial(n, p)."""
    if k <= 0:
        return 0.0
    if p <= 0:
        return -math.inf
    if p >= 1:
        return 0.0
    terms = [
        math.lgamma(n + 1)
        - math.lgamma(i + 1)
        - math.lgamma(n - i + 1)
        + i * math.log(p)
        + (n - i) * math.log1p(-p)
        for i in range(k, n + 1)
    ]
    top = max(terms)
    return top + math.log(sum(math.exp(t - top) for t in terms))


def lower_bound(k: int, n: int, confidence: float = CONFIDENCE) -> float:
    """One-sided Clopper-Pearson lower confidence bound of a success rate (k of n).

    The exact bound: the success rate p at which k or more successes would occur with
    probability ``1 - confidence``.

    Example:
        >>> round(lower_bound(59, 59), 4)  # 59 right out of 59 proves 95 % at 95 %
        0.9505
        >>> round(lower_bound(58, 58), 4)  # 58 do not
        0.9497
        >>> lower_bound(0, 10)
        0.0
    """
    if n <= 0 or k <= 0:
        return 0.0
    alpha = 1.0 - confidence
    if k == n:
        return alpha ** (1.0 / n)
    lo, hi, log_a = 0.0, k / n, math.log(alpha)
    for _ in range(60):  # bisection: the tail grows with p
        mid = (lo + hi) / 2
        if _log_binom_tail(k, n, mid) < log_a:
            lo = mid
        else:
            hi = mid
    return lo


def upper_bound(k: int, n: int, confidence: float = CONFIDENCE) -> float:
    """One-sided Clopper-Pearson upper confidence bound of a success rate (k of n).

    Example:
        >>> round(upper_bound(7, 10), 3)  # 7 right of 10: the rate is at most 0.913
        0.913
        >>> upper_bound(10, 10)
        1.0
    """
    if n <= 0:
        return 1.0
    return 1.0 - lower_bound(n - k, n, confidence)


def accept_threshold(
    grades: Iterable[Grade], target: float = TARGET, confidence: float = CONFIDENCE
) -> float | None:
    """Lowest image confidence whose graded images prove ``target`` accuracy, or None.

    Candidates are the graded confidences; for each, the images graded at or above it must
    have a Clopper-Pearson lower bound of at least ``target``.

    Example:
        >>> right = [Grade("v", 0.9, True, (0.9,), (True,), 1)] * 70
        >>> accept_threshold(right)
        0.9
        >>> accept_threshold(right[:20]) is None  # 20 images cannot prove 95 %
        True
    """
    scored = sorted(
        ((g.confidence, g.correct) for g in grades if g.confidence is not None),
        key=lambda x: -x[0],
    )
    best = None
    k = 0
    for n, (conf, ok) in enumerate(scored, start=1):  # most confident first: the set grows
        k += ok
        if proves(k, n, target, confidence):
            best = conf
    return best


def proves(k: int, n: int, target: float, confidence: float = CONFIDENCE) -> bool:
    """Whether k right of n puts the lower bound at or above ``target``.

    The same as ``lower_bound(k, n, confidence) >= target`` (the tail grows with p), with
    one binomial tail instead of a search, so a threshold over many grades stays cheap.

    Example:
        >>> proves(59, 59, 0.95), proves(58, 58, 0.95)
        (True, False)
    """
    if n <= 0 or k <= 0 or k < target * n:
        return False
    return _log_binom_tail(k, n, target) <= math.log(1.0 - confidence)


@dataclass(frozen=True)
class ClassEvidence:
    """The graded images that showed one class.

    Attributes:
        label: The class.
        n: Graded images with an object of this class on screen.
        right: How many of them were right.
        threshold: Image confidence from which this class's images prove the target
            (None: not proven yet, so images showing it stay in review).
        n_above, right_above: Graded images of the class at or above that threshold, and
            how many were right.
    """

    label: str
    n: int
    right: int
    threshold: float | None
    n_above: int
    right_above: int


@dataclass(frozen=True)
class Guarantee:
    """What the evidence promises about the images it lets through.

    Evidence is kept per class: a class's images are auto-accepted only from the image
    confidence at which that class's own graded images prove the target, so an easy class
    cannot vouch for a hard one. With one class this is the plain pooled rule.

    Attributes:
        threshold: Lowest image confidence from which some images are auto-accepted (None:
            none are); an image's own threshold is :meth:`threshold_for` its classes.
        n_graded: Reviewed images the evidence comes from.
        n_above: Graded images that the rule would have auto-accepted.
        accuracy: Share of those that were right.
        lower: Its lower confidence bound (the guarantee).
        target, confidence: What was asked for.
        by_class: :class:`ClassEvidence` per class seen in the grades.
    """

    threshold: float | None
    n_graded: int
    n_above: int
    accuracy: float | None
    lower: float | None
    target: float
    confidence: float
    by_class: dict = field(default_factory=dict)

    @property
    def allowed(self) -> bool:
        return self.threshold is not None

    def threshold_for(self, labels: Iterable[str]) -> float | None:
        """Image confidence an image showing ``labels`` needs, or None when one of its
        classes is not proven (an image showing no object has no threshold either).

        Example:
            >>> g = guarantee([Grade("v", 0.9, True, (0.9,), (True,), 1, ("cat",))] * 70)
            >>> g.threshold_for({"cat"}), g.threshold_for({"cat", "dog"})
            (0.9, None)
        """
        labels = set(labels)
        if not labels:
            return None
        ts = [self.by_class[c].threshold if c in self.by_class else None for c in labels]
        return None if None in ts else max(ts)

    def expected_wrong(self, n_auto: int) -> tuple[float, float]:
        """(expected wrong images, upper bound) among ``n_auto`` auto-accepted images."""
        if not n_auto or self.accuracy is None or self.lower is None:
            return 0.0, 0.0
        return n_auto * (1 - self.accuracy), n_auto * (1 - self.lower)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["auto_accept_allowed"] = self.allowed
        return d


def guarantee(
    grades: Sequence[Grade], target: float = TARGET, confidence: float = CONFIDENCE
) -> Guarantee:
    """The accept thresholds the grades justify, per class, and what they promise.

    Example:
        >>> g = guarantee([Grade("v", 0.9, True, (0.9,), (True,), 1, ("cat",))] * 70)
        >>> g.threshold, round(g.lower, 3)
        (0.9, 0.958)
        >>> dogs = [Grade("v", 0.95, k % 2 == 0, (0.95,), (True,), 1, ("dog",)) for k in range(40)]
        >>> g = guarantee([Grade("v", 0.9, True, (0.9,), (True,), 1, ("cat",))] * 70 + dogs)
        >>> g.threshold, g.by_class["dog"].threshold, g.by_class["dog"].right
        (0.9, None, 20)
    """
    grades = list(grades)
    shown_in: dict[str, list[Grade]] = {}
    for g in grades:
        for label in g.classes:
            shown_in.setdefault(label, []).append(g)
    by_class = {}
    for label in sorted(shown_in):
        own = shown_in[label]
        t = accept_threshold(own, target, confidence)
        above = [g for g in own if t is not None and g.confidence >= t]
        by_class[label] = ClassEvidence(
            label,
            len(own),
            sum(g.correct for g in own),
            t,
            len(above),
            sum(g.correct for g in above),
        )
    result = Guarantee(None, len(grades), 0, None, None, target, confidence, by_class)
    passed = []
    for g in grades:
        t = result.threshold_for(g.classes)
        if t is not None and g.confidence >= t:
            passed.append(g)
    proven = [e.threshold for e in by_class.values() if e.threshold is not None]
    k = sum(g.correct for g in passed)
    return Guarantee(
        threshold=min(proven) if proven else None,
        n_graded=len(grades),
        n_above=len(passed),
        accuracy=k / len(passed) if passed else None,
        lower=lower_bound(k, len(passed), confidence) if passed else None,
        target=target,
        confidence=confidence,
        by_class=by_class,
    )


def keep_threshold(grades: Iterable[Grade], default: float = 0.25) -> float:
    """Object score from which an auto-accepted image keeps a model's objects: the one at
    which the most graded images would have been right (:meth:`Grade.at`); the lowest such
    score on a tie, so no object is dropped without evidence that dropping it helps.

    It is not the display threshold: that one prices a person's gestures (a faint
    suggestion costs nothing to ignore), this one asks what is right with nobody looking.
    With no graded image that could be right, ``default`` (the display threshold's own).

    Example:
        >>> dup = Grade("v", 0.3, False, (0.9, 0.3), (True, False), 1)
        >>> keep_threshold([dup, Grade("v", 0.8, True, (0.8,), (True,), 1)])
        0.8
    """
    # a grade is right at t exactly when its n_true best objects are hits and the next one
    # scores below t: t in (lo, hi]; the best t is the right end of some interval
    grades = list(grades)
    los, his = [], []
    for g in grades:
        ranked = sorted(zip(g.scores, g.hits), key=lambda x: -x[0])
        n = g.n_true
        if n > len(ranked) or not all(h for _, h in ranked[:n]):
            continue
        hi = ranked[n - 1][0] if n else math.inf
        lo = ranked[n][0] if n < len(ranked) else -math.inf
        if lo < hi:
            los.append(lo)
            his.append(hi)
    if not his:
        return float(default)
    # the count rises just above each lo and falls just above each hi
    cands = sorted({h for h in his if h != math.inf} | {lo + 1e-9 for lo in los if lo > 0} | {0.0})
    los.sort()
    his.sort()
    best, best_right = 0.0, -1
    for t in cands:
        # intervals with hi >= t, less those that start at or above t (lo >= t)
        right = (len(his) - bisect.bisect_left(his, t)) - (len(los) - bisect.bisect_left(los, t))
        if right > best_right:
            best, best_right = t, right
    # the lowest object score at or above it keeps the same objects of every image
    scores = sorted(s for g in grades for s in g.scores)
    i = bisect.bisect_left(scores, best)
    return float(scores[i] if i < len(scores) and best > 0 else best)


def display_threshold(
    grades: Iterable[Grade], delete_cost: float = 3.0, draw_cost: float = 7.0, default=0.25
) -> float:
    """Object score below which predictions are best hidden, from the graded objects.

    Showing an object that is wrong costs a deletion; hiding one that is right costs drawing
    it again. The threshold minimising the sum over the graded objects is returned (the
    model's default when nothing has been graded yet).

    Example:
        >>> g = Grade("v", 0.1, False, (0.9, 0.5, 0.1), (True, True, False), 2)
        >>> display_threshold([g])
        0.5
    """
    objs = sorted((s, h) for g in grades for s, h in zip(g.scores, g.hits))
    if not objs:
        return default
    # threshold at objs[i] hides objs[:i]: cost = hidden hits * draw + shown misses * delete
    shown_misses = sum(1 for _, h in objs if not h)
    hidden_hits = 0
    best_cost, best = shown_misses * delete_cost, objs[0][0]
    for i, (s, h) in enumerate(objs):
        # hide objs[i] too: the next candidate threshold is the next score up
        if h:
            hidden_hits += 1
        else:
            shown_misses -= 1
        cost = hidden_hits * draw_cost + shown_misses * delete_cost
        nxt = objs[i + 1][0] if i + 1 < len(objs) else min(1.0, s + 1e-6)
        if cost < best_cost:
            best_cost, best = cost, nxt
    return float(best)
