"""The docstring examples of ``src/nblabel`` run as tests (``pytest --doctest-modules``).

Each example runs in a scratch folder laid out the way the examples speak of files, built from
the real data in ``$NBLABEL_SHARED`` (default ``../shared``), so that an example writes nothing
into the source tree and reads real images:

- ``images/img1.jpg``, ``images/img2.jpg``: two raccoon photos;
- ``raccoon/images``, ``raccoon/annotations``: the raccoon data set (200 photos, VOC files);
- ``photo.jpg``: a raccoon photo; ``bus.jpg``, ``zidane.jpg``: ultralytics' sample photos,
  also in ``photos/``; ``garden.jpg``: birds (a COCO photo from coco128);
- ``best.pt`` (also ``runs/train/weights/best.pt``): an untrained YOLO11n detector as
  ultralytics saves one, for the examples that name it;
- ``clip.mp4``: ten seconds of video (640x360, 25 frames a second), made from a raccoon
  photo for the examples that name it;
- ``../shared``: the shared data itself (``../shared/models/yolov5n.pt``).

An example that names ``ds`` without making it gets a Dataset of the first three raccoon
photos with their boxes (``labels.db`` in the scratch folder); one that names ``rows`` gets the
rows a format writer takes (``key``, ``image``, ``width``, ``height``, ``annotations``) of the
same three photos. An example of :mod:`nblabel.tracks` or of a video format gets instead the
video Dataset of that clip's 60 frames with a detector's boxes on them,
linked into tracks: person 1 walks right on every frame, person 2 walks left and is lost
behind something on frames 28 to 41, so it comes back as track 3.

An example that names ``labeler`` gets an AutoLabeler (and ``ds`` its Dataset, ``loop.db``)
over six raccoon photos: the first three verified with their VOC boxes, the other three
auto-labeled by :class:`MiddleBox` (a box over the middle of each photo, so no training runs),
of which a person then corrected ``raccoon-4`` to its true box. ``ann`` is an Annotator and
``grid`` a review grid on ``ds``, built without a browser.
"""

from __future__ import annotations

import doctest
import os
import re
from pathlib import Path

import pytest

_ROOT = Path(__file__).resolve().parents[1]
_SHARED = Path(os.environ.get("NBLABEL_SHARED", _ROOT.parent / "shared")).resolve()
_RACCOON = _SHARED / "datasets" / "raccoon"
_BIRDS = "000000000143.jpg"  # eight waxwings on bare branches (yolov5n finds five)
# Modules whose examples work on the frames of a video.
_VIDEO_MODULES = (
    "nblabel.tracks",
    "nblabel.formats.mot",
    "nblabel.formats.cvat_video",
    "nblabel.formats.coco_video",
)


def _lay_out(tmp: Path) -> Path:
    work = tmp / "work"
    (work / "images").mkdir(parents=True)
    (tmp / "shared").symlink_to(_SHARED)
    for i in (1, 2):
        (work / "images" / f"img{i}.jpg").symlink_to(_RACCOON / "images" / f"raccoon-{i}.jpg")
    (work / "photo.jpg").symlink_to(_RACCOON / "images" / "raccoon-1.jpg")
    (work / "garden.jpg").symlink_to(_SHARED / "datasets" / "coco128" / "images" / _BIRDS)
    (work / "raccoon").symlink_to(_RACCOON)
    for sub, ext in (("images", "jpg"), ("annotations", "xml")):
        (tmp / "subset" / sub).mkdir(parents=True)
        for i in (1, 2, 3):
            name = f"raccoon-{i}.{ext}"
            (tmp / "subset" / sub / name).symlink_to(_RACCOON / sub / name)
    try:
        from ultralytics.utils import ASSETS
    except ImportError:
        pass
    else:
        (work / "photos").mkdir()
        for name in ("bus.jpg", "zidane.jpg"):
            (work / name).symlink_to(Path(ASSETS) / name)
            (work / "photos" / name).symlink_to(Path(ASSETS) / name)
    return work


def _write_clip(path: Path, frames: int = 250) -> None:
    """``frames`` at 25 frames a second (250: ten seconds), 640x360: a raccoon photo panning
    sideways."""
    import cv2
    import numpy as np

    from nblabel.images import load_rgb

    photo = cv2.resize(load_rgb(_RACCOON / "images" / "raccoon-1.jpg"), (960, 360))
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (640, 360))
    try:
        for i in range(frames):
            x = int(320 * i / (frames - 1))
            out.write(np.ascontiguousarray(photo[:, x : x + 640, ::-1]))
    finally:
        out.release()


def _write_checkpoint(work: Path) -> None:
    """An untrained YOLO11n detector (from ultralytics' yaml), saved as training saves one."""
    from ultralytics import YOLO

    YOLO("yolo11n.yaml").save(str(work / "best.pt"))
    (work / "runs" / "train" / "weights").mkdir(parents=True)
    (work / "runs" / "train" / "weights" / "best.pt").symlink_to(work / "best.pt")


def _walk_dataset(work: Path):
    """The ``walk.mp4`` frames, a detector's boxes on them, linked into tracks."""
    import nblabel
    from nblabel.tracks import link_tracks

    _write_clip(work / "walk.mp4", frames=60)
    ds = nblabel.Dataset.from_video(
        work / "walk.mp4", every=1, db=work / "walk.db", classes=["person"], progress=False
    )
    writes = []
    for key in ds.df.index:
        f = int(ds.df.at[key, "frame"])
        recs = [{"label": "person", "bbox": [40 + 5 * f, 100, 100 + 5 * f, 250], "score": 0.9}]
        if not 28 <= f <= 41:
            recs.append({"label": "person", "bbox": [540 - 4 * f, 120, 600 - 4 * f, 270]})
            recs[-1]["score"] = 0.8
        writes.append((key, recs, {"source": "yolo11n@walk", "status": "predicted"}))
    ds.annotate_many(writes)
    link_tracks(ds)
    return ds


class MiddleBox:
    """The loop examples' predictor: one raccoon box over the middle half of each image.

    A real predictor (it reads each image for its size), cheap enough for an example, where a
    trained model would take a minute.
    """

    version = "middlebox@1"
    classes = ["raccoon"]

    def predict(self, images):
        from nblabel.images import load_rgb

        out = []
        for im in images:
            h, w = load_rgb(im).shape[:2]
            box = [w / 4, h / 4, 3 * w / 4, 3 * h / 4]
            out.append([{"label": "raccoon", "bbox": box, "score": 0.9, "source": self.version}])
        return out


def _loop_labeler(tmp: Path, work: Path):
    """An AutoLabeler over six raccoon photos, three verified, three predicted, one of those
    corrected by a person (so it has a grade)."""
    import nblabel
    from nblabel.formats import read_voc

    folder = tmp / "loop"
    (folder / "images").mkdir(parents=True)
    (folder / "annotations").mkdir()
    for i in range(1, 7):
        for sub, ext in (("images", "jpg"), ("annotations", "xml")):
            name = f"raccoon-{i}.{ext}"
            (folder / sub / name).symlink_to(_RACCOON / sub / name)
    _, items = read_voc(folder / "annotations", folder / "images")
    truth = {Path(it["image"]).stem: it["annotations"] for it in items}
    ds = nblabel.Dataset.from_folder(folder / "images", db=work / "loop.db", classes=["raccoon"])
    for key in ds.keys()[:3]:
        ds.annotate(key, truth[key])
    labeler = nblabel.AutoLabeler(ds, MiddleBox())
    labeler.autolabel()
    ds.annotate("raccoon-4", truth["raccoon-4"])  # a person's correction: graded
    labeler.wait()
    return labeler


def _subset_ds(tmp: Path):
    """The first three raccoon photos with their boxes (``labels.db``)."""
    import nblabel

    subset = tmp / "subset"
    return nblabel.Dataset.from_voc(
        subset / "annotations", images=subset / "images", db="labels.db"
    )


def _uses(item, name: str) -> bool:
    """Whether the examples that run use ``name`` without making it first."""
    sources = [ex.source for ex in item.dtest.examples if not ex.options.get(doctest.SKIP)]
    # the name itself, not an attribute of that name (``panel.labeler``)
    uses = any(re.search(rf"(?<![.\w]){name}\b", s) for s in sources)
    makes = any(s.lstrip().startswith(f"{name} =") for s in sources)
    return uses and not makes


@pytest.fixture(autouse=True)
def _example_folder(request, tmp_path, monkeypatch, doctest_namespace):
    if not hasattr(request.node, "dtest"):
        return
    if not _RACCOON.is_dir():
        pytest.fail(f"shared data not found at {_SHARED}; set NBLABEL_SHARED")
    work = _lay_out(tmp_path)
    if any("clip.mp4" in ex.source for ex in request.node.dtest.examples):
        _write_clip(work / "clip.mp4")
    if any("best.pt" in ex.source for ex in request.node.dtest.examples):
        _write_checkpoint(work)
    monkeypatch.chdir(work)
    monkeypatch.setenv("NBLABEL_HOME", str(tmp_path / "home"))
    import nblabel

    doctest_namespace["nbl"] = nblabel  # the name every example imports nblabel as
    doctest_namespace.pop("ds", None)
    doctest_namespace.pop("rows", None)
    for name in ("labeler", "ann", "grid"):
        doctest_namespace.pop(name, None)
    walk = request.node.dtest.name.startswith(_VIDEO_MODULES)
    if _uses(request.node, "labeler"):
        doctest_namespace["labeler"] = _loop_labeler(tmp_path, work)
        doctest_namespace["ds"] = doctest_namespace["labeler"].ds
    elif walk and _uses(request.node, "ds"):
        doctest_namespace["ds"] = _walk_dataset(work)
    elif _uses(request.node, "ds"):
        doctest_namespace["ds"] = _subset_ds(tmp_path)
    if _uses(request.node, "ann") or _uses(request.node, "grid"):
        ds = doctest_namespace.get("ds") or _subset_ds(tmp_path)
        doctest_namespace["ds"] = ds
        doctest_namespace["ann"] = nblabel.Annotator(ds)
        if _uses(request.node, "grid"):
            from nblabel.widgets.review import ReviewGrid

            doctest_namespace["grid"] = ReviewGrid(ds, annotator=doctest_namespace["ann"])
    if _uses(request.node, "rows"):
        from nblabel.formats import read_voc

        _, items = read_voc(tmp_path / "subset" / "annotations", tmp_path / "subset" / "images")
        doctest_namespace["rows"] = items
