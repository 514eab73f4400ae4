"""What the model saved: human actions, time, image states and model versions.

Everything is computed from the dataset's event log (``ds.events()``) and its DataFrame, so
the report is the same after a restart. The effort estimate is a model of a labeler's time,
not a measurement, and says so in its ``note`` column: drawing a box costs 7 s, a correction
(move, resize, delete, relabel, reject) 3 s, an accept or submit click 1 s. Seconds the
widget actually recorded are reported next to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from ..core.edits import (
    ACCEPT_KINDS,
    CORRECTION_KINDS,
    DRAW_KINDS,
    PREDICT,
    UNITEMIZED_KINDS,
)
from ..core.palette import PALETTE, STATUS_COLORS
from ..core.sources import HUMAN
from ..core.statuses import VERIFIED

if TYPE_CHECKING:
    from .evidence import Guarantee


@dataclass(frozen=True)
class EffortCosts:
    """Seconds per human action in the effort estimate.

    Example:
        >>> EffortCosts().seconds("moved")
        3.0
    """

    box: float = 7.0
    correction: float = 3.0
    accept: float = 1.0

    def seconds(self, kind: str, n_objects: int = 0) -> float:
        """Estimated seconds for one action of ``kind``."""
        if kind in DRAW_KINDS:
            return self.box
        if kind in CORRECTION_KINDS:
            return self.correction
        if kind in ACCEPT_KINDS:
            return self.accept
        if kind in UNITEMIZED_KINDS:
            return self.box * max(int(n_objects or 0), 0)
        return 0.0

    def by_hand(self, n_objects: int, n_images: int) -> float:
        """Seconds to label without a model: draw every object, submit every image (the
        same submit click the loop's reviews cost, so both sides count it).

        Example:
            >>> EffortCosts().by_hand(n_objects=217, n_images=200)
            1719.0
        """
        return n_objects * self.box + n_images * self.accept

    def describe(self) -> str:
        return (
            f"model: box {self.box:g} s, correction {self.correction:g} s, accept {self.accept:g} s"
        )


def _n_objects(annotations) -> int:
    return len(annotations) if isinstance(annotations, list) else 0


def effort_report(
    events: pd.DataFrame,
    df: pd.DataFrame,
    costs: EffortCosts | None = None,
    guarantee: Guarantee | None = None,
):
    """A tidy summary of a labeling session.

    Args:
        events: ``ds.events()``.
        df: ``ds.df``.
        costs: Seconds per action for the estimate.
        guarantee: What the reviewed images prove (:meth:`AutoLabeler.guarantee`); adds
            a ``guarantee`` section: the expected wrong images among those auto-accepted
            and the bound on them, and each class's accept threshold.

    Returns:
        DataFrame indexed by ``(section, item)`` with columns ``count``, ``seconds`` and
        ``note``. Sections: ``actions`` (human actions by kind), ``images`` (per status, and
        how many a person touched), ``models`` (predictions written per model version, in
        order of first use), ``effort`` (by hand vs with the model, saved, measured).

    Example:
        >>> rep = effort_report(ds.events(), ds.df)
        >>> float(rep.loc[("effort", "saved"), "seconds"])
        24.0
    """
    costs = costs or EffortCosts()
    rows: list[tuple[str, str, float | None, float | None, str]] = []
    human = events[events["source"] == HUMAN] if len(events) else events

    # actions by kind
    est_total = 0.0
    n_actions = 0
    if len(human):
        for kind, grp in human.groupby("kind", sort=False):
            est = sum(costs.seconds(kind, n) for n in grp["n_objects"].fillna(0))
            est_total += est
            n_actions += len(grp)
            rows.append(
                (
                    "actions",
                    str(kind),
                    len(grp),
                    float(grp["seconds"].sum()),
                    f"estimated {est:g} s",
                )
            )

    # images by state
    statuses = df["status"].value_counts() if len(df) else pd.Series(dtype=int)
    for status in ("auto", "review", "verified", "predicted", "unlabeled"):
        rows.append(("images", status, int(statuses.get(status, 0)), None, ""))
    touched = human["key"].nunique() if len(human) else 0
    rows.append(("images", "touched by a person", int(touched), None, ""))

    # model versions over time
    preds = (
        events[(events["source"] != HUMAN) & (events["kind"] == PREDICT)] if len(events) else events
    )
    if len(preds):
        for version, grp in preds.groupby("source", sort=False):
            first, last = grp["ts"].min(), grp["ts"].max()
            rows.append(
                (
                    "models",
                    str(version),
                    len(grp),
                    None,
                    f"{first:%Y-%m-%d %H:%M:%S} to {last:%H:%M:%S}",
                )
            )

    # effort: by hand means drawing every object of every labeled image and submitting it
    labeled = df[df["status"].isin(["auto", "verified"])] if len(df) else df
    n_objects = int(sum(_n_objects(a) for a in labeled["annotations"])) if len(labeled) else 0
    by_hand = costs.by_hand(n_objects, len(labeled))
    rows.append(
        (
            "effort",
            "by hand",
            n_objects,
            by_hand,
            f"drawing all {n_objects} objects at {costs.box:g} s each and submitting "
            f"{len(labeled)} images at {costs.accept:g} s",
        )
    )
    rows.append(("effort", "with model", n_actions, est_total, costs.describe()))
    saved = by_hand - est_total
    share = f"{saved / by_hand:.0%} of by-hand time" if by_hand else "nothing labeled yet"
    rows.append(("effort", "saved", None, saved, share))
    measured = float(human["seconds"].sum()) if len(human) else 0.0
    rows.append(("effort", "measured", n_actions, measured, "seconds recorded while labeling"))

    if guarantee is not None:
        rows += _guarantee_rows(guarantee, int(statuses.get("auto", 0)))

    out = pd.DataFrame(rows, columns=["section", "item", "count", "seconds", "note"])
    out["count"] = out["count"].astype("Float64")
    out["seconds"] = out["seconds"].astype("Float64")
    return out.set_index(["section", "item"])


def _guarantee_rows(g: Guarantee, n_auto: int) -> list:
    expected, bound = g.expected_wrong(n_auto)
    conf = f"{g.confidence:.0%}"
    rows = [
        (
            "guarantee",
            "wrong among auto-accepted",
            round(expected, 1),
            None,
            f"expected among {n_auto}; at most {bound:.1f} at {conf} confidence "
            f"(target image accuracy {g.target:.0%}, from {g.n_graded} reviewed images)",
        )
    ]
    for label, e in g.by_class.items():
        note = (
            f"auto-accepted from image confidence {e.threshold:.2f}"
            if e.threshold is not None
            else "not proven yet: its images stay in review"
        )
        rows.append(("guarantee", f"class {label}", e.n, None, f"{note}; {e.right} right"))
    return rows


def plot_report(report: pd.DataFrame, events: pd.DataFrame, figsize=(10, 6.5)):
    """Draw the report as four small panels and return the matplotlib Figure.

    Panels: human actions by kind, images by state, effort by hand vs with the model, and
    verified images over time with the moments each model version started predicting.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=figsize)
    ax = axes[0, 0]
    acts = report.loc["actions"] if "actions" in report.index.get_level_values(0) else None
    if acts is not None and len(acts):
        ax.barh(list(acts.index), acts["count"].astype(float), color=PALETTE[0])
    ax.set_title("Human actions")
    ax.set_xlabel("count")

    ax = axes[0, 1]
    imgs = report.loc["images"]
    # each status in the colour the Annotator's badge gives it
    ax.bar(
        list(imgs.index),
        imgs["count"].astype(float),
        color=[STATUS_COLORS.get(s, PALETTE[9]) for s in imgs.index],
    )
    ax.set_title("Images")
    ax.tick_params(axis="x", labelrotation=30, labelsize=8)

    ax = axes[1, 0]
    eff = report.loc["effort"]
    items = ["by hand", "with model", "measured"]
    ax.bar(
        items,
        [float(eff.loc[i, "seconds"]) / 60 for i in items],
        color=[PALETTE[2], PALETTE[0], PALETTE[6]],
    )
    ax.set_title(f"Effort ({eff.loc['saved', 'note']} saved)", fontsize=10)
    ax.set_ylabel("minutes")

    ax = axes[1, 1]
    if len(events):
        human = events[(events["source"] == HUMAN) & (events["status"] == VERIFIED)]
        first = human.drop_duplicates("key").sort_values("ts")
        if len(first):
            ax.plot(
                first["ts"],
                range(1, len(first) + 1),
                drawstyle="steps-post",
                color=STATUS_COLORS[VERIFIED],
                label="verified images",
            )
        preds = events[(events["source"] != HUMAN) & (events["kind"] == PREDICT)]
        for _, ts in preds.groupby("source", sort=False)["ts"].min().items():
            ax.axvline(ts, color=PALETTE[1], linestyle=":", linewidth=1)
        if len(first):
            ax.legend(loc="upper left", fontsize=8)
    ax.set_title("Progress (dotted: new model version)", fontsize=10)
    ax.tick_params(axis="x", labelrotation=30, labelsize=7)
    fig.tight_layout()
    return fig
