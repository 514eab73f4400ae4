"""A simulated annotator and label scoring, for benchmarks and tests of the loop.

The simulated annotator fixes a model's objects towards ground truth the way a person does
in the widget: delete false objects, move boxes that are off, relabel, draw what is missing,
then submit. Each action is journaled as its own human event with the seconds it would take,
so :func:`nblabel.loop.report.effort_report` sees the same log a real session leaves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..core.sources import HUMAN
from .report import EffortCosts
from .routing import match_boxes


@dataclass
class Fix:
    """What a person did to one image: the actions in order and the resulting objects."""

    actions: list[tuple[str, list[dict]]] = field(default_factory=list)
    final: list[dict] = field(default_factory=list)
    taken: int = 0  # faint suggestions kept instead of drawn

    @property
    def kinds(self) -> list[str]:
        return [k for k, _ in self.actions]


# A predicted box overlapping a true one at least this much is kept and fixed by the
# annotator (moved, relabelled) rather than deleted and drawn again.
KEEP_IOU = 0.3


def kept_matches(
    pred: Sequence[dict], truth: Sequence[dict], match_iou: float = KEEP_IOU
) -> list[tuple[int, int, float]]:
    """``(pred index, truth index, IoU)`` of the predicted boxes a person keeps and fixes.

    Matching is one to one and ignores labels (a wrong label is relabelled, not redrawn).

    Example:
        >>> p = [{"label": "dog", "bbox": [0, 0, 10, 10]}, {"label": "cat", "bbox": [50, 50, 52, 52]}]
        >>> [(i, j) for i, j, _ in kept_matches(p, [{"label": "cat", "bbox": [1, 0, 10, 10]}])]
        [(0, 0)]
    """
    return match_boxes(pred, truth, min_iou=match_iou, same_label=False)


def _human(rec: dict) -> dict:
    return {"label": rec["label"], "bbox": list(rec["bbox"]), "source": HUMAN}


def plan_fix(
    pred: Sequence[dict],
    truth: Sequence[dict],
    *,
    move_below: float = 0.9,
    match_iou: float = KEEP_IOU,
    shown_from: float = 0.0,
) -> Fix:
    """The actions that turn ``pred`` into ``truth``.

    Predictions scored at least ``shown_from`` (and unscored ones) are labels on screen: one
    overlapping a true object by at least ``match_iou`` is kept and fixed (moved when its
    IoU is below ``move_below``, relabelled when the label differs), the others deleted.
    Those under it are the Annotator's faint suggestions: one that overlaps a true object no
    label covers is taken (dragged into place, or accepted where it already fits), the rest
    are ignored and left out on submit. True objects still uncovered are drawn.

    Example:
        >>> p = [{"label": "cat", "bbox": [0, 0, 10, 10], "score": 0.8}]
        >>> t = [{"label": "cat", "bbox": [0, 0, 10, 12]}, {"label": "cat", "bbox": [50, 50, 60, 60]}]
        >>> plan_fix(p, t).kinds
        ['moved', 'added']
        >>> faint = [{"label": "cat", "bbox": [50, 50, 60, 60], "score": 0.2},
        ...          {"label": "cat", "bbox": [80, 80, 90, 90], "score": 0.1}]
        >>> plan_fix(p + faint, t, shown_from=0.5).kinds  # one taken, one ignored
        ['moved', 'accepted']
    """
    labels = [r for r in pred if r.get("score") is None or r["score"] >= shown_from]
    faint = [r for r in pred if r.get("score") is not None and r["score"] < shown_from]
    matches = kept_matches(labels, truth, match_iou)
    by_pred = {i: (j, v) for i, j, v in matches}
    covered = {j for _, j, _ in matches}
    # suggestions only for the true objects no label covers (indices into ``truth``)
    rest = [j for j in range(len(truth)) if j not in covered]
    taken = [
        (faint[i], rest[j], v)
        for i, j, v in kept_matches(faint, [truth[j] for j in rest], match_iou)
    ]
    covered |= {j for _, j, _ in taken}
    fix = Fix(taken=len(taken))
    current = [_human(r) for r in labels]  # accepted objects become the person's own
    # deletions first (highest index first so positions stay valid)
    for i in sorted(set(range(len(labels))) - set(by_pred), reverse=True):
        del current[i]
        fix.actions.append(("deleted", [dict(r) for r in current]))

    def fit(pos: int, j: int, v: float, took: bool) -> None:
        if v < move_below:
            current[pos] = {**current[pos], "bbox": list(truth[j]["bbox"])}
            fix.actions.append(("moved", [dict(r) for r in current]))
        elif took:  # already in place: one click takes it
            fix.actions.append(("accepted", [dict(r) for r in current]))
        if current[pos]["label"] != truth[j]["label"]:
            current[pos] = {**current[pos], "label": truth[j]["label"]}
            fix.actions.append(("relabelled", [dict(r) for r in current]))

    for pos, i in enumerate(sorted(by_pred)):
        fit(pos, *by_pred[i], took=False)
    for r, j, v in taken:
        current.append(_human(r))
        fit(len(current) - 1, j, v, took=True)
    for j, t in enumerate(truth):
        if j not in covered:
            current.append(_human(t))
            fix.actions.append(("added", [dict(r) for r in current]))
    fix.final = current
    return fix


def apply_fix(ds, key, fix: Fix, costs: EffortCosts | None = None) -> float:
    """Journal ``fix`` on ``ds`` as a person's gestures, then verify the image.

    Every action is one human write that keeps the image's status (as the widget journals
    gestures); the last write is a submit (or an accept when nothing needed fixing) that marks
    the image ``verified``; that click costs an accept.

    Returns:
        The seconds the actions would take at ``costs``.
    """
    costs = costs or EffortCosts()
    status = ds.row(key)["status"]
    if status == "verified":
        status = "review"
    total = 0.0
    for kind, records in fix.actions:
        s = costs.seconds(kind)
        total += s
        ds.annotate(key, records, source=HUMAN, status=status, seconds=s, kind=kind)
    # the closing click: submit after fixing, accept when there was nothing to fix
    kind = "submit" if fix.actions else "accepted"
    s = costs.seconds(kind)
    total += s
    ds.annotate(key, fix.final, source=HUMAN, seconds=s, kind=kind, count_edit=not fix.actions)
    return total


def label_f1(labeled: Mapping, truth: Mapping, min_iou: float = 0.5) -> dict[str, float]:
    """Object precision, recall and F1 of ``{key: records}`` against ``{key: records}``.

    A labeled object is correct when it matches a true object of the same label with an IoU
    of at least ``min_iou`` (one to one). Keys missing from ``labeled`` count as unlabeled.

    Example:
        >>> t = {"a": [{"label": "cat", "bbox": [0, 0, 10, 10]}]}
        >>> label_f1(t, t)["f1"]
        1.0
    """
    tp = n_pred = n_true = 0
    for key, true_recs in truth.items():
        pred = labeled.get(key) or []
        n_true += len(true_recs)
        n_pred += len(pred)
        tp += len(match_boxes(pred, true_recs, min_iou=min_iou))
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_true if n_true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "tp": tp,
        "n_pred": n_pred,
        "n_true": n_true,
    }
