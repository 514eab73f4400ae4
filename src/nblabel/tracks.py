"""Tracks in a video dataset: objects that keep their identity across frames.

Every object of a video row (``Dataset.from_video``) may carry three extra record keys:

- ``track``: an integer id shared by the same object on every frame it appears on;
- ``keyframe``: true where a person placed the object (any object of a frame a person
  submitted counts as one: they saw it and let it stand);
- ``interpolated``: true where the object was computed from the keyframes around it.

The pieces:

- :func:`link_tracks` gives model output track ids. It is a small IoU tracker with a
  constant-velocity prediction (the motion model ByteTrack and SORT use, without their
  Kalman box state). It is written here rather than taken from ultralytics'
  ``model.track`` because that works only while an ultralytics model runs over the frames
  and needs the ``lap`` package (installed on first use, which fails offline), whereas the
  objects to link are already in the journal, from any model, a file or a person.
  Greedy best-IoU-first matching is exact enough for the few objects of a labelling clip
  and needs no assignment solver.
- :func:`annotate_frame` is how a person's correction lands: it writes the frame as
  verified (each object a keyframe of its track), ends a track whose object they deleted,
  and re-interpolates the frames between the corrected keyframe and its neighbours.
- :func:`interpolate_tracks` fills the frames between two keyframes of a track: boxes
  linearly (as CVAT does), keypoints through the Kalman/RTS smoother of
  :mod:`nblabel.models.smoothing` with the keyframes as fixed observations and the model's
  points in between as ordinary ones. Rows a person verified are never written.
- :func:`propagate` copies a frame's objects to the next frames (CVAT's "propagate").
- :func:`flag_points` sends a frame to review when a keypoint of the model disagrees with
  its smoothed track, naming the point.
- :func:`tracks_table` (``ds.tracks()``): one row per track with its frames.
- :func:`id_switches`: identity switches of predicted tracks against ground truth.

Example:
    ``ds`` holds the 60 frames of ``walk.mp4`` (``nbl.Dataset.from_video("walk.mp4",
    every=1)``) with a detector's boxes on every frame: one person walks right, another
    walks left and is hidden on frames 28 to 41.

    >>> link_tracks(ds)  # tracks afterwards: the hidden person comes back as a new one
    3
    >>> ds.tracks()[["track", "first", "last"]]
       track  first  last
    0      1      0    59
    1      2      0    27
    2      3     42    59
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from .core.edits import IMPORT
from .core.geometry import box_iou, greedy_match
from .core.skeletons import skeleton_for
from .core.sources import HUMAN
from .core.statuses import OPEN_STATUSES
from .core.tracking import INTERPOLATED, KEYFRAME, PROPAGATED, TRACK
from .records import iou

# On an interpolated object: what the model had found there (its box, points, score,
# source), kept so a later re-interpolation and the per-point review still see the video.
MEASURED = "measured"
FLAGGED_POINTS = "flagged_points"
INTERPOLATION_SOURCE = "interpolate"
PROPAGATION_SOURCE = "propagate"
# Rows the tracking functions may rewrite (OPEN_STATUSES); a verified row belongs to the person
# who checked it. The name MODEL_STATUSES is kept for code that imported it from here.
MODEL_STATUSES = OPEN_STATUSES


# -- the frames of a video dataset ----------------------------------------------------------
def video_frames(ds) -> list[tuple]:
    """``[(key, frame), ...]`` of a video dataset in frame order.

    Raises:
        ValueError: the dataset has no ``frame`` column (it was not made from a video).
    """
    df = ds.df
    if "frame" not in df.columns or not df["frame"].notna().any():
        raise ValueError(
            "tracks need video rows with a 'frame' column: build the dataset with "
            "nbl.Dataset.from_video(path, every=..., classes=[...])"
        )
    fr = df["frame"].dropna().astype(int).sort_values(kind="stable")
    return list(zip(fr.index, fr.tolist()))


def is_keyframe(rec: Mapping, row_source=None) -> bool:
    """An object a person placed: marked ``keyframe``, or human-made on a human row."""
    if rec.get(KEYFRAME):
        return True
    return rec.get("source") == HUMAN and row_source == HUMAN


def measurement(rec: Mapping) -> dict | None:
    """What a model found for this object on its frame: the record itself when a model made
    it, the kept ``measured`` record when it was interpolated, else ``None``."""
    if rec.get(INTERPOLATED):
        return rec.get(MEASURED)
    if rec.get(PROPAGATED) or rec.get(KEYFRAME) or rec.get("source") == HUMAN:
        return None
    return {k: rec.get(k) for k in ("bbox", "keypoints", "score", "source")}


def _next_id(ds) -> int:
    ids = [
        a[TRACK]
        for anns in ds.df["annotations"]
        for a in anns or []
        if isinstance(a.get(TRACK), int)
    ]
    return max(ids, default=0) + 1


def _row_options(ds, key, kind: str) -> dict:
    """Write options that keep a row's status and source while changing its objects."""
    status = ds.df.at[key, "status"]
    source = ds.df.at[key, "source"] or HUMAN
    return {
        "source": source,
        "status": "unlabeled" if status == "unlabeled" else status,
        "kind": kind,
        "count_edit": False,
        "confidence": ds.df.at[key, "confidence"] if source != HUMAN else None,
    }


# -- linking --------------------------------------------------------------------------------
def link(
    frames: Sequence[Sequence[Mapping]],
    *,
    iou_threshold: float = 0.3,
    max_gap: int = 10,
    start_id: int = 1,
    times: Sequence[int] | None = None,
) -> list[list[int]]:
    """Track ids for the objects of consecutive frames (a pure function, no Dataset).

    Each track keeps its box centre, size and velocity, smoothed over its sightings
    (half the weight on the newest), and predicts its box on the next frame by moving the
    centre on at that velocity, so two objects that cross, or one hidden for a few frames,
    are found where they should be. Tracks seen on the latest frames choose first (a
    track lost behind another object must not take that object's box), then objects take
    the track whose prediction overlaps them most, best pair first, same label only. An object that overlaps no prediction by
    ``iou_threshold`` starts a new track; a track unseen for more than ``max_gap`` frames
    ends. Objects that already carry a ``track`` keep it and feed their track's motion.

    Args:
        frames: per frame, the records on it (``label`` and ``bbox`` are used).
        iou_threshold: least IoU between prediction and object to continue a track.
        max_gap: frames a track may go unseen (occlusion, a missed detection) and resume.
        start_id: first id given to a new track.
        times: frame numbers of ``frames`` (default 0, 1, 2 ...), for gaps and velocity.

    Returns:
        Per frame, the track id of each record, in order.

    Example:
        >>> f = [[{"label": "a", "bbox": [0, 0, 10, 10]}, {"label": "a", "bbox": [50, 0, 60, 10]}],
        ...      [{"label": "a", "bbox": [52, 0, 62, 10]}, {"label": "a", "bbox": [2, 0, 12, 10]}]]
        >>> link(f)
        [[1, 2], [2, 1]]
    """
    times = list(range(len(frames))) if times is None else [int(t) for t in times]
    state: dict[int, _Motion] = {}
    next_id = int(start_id)
    for recs in frames:
        for r in recs:
            if isinstance(r.get(TRACK), int):
                next_id = max(next_id, r[TRACK] + 1)
    out: list[list[int]] = []
    for t, recs in zip(times, frames):
        ids: list[int | None] = [
            r.get(TRACK) if isinstance(r.get(TRACK), int) else None for r in recs
        ]
        alive = [j for j, m in state.items() if t - m.t <= max_gap + 1]
        taken = {i for i in ids if i is not None}
        pairs = []
        overlap = box_iou([r["bbox"] for r in recs], [state[j].predict(t) for j in alive])
        for d, r in enumerate(recs):
            if ids[d] is not None:
                continue
            for c, j in enumerate(alive):
                if j in taken or state[j].label != r["label"]:
                    continue
                v = float(overlap[d, c])
                if v >= iou_threshold:
                    pairs.append((t - state[j].t, -v, d, j))
        # DeepSORT's matching cascade: tracks seen most recently choose first, so a track
        # lost behind another object cannot take the visible object's box.
        for _, _, d, j in sorted(pairs):
            if ids[d] is None and j not in taken:
                ids[d] = j
                taken.add(j)
        for d, r in enumerate(recs):
            if ids[d] is None:
                ids[d] = next_id
                next_id += 1
            j = ids[d]
            if j in state:
                state[j].update(t, r["bbox"])
            else:
                state[j] = _Motion(t, r["bbox"], r["label"])
        out.append([int(i) for i in ids])
    return out


class _Motion:
    """A track's smoothed box centre, size and centre velocity (pixels per frame)."""

    WEIGHT = 0.5  # of the newest sighting; one bad box moves the track only half way

    def __init__(self, t: int, box, label: str):
        x1, y1, x2, y2 = (float(v) for v in box)
        self.t, self.label = t, label
        self.c = np.array([(x1 + x2) / 2, (y1 + y2) / 2])
        self.size = np.array([x2 - x1, y2 - y1])
        self.v: np.ndarray | None = None

    def predict(self, t: int) -> list[float]:
        c = self.c if self.v is None else self.c + (t - self.t) * self.v
        h = self.size / 2
        return [c[0] - h[0], c[1] - h[1], c[0] + h[0], c[1] + h[1]]

    def update(self, t: int, box) -> None:
        x1, y1, x2, y2 = (float(v) for v in box)
        c = np.array([(x1 + x2) / 2, (y1 + y2) / 2])
        size = np.array([x2 - x1, y2 - y1])
        w = self.WEIGHT
        # velocity seen over the gap since the last sighting, against the predicted centre
        seen = (c - self.c) / max(t - self.t, 1)
        if self.v is None:  # second sighting: the first velocity there is
            self.v, self.c = seen, c
        else:
            pred = self.c + (t - self.t) * self.v
            self.v = (1 - w) * self.v + w * seen
            self.c = (1 - w) * pred + w * c
        self.size = (1 - w) * self.size + w * size
        self.t = t


def link_tracks(
    ds, *, iou_threshold: float = 0.3, max_gap: int = 10, labels: Iterable[str] | None = None
) -> int:
    """Give every object of a video dataset a ``track`` id (those that have one keep it).

    Linking runs over the frames in order with :func:`link`; rows keep their status and
    source (only the ``track`` keys change), in one journaled transaction.

    Args:
        ds: a video :class:`nblabel.Dataset`.
        iou_threshold: least IoU between a track's predicted box and an object.
        max_gap: kept frames a track may be unseen and still resume.
        labels: only link objects with these labels (others are left as they are).

    Returns:
        The number of tracks in the dataset afterwards.

    Example:
        >>> link_tracks(ds)
        3
    """
    order = video_frames(ds)
    wanted = set(labels) if labels is not None else None
    picked, frames = [], []
    for key, _ in order:
        anns = ds.df.at[key, "annotations"] or []
        idx = [i for i, a in enumerate(anns) if wanted is None or a["label"] in wanted]
        picked.append(idx)
        frames.append([anns[i] for i in idx])
    ids = link(
        frames,
        iou_threshold=iou_threshold,
        max_gap=max_gap,
        start_id=_next_id(ds),
        times=[f for _, f in order],
    )
    writes = []
    for (key, _), idx, got in zip(order, picked, ids):
        anns = [dict(a) for a in ds.df.at[key, "annotations"] or []]
        changed = False
        for i, tid in zip(idx, got):
            if anns[i].get(TRACK) != tid:
                anns[i][TRACK] = tid
                changed = True
        if changed:
            writes.append((key, anns, _row_options(ds, key, "track")))
    if writes:
        ds.annotate_many(writes)
    return len(tracks_table(ds))


# -- reading tracks -------------------------------------------------------------------------
def track_objects(ds) -> dict[int, list[tuple]]:
    """``{track: [(frame, key, index, record), ...]}`` in frame order."""
    out: dict[int, list[tuple]] = {}
    for key, frame in video_frames(ds):
        for i, a in enumerate(ds.df.at[key, "annotations"] or []):
            if isinstance(a.get(TRACK), int):
                out.setdefault(a[TRACK], []).append((frame, key, i, a))
    return out


def tracks_table(ds):
    """One row per track: ``track``, ``label``, ``first``, ``last``, ``n_frames``, ``frames``,
    ``keys``, ``keyframes`` (frames a person placed it on) and ``interpolated`` (count).

    Example:
        >>> row = ds.tracks().loc[0]
        >>> int(row["track"]), row["label"], int(row["first"]), int(row["last"])
        (1, 'person', 0, 59)
    """
    import pandas as pd

    cols = ["track", "label", "first", "last", "n_frames", "frames", "keys", "keyframes"]
    cols.append("interpolated")
    rows = []
    sources = ds.df["source"].to_dict()
    for tid, objs in sorted(track_objects(ds).items()):
        frames = [f for f, _, _, _ in objs]
        rows.append(
            {
                "track": tid,
                "label": objs[0][3]["label"],
                "first": frames[0],
                "last": frames[-1],
                "n_frames": len(frames),
                "frames": frames,
                "keys": [k for _, k, _, _ in objs],
                "keyframes": [f for f, k, _, a in objs if is_keyframe(a, sources.get(k))],
                "interpolated": sum(bool(a.get(INTERPOLATED)) for _, _, _, a in objs),
            }
        )
    return pd.DataFrame(rows, columns=cols)


# -- a person's correction ------------------------------------------------------------------
def annotate_frame(
    ds,
    key,
    records: Sequence[dict],
    *,
    seconds: float = 0.0,
    end_deleted: bool = True,
    **options,
) -> dict:
    """Write a person's objects for one video frame and carry the change along the track.

    Every object becomes a keyframe of its track: a new object takes the id of the object
    it replaces on this frame (best IoU) or a new id. A track whose object the person
    deleted ends here: its model-made objects on the following frames, up to its next
    keyframe, are removed. Then the frames between each touched keyframe and the
    keyframes before and after it are interpolated again.

    Args:
        ds: a video :class:`nblabel.Dataset`.
        key: the frame's row.
        records: the objects as the person left them (``track`` ids kept from the row).
        seconds: time spent, added to the row.
        end_deleted: end the tracks whose object was deleted (``False`` only removes it).
        **options: passed to ``ds.annotate`` (``status``, ``kind``, ``count_edit``).

    Returns:
        ``{"tracks": [ids on the frame], "ended": [ids], "interpolated": rows rewritten}``.

    Example:
        >>> box = [200, 100, 260, 250]  # where person 1 really is on frame 30
        >>> annotate_frame(ds, "walk-000030", [{"label": "person", "bbox": box, "track": 1}])
        {'tracks': [1], 'ended': [], 'interpolated': 0}
    """
    order = video_frames(ds)
    frames = dict(order)
    if key not in frames:
        raise KeyError(f"{key!r} is not a frame of this video dataset")
    before = [a for a in ds.df.at[key, "annotations"] or [] if isinstance(a.get(TRACK), int)]
    recs = [dict(r) for r in records]
    used = {r[TRACK] for r in recs if isinstance(r.get(TRACK), int)}
    next_id = _next_id(ds)
    nearby = _nearby_sightings(ds, order, key, skip={b[TRACK] for b in before})
    for r in recs:
        if isinstance(r.get(TRACK), int):
            continue
        # the object it replaces on this frame, else a track seen close by (a person
        # drawing someone the model lost for a few frames continues that person's track)
        for pool in (before, nearby):
            best = max(
                (b for b in pool if b[TRACK] not in used and b["label"] == r.get("label")),
                key=lambda b: iou(b["bbox"], r["bbox"]) if r.get("bbox") else 0.0,
                default=None,
            )
            if best is not None and r.get("bbox") and iou(best["bbox"], r["bbox"]) > 0.3:
                r[TRACK] = best[TRACK]
                break
        else:
            r[TRACK] = next_id
            next_id += 1
        used.add(r[TRACK])
    for r in recs:
        r[KEYFRAME] = True
        r.pop(INTERPOLATED, None)
        r.pop(PROPAGATED, None)
        r.pop(FLAGGED_POINTS, None)
        r["source"] = HUMAN
    ds.annotate(key, recs, seconds=seconds, **options)
    ended = sorted({b[TRACK] for b in before} - used)
    if end_deleted:
        for tid in ended:
            end_track(ds, tid, key)
    rewritten = interpolate_tracks(ds, tracks=sorted(used | set(ended)))
    return {"tracks": sorted(used), "ended": ended, "interpolated": rewritten}


def _nearby_sightings(ds, order, key, skip, max_gap: int = 10) -> list[dict]:
    """Each track's object on the frame nearest to ``key`` (at most ``max_gap`` frames away)
    among the tracks not on ``key`` itself."""
    index = {k: i for i, (k, _) in enumerate(order)}[key]
    found: dict[int, tuple[int, dict]] = {}
    lo, hi = max(0, index - max_gap), min(len(order), index + max_gap + 1)
    for i in range(lo, hi):
        if i == index:
            continue
        for a in ds.df.at[order[i][0], "annotations"] or []:
            tid = a.get(TRACK)
            if isinstance(tid, int) and tid not in skip:
                d = abs(i - index)
                if tid not in found or d < found[tid][0]:
                    found[tid] = (d, a)
    return [a for _, a in found.values()]


def merge_tracks(ds, keep: int, other: int) -> int:
    """Make track ``other`` part of track ``keep`` (the same object, split where a model
    lost it), then interpolate ``keep`` again. Returns the rows changed.

    Raises:
        ValueError: both tracks are on one frame (delete one of them there first).

    Example:
        >>> merge_tracks(ds, 2, 3)  # person 2, lost on frames 28 to 41, came back as 3
        18
    """
    keep, other = int(keep), int(other)
    by_track = track_objects(ds)
    if other not in by_track or keep == other:
        return 0
    both = {k for _, k, _, _ in by_track.get(keep, [])} & {k for _, k, _, _ in by_track[other]}
    if both:
        frame = min(dict(video_frames(ds))[k] for k in both)
        raise ValueError(
            f"tracks {keep} and {other} are both on frame {frame}: delete one of them there "
            "before merging"
        )
    writes = []
    for _, k, _, _ in by_track[other]:
        anns = [
            dict(a, **{TRACK: keep}) if a.get(TRACK) == other else a
            for a in ds.df.at[k, "annotations"] or []
        ]
        writes.append((k, anns, _row_options(ds, k, "merge-tracks")))
    ds.annotate_many(writes)
    interpolate_tracks(ds, tracks=[keep])
    return len(writes)


def end_track(ds, track: int, key) -> int:
    """End ``track`` at frame ``key``: drop its model-made objects from there to its next
    keyframe (exclusive). Verified rows are left alone. Returns the rows changed.

    Example:
        >>> end_track(ds, 1, "walk-000050")
        10
    """
    order = video_frames(ds)
    start = dict(order)[key]
    sources = ds.df["source"].to_dict()
    writes = []
    for k, f in order:
        if f < start:
            continue
        anns = ds.df.at[k, "annotations"] or []
        mine = [a for a in anns if a.get(TRACK) == track]
        if f > start and any(is_keyframe(a, sources.get(k)) for a in mine):
            break
        if not mine or ds.df.at[k, "status"] not in OPEN_STATUSES:
            continue
        keep = [a for a in anns if a.get(TRACK) != track]
        writes.append((k, keep, _row_options(ds, k, "end-track")))
    if writes:
        ds.annotate_many(writes)
    return len(writes)


# -- interpolation --------------------------------------------------------------------------
def interpolate_tracks(
    ds, tracks: Iterable[int] | None = None, *, fps: float | None = None, **smoother
) -> int:
    """Fill the frames between consecutive keyframes of each track.

    Boxes move linearly from one keyframe to the next. Keypoints go through
    :func:`nblabel.models.smoothing.smooth_keypoints` with the keyframes as fixed
    observations; the model's points in between (when the row has the track's object)
    are ordinary measurements, so the path follows the video between corrections and
    meets every correction exactly. Interpolated objects carry ``interpolated: True``, the
    source ``"interpolate"`` and the lower score of their two keyframes (``None`` for a
    person's). A track is not interpolated across a frame a person verified without it (it
    was outside the picture there), and verified rows are never written.

    Args:
        ds: a video :class:`nblabel.Dataset`.
        tracks: track ids to redo (default all).
        fps: frames per second for the smoother's units (default 30).
        **smoother: passed to :func:`smooth_keypoints` (``measurement_noise`` ...).

    Returns:
        The number of rows written.

    Example:
        >>> for key in ("walk-000010", "walk-000020"):  # a person confirms both frames
        ...     _ = annotate_frame(ds, key, ds.row(key)["annotations"])
        >>> interpolate_tracks(ds, tracks=[1])
        9
    """
    order = video_frames(ds)
    index_of = {k: i for i, (k, _) in enumerate(order)}
    status = ds.df["status"].to_dict()
    sources = ds.df["source"].to_dict()
    by_track = track_objects(ds)
    wanted = set(by_track) if tracks is None else {int(t) for t in tracks}
    new_objects: dict = {}  # key -> {track: record}
    for tid in sorted(wanted & set(by_track)):
        objs = by_track[tid]
        keys = [(i, k, a) for f, k, i, a in objs if is_keyframe(a, sources.get(k))]
        present = {k: a for _, k, _, a in objs}
        for (_, k0, a0), (_, k1, a1) in zip(keys, keys[1:]):
            i0, i1 = index_of[k0], index_of[k1]
            between = order[i0 + 1 : i1]
            if not between:
                continue
            if any(status[k] == "verified" and k not in present for k, _ in between):
                continue  # a person saw a frame in between without it: the track left
            f0, f1 = order[i0][1], order[i1][1]
            kps = _keypoint_path(order[i0 : i1 + 1], a0, a1, present, fps, smoother)
            scores = [s for s in (a0.get("score"), a1.get("score")) if s is not None]
            for n, (k, f) in enumerate(between, start=1):
                if status[k] not in OPEN_STATUSES:
                    continue
                w = (f - f0) / (f1 - f0)
                rec = {
                    "label": a0["label"],
                    "bbox": [(1 - w) * p + w * q for p, q in zip(a0["bbox"], a1["bbox"])],
                    "points": None,
                    "keypoints": kps[n] if kps is not None else None,
                    "score": min(scores) if scores else None,
                    "source": INTERPOLATION_SOURCE,
                    TRACK: tid,
                    INTERPOLATED: True,
                }
                seen = measurement(present[k]) if k in present else None
                if seen is not None:
                    rec[MEASURED] = seen
                new_objects.setdefault(k, {})[tid] = rec
    writes = []
    for k, recs in new_objects.items():
        anns = [a for a in ds.df.at[k, "annotations"] or [] if a.get(TRACK) not in recs]
        anns += list(recs.values())
        opt = _row_options(ds, k, "interpolate")
        opt["source"] = INTERPOLATION_SOURCE
        opt["confidence"] = None
        if status[k] == "unlabeled":
            opt["status"] = "predicted"
        writes.append((k, anns, opt))
    if writes:
        ds.annotate_many(writes)
    return len(writes)


def _keypoint_path(span, a0, a1, present, fps, smoother) -> list | None:
    """Keypoints on every frame of ``span`` (keyframe to keyframe), or ``None`` for boxes."""
    from .models.smoothing import smooth_keypoints

    k0, k1 = a0.get("keypoints"), a1.get("keypoints")
    if not k0 or not k1 or len(k0) != len(k1):
        return None
    T, K = len(span), len(k0)
    arr = np.full((T, K, 3), np.nan)
    arr[:, :, 2] = 0.0
    fixed = np.zeros((T, K), bool)
    for n, (k, _) in enumerate(span):
        a = a0 if n == 0 else a1 if n == T - 1 else measurement(present.get(k) or {})
        if not a or not a.get("keypoints") or len(a["keypoints"]) != K:
            continue  # no model points here (earlier interpolation is not evidence)
        arr[n] = [[p[0], p[1], p[2] if len(p) > 2 else 2] for p in a["keypoints"]]
        if n in (0, T - 1):
            fixed[n] = arr[n, :, 2] > 0
    smoothed, _ = smooth_keypoints(
        arr, fps=fps or 30.0, max_gap=T, fixed=fixed, fill_value=2.0, **smoother
    )
    out = []
    for n in range(T):
        row = []
        for j in range(K):
            x, y, _v = smoothed[n, j]
            seen = k0[j][2] if len(k0[j]) > 2 else 2
            if np.isfinite(x) and np.isfinite(y):
                row.append([round(float(x), 3), round(float(y), 3), int(seen) or 1])
            else:
                row.append([0.0, 0.0, 0])
        out.append(row)
    return out


# -- propagation ----------------------------------------------------------------------------
def propagate(ds, key, n: int, tracks: Iterable[int] | None = None) -> int:
    """Copy the objects of frame ``key`` unchanged onto the next ``n`` frames.

    For a static or slowly moving object this saves drawing it again; a later correction
    on one of those frames becomes a keyframe and the frames in between are interpolated.
    Copies carry ``propagated: True`` and replace the same track's model-made object; verified
    rows and frames at or past the track's next keyframe are left as they are. Objects
    without a track id are given one first.

    Returns:
        The number of rows written.

    Example:
        >>> propagate(ds, "walk-000010", 5)
        5
    """
    n = int(n)
    if n < 1:
        raise ValueError(f"n must be a positive number of frames, got {n!r}")
    order = video_frames(ds)
    index_of = {k: i for i, (k, _) in enumerate(order)}
    if key not in index_of:
        raise KeyError(f"{key!r} is not a frame of this video dataset")
    anns = ds.df.at[key, "annotations"] or []
    if any(not isinstance(a.get(TRACK), int) for a in anns):
        link_tracks(ds)
        anns = ds.df.at[key, "annotations"] or []
    wanted = None if tracks is None else {int(t) for t in tracks}
    src = [a for a in anns if wanted is None or a[TRACK] in wanted]
    sources = ds.df["source"].to_dict()
    stopped: set[int] = set()
    writes = []
    for k, _ in order[index_of[key] + 1 : index_of[key] + 1 + n]:
        row = ds.df.at[k, "annotations"] or []
        for a in row:
            if a.get(TRACK) in {s[TRACK] for s in src} and is_keyframe(a, sources.get(k)):
                stopped.add(a[TRACK])
        if ds.df.at[k, "status"] not in OPEN_STATUSES:
            continue
        copies = {a[TRACK]: a for a in src if a[TRACK] not in stopped}
        if not copies:
            break
        keep = [a for a in row if a.get(TRACK) not in copies]
        new = [
            {
                **{c: v for c, v in a.items() if c not in (KEYFRAME, INTERPOLATED)},
                "source": PROPAGATION_SOURCE,
                PROPAGATED: True,
            }
            for a in copies.values()
        ]
        opt = _row_options(ds, k, "propagate")
        opt.update(source=PROPAGATION_SOURCE, confidence=None)
        if opt["status"] == "unlabeled":
            opt["status"] = "predicted"
        writes.append((k, keep + new, opt))
    if writes:
        ds.annotate_many(writes)
    return len(writes)


# -- routing per point ----------------------------------------------------------------------
def flag_points(
    ds,
    *,
    threshold: float = 8.0,
    min_score: float | None = None,
    fps: float | None = None,
    review: bool = True,
    **smoother,
):
    """Send frames to review where a model keypoint disagrees with its smoothed track.

    Each track's keypoints (the model's, with keyframes fixed) are smoothed with
    :func:`smooth_keypoints`; a point whose model position is more than ``threshold``
    pixels from the smoothed one, that the smoother flags as a jump, or whose
    ``keypoint_scores`` entry is below ``min_score``, is named in the object's
    ``flagged_points`` (keypoint names from the skeleton when one fits, else ``"point 3"``)
    and its row goes to review. A person then fixes one point on one frame.

    Returns:
        A DataFrame, one row per flagged point: ``key``, ``frame``, ``track``, ``point``,
        ``distance`` (pixels), ``reason``.

    Example:
        On the frames of a pose model's keypoints (running one is too slow for the
        examples, so this line does not run here; tests/test_tracks.py runs it):

        >>> flag_points(ds, threshold=6)[["frame", "track", "point"]]  # doctest: +SKIP
    """
    import pandas as pd

    from .models.smoothing import smooth_keypoints

    cols = ["key", "frame", "track", "point", "distance", "reason"]
    status = ds.df["status"].to_dict()
    sources = ds.df["source"].to_dict()
    found = []
    marks: dict = {}  # key -> {track: [names]}
    for tid, objs in sorted(track_objects(ds).items()):
        # the model's points where it had them, a person's where they placed them
        objs = [
            (f, k, i, a if is_keyframe(a, sources.get(k)) else measurement(a))
            for f, k, i, a in objs
        ]
        objs = [o for o in objs if o[3] and o[3].get("keypoints")]
        if len(objs) < 3:
            continue
        K = len(objs[0][3]["keypoints"])
        objs = [o for o in objs if len(o[3]["keypoints"]) == K]
        f0 = objs[0][0]
        span = objs[-1][0] - f0
        step = int(np.gcd.reduce([o[0] - f0 for o in objs[1:]])) or 1
        T = span // step + 1
        arr = np.full((T, K, 3), np.nan)
        arr[:, :, 2] = 0.0
        fixed = np.zeros((T, K), bool)
        for f, k, _, a in objs:
            t = (f - f0) // step
            arr[t] = [[p[0], p[1], p[2] if len(p) > 2 else 2] for p in a["keypoints"]]
            if is_keyframe(a, sources.get(k)):
                fixed[t] = arr[t, :, 2] > 0
        smoothed, jumps = smooth_keypoints(
            arr, fps=(fps or 30.0) / step, fixed=fixed, max_gap=T, **smoother
        )
        sk = skeleton_for(K)
        names = list(sk.names) if sk is not None else [f"point {j}" for j in range(K)]
        for f, k, _, a in objs:
            if status.get(k) not in OPEN_STATUSES or fixed[(f - f0) // step].any():
                continue
            t = (f - f0) // step
            d = np.hypot(*(arr[t, :, :2] - smoothed[t, :, :2]).T)
            scores = a.get("keypoint_scores") or [None] * K
            for j in range(K):
                if arr[t, j, 2] <= 0:
                    continue
                reason = None
                if jumps[t, j]:
                    reason = "jumped"
                elif np.isfinite(d[j]) and d[j] > threshold:
                    reason = "off its track"
                elif min_score is not None and scores[j] is not None and scores[j] < min_score:
                    reason = "low score"
                if reason:
                    dist = round(float(d[j]), 2) if np.isfinite(d[j]) else None
                    found.append([k, f, tid, names[j], dist, reason])
                    marks.setdefault(k, {}).setdefault(tid, []).append(names[j])
    writes = []
    for k, per_track in marks.items():
        anns = []
        for a in ds.df.at[k, "annotations"] or []:
            a = dict(a)
            if a.get(TRACK) in per_track:
                a[FLAGGED_POINTS] = per_track[a[TRACK]]
            anns.append(a)
        opt = _row_options(ds, k, "flag-points")
        if review:
            opt["status"] = "review"
        writes.append((k, anns, opt))
    if writes:
        ds.annotate_many(writes)
    return pd.DataFrame(found, columns=cols)


# -- evaluation -----------------------------------------------------------------------------
def id_switches(
    predicted: Mapping[int, Sequence[tuple[int, Sequence[float]]]],
    truth: Mapping[int, Sequence[tuple[int, Sequence[float]]]],
    *,
    min_iou: float = 0.5,
) -> dict:
    """Identity switches of predicted tracks against ground truth (as MOT counts them).

    On every frame, truth and predicted boxes are matched one to one, best IoU first; a
    switch is a truth object matched to a different predicted id than the last time it was
    matched.

    Args:
        predicted: ``{frame: [(track_id, [x1, y1, x2, y2]), ...]}``.
        truth: the same for the true objects.
        min_iou: least IoU for a match.

    Returns:
        ``{"switches", "matches", "misses", "false_positives", "fragments"}``, fragments being
        the number of distinct predicted ids per true object, minus one, summed.

    Example:
        >>> truth = {0: [(1, [0, 0, 10, 10])], 1: [(1, [1, 0, 11, 10])]}
        >>> pred = {0: [(7, [0, 0, 10, 10])], 1: [(8, [1, 0, 11, 10])]}
        >>> id_switches(pred, truth)["switches"]
        1
    """
    last: dict[int, int] = {}
    seen: dict[int, set] = {}
    switches = matches = misses = fps_ = 0
    for f in sorted(set(predicted) | set(truth)):
        p, g = list(predicted.get(f, [])), list(truth.get(f, []))
        overlap = box_iou([gb for _, gb in g], [pb for _, pb in p])
        used_g, used_p = set(), set()
        for i, j in greedy_match(overlap, min_iou, ties="last"):
            used_g.add(i)
            used_p.add(j)
            gid, pid = g[i][0], p[j][0]
            matches += 1
            if gid in last and last[gid] != pid:
                switches += 1
            last[gid] = pid
            seen.setdefault(gid, set()).add(pid)
        misses += len(g) - len(used_g)
        fps_ += len(p) - len(used_p)
    return {
        "switches": switches,
        "matches": matches,
        "misses": misses,
        "false_positives": fps_,
        "fragments": sum(len(s) - 1 for s in seen.values()),
    }


def boxes_by_frame(ds) -> dict[int, list[tuple[int, list[float]]]]:
    """``{frame: [(track, bbox), ...]}`` of a video dataset, the input of :func:`id_switches`."""
    out: dict[int, list] = {}
    for key, frame in video_frames(ds):
        out[frame] = [
            (a[TRACK], list(a["bbox"]))
            for a in ds.df.at[key, "annotations"] or []
            if isinstance(a.get(TRACK), int)
        ]
    return out


# -- files ----------------------------------------------------------------------------------
FORMATS = ("mot", "cvat", "coco", "yolo")


def video_rows(ds, *, include_unlabeled: bool = False) -> list[dict]:
    """Export rows of a video dataset in frame order, with their ``frame`` (for writers)."""
    order = video_frames(ds)
    df = ds.df
    return [
        {
            "key": k,
            "image": df.at[k, "image"],
            "width": int(df.at[k, "width"]),
            "height": int(df.at[k, "height"]),
            "frame": int(f),
            "annotations": list(df.at[k, "annotations"] or []),
            "status": df.at[k, "status"],
        }
        for k, f in order
        if include_unlabeled or df.at[k, "status"] != "unlabeled"
    ]


def export_tracks(ds, path, format: str = "mot", **options):
    """Write a video dataset's tracks: ``"mot"`` (a folder with ``gt/gt.txt``), ``"cvat"``
    (CVAT for video 1.1 XML), ``"coco"`` (COCO video JSON) or ``"yolo"`` (a YOLO dataset,
    one label file per frame, track ids in its ``nblabel.json`` sidecar).

    Returns:
        The path written.

    Example:
        >>> export_tracks(ds, "export/annotations.xml", "cvat")
        PosixPath('export/annotations.xml')
    """
    fmt = _format(format)
    if fmt == "yolo":
        return ds.to_yolo(path, **options)
    rows = video_rows(ds)
    if fmt == "mot":
        from .formats.mot import write_mot

        return write_mot(rows, ds.classes, path)
    if fmt == "cvat":
        from .formats.cvat_video import write_cvat_video

        return write_cvat_video(rows, ds.classes, path)
    from .formats.coco_video import write_coco_video

    return write_coco_video(rows, ds.classes, path, **options)


def read_tracks(path, format: str) -> tuple[list[str], dict]:
    """``(classes, {frame: [records]})`` from a MOT, CVAT video or COCO video file, or
    ``(classes, {key: [records]})`` from a YOLO dataset (frames are matched by row key)."""
    fmt = _format(format)
    if fmt == "mot":
        from .formats.mot import read_mot

        return read_mot(path)
    if fmt == "cvat":
        from .formats.cvat_video import read_cvat_video

        return read_cvat_video(path)
    if fmt == "coco":
        from .formats.coco_video import read_coco_video

        return read_coco_video(path)
    from .formats.yolo import read_yolo

    classes, items = read_yolo(path)
    return classes, {item["key"]: item["annotations"] for item in items}


def import_tracks(ds, path, format: str) -> dict:
    """Put the tracks of a file onto the frames of a video dataset, by frame number.

    A frame whose objects are all keyframes becomes a person's (verified) row; one with
    interpolated objects keeps them as model-made, to check. Frames the dataset does not
    have (it kept every 5th frame, the file has all) are counted as ``skipped``.

    Returns:
        ``{"frames": rows written, "skipped": frames not in the dataset, "tracks": n}``.

    Example:
        >>> _ = export_tracks(ds, "annotations.xml", "cvat")  # or CVAT's own export
        >>> again = nbl.Dataset.from_video("walk.mp4", every=1, db="again.db", progress=False)
        >>> import_tracks(again, "annotations.xml", "cvat")
        {'frames': 60, 'skipped': 0, 'tracks': 3}
    """
    fmt = _format(format)
    classes, per = read_tracks(path, fmt)
    ds.add_classes(classes)
    order = video_frames(ds)
    # a YOLO dataset names its frames by file (the row key); the others number them
    index = {k: k for k, _ in order} if fmt == "yolo" else {f: k for k, f in order}
    writes, skipped, ids = [], 0, set()
    for where, recs in per.items():
        key = index.get(where)
        if key is None:
            skipped += 1
            continue
        ids.update(r["track"] for r in recs if r.get("track") is not None)
        human = all(is_keyframe(r, HUMAN) or r.get("source") == HUMAN for r in recs)
        source = HUMAN if human else f"{fmt}-import"
        writes.append((key, recs, {"source": source, "kind": IMPORT, "count_edit": False}))
    if writes:
        ds.annotate_many(writes)
    return {"frames": len(writes), "skipped": skipped, "tracks": len(ids)}


def _format(fmt: str) -> str:
    f = str(fmt).lower()
    if f not in FORMATS:
        raise ValueError(f"unknown track format {fmt!r}; use one of {list(FORMATS)}")
    return f


# -- what a frame strip shows ----------------------------------------------------------------
def is_video(ds) -> bool:
    """True for a dataset made from a video (rows with a ``frame`` column)."""
    df = ds.df
    return "frame" in df.columns and bool(df["frame"].notna().any())


def frame_marks(ds, *, jump_iou: float = 0.3) -> list[dict]:
    """One entry per frame, in frame order, for a frame strip: ``key``, ``frame``,
    ``status``, ``objects``, ``tracks`` (ids on it), ``flagged`` (names of flagged points)
    and ``jump`` (a track's box overlaps its box on the previous frame by less than
    ``jump_iou``: the model may have swapped two objects there).

    Example:
        >>> marks = frame_marks(ds)
        >>> marks[30]["tracks"], [m["frame"] for m in marks if m["jump"] or m["flagged"]]
        ([1], [])
    """
    out = []
    last: dict[int, list[float]] = {}
    for key, frame in video_frames(ds):
        anns = ds.df.at[key, "annotations"] or []
        flagged, jump, ids = [], False, []
        for a in anns:
            tid = a.get(TRACK)
            flagged += list(a.get(FLAGGED_POINTS) or [])
            if isinstance(tid, int):
                ids.append(tid)
                if tid in last and iou(last[tid], a["bbox"]) < jump_iou:
                    jump = True
                last[tid] = a["bbox"]
        out.append(
            {
                "key": key,
                "frame": int(frame),
                "status": ds.df.at[key, "status"],
                "objects": len(anns),
                "tracks": ids,
                "flagged": flagged,
                "jump": jump,
            }
        )
    return out
