"""Routing rules: auto only with evidence, review for empty / disagreeing / unsure images."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from nblabel.loop.routing import (
    REASON_DISAGREE,
    REASON_EMPTY,
    REASON_EVIDENCE,
    REASON_LOW,
    Evidence,
    disagree,
    estimate_precision,
    is_held_out,
    match_boxes,
    review_order,
    route,
)


def rec(label, box, score=None):
    return {"label": label, "bbox": list(box), "score": score}


CAT = rec("cat", [0, 0, 100, 100], 0.9)


def test_match_boxes_is_one_to_one_best_overlap_first():
    pred = [rec("cat", [0, 0, 100, 100]), rec("cat", [5, 0, 105, 100])]
    truth = [rec("cat", [4, 0, 104, 100])]
    # both predictions overlap the one true box; only the better one gets it
    assert [(i, j) for i, j, _ in match_boxes(pred, truth)] == [(1, 0)]
    assert match_boxes([rec("dog", [4, 0, 104, 100])], truth) == []
    assert len(match_boxes([rec("dog", [4, 0, 104, 100])], truth, same_label=False)) == 1
    assert match_boxes([rec("cat", [60, 0, 160, 100])], truth, min_iou=0.5) == []


@pytest.mark.parametrize(
    ("other", "expected"),
    [
        ([rec("cat", [2, 2, 100, 100])], False),  # same object, IoU ~0.96
        ([rec("dog", [0, 0, 100, 100])], True),  # class mismatch
        ([rec("cat", [50, 0, 150, 100])], True),  # IoU 1/3 < 0.5
        ([rec("cat", [0, 0, 100, 100]), rec("cat", [200, 200, 250, 250])], True),  # extra object
        ([], True),
    ],
)
def test_disagree(other, expected):
    assert disagree([CAT], other) is expected
    assert disagree(other, [CAT]) is expected


def test_estimate_precision_counts_only_objects_at_or_above_threshold():
    truth = [rec("cat", [0, 0, 100, 100])]
    pred = [
        rec("cat", [0, 0, 100, 100], 0.95),  # correct and confident
        rec("cat", [300, 300, 400, 400], 0.7),  # false positive above the threshold
        rec("cat", [500, 500, 600, 600], 0.2),  # false positive below it: never auto-accepted
    ]
    ev = estimate_precision([(pred, truth)], 0.5, min_images=1, target=0.9)
    assert (ev.n_images, ev.n_predicted, ev.n_correct) == (1, 2, 1)
    assert ev.precision == pytest.approx(0.5)
    assert not ev.enough  # 0.5 < 0.9
    ev = estimate_precision([(pred, truth)], 0.8, min_images=1, target=0.9)
    assert ev.precision == 1.0 and ev.enough


def test_evidence_needs_enough_images_and_a_precision():
    good = [([rec("cat", [0, 0, 9, 9], 0.9)], [rec("cat", [0, 0, 9, 9])])] * 19
    assert not estimate_precision(good, 0.5, min_images=20).enough  # one image short
    assert estimate_precision(good * 2, 0.5, min_images=20).enough
    # images where nothing scored above the threshold give no precision at all
    empty = [([rec("cat", [0, 0, 9, 9], 0.1)], [rec("cat", [0, 0, 9, 9])])] * 30
    ev = estimate_precision(empty, 0.5, min_images=20)
    assert ev.precision is None and not ev.enough


def test_route_rules():
    sure = Evidence(30, 30, 30, 1.0, 20, 0.9)
    unsure = Evidence(5, 5, 5, 1.0, 20, 0.9)
    low = [rec("cat", [0, 0, 100, 100], 0.9), rec("cat", [200, 0, 300, 100], 0.3)]
    assert route([CAT], 0.5, sure) == ("auto", None)
    assert route([CAT], 0.5, unsure) == ("review", REASON_EVIDENCE)
    assert route(low, 0.5, sure) == ("review", REASON_LOW)  # the least confident object decides
    assert route([], 0.5, sure) == ("review", REASON_EMPTY)
    assert route([CAT], 0.5, sure, other=[rec("dog", [0, 0, 100, 100])]) == (
        "review",
        REASON_DISAGREE,
    )
    assert route([CAT], 0.5, sure, other=[rec("cat", [1, 1, 100, 100])]) == ("auto", None)
    assert route([CAT], 0.9, True) == ("auto", None)  # at the threshold counts as confident
    assert route([CAT], 0.91, True) == ("review", REASON_LOW)


def test_review_order_hardest_first_nothing_found_first():
    df = pd.DataFrame(
        {
            "status": ["review", "auto", "review", "review", "verified", "review"],
            "confidence": [0.6, 0.99, math.nan, 0.3, math.nan, 0.3],
            "annotations": [[CAT], [CAT], [], [CAT], [CAT], [CAT]],
        },
        index=["a", "b", "c", "d", "e", "f"],
    )
    q = review_order(df, reasons={"a": REASON_EVIDENCE})
    assert list(q.index) == ["c", "d", "f", "a"]  # ties keep dataset order
    assert list(q["reason"]) == [REASON_EMPTY, REASON_LOW, REASON_LOW, REASON_EVIDENCE]


def test_held_out_split_is_stable_and_near_the_fraction():
    keys = [f"img-{i}" for i in range(2000)]
    held = [k for k in keys if is_held_out(k, 0.2)]
    assert 0.17 < len(held) / len(keys) < 0.23
    assert held == [k for k in keys if is_held_out(k, 0.2)]  # same answer every time
    # growing the share never moves a key from held-out back into training
    assert set(held) <= {k for k in keys if is_held_out(k, 0.3)}
    assert is_held_out(7, 0.5) == is_held_out(7, 0.5)
    assert not any(is_held_out(k, 0.0) for k in keys[:50])
