"""Auto-labeling on a Ray cluster: Ray Data reads and predicts, this process journals.

``labeler.autolabel(engine="ray")`` sends the model to Ray Data actors (each loads it once,
on a CPU or a GPU as the cluster offers) and streams ``(image position, records)`` back. The
kernel routes each batch and writes it with the in-process rules, so the journal has one
writer, a person's correction is never overwritten, and an interrupted run resumes.

A worker lost mid-run costs its batch: Ray restarts the actor and runs the batch again. A
batch can then arrive twice (Ray Data streams a task's output as it goes, and a retried task
streams it again), so positions already received are dropped here and no image is written
twice.

Example:
    >>> engine = RayEngine(workers=4)
    >>> engine
    RayEngine(address=None, workers=4, cpus_per_worker=1.0, gpus_per_worker=None)

Running it starts a Ray cluster (seconds, and four workers), so this line does not run with
the examples; tests/test_ray_engine.py runs it:

    >>> labeler.autolabel(engine=engine)  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from .batches import predict_batch

INSTALL_HINT = (
    "auto-labeling with engine='ray' needs Ray Data: pip install 'nblabel[ray]' "
    "(or pip install 'ray[data]')"
)


def import_ray():
    """The ``ray`` module with Ray Data, or an ImportError that says what to install."""
    try:
        import ray
        import ray.data  # noqa: F401 -- the engine needs Ray Data, not only Ray core
    except ImportError as e:
        raise ImportError(INSTALL_HINT) from e
    return ray


def connect(address: str | None = None):
    """The Ray of this process: the one already initialised, else ``ray.init(address)``
    (``None`` joins ``RAY_ADDRESS`` when it is set, else starts a local cluster)."""
    ray = import_ray()
    if not ray.is_initialized():
        ray.init(
            address=address,
            include_dashboard=False,
            logging_level=logging.WARNING,
            ignore_reinit_error=True,
        )
    return ray


@dataclass(frozen=True)
class RayEngine:
    """Where and how wide :meth:`AutoLabeler.autolabel` predicts on Ray.

    Attributes:
        address: The cluster (``"auto"``, ``"ray://head:10001"``); ``None``: the Ray already
            initialised here, else ``RAY_ADDRESS``, else a local cluster.
        workers: Model replicas; ``None``: as many as the cluster's CPUs (or GPUs) allow.
        cpus_per_worker: CPUs each replica holds (its torch threads).
        gpus_per_worker: GPUs each replica holds; ``None``: 1 when the cluster has GPUs,
            else 0.
    """

    address: str | None = None
    workers: int | None = None
    cpus_per_worker: float = 1.0
    gpus_per_worker: float | None = None

    def __post_init__(self):
        if self.workers is not None and (
            isinstance(self.workers, bool) or not isinstance(self.workers, int) or self.workers < 1
        ):
            raise ValueError(f"workers must be a whole number >= 1, got {self.workers!r}")
        if not float(self.cpus_per_worker) > 0:
            raise ValueError(f"cpus_per_worker must be > 0, got {self.cpus_per_worker!r}")
        object.__setattr__(self, "cpus_per_worker", float(self.cpus_per_worker))

    def plan(self, ray) -> tuple[int, float, float]:
        """``(workers, cpus, gpus)`` per worker for the cluster ``ray`` is connected to."""
        resources = ray.cluster_resources()
        gpus = self.gpus_per_worker
        if gpus is None:
            gpus = 1.0 if resources.get("GPU", 0) >= 1 else 0.0
        workers = self.workers
        if workers is None:
            by_cpu = int(resources.get("CPU", 1) // self.cpus_per_worker)
            workers = int(resources.get("GPU", 0) // gpus) if gpus else by_cpu
        return max(1, workers), self.cpus_per_worker, float(gpus)

    def predict(
        self, model, paths: Sequence[str], batch: int, general=None
    ) -> Iterator[tuple[list[int], dict, dict, dict]]:
        """``(positions, {position: records}, {position: problem}, {position: general
        records})`` per batch of ``paths`` as the workers finish them, each position once."""
        ray = connect(self.address)
        workers, cpus, gpus = self.plan(ray)
        items = [{"i": i, "image": str(p)} for i, p in enumerate(paths)]
        if not items:
            return
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False  # the loop shows its own progress
        blocks = _blocks(len(items), batch, workers)
        # held here for the whole run: a restarted worker unpickles the model from it again
        shipped = _shipped(ray, model, general)
        predicted = ray.data.from_items(items, override_num_blocks=blocks).map_batches(
            _Predictor,
            fn_constructor_args=(shipped, cpus),
            batch_size=batch,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=min(workers, blocks)),
            num_cpus=cpus,
            num_gpus=gpus,
        )
        with _quiet_ray_data():
            yield from _received(predicted, general is not None)


def _received(predicted, with_general: bool):
    """Decode the workers' batches, dropping positions a retried batch sends again."""
    seen: set[int] = set()
    for out in predicted.iter_batches(batch_size=None, batch_format="numpy"):
        positions, preds, bad, found = [], {}, {}, {}
        for i, recs, problem, other in zip(
            out["i"], out["records"], out["problem"], out["general"]
        ):
            i = int(i)
            if i in seen:  # a retried batch streamed again
                continue
            seen.add(i)
            positions.append(i)
            if problem:
                bad[i] = str(problem)
            else:
                preds[i] = json.loads(recs)
                if with_general:
                    found[i] = json.loads(other)
        if positions:
            yield positions, preds, bad, found


def _blocks(n: int, batch: int, workers: int) -> int:
    """Input blocks for ``n`` images: a few batches each, so a lost worker costs little, and
    at least a few per worker, so every worker has work."""
    batches = -(-n // max(1, batch))
    return max(1, min(batches, max(-(-batches // 4), 4 * workers)))


def _shipped(ray, model, general):
    """The models in Ray's object store, or an error that says why they cannot go there."""
    try:
        return ray.put((model, general))
    except Exception as e:
        raise TypeError(
            f"{type(model).__name__} cannot be sent to Ray workers ({e}). A model used with "
            "engine='ray' must pickle: keep locks, open files and loaded networks out of "
            "its pickled state (__getstate__), as nblabel's GeneralAI and CustomAI do"
        ) from e


@contextlib.contextmanager
def _quiet_ray_data():
    """Ray Data's start-up lines are for its own users; in a notebook cell only warnings
    belong beside the loop's progress bar."""
    logger = logging.getLogger("ray.data")
    level = logger.level
    logger.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        logger.setLevel(level)


class _Predictor:
    """A Ray Data actor: the model, loaded once, predicting one batch per call."""

    def __init__(self, shipped, cpus: float):
        import ray
        import torch

        torch.set_num_threads(max(1, int(cpus)))  # the actor's share of the node
        # Ray Data hands constructor arguments over as they are: the reference is read here
        self.model, self.general = ray.get(shipped)

    def __call__(self, batch: dict) -> dict:
        paths = [str(p) for p in batch["image"]]
        preds, bad = predict_batch(self.model, paths)
        others = {}
        if self.general is not None and preds:
            ok = sorted(preds)
            found = self.general.predict([paths[i] for i in ok])
            others = {i: list(recs or []) for i, recs in zip(ok, found)}
        return {
            "i": batch["i"],
            "records": [json.dumps(preds.get(i, [])) for i in range(len(paths))],
            "problem": [bad.get(i, "") for i in range(len(paths))],
            "general": [json.dumps(others.get(i, [])) for i in range(len(paths))],
        }
