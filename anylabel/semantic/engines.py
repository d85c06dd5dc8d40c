"""Where the autolabel pipeline runs: in this process (``local``) or on Ray Data (``ray``).

Both engines run the same :class:`~anylabel.semantic.autolabel.AutolabelPipeline` on the same task list,
and each task's file is written by the pipeline itself, so they write identical files. Each yields one
:class:`~anylabel.semantic.autolabel.ItemResult` per task as it finishes (progress for free; cancel by
stopping the iteration, finished files stay and the next run skips them).

Ray: ``ray.data.from_items(tasks).map_batches(AutolabelActor, ...)``, where each actor builds the models
once in its constructor and labels batches of tasks. Without ``address`` a local Ray starts (and stops
at the end) with ``num_cpus`` CPUs and no dashboard; with ``address`` (``ray://host:10001`` or
``host:6379``) the run joins that cluster, whose workers need anylabel installed and the input and output
folders at the same paths (a shared file system).
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence

import numpy as np

from anylabel.errors import AnylabelError
from anylabel.semantic.autolabel import AutolabelConfig, AutolabelPipeline, ItemResult, Task, preflight

ENGINES = ("local", "ray")
_RESULT_KEYS = ("source", "output", "status", "error", "shapes", "labeled")


def run_local(config: AutolabelConfig, tasks: Sequence[Task]) -> Iterator[ItemResult]:
    """Label ``tasks`` one after the other in this process."""
    if not tasks:
        return
    pipeline = AutolabelPipeline(config).open()
    try:
        for task in tasks:
            yield pipeline.process(task)
    finally:
        pipeline.close()


class AutolabelActor:
    """A Ray Data actor: holds one pipeline (models loaded once) and labels batches of tasks."""

    def __init__(self, config: Dict[str, Any]) -> None:
        cfg = dict(config)
        cfg["models_files"] = tuple(cfg.get("models_files") or ())
        cfg["ignore_ids"] = tuple(cfg.get("ignore_ids") or ())
        cfg["drop_labels"] = tuple(cfg.get("drop_labels") or ())
        self.pipeline = AutolabelPipeline(AutolabelConfig(**cfg)).open()

    def __call__(self, batch: Dict[str, np.ndarray]) -> Dict[str, List[Any]]:
        results = [self.pipeline.process(Task(str(s), str(o))) for s, o in zip(batch["source"], batch["output"])]
        return {k: [getattr(r, k) for r in results] for k in _RESULT_KEYS}


def run_ray(config: AutolabelConfig, tasks: Sequence[Task], address: Optional[str] = None,
            num_cpus: Optional[int] = None, actors: int = 1, batch_size: int = 1) -> Iterator[ItemResult]:
    """Label ``tasks`` with Ray Data, ``actors`` model-holding actors of one CPU each.

    Args:
        address: an existing cluster; None starts a local Ray for this run.
        num_cpus: CPUs of the local Ray (default: ``actors``).
        actors: how many actors (model copies) label in parallel.
        batch_size: tasks per ``map_batches`` call.
    """
    if not tasks:
        return
    preflight(config)
    # Ray Data's own context warns about its deprecated settings on every run: not the user's concern.
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"ray\.data\.context")
    try:
        import ray
    except ImportError as e:
        raise AnylabelError('the ray engine needs Ray: pip install -e ".[ray]"') from e
    started = False
    if not ray.is_initialized():
        try:
            if address:
                ray.init(address=address, log_to_driver=False)
            else:
                ray.init(num_cpus=num_cpus or actors, include_dashboard=False, log_to_driver=False,
                         runtime_env={"env_vars": _worker_env()})
        except Exception as e:  # ConnectionError, RuntimeError, ValueError from a bad address
            raise AnylabelError(f"cannot start or reach Ray{' at ' + address if address else ''}: {e}") from e
        started = True
    try:
        from ray.data import DataContext

        ctx = DataContext.get_current()
        ctx.enable_progress_bars = False  # the CLI shows its own bar over finished images
        ds = ray.data.from_items([{"source": t.source, "output": t.output} for t in tasks],
                                 override_num_blocks=max(1, min(len(tasks), 64)))
        labeled = ds.map_batches(AutolabelActor, fn_constructor_kwargs={"config": config.to_dict()},
                                 batch_size=batch_size, concurrency=max(1, actors), num_cpus=1)
        try:
            for row in labeled.iter_rows():
                yield ItemResult(**{k: (int(row[k]) if k in ("shapes", "labeled") else str(row[k]))
                                    for k in _RESULT_KEYS})
        except Exception as e:  # an actor that could not start (missing model...) arrives wrapped by Ray
            raise _unwrap(e) from e
    finally:
        if started:
            ray.shutdown()


def _unwrap(error: BaseException) -> AnylabelError:
    """The AnylabelError inside a Ray exception chain (e.g. a ModelError raised in an actor's constructor),
    or an AnylabelError carrying the first line of the innermost error."""
    seen, e = set(), error
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, AnylabelError):
            return e
        e = getattr(e, "cause", None) or e.__cause__
    first = (str(error).strip().splitlines() or [type(error).__name__])[-1]
    return AnylabelError(f"the ray engine failed: {first[:300]}")


def _worker_env() -> Dict[str, str]:
    """Environment of local Ray workers: find this checkout's anylabel even when it is not installed, and
    stay offline (ultralytics)."""
    root = str(Path(__file__).resolve().parents[2])
    paths = [root] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    env = {"PYTHONPATH": os.pathsep.join(dict.fromkeys(paths)), "YOLO_OFFLINE": "1"}
    if os.environ.get("ANYLABEL_MODELS"):
        env["ANYLABEL_MODELS"] = os.environ["ANYLABEL_MODELS"]
    return env


def run_engine(engine: str, config: AutolabelConfig, tasks: Sequence[Task], **ray_options: Any) -> Iterator[ItemResult]:
    """Dispatch to :func:`run_local` or :func:`run_ray`."""
    if engine == "local":
        return run_local(config, tasks)
    if engine == "ray":
        return run_ray(config, tasks, **ray_options)
    raise AnylabelError(f"unknown engine {engine!r}: expected one of {ENGINES}")
