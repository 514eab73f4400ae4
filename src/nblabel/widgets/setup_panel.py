"""The setup panel: choose an AI, its classes, preprocessing and how many images, then start.

An ipywidgets form in front of the loop. General AI labels right away: the panel builds a
:class:`~nblabel.models.general.GeneralAI`, optionally de-identifies the images, auto-labels
``count`` of them with an :class:`~nblabel.loop.AutoLabeler` and opens the Annotator on the
results. Custom AI has nothing to predict with yet, so the panel opens the labeler's widget
for the user to label about ten images; the first retrain then labels the rest.

The work runs in a background thread so the kernel keeps serving widgets (the progress bar,
the Annotator) while a model loads or predicts. Every message shown comes from Python as plain
text (an output stream), never as HTML, because it may quote class names or file paths the
user typed.
"""

from __future__ import annotations

import contextlib
import threading
import traceback
from pathlib import Path
from typing import Any

import ipywidgets as W

from ..core.errors import NblabelError
from ..core.protocols import DatasetLike, missing
from ..core.tasks import TASKS
from ..loop.counts import autolabel_count_range, check_count
from ..models.categories import (
    CATEGORIES,
    DEFAULT_CATEGORY,
    categories,
    category_for,
    unpredicted,
)
from ..models.deidentify import METHODS
from ..models.general import parse_labels

GENERAL, CUSTOM = "general", "custom"
FIXED_NOTE = "fixed: fewer than 100 images"
# Images de-identified per call: small enough for a smooth progress bar, large enough that
# the per-call overhead (a DataFrame for the summary) stays negligible.
DEID_CHUNK = 8
# Built-in exceptions whose message is about the user's input (a value, a path): shown as
# is. nblabel's own errors (NblabelError) are too (they say what to do). Anything else comes
# from deep inside a library and is named with a pointer to the traceback kept in
# ``panel.error_traceback``.
_INPUT_ERRORS = (ValueError, TypeError, KeyError, OSError)


class SetupPanel(W.VBox):
    """A form that configures and starts auto-labeling of a Dataset.

    Build it with :func:`setup_panel`. The inputs are attributes, so a script can fill them
    in exactly as a user would: ``ai_choice`` (``"general"``/``"custom"``),
    ``category_input``, ``classes_input``, ``labels_input`` (model classes named as yours,
    ``"cat=raccoon, dog=raccoon"``), ``weights_input`` (General AI); ``task_input``,
    ``class_names_input``, ``base_input``, ``retrain_input`` (Custom AI); ``face_input``,
    ``plate_input``, ``method_input`` (preprocessing); ``count_input``; ``start_button``.

    Attributes:
        ds: The Dataset being labeled.
        model: The GeneralAI or CustomAI built by the last start (``None`` before).
        labeler: The :class:`~nblabel.loop.AutoLabeler` of the last start.
        annotator: The :class:`~nblabel.widgets.annotator.Annotator` opened under the panel.
        summary: What ``autolabel`` returned (General AI), else ``None``.
        deid_summary: What ``deidentify`` returned, when preprocessing ran.
        error: The exception that stopped the last start, else ``None``.
        error_traceback: Its full traceback (text), for bug reports.

    Example:
        >>> ds = nbl.Dataset.from_folder("images/", db="labels.db")
        >>> panel = nbl.setup_panel(ds, weights="../shared/models/yolov5n.pt")
        >>> panel.category_input.value = "animal"
        >>> panel.start(wait=True).is_alive()  # both photos predicted: the thread is done
        False
        >>> panel.annotator  # opened on the image to review first
        Annotator(image 2/2 'img2', status 'review', tool 'box')
    """

    def __init__(self, ds, weights=None, face_model=None, plate_model=None):
        if not isinstance(ds, DatasetLike):
            raise TypeError(
                f"setup_panel needs an nblabel.Dataset, got {type(ds).__name__} (no "
                f".{missing(ds, DatasetLike)[0]}); build one with nbl.Dataset.from_folder(...)"
            )
        self.ds = ds
        self.face_model = face_model
        self.plate_model = plate_model
        self.model = None
        self.labeler = None
        self.annotator = None
        self.summary: dict | None = None
        self.deid_summary = None
        self.error: BaseException | None = None
        self.error_traceback: str | None = None
        self._thread: threading.Thread | None = None
        self._message = ""
        self._said_error = False  # the message area shows an error (red)

        cats = categories()
        # the dataset's own classes choose: the category that predicts most of them, with
        # only those selected; none predicted (raccoons) means only Custom AI can learn them
        matched_category, matched = category_for(ds.classes)
        first = matched_category or (
            DEFAULT_CATEGORY if DEFAULT_CATEGORY in cats else next(iter(cats))
        )
        start_ai = CUSTOM if ds.classes and matched_category is None else GENERAL
        wide = W.Layout(width="520px")
        style = {"description_width": "120px"}

        self.ai_choice = W.ToggleButtons(
            options=[("General AI", GENERAL), ("Custom AI", CUSTOM)],
            value=start_ai,
            tooltips=[
                "a pre-trained model labels right away, no manual labels needed",
                "label about 10 images, a model trains on them and labels the rest",
            ],
        )
        # -- General AI
        self.category_input = W.Dropdown(
            options=list(cats), value=first, description="category", style=style, layout=wide
        )
        self.category_note = W.Label(layout=W.Layout(margin="0 0 0 128px"))
        self.classes_input = W.SelectMultiple(
            options=cats[first], value=tuple(cats[first]), rows=6, description="classes",
            style=style, layout=wide,
        )  # fmt: skip
        # which of the dataset's classes the chosen category cannot predict
        self.classes_note = W.Label(layout=W.Layout(margin="0 0 0 128px"))
        # a class the model knows under another name (a raccoon is found as a cat, dog or
        # bear): the model classes named here are predicted, under your names
        self.labels_input = W.Text(
            placeholder="optional: model class=yours, e.g. cat=raccoon, dog=raccoon",
            tooltip="predicts only the model classes named here, under your class names",
            description="name as yours",
            style=style,
            layout=wide,
        )
        self.weights_input = W.Text(
            value="" if weights is None else str(weights),
            description="weights",
            style=style,
            # wider than the rest: its hint names the default file, face_detection_yunet.onnx
            layout=W.Layout(width="600px", max_width="100%"),
        )
        self.general_box = W.VBox(
            [
                self.category_input,
                self.category_note,
                self.classes_input,
                self.classes_note,
                self.labels_input,
                self.weights_input,
            ]
        )
        # -- Custom AI
        self.task_input = W.Dropdown(
            options=list(TASKS), value="detect", description="task", style=style, layout=wide
        )
        self.class_names_input = W.Text(
            value=", ".join(ds.classes),
            placeholder="comma-separated, e.g. raccoon, dog",
            description="class names",
            style=style,
            layout=wide,
        )
        self.base_input = W.Text(
            # short enough to be read whole in the input (a cut placeholder hides the default)
            placeholder="empty: yolo11n (downloads when online)",
            tooltip="optional: a .pt checkpoint to fine-tune",
            description="base checkpoint",
            style=style,
            layout=wide,
        )
        self.retrain_input = W.IntText(value=10, description="retrain every", style=style)
        self.custom_note = W.Label(
            "Label about 10 images below; a model then trains on them and labels the rest.",
            layout=W.Layout(margin="0 0 0 128px"),
        )
        self.custom_box = W.VBox(
            [
                self.task_input,
                self.class_names_input,
                self.base_input,
                self.retrain_input,
                self.custom_note,
            ]
        )
        # -- preprocessing
        snug = W.Layout(width="auto", margin="0 16px 0 0")
        self.face_input = W.Checkbox(
            value=False, description="de-identify faces", indent=False, layout=snug
        )
        self.plate_input = W.Checkbox(
            value=False, description="de-identify plates", indent=False, layout=snug
        )
        self.method_input = W.ToggleButtons(
            options=list(METHODS), value="blur", style={"button_width": "80px"}
        )
        self.preprocess_box = W.HBox(
            [_caption("preprocessing"), self.face_input, self.plate_input, self.method_input]
        )
        # -- count
        self.count_input = W.BoundedIntText(description="images", style=style)
        self.count_note = W.Label()
        self.count_box = W.HBox([self.count_input, self.count_note])
        self.refresh_count()
        # -- start, progress, messages, results
        self.start_button = W.Button(description="Start", button_style="primary", icon="play")
        self.progress_bar = W.IntProgress(value=0, min=0, max=1, layout=W.Layout(width="240px"))
        self.stage_label = W.Label()
        self.message_area = W.Output(layout=W.Layout(width="100%"))
        self.result_box = W.VBox()

        for w, name in (
            (self.count_input, "nbl-setup-count"),
            (self.start_button, "nbl-setup-start"),
            (self.message_area, "nbl-setup-message"),
            (self.ai_choice, "nbl-setup-ai"),
            (self.weights_input, "nbl-setup-weights"),
            (self.base_input, "nbl-setup-base"),
            (self.classes_note, "nbl-setup-classes-note"),
            (self.labels_input, "nbl-setup-labels"),
        ):
            w.add_class(name)
        self.category_input.observe(self._on_category, names="value")
        self.labels_input.observe(self._on_labels, names="value")
        self.ai_choice.observe(self._on_ai, names="value")
        self.start_button.on_click(lambda _b: self.start())
        self._on_category({"new": first})
        if matched:
            self.classes_input.value = tuple(matched)

        super().__init__(
            [
                W.Label("Auto-labeling setup"),
                W.HBox([_caption("AI"), self.ai_choice]),
                self.general_box,
                self.custom_box,
                self.preprocess_box,
                self.count_box,
                W.HBox(
                    [self.start_button, self.progress_bar, self.stage_label],
                    layout=W.Layout(flex_flow="row wrap", align_items="center"),
                ),
                self.message_area,
                self.result_box,
            ]
        )
        self.add_class("nbl-setup-panel")
        self._on_ai({"new": self.ai_choice.value})

    # -- public API --------------------------------------------------------------------------
    @property
    def message(self) -> str:
        """The text in the panel's message area (errors and results)."""
        return self._message

    @property
    def running(self) -> bool:
        """True while a start is loading, de-identifying or predicting."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def count(self) -> int:
        """Number of images General AI will auto-label.

        Setting it checks the count rule (at least 100, at most all images, fixed below 100
        images): a value outside it is refused with a ``ValueError`` whose message is also
        shown in the panel, instead of being silently clamped.
        """
        return int(self.count_input.value)

    @count.setter
    def count(self, value) -> None:
        try:
            n = check_count(len(self.ds), value)
        except ValueError as e:
            self._say(str(e), error=True)
            raise
        self.count_input.value = n

    def refresh_count(self) -> None:
        """Set the count input's range from the current number of images (all by default)."""
        lo, hi, fixed = autolabel_count_range(len(self.ds))
        # widen before narrowing: ipywidgets refuses min > max at every step
        self.count_input.max = max(hi, self.count_input.max)
        self.count_input.min = lo
        self.count_input.max = hi
        self.count_input.value = hi
        self.count_input.disabled = fixed
        self.count_note.value = FIXED_NOTE if fixed else f"between {lo} and {hi} (all images)"

    def start(self, wait: bool = False) -> threading.Thread | None:
        """Build the model and start labeling in a background thread.

        Args:
            wait: Block until the work is done, and raise the error that stopped it (also
                shown in the panel). For scripts and tests; in a notebook the button calls
                ``start()`` and the kernel stays free.

        Returns:
            The worker thread (already finished when ``wait``), or ``None`` when the settings
            were refused before any work started.

        Raises:
            ValueError, FileNotFoundError, ...: with ``wait=True`` only: what stopped the run.

        Example:
            >>> ds = nbl.Dataset.from_folder("images/", db="labels.db")
            >>> panel = nbl.setup_panel(ds, weights="../shared/models/yolov5n.pt")
            >>> panel.category_input.value = "animal"
            >>> _ = panel.start(wait=True)
            >>> panel.labeler.review_queue()[["status", "confidence"]].round(2)  # doctest: +NORMALIZE_WHITESPACE
                  status  confidence
            key
            img2  review        0.32
            img1  review        0.46
        """
        if self.running:
            self._say("Already running: wait for the current run to finish.")
            if wait:
                self._thread.join()
            return self._thread
        self.error = self.error_traceback = None
        try:
            settings = self._settings()
        except ValueError as e:
            self._fail("checking the settings", e)
            if wait:
                raise
            return None
        self._set_busy(True)
        self._say("")
        thread = threading.Thread(
            target=self._work, args=(settings,), name="nblabel-setup", daemon=True
        )
        self._thread = thread
        thread.start()
        if wait:
            thread.join()
            if self.error is not None:
                raise self.error
        return thread

    # -- reading the form ------------------------------------------------------------------
    def _settings(self) -> dict[str, Any]:
        """A snapshot of the form, validated, so later edits cannot change a running job."""
        if len(self.ds) == 0:
            raise ValueError("the dataset has no images; add images before auto-labeling")
        s: dict[str, Any] = {
            "ai": self.ai_choice.value,
            "targets": tuple(
                t
                for t, box in (("face", self.face_input), ("plate", self.plate_input))
                if box.value
            ),  # fmt: skip
            "method": self.method_input.value,
        }
        if s["ai"] == GENERAL:
            s["labels"] = parse_labels(self.labels_input.value)
            if not s["labels"] and not self.classes_input.value:
                raise ValueError(
                    f"no class selected; pick at least one of {list(self.classes_input.options)}"
                )
            s["count"] = check_count(len(self.ds), int(self.count_input.value))
            s["category"] = self.category_input.value
            # named as yours: only those model classes, whatever the list shows selected
            s["classes"] = None if s["labels"] else list(self.classes_input.value)
            s["weights"] = self.weights_input.value.strip() or None
        else:
            s["task"] = self.task_input.value
            s["classes"] = parse_class_names(self.class_names_input.value)
            s["base"] = self.base_input.value.strip() or None
            s["retrain_every"] = int(self.retrain_input.value)
            if s["retrain_every"] < 1:
                raise ValueError(
                    f"retrain every must be 1 or more verified images, got {s['retrain_every']}"
                )
        return s

    # -- the work (background thread) --------------------------------------------------------
    def _work(self, s: dict[str, Any]) -> None:
        stage = "building the model"
        try:
            self._close_previous()
            self._stage(stage)
            model = self._build_model(s)
            self.model = model
            if s["targets"]:
                stage = "de-identifying"
                self._deidentify(s)
            from ..loop.autolabeler import AutoLabeler

            stage = "starting the labeler"
            if s["ai"] == GENERAL:
                labeler = AutoLabeler(self.ds, model)
                self.labeler = labeler
                stage = "auto-labeling"
                self._autolabel(labeler, s["count"])
                stage = "opening the Annotator"
                self._open_annotator(labeler)
            else:
                self.ds.add_classes(s["classes"])  # offered in the Annotator from the start
                labeler = AutoLabeler(self.ds, model, retrain_every=s["retrain_every"])
                self.labeler = labeler
                stage = "opening the labeler"
                view = labeler.widget()
                self.annotator = view.annotator
                self.result_box.children = (view,)
                self._say(
                    f"Label about {s['retrain_every']} images in the editor below and press "
                    f"Enter on each; {type(model).__name__} then trains on them in the "
                    "background and labels the rest of the images." + start_note(model)
                )
            self._stage("done")
        except BaseException as e:  # noqa: BLE001 - a worker thread must report, not die
            self._fail(stage, e)
        finally:
            self._set_busy(False)

    def _build_model(self, s: dict[str, Any]):
        if s["ai"] == GENERAL:
            from ..models.general import GeneralAI

            model = GeneralAI(
                s["category"],
                classes=s["classes"],
                weights=s["weights"],
                labels=s["labels"] or None,
            )
            return model.load()  # a missing or wrong checkpoint fails now, before any work
        from ..models.custom import CustomAI

        if s["base"] is not None:
            from ..models.weights import resolve_weights

            resolve_weights(s["base"])  # the first retrain would otherwise fail minutes later
        return CustomAI(task=s["task"], classes=s["classes"], base=s["base"])

    def _deidentify(self, s: dict[str, Any]) -> None:
        import pandas as pd

        from ..models.deidentify import deidentify

        # Detectors are loaded once and reused for every chunk of images.
        face = plate = None
        if "face" in s["targets"]:
            from ..models.faces import FaceDetector

            face = self.face_model
            if face is None or not hasattr(face, "detect"):
                face = FaceDetector(face)
            face.load()
        if "plate" in s["targets"]:
            from ..models.plates import PlateDetector

            plate = self.plate_model
            if not isinstance(plate, PlateDetector):
                plate = PlateDetector(plate)
            plate.load()
        keys = list(self.ds.keys())
        self._progress(0, len(keys), f"de-identifying ({'+'.join(s['targets'])})")
        parts = []
        for i in range(0, len(keys), DEID_CHUNK):
            chunk = keys[i : i + DEID_CHUNK]
            parts.append(
                deidentify(
                    self.ds,
                    targets=s["targets"],
                    method=s["method"],
                    face_model=face,
                    plate_model=plate,
                    progress=False,
                    keys=chunk,
                )
            )
            self._progress(i + len(chunk), len(keys), "de-identifying")
        self.deid_summary = pd.concat(parts, ignore_index=True) if parts else None

    def _autolabel(self, labeler, count: int) -> None:
        def hook(p: dict) -> None:
            self._progress(p["done"], p["total"], f"auto-labeling {p['done']}/{p['total']}")

        labeler.on_autolabel_progress(hook)
        self._progress(0, count, "auto-labeling")
        try:
            self.summary = labeler.autolabel(limit=count, progress=False)
        finally:
            labeler.on_autolabel_progress(hook, remove=True)

    def _open_annotator(self, labeler) -> None:
        view = labeler.widget()  # opens on the review queue's hardest image
        self.annotator = view.annotator
        self.result_box.children = (view,)
        s = self.summary or {}
        text = (
            f"Auto-labeled {s.get('written', 0)} of {s.get('selected', 0)} images with "
            f"{labeler.version}: {s.get('auto', 0)} auto-accepted, {s.get('review', 0)} to "
            "review (hardest first in the editor below)."
        )
        skipped = len(s.get("skipped_verified", [])) + len(s.get("skipped_editing", []))
        if skipped:
            text += f" {skipped} images already labeled by a person were left as they were."
        if s.get("unreadable"):
            text += f" {len(s['unreadable'])} images could not be read (see ds.df['issues'])."
        if s.get("already_done"):
            text += f" {s['already_done']} were already labeled by this model version."
        self._say(text)

    def _close_previous(self) -> None:
        """A second start replaces the first: stop the old labeler listening to the Dataset."""
        old_labeler, old_annotator = self.labeler, self.annotator
        self.model = self.labeler = self.annotator = None
        self.summary = self.deid_summary = None
        self.result_box.children = ()
        for obj in (old_labeler, old_annotator):
            if obj is not None:
                # closing an old view must not block a new run
                with contextlib.suppress(Exception):
                    obj.close()

    # -- display helpers ---------------------------------------------------------------------
    def _say(self, text: str, error: bool = False) -> None:
        # An output stream is shown as text: nothing the user typed can become markup.
        self._message = text
        self._said_error = error and bool(text)
        self.message_area.outputs = (
            ({"output_type": "stream", "name": "stderr" if error else "stdout", "text": text},)
            if text
            else ()
        )

    def _fail(self, stage: str, exc: BaseException) -> None:
        self.error = exc
        self.error_traceback = "".join(
            traceback.format_exception(type(exc), exc, exc.__traceback__)
        )
        self._say(describe_error(stage, exc), error=True)
        self.progress_bar.bar_style = "danger"
        self.stage_label.value = f"stopped while {stage}"

    def _stage(self, text: str) -> None:
        self.stage_label.value = text

    def _progress(self, done: int, total: int, text: str) -> None:
        self.progress_bar.max = max(1, int(total))
        self.progress_bar.value = min(int(done), self.progress_bar.max)
        self.stage_label.value = text

    def _set_busy(self, busy: bool) -> None:
        self.start_button.disabled = busy
        self.start_button.description = "Running..." if busy else "Start"
        if busy:
            self.progress_bar.bar_style = "info"
            self.progress_bar.value = 0
        elif self.error is None:
            self.progress_bar.bar_style = "success"

    # -- form reactions ------------------------------------------------------------------------
    def _on_category(self, change) -> None:
        name = change["new"]
        spec = CATEGORIES[name]
        options = list(spec.classes)
        self.classes_input.options = options
        self.classes_input.value = tuple(options)  # all selected: the usual choice
        self.category_note.value = f"{spec.task}: {spec.description}"
        self._say_unpredicted()
        # short enough to be read whole in the input; the rest is its tooltip
        self.weights_input.placeholder = f"empty: {spec.weights} (downloads when online)"
        self.weights_input.tooltip = "optional: path to a checkpoint (.pt, .onnx)"
        self._forget_error()

    def _say_unpredicted(self) -> None:
        """Which of the dataset's classes the chosen category cannot predict (under its own
        names, or as named in "name as yours")."""
        spec = CATEGORIES[self.category_input.value]
        try:
            named = set(parse_labels(self.labels_input.value).values())
        except ValueError:
            named = set()
        missing = [c for c in unpredicted(spec, self.ds.classes) if c not in named]
        self.classes_note.value = (
            f"not predicted by {spec.name}: {', '.join(missing)} (Custom AI learns them from "
            "your labels, or name a model class as yours below)"
            if missing
            else ""
        )
        self.classes_note.layout.display = None if self.classes_note.value else "none"

    def _on_labels(self, change) -> None:
        # the classes list does not choose while model classes are named as yours
        self.classes_input.disabled = bool(str(change["new"]).strip())
        self._say_unpredicted()
        self._forget_error()

    def _forget_error(self) -> None:
        """Take down the error on screen once the form changes: it was about settings that
        are not the ones on screen any more (a start's error stays in ``panel.error``)."""
        if self.running or not self._said_error:
            return
        self._say("")
        self.progress_bar.bar_style = ""
        self.progress_bar.value = 0
        self.stage_label.value = ""

    def _on_ai(self, change) -> None:
        self._forget_error()
        general = change["new"] == GENERAL
        self.general_box.layout.display = None if general else "none"
        self.count_box.layout.display = None if general else "none"
        self.custom_box.layout.display = "none" if general else None


def parse_class_names(text: str) -> list[str]:
    """Class names from comma-separated text, trimmed, without blanks or repeats.

    Raises:
        ValueError: no name in ``text``.

    Example:
        >>> parse_class_names(" raccoon, dog,,raccoon ")
        ['raccoon', 'dog']
    """
    names: list[str] = []
    for part in str(text).split(","):
        name = part.strip()
        if name and name not in names:
            names.append(name)
    if not names:
        raise ValueError(
            "no class names given; type the names to label, comma-separated (e.g. raccoon, dog)"
        )
    return names


def describe_error(stage: str, exc: BaseException) -> str:
    """One paragraph for the panel: where it stopped and the library's own explanation.

    nblabel's errors already say what to do, so their message is shown as it is. Others
    (from torch, OpenCV, ...) are named with a pointer to the traceback instead of a
    screenful of frames.

    Example:
        >>> describe_error("building the model", ValueError("classes is empty"))
        'Stopped while building the model: classes is empty'
    """
    text = str(exc) or type(exc).__name__
    if isinstance(exc, KeyError) and exc.args:
        text = str(exc.args[0])
    if isinstance(exc, NblabelError) or (
        isinstance(exc, _INPUT_ERRORS) and type(exc).__module__ == "builtins"
    ):
        return f"Stopped while {stage}: {text}"
    return (
        f"Stopped while {stage}: {type(exc).__name__}: {text}. "
        "The full traceback is in panel.error_traceback."
    )


def start_note(model) -> str:
    """What a Custom AI's first retrain starts from, as a sentence for the panel: offline
    without a checkpoint it trains from scratch, which the person must hear where they look
    (its first versions predict next to nothing).

    Example:
        >>> start_note(object())
        ''
    """
    where = getattr(model, "_starting_point", None)  # CustomAI's own choice, not a copy
    classes = list(getattr(model, "classes", None) or [])
    if where is None:
        return ""
    try:
        start, scratch = where(classes)
    except Exception:  # the retrain will say what is wrong; the note is only a hint
        return ""
    if scratch:
        return (
            f" No pre-trained checkpoint is on this machine and none can be downloaded, so it "
            f"trains {Path(str(start)).name} from scratch: its first versions will find little. "
            "Give a .pt file as base checkpoint to fine-tune instead."
        )
    return f" It fine-tunes {Path(str(start)).name}."


def _caption(text: str) -> W.Label:
    # the same width as the inputs' description column, so rows line up
    return W.Label(text, layout=W.Layout(width="124px"))


def setup_panel(ds, weights=None, face_model=None, plate_model=None) -> SetupPanel:
    """A panel to choose General or Custom AI, classes, preprocessing and count, and start.

    Args:
        ds: The :class:`nblabel.Dataset` to label.
        weights: Checkpoint path for General AI, prefilled in the form (empty: the
            category's standard checkpoint, downloaded when online).
        face_model: YuNet ONNX path (or a FaceDetector) for face de-identification.
        plate_model: Plate detector checkpoint (or a PlateDetector); default: the built-in
            classical detector.

    Returns:
        The :class:`SetupPanel` (an ``ipywidgets.VBox``); display it in a cell.

    Example:
        >>> import nblabel as nbl
        >>> ds = nbl.Dataset.from_folder("images/", db="labels.db")
        >>> panel = nbl.setup_panel(ds, weights="../shared/models/yolov5n.pt")
        >>> panel  # the last line of a cell: the form shows under it  # doctest: +ELLIPSIS
        SetupPanel(...)
    """
    return SetupPanel(ds, weights=weights, face_model=face_model, plate_model=plate_model)


__all__ = ["SetupPanel", "describe_error", "parse_class_names", "setup_panel", "start_note"]
