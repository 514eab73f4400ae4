"""YOLOv5 repository checkpoints on the ultralytics package: prediction and transfer.

The YOLOv5 repository and the ``ultralytics`` package build YOLOv5 from the same layer
vocabulary (``Conv``, ``C3``, ``SPPF``, ``Concat``, ``nn.Upsample``); layers 0-23 of
``yolov5n.pt`` have exactly the tensor names and shapes of ultralytics' model built from the
checkpoint's own yaml. Only the detection head differs: YOLOv5's is three 1x1 convolutions
over anchors with an objectness score, ultralytics' is anchor-free.

So nblabel builds the network with ultralytics' layers from the checkpoint's yaml, loads the
checkpoint's tensors into it, and

- for prediction (:class:`YOLOv5Model`) puts a small anchor head (:class:`AnchorDetect`)
  on top that decodes exactly as YOLOv5 does and emits ultralytics' output layout, so
  ultralytics' own letterboxing, NMS, class filter and ``Results`` run unchanged;
- for fine-tuning (:func:`transfer_to_ultralytics`) keeps ultralytics' anchor-free head (new,
  trained from the labels) and reports how many tensors came across.

No code of the YOLOv5 repository is needed or run (see :mod:`.checkpoints`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .checkpoints import CheckpointError, load_yolov5, quiet_ultralytics


@dataclass
class YOLOv5Checkpoint:
    """What nblabel takes from a YOLOv5 repository checkpoint.

    Attributes:
        path: The file.
        names: Class names in model order.
        yaml: The model definition (depth/width multiples, backbone, head, anchors).
        state_dict: Every tensor, as float32.
        bn_eps: BatchNorm epsilon the network was trained with (YOLOv5 sets 1e-3).
        head_from: The layers the detection head reads (e.g. ``[17, 20, 23]``).
    """

    path: Path
    names: list[str]
    yaml: dict
    state_dict: dict
    bn_eps: float
    head_from: list[int]

    @property
    def head_index(self) -> int:
        return len(self.yaml["backbone"]) + len(self.yaml["head"]) - 1


def read_yolov5(path: str | os.PathLike) -> YOLOv5Checkpoint:
    """Read a YOLOv5 repository checkpoint (safely; see :func:`.checkpoints.load_yolov5`).

    Raises:
        CheckpointError: not a usable YOLOv5 detection checkpoint.

    Example:
        >>> ck = read_yolov5("../shared/models/yolov5n.pt")
        >>> len(ck.names), len(ck.state_dict)
        (80, 349)
    """
    import torch

    path = Path(path)
    ckpt = load_yolov5(path)
    net = ckpt.get("ema") or ckpt["model"]
    cfg = getattr(net, "yaml", None)
    if not isinstance(cfg, dict) or "backbone" not in cfg or "head" not in cfg:
        raise CheckpointError(f"{path} has no model definition (yaml); it cannot be rebuilt")
    last = cfg["head"][-1]
    if last[2] != "Detect":
        raise CheckpointError(
            f"{path} is a YOLOv5 {last[2]!r} model; nblabel takes YOLOv5 detection "
            "checkpoints (Detect head)"
        )
    names = getattr(net, "names", None)
    if isinstance(names, dict):
        names = [names[i] for i in sorted(names)]
    nc = int(cfg.get("nc") or 0)
    if not names or len(names) != nc:
        names = [str(i) for i in range(nc)]
    sd = {k: v.float() if v.is_floating_point() else v for k, v in net.state_dict().items()}
    eps = next((float(m.eps) for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)), 1e-3)
    return YOLOv5Checkpoint(
        path=path,
        names=[str(n) for n in names],
        yaml=cfg,
        state_dict=sd,
        bn_eps=eps,
        head_from=list(last[0]),
    )


def ultralytics_yaml(ck: YOLOv5Checkpoint, nc: int) -> dict:
    """The checkpoint's model definition with ultralytics' anchor-free ``Detect`` head."""
    head = [list(layer) for layer in ck.yaml["head"]]
    head[-1] = [ck.head_from, 1, "Detect", ["nc"]]
    return {
        "nc": nc,
        "depth_multiple": ck.yaml.get("depth_multiple", 1.0),
        "width_multiple": ck.yaml.get("width_multiple", 1.0),
        "backbone": [list(layer) for layer in ck.yaml["backbone"]],
        "head": head,
        "channels": int(ck.yaml.get("ch", 3)),
    }


def _build(ck: YOLOv5Checkpoint, nc: int):
    """ultralytics ``DetectionModel`` of the checkpoint's architecture, with its tensors."""
    import torch
    from ultralytics.nn.tasks import DetectionModel

    with quiet_ultralytics(True):
        model = DetectionModel(cfg=ultralytics_yaml(ck, nc), nc=nc, verbose=False)
    own = model.state_dict()
    matched = {k: v for k, v in ck.state_dict.items() if k in own and own[k].shape == v.shape}
    model.load_state_dict(matched, strict=False)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.eps = ck.bn_eps  # not part of the state dict, but the weights were trained with it
    return model, matched


def transfer_to_ultralytics(path: str | os.PathLike, classes: list[str], out: Path) -> dict:
    """Write an ultralytics checkpoint of the YOLOv5 network with the file's tensors in it.

    The backbone and neck come from the checkpoint; the anchor-free head for ``classes`` is
    new. ``out`` is then an ordinary ultralytics checkpoint that ``YOLO(out).train`` fine-tunes.

    Returns:
        ``{"path", "transferred", "total", "source"}``: tensors taken over, tensors in the
        checkpoint, and a sentence for the fit report.

    Raises:
        CheckpointError: nothing could be transferred.
    """
    import torch

    ck = read_yolov5(path)
    model, matched = _build(ck, len(classes))
    if not matched:
        raise CheckpointError(
            f"no tensor of {ck.path.name} matches the network built from its own yaml; "
            "it cannot serve as a base"
        )
    model.names = dict(enumerate(classes))
    model.args = {"imgsz": 640}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    torch.save({"model": model.half(), "train_args": {}, "epoch": -1, "date": None}, tmp)
    os.replace(tmp, out)
    return {
        "path": out,
        "transferred": len(matched),
        "total": len(ck.state_dict),
        "source": (
            f"{len(matched)} of {len(ck.state_dict)} tensors from {ck.path.name} "
            "(YOLOv5 repository checkpoint)"
        ),
    }


def _anchor_detect_class():
    import torch
    import torch.nn as nn

    class AnchorDetect(nn.Module):
        """YOLOv5's anchor-based detection head, emitting ultralytics' ``(B, 4 + nc, N)``.

        Decoding follows YOLOv5 (v6): ``xy = (2 s - 0.5 + cell) * stride`` and
        ``wh = (2 s)^2 * anchor`` with ``s`` the sigmoid of the raw output; a class score is
        the class probability times the objectness, which is what YOLOv5's NMS ranks by.
        """

        end2end = False  # read by ultralytics' backend

        def __init__(self, nc: int, anchors, channels: list[int], stride):
            super().__init__()
            self.nc, self.no = nc, nc + 5
            self.nl, self.na = len(anchors), len(anchors[0]) // 2
            self.m = nn.ModuleList(nn.Conv2d(c, self.no * self.na, 1) for c in channels)
            self.register_buffer("stride", torch.as_tensor(stride, dtype=torch.float32))
            # anchors in grid cells, as the checkpoint stores them
            a = torch.tensor(anchors, dtype=torch.float32).view(self.nl, -1, 2)
            self.register_buffer("anchors", a / self.stride.view(-1, 1, 1))
            self._grids: dict = {}

        def _grid(self, i: int, nx: int, ny: int, like):
            key = (i, nx, ny, like.device, like.dtype)
            if key not in self._grids:
                yv, xv = torch.meshgrid(
                    torch.arange(ny, device=like.device, dtype=like.dtype),
                    torch.arange(nx, device=like.device, dtype=like.dtype),
                    indexing="ij",
                )
                cell = torch.stack((xv, yv), 2).view(1, 1, ny, nx, 2) - 0.5
                anchor = (self.anchors[i] * self.stride[i]).view(1, self.na, 1, 1, 2)
                self._grids[key] = (cell, anchor.to(like.dtype))
            return self._grids[key]

        def forward(self, x: list):
            out = []
            for i, conv in enumerate(self.m):
                p = conv(x[i])
                bs, _, ny, nx = p.shape
                p = p.view(bs, self.na, self.no, ny, nx).permute(0, 1, 3, 4, 2).sigmoid()
                cell, anchor = self._grid(i, nx, ny, p)
                xy = (p[..., :2] * 2 + cell) * self.stride[i]
                wh = (p[..., 2:4] * 2) ** 2 * anchor
                scores = p[..., 5:] * p[..., 4:5]
                out.append(torch.cat((xy, wh, scores), -1).view(bs, -1, 4 + self.nc))
            return torch.cat(out, 1).transpose(1, 2)

    return AnchorDetect


class YOLOv5Model:
    """A YOLOv5 checkpoint with the parts of ``ultralytics.YOLO`` that nblabel predicts with.

    ``predict(images, conf=, imgsz=, classes=, ...)`` returns ultralytics ``Results``, made
    by ultralytics' own detection predictor (letterbox, NMS, scaling back to the image).

    Attributes:
        names: ``{class id: name}``.
        task: ``"detect"``.
        net: The ``torch`` module (ultralytics layers and :class:`AnchorDetect`).
    """

    task = "detect"

    def __init__(self, path: str | os.PathLike):
        ck = read_yolov5(path)
        net, matched = _build(ck, len(ck.names))
        cls = _anchor_detect_class()
        anchors = ck.yaml["anchors"]
        if isinstance(anchors, int):
            raise CheckpointError(f"{path}: auto-generated anchors are not supported")
        channels = [
            int(ck.state_dict[f"model.{ck.head_index}.m.{i}.weight"].shape[1])
            for i in range(len(ck.head_from))
        ]
        old = net.model[-1]
        stride = ck.state_dict.get(f"model.{ck.head_index}.stride")
        if stride is None:
            stride = [float(s) for s in net.stride.tolist()]
        head = cls(len(ck.names), anchors, channels, stride)
        head_sd = {
            k.split(f"model.{ck.head_index}.", 1)[1]: v
            for k, v in ck.state_dict.items()
            if k.startswith(f"model.{ck.head_index}.m.")
        }
        missing = head.load_state_dict(head_sd, strict=False).missing_keys
        if (
            any(k.startswith("m.") for k in missing)
            or len(matched) + len(head_sd) < len(ck.state_dict) - 1
        ):
            raise CheckpointError(
                f"{path}: the network rebuilt from its yaml does not fit its tensors "
                f"({len(matched)} of {len(ck.state_dict)} matched)"
            )
        # ultralytics walks layers by these attributes
        head.f, head.i, head.type, head.np = old.f, old.i, "AnchorDetect", 0
        net.model[-1] = head
        net.stride = head.stride.clone()
        net.names = dict(enumerate(ck.names))
        net.eval()
        for p in net.parameters():
            p.requires_grad_(False)
        self.net = net
        self.names = dict(net.names)
        self.path = Path(path)
        self._predictors: dict = {}

    def predict(self, source, **kwargs):
        """Run ultralytics' detection predictor over ``source`` with this network."""
        from ultralytics.models.yolo.detect import DetectionPredictor

        args = {"conf": 0.25, "batch": 1, "save": False, "mode": "predict", "rect": True}
        args.update(kwargs)
        key = tuple(sorted((k, str(v)) for k, v in args.items()))
        predictor = self._predictors.get(key)
        if predictor is None:
            if len(self._predictors) > 8:
                self._predictors.clear()
            predictor = DetectionPredictor(overrides=args)
            predictor.setup_model(self.net, verbose=False)
            self._predictors[key] = predictor
        return predictor(source=source)
