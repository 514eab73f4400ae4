"""Temporal smoothing of keypoint tracks: a constant-velocity Kalman filter per keypoint.

Pose models label video frames one at a time, so their keypoints jitter from frame to frame
and drop out when a limb is blurred or hidden for a moment. Each keypoint is filtered as a
point moving at a slowly changing velocity; an RTS (Rauch-Tung-Striebel) smoother then runs
backwards so every frame uses the frames after it too, which removes the lag a causal filter
has. Short gaps are filled from the motion on both sides; long gaps end a track segment
rather than invent points.

A measurement far outside the filter's prediction (Mahalanobis distance beyond a chi-square
gate) is not averaged in: it is flagged. A one-frame glitch is replaced by the track's
estimate; a jump that persists (an identity swap when two hands cross, a different person)
starts a new segment at the jump, so the smoother never blends two different points.

Example:
    >>> import numpy as np
    >>> t = np.arange(60) / 30.0
    >>> truth = np.stack([100 + 40 * np.sin(t * 2), 80 + 20 * t], -1)[:, None, :]
    >>> noisy = truth + np.random.default_rng(0).normal(0, 3, truth.shape)
    >>> tracks = np.concatenate([noisy, np.full((60, 1, 1), 2.0)], -1)
    >>> smoothed, flags = smooth_keypoints(tracks, fps=30)
    >>> err = lambda a: np.sqrt(((a[:, :, :2] - truth) ** 2).sum(-1)).mean()
    >>> bool(err(smoothed) < 0.7 * err(tracks)), bool(flags.any())
    (True, False)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import reduce

import numpy as np

from ..core.geometry import box_iou, greedy_match
from ..core.statuses import MODEL_STATUSES
from ..records import bbox_of_points

# Chi-square quantile for 2 degrees of freedom at p = 0.999: a correct measurement lands
# outside the gate about once in a thousand frames.
GATE_999 = 13.815510557964274
# Tracking index (process-noise std x dt^2 / measurement-noise std) used when process_noise
# is not given: 0.7 follows fast limbs at 25-30 fps (few false jump flags) and still
# halves the jitter.
DEFAULT_TRACKING_INDEX = 0.7
SMOOTHED_SUFFIX = "+kalman"
# Standard deviation, in pixels, given to a point a person placed: small enough that the
# smoother passes through it, large enough to keep the covariance well conditioned.
FIXED_NOISE = 0.01


def smooth_keypoints(
    tracks,
    fps: float = 30.0,
    *,
    max_gap: int = 5,
    measurement_noise: float | None = None,
    process_noise: float | None = None,
    gate: float = GATE_999,
    min_conf: float = 0.0,
    fill_value: float = 1.0,
    smoother: bool = True,
    fixed=None,
) -> tuple[np.ndarray, np.ndarray]:
    """Smooth keypoint tracks over time, fill short gaps and flag jumps.

    Args:
        tracks: array-like ``(T, K, 3)``: ``T`` frames of ``K`` keypoints ``[x, y, c]`` where
            ``c`` is a confidence or a COCO visibility. A point is missing where ``x``/``y``
            is NaN or ``c <= min_conf`` (so ``v = 0`` is missing by default). A ``(T, K, 2)``
            array counts every finite point as measured.
        fps: frames per second of ``tracks``; sets the units of ``process_noise``.
        max_gap: fill gaps of at most this many frames; a longer gap ends the segment and
            its frames stay missing. Gaps before the first or after the last measurement are
            never filled (that would be extrapolation).
        measurement_noise: standard deviation of the jitter in pixels. ``None`` estimates it
            from the data (robustly, from second differences of consecutive points).
        process_noise: standard deviation of the acceleration in pixels/s^2. ``None`` sets it
            from ``measurement_noise`` and ``fps`` at a tracking index of 0.7.
        gate: squared Mahalanobis distance above which a measurement is a jump (flagged and
            not used); the default lets through 99.9% of correct measurements.
        min_conf: points with ``c <= min_conf`` are treated as missing.
        fill_value: ``c`` given to filled points (1: "labelled but not visible" in COCO).
        smoother: run the backward RTS pass (offline). ``False`` keeps the causal filter,
            e.g. for live use.
        fixed: optional ``(T, K)`` bool array: measurements a person placed (keyframes).
            They are trusted to a hundredth of a pixel and never gated, so the smoothed
            track passes through them and only the frames between them move.

    Returns:
        ``(smoothed, flags)``: ``smoothed`` has the shape ``(T, K, 3)`` of the input with
        smoothed positions where a track segment exists (measured ``c`` kept, filled points
        get ``fill_value``, missing ones are left as they came); ``flags`` is a ``(T, K)``
        bool array, true where a measurement jumped.

    Raises:
        ValueError: wrong shape, non-positive ``fps`` or noise, negative ``max_gap``.
    """
    arr = np.asarray(tracks, dtype=np.float64)
    if arr.ndim == 2 and arr.shape[1] in (2, 3):
        arr = arr[:, None, :]  # one keypoint, (T, 2|3)
    if arr.ndim != 3 or arr.shape[2] not in (2, 3):
        raise ValueError(
            f"tracks must have shape (frames, keypoints, 3) as [x, y, confidence], got {arr.shape}"
        )
    if arr.shape[2] == 2:
        arr = np.concatenate([arr, np.ones(arr.shape[:2] + (1,))], axis=2)
    if not (isinstance(fps, (int, float)) and math.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a positive number, got {fps!r}")
    if int(max_gap) != max_gap or max_gap < 0:
        raise ValueError(f"max_gap must be a non-negative integer, got {max_gap!r}")
    for name, v in (("measurement_noise", measurement_noise), ("process_noise", process_noise)):
        if v is not None and not (math.isfinite(v) and v > 0):
            raise ValueError(f"{name} must be a positive number of pixels, got {v!r}")

    valid = np.isfinite(arr[:, :, 0]) & np.isfinite(arr[:, :, 1])
    conf = arr[:, :, 2]
    valid &= conf > min_conf  # False for NaN too: a NaN confidence means "missing"
    if fixed is None:
        fixed = np.zeros(arr.shape[:2], bool)
    else:
        fixed = np.asarray(fixed, bool)
        if fixed.shape != arr.shape[:2]:
            raise ValueError(f"fixed must have shape {arr.shape[:2]}, got {fixed.shape}")
        fixed = fixed & np.isfinite(arr[:, :, 0]) & np.isfinite(arr[:, :, 1])
        valid |= fixed

    sigma = float(measurement_noise) if measurement_noise else estimate_noise(arr, valid)
    dt = 1.0 / float(fps)
    if process_noise is None:
        process_noise = DEFAULT_TRACKING_INDEX * sigma / (dt * dt)
    model = _Model(dt, sigma * sigma, float(process_noise) ** 2, gate, smoother)

    out = arr.copy()
    flags = np.zeros(arr.shape[:2], bool)
    for k in range(arr.shape[1]):
        z = arr[:, k, :2]
        segs = _segments(z, valid[:, k], model, int(max_gap), flags[:, k], fixed[:, k])
        for seg in segs:
            t0, t1, pos, used = seg
            out[t0 : t1 + 1, k, :2] = pos
            filled = ~valid[t0 : t1 + 1, k]
            out[t0 : t1 + 1, k, 2] = np.where(filled, fill_value, arr[t0 : t1 + 1, k, 2])
    return out, flags


def estimate_noise(tracks: np.ndarray, valid: np.ndarray | None = None) -> float:
    """Robust jitter estimate in pixels from second differences of consecutive points.

    For a point moving smoothly, ``z[t+1] - 2 z[t] + z[t-1]`` is mostly noise with variance
    ``6 sigma^2``; the median absolute deviation keeps jumps from inflating it.
    """
    arr = np.asarray(tracks, dtype=np.float64)
    if valid is None:
        valid = np.isfinite(arr[:, :, 0]) & np.isfinite(arr[:, :, 1])
    ok = valid[2:] & valid[1:-1] & valid[:-2]
    d2 = arr[2:, :, :2] - 2 * arr[1:-1, :, :2] + arr[:-2, :, :2]
    samples = d2[ok].ravel()
    if samples.size < 8:
        return 2.0  # too little data to tell; a couple of pixels is typical of pose models
    mad = np.median(np.abs(samples - np.median(samples)))
    return float(max(0.5, 1.4826 * mad / math.sqrt(6.0)))


class _Model:
    """Constant-velocity model; x and y share one 2x2 covariance (same noise, same gaps)."""

    def __init__(self, dt: float, r: float, q: float, gate: float, smoother: bool):
        self.dt, self.r, self.gate, self.smoother = dt, r, gate, smoother
        # Discrete white-noise acceleration: Q = q * [[dt^4/4, dt^3/2], [dt^3/2, dt^2]].
        self.q00, self.q01, self.q11 = q * dt**4 / 4, q * dt**3 / 2, q * dt**2
        # Velocity is unknown at the start of a segment: allow fast motion (the second
        # measurement pins it down).
        self.v0 = (50.0 * math.sqrt(r) / dt) ** 2
        self.r_fixed = FIXED_NOISE**2


def _segments(z, valid, model: _Model, max_gap: int, flags, fixed):
    """Yield ``(t0, t1, positions (t1-t0+1, 2), accepted mask)`` for each track segment."""
    T = len(z)
    t = 0
    while t < T:
        if not valid[t]:
            t += 1
            continue
        seg = _filter(z, valid, t, model, max_gap, flags, fixed)
        t0, t1, restart = seg["t0"], seg["t1"], seg["restart"]
        positions = _rts(seg, model) if model.smoother else seg["mf"][:, :, 0]
        yield t0, t1, positions, seg["used"]
        t = restart if restart is not None else t1 + 1


def _filter(z, valid, t0: int, model: _Model, max_gap: int, flags, fixed) -> dict:
    """Forward Kalman filter from ``t0`` until a long gap or a confirmed jump."""
    dt, r = model.dt, model.r
    T = len(z)
    # State per axis: [position, velocity]; covariance shared by both axes.
    mx = [float(z[t0, 0]), 0.0]
    my = [float(z[t0, 1]), 0.0]
    p00, p01, p11 = (model.r_fixed if fixed[t0] else r), 0.0, model.v0
    mf, pf, mp, pp, used = [], [], [], [], []
    mf.append((mx[:], my[:]))
    pf.append((p00, p01, p11))
    mp.append((mx[:], my[:]))
    pp.append((p00, p01, p11))
    used.append(True)
    last = t0  # last frame with an accepted measurement
    rejected: list[int] = []
    restart = None
    t = t0 + 1
    while t < T:
        if t - last - 1 > max_gap:
            break  # too long without a usable measurement: the segment ends at `last`
        # predict one frame ahead
        mx = [mx[0] + dt * mx[1], mx[1]]
        my = [my[0] + dt * my[1], my[1]]
        p00, p01, p11 = (
            p00 + 2 * dt * p01 + dt * dt * p11 + model.q00,
            p01 + dt * p11 + model.q01,
            p11 + model.q11,
        )
        mp.append((mx[:], my[:]))
        pp.append((p00, p01, p11))
        accepted = False
        if valid[t]:
            s = p00 + (model.r_fixed if fixed[t] else r)
            nx, ny = z[t, 0] - mx[0], z[t, 1] - my[0]
            d2 = (nx * nx + ny * ny) / s
            if fixed[t] or d2 <= model.gate:
                k0, k1 = p00 / s, p01 / s
                mx = [mx[0] + k0 * nx, mx[1] + k1 * nx]
                my = [my[0] + k0 * ny, my[1] + k1 * ny]
                p00, p01, p11 = (1 - k0) * p00, (1 - k0) * p01, p11 - k1 * p01
                accepted = True
                last = t
                rejected.clear()
            else:
                flags[t] = True
                if rejected:
                    # A second rejected measurement nearer the first rejected one than the
                    # track's prediction: the point really moved (or another point took its
                    # place). End this segment and start a new one at the jump.
                    first = rejected[0]
                    jump = (z[t, 0] - z[first, 0]) ** 2 + (z[t, 1] - z[first, 1]) ** 2
                    if jump < nx * nx + ny * ny:
                        restart = first
                        for u in rejected[1:] + [t]:
                            flags[u] = False  # judged again inside the new segment
                        break
                rejected.append(t)
        mf.append((mx[:], my[:]))
        pf.append((p00, p01, p11))
        used.append(accepted)
        t += 1
    # The segment ends at its last accepted measurement: no extrapolation past it.
    n = last - t0 + 1
    return {
        "t0": t0,
        "t1": last,
        "restart": restart,
        "mf": np.asarray([[a, b] for a, b in mf[:n]]),
        "pf": pf[:n],
        "mp": np.asarray([[a, b] for a, b in mp[:n]]),
        "pp": pp[:n],
        "used": np.asarray(used[:n]),
    }


def _rts(seg: dict, model: _Model) -> np.ndarray:
    """Rauch-Tung-Striebel backward pass; returns smoothed positions ``(n, 2)``."""
    dt = model.dt
    mf, mp, pf, pp = seg["mf"], seg["mp"], seg["pf"], seg["pp"]
    n = len(mf)
    ms = mf.copy()  # (n, axis, [pos, vel])
    for t in range(n - 2, -1, -1):
        f00, f01, f11 = pf[t]
        a00, a01, a11 = pp[t + 1]
        # G = Pf F^T Pp^-1, with Pf F^T = [[f00 + dt f01, f01], [f01 + dt f11, f11]]
        b00, b01, b10, b11 = f00 + dt * f01, f01, f01 + dt * f11, f11
        det = a00 * a11 - a01 * a01
        i00, i01, i11 = a11 / det, -a01 / det, a00 / det
        g00, g01 = b00 * i00 + b01 * i01, b00 * i01 + b01 * i11
        g10, g11 = b10 * i00 + b11 * i01, b10 * i01 + b11 * i11
        d = ms[t + 1] - mp[t + 1]  # (axis, 2)
        ms[t, :, 0] += g00 * d[:, 0] + g01 * d[:, 1]
        ms[t, :, 1] += g10 * d[:, 0] + g11 * d[:, 1]
    return ms[:, :, 0]


# -- datasets -------------------------------------------------------------------------------
def smooth_dataset(
    ds,
    *,
    fps: float | None = None,
    max_gap: int = 5,
    iou_threshold: float = 0.3,
    labels: Sequence[str] | None = None,
    review: bool = True,
    **options,
):
    """Smooth the keypoints of a video dataset's model predictions, frame to frame.

    Rows are ordered by their ``frame`` column (added by ``Dataset.from_video``; without it,
    by row order). Objects with keypoints are linked across frames into tracks by box IoU
    (same label, same number of keypoints), each track is smoothed with
    :func:`smooth_keypoints`, and the result is written back in one journaled transaction:

    - only rows a model wrote (status ``predicted``, ``auto`` or ``review``) change; human
      (``verified``) rows take part as measurements and stay as they are;
    - smoothed objects keep their label, box and score; their ``source`` gains ``"+kalman"``;
    - an object a track misses for at most ``max_gap`` frames is added to those rows with a
      box interpolated from its neighbours, its lower score, and ``"interpolated": True``;
    - rows with a flagged (jumping) keypoint get status ``review`` when ``review`` is true;
    - every smoothed object stores its ``track`` id (see :mod:`nblabel.tracks`); when all
      objects already carry one, those ids link the frames instead of box IoU.

    Args:
        ds: a :class:`nblabel.Dataset`.
        fps: frames per second of the kept frames; default from the ``timestamp`` column
            (else 30). It only sets the units of ``process_noise``.
        max_gap: longest gap, in kept frames, that is filled.
        iou_threshold: least box IoU for an object to continue a track.
        labels: only objects with these labels (default: all with keypoints).
        review: send rows with flagged points to review.
        **options: passed to :func:`smooth_keypoints` (``measurement_noise``, ``gate`` ...).

    Returns:
        A DataFrame with one row per changed image: ``key``, ``frame``, ``objects``,
        ``filled`` (points filled in), ``flagged`` (jumping points), ``status``.

    Example:
        A pose model's keypoints on every frame are needed, and running one takes longer
        than an example should, so these lines do not run here (tests/test_smoothing.py
        smooths real keypoint tracks):

        >>> ds = nbl.Dataset.from_video("walk.mp4", every=2, db="walk.db")  # doctest: +SKIP
        >>> labeler.autolabel()  # a pose model writes keypoints  # doctest: +SKIP
        >>> smooth_dataset(ds).flagged.sum()  # doctest: +SKIP
        3
    """
    import pandas as pd

    cols = ["key", "frame", "objects", "filled", "flagged", "status"]
    df = ds.df
    if not len(df):
        return pd.DataFrame(columns=cols)
    if "frame" in df.columns and df["frame"].notna().any():
        frames = df["frame"].dropna().astype(int).sort_values(kind="stable")
    else:
        frames = pd.Series(np.arange(len(df)), index=df.index)
    keys = list(frames.index)
    fr = frames.to_numpy()
    diffs = np.diff(np.unique(fr))
    step = int(reduce(math.gcd, diffs.tolist())) if len(diffs) else 1
    step = max(step, 1)
    grid = (fr - fr[0]) // step
    if fps is None:
        fps = _grid_fps(df, keys, fr, step)
    writable_status = set(MODEL_STATUSES)

    # Objects with keypoints per grid time.
    dets: dict[int, list[tuple]] = {}
    for key, g in zip(keys, grid):
        for i, rec in enumerate(df.at[key, "annotations"] or []):
            kps = rec.get("keypoints")
            if not kps or (labels is not None and rec.get("label") not in labels):
                continue
            dets.setdefault(int(g), []).append((key, i, rec))
    found = [rec for group in dets.values() for _, _, rec in group]
    if found and all(isinstance(rec.get("track"), int) for rec in found):
        # the objects carry track ids (nblabel.tracks, a person's merges): those decide
        by_id: dict[int, list[tuple]] = {}
        for t in sorted(dets):
            for key, i, rec in dets[t]:
                by_id.setdefault(rec["track"], []).append((t, key, i, rec))
        tracks = [by_id[tid] for tid in sorted(by_id)]
    else:
        tracks = _link(dets, iou_threshold, max_gap)
    next_id = 1 + max(
        (
            a["track"]
            for anns in df["annotations"]
            for a in anns or []
            if isinstance(a.get("track"), int)
        ),
        default=0,
    )

    changes: dict = {}  # key -> {object index: new record}, plus added records
    stats: dict = {}
    status_of = df["status"].to_dict()
    key_at = dict(zip(grid.tolist(), keys))
    for track in tracks:
        # the link is stored: each smoothed object keeps (or gets) its track's id
        tid = next((r["track"] for *_, r in track if isinstance(r.get("track"), int)), None)
        if tid is None:
            tid, next_id = next_id, next_id + 1
        t0, t1 = track[0][0], track[-1][0]
        n_kp = len(track[0][3]["keypoints"])
        arr = np.full((t1 - t0 + 1, n_kp, 3), np.nan)
        arr[:, :, 2] = 0.0
        for t, _, _, rec in track:
            arr[t - t0] = np.asarray(
                [[*p[:2], p[2] if len(p) > 2 else 2] for p in rec["keypoints"]], np.float64
            )
        smoothed, flags = smooth_keypoints(arr, fps=fps, max_gap=max_gap, **options)
        present = {t: (key, i, rec) for t, key, i, rec in track}
        for t in range(t0, t1 + 1):
            key = key_at.get(t)
            if key is None or status_of.get(key) not in writable_status:
                continue
            row_t = t - t0
            kps = [
                [round(float(x), 2), round(float(y), 2), int(v)]
                if np.isfinite(x)
                else [0.0, 0.0, 0]
                for x, y, v in smoothed[row_t]
            ]
            st = stats.setdefault(key, {"objects": 0, "filled": 0, "flagged": 0})
            if t in present:
                _, i, rec = present[t]
                new = dict(rec, keypoints=kps, source=_suffixed(rec.get("source")), track=tid)
                was_missing = arr[row_t, :, 2] <= options.get("min_conf", 0.0)
                st["filled"] += int(np.sum(was_missing & (smoothed[row_t, :, 2] > 0)))
                changes.setdefault(key, {})[i] = new
            else:
                # The whole object is missing here but seen on both sides within max_gap.
                before = max(u for u in present if u < t)
                after = min(u for u in present if u > t)
                if after - before - 1 > max_gap:
                    continue
                a, b = present[before][2], present[after][2]
                w = (t - before) / (after - before)
                box = [(1 - w) * p + w * q for p, q in zip(a["bbox"], b["bbox"])]
                scores = [s for s in (a.get("score"), b.get("score")) if s is not None]
                new = {
                    "label": a["label"],
                    "bbox": box,
                    "points": None,
                    "keypoints": kps,
                    "score": min(scores) if scores else None,
                    "source": _suffixed(a.get("source")),
                    "interpolated": True,
                    "track": tid,
                }
                vis = [p for p in kps if p[2] > 0]
                if len(vis) >= 2:
                    new["bbox"] = _union_box(box, bbox_of_points(vis))
                st["filled"] += len(vis)
                changes.setdefault(key, {}).setdefault("added", []).append(new)
            st["objects"] += 1
            st["flagged"] += int(flags[row_t].sum())

    writes, report = [], []
    for key in keys:
        if key not in changes:
            continue
        ch = changes[key]
        anns = [ch.get(i, rec) for i, rec in enumerate(df.at[key, "annotations"] or [])]
        anns += ch.get("added", [])
        st = stats[key]
        status = status_of[key]
        if review and st["flagged"]:
            status = "review"
        src = df.at[key, "source"] if "source" in df.columns else None
        writes.append((key, anns, {"source": _suffixed(src), "status": status, "kind": "smooth"}))
        report.append({"key": key, "frame": int(frames[key]), **st, "status": status})
    if writes:
        ds.annotate_many(writes)
    return pd.DataFrame(report, columns=cols)


def _suffixed(source) -> str:
    s = str(source) if source else "model"
    return s if s.endswith(SMOOTHED_SUFFIX) else s + SMOOTHED_SUFFIX


def _union_box(a, b):
    return [min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])]


def _grid_fps(df, keys, fr, step) -> float:
    if "timestamp" in df.columns:
        ts = df.loc[keys, "timestamp"].to_numpy(dtype=np.float64)
        dfr = np.diff(fr)
        dts = np.diff(ts)
        ok = (dfr > 0) & np.isfinite(dts) & (dts > 0)
        if ok.any():
            seconds_per_frame = float(np.median(dts[ok] / dfr[ok]))
            return 1.0 / (seconds_per_frame * step)
    return 30.0 / step


def _link(dets: dict, iou_threshold: float, max_gap: int) -> list[list[tuple]]:
    """Greedy IoU tracking: ``[[(t, key, index, record), ...], ...]`` per track."""
    tracks: list[list[tuple]] = []
    active: list[int] = []
    for t in sorted(dets):
        active = [j for j in active if t - tracks[j][-1][0] <= max_gap + 1]
        lasts = [tracks[j][-1][3] for j in active]
        overlap = box_iou([rec["bbox"] for _, _, rec in dets[t]], [a["bbox"] for a in lasts])
        for d, (_, _, rec) in enumerate(dets[t]):
            for c, last in enumerate(lasts):
                if last["label"] != rec["label"] or len(last["keypoints"]) != len(rec["keypoints"]):
                    overlap[d, c] = np.nan  # another kind of object: never the same track
        taken_d = set()
        # active tracks are in creation order, so ties go to the later track as they always did
        for d, c in greedy_match(overlap, iou_threshold, ties="last"):
            key, i, rec = dets[t][d]
            tracks[active[c]].append((t, key, i, rec))
            taken_d.add(d)
        for d, (key, i, rec) in enumerate(dets[t]):
            if d not in taken_d:
                tracks.append([(t, key, i, rec)])
                active.append(len(tracks) - 1)
    return tracks
