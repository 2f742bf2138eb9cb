"""Thin trainers (Qlib's ``TrainerR`` and ``TrainerRM``): train tasks and
leave one record per trained task in the store."""

import numbers
from typing import Any, Callable, Dict, List, Optional, Union

from . import _config
from .manager import TaskManager
from .run import run_task


def _metrics(result: Any) -> Dict[str, float]:
    """The finite numbers of a result's ``"metrics"`` dict."""
    metrics = result.get("metrics") if isinstance(result, dict) else None
    return {
        k: float(v)
        for k, v in (metrics or {}).items()
        if isinstance(v, numbers.Real) and not isinstance(v, bool) and v == v and abs(v) != float("inf")
    }


class TrainerR:
    """Train tasks one after the other in this process (Qlib's ``TrainerR``)
    and record each in ``experiment_name`` of the store (default
    ``$TASKPOOL_STORE``, else ``sqlite://taskpool.db``).

    ``train_func(task, **kwargs)`` returns the JSON result; the finite numbers
    of its ``"metrics"`` dict become the record's metrics. An exception
    marks the record ``failed`` and propagates.
    """

    def __init__(self, experiment_name: str, train_func: Optional[Callable[..., Any]] = None, store: Optional[str] = None) -> None:
        self.experiment_name = experiment_name
        self.train_func = train_func
        self.store_url = _config.store_url(store)
        _config.shared_store(self.store_url)  # opened now: a bad URL fails here

    @property
    def store(self) -> "_native.Store":
        """The native store under this trainer (its own in a child made by
        ``os.fork()``)."""
        return _config.shared_store(self.store_url)

    def train(
        self,
        tasks: List[dict],
        train_func: Optional[Callable[..., Any]] = None,
        experiment_name: Optional[str] = None,
        **kwargs: Any,
    ) -> List[Dict[str, Any]]:
        """Train ``tasks``; returns their records (task order)."""
        func = train_func or self.train_func
        if func is None:
            raise TypeError("TrainerR.train needs a train_func")
        experiment = experiment_name or self.experiment_name
        records = []
        for task in tasks:
            record = self.store.create_record(experiment, task=task)
            try:
                result = func(task, **kwargs)
            except BaseException:
                self.store.update_record(record, status="failed")
                raise
            records.append(self.store.update_record(record, status="finished", metrics=_metrics(result)))
        return records


class TrainerRM:
    """Train tasks through a task pool and return one record per task (Qlib's
    ``TrainerRM``): definitions are created in ``task_pool`` (existing ones
    reused, finished ones not re-trained), run here by ``run_task`` while
    other workers may help, waited for, and recorded in ``experiment_name``.

    ``train_func(task_def, **kwargs)`` returns the JSON result; the finite
    numbers of its ``"metrics"`` dict become the record's metrics. Artifacts
    go through ``manager.store.put_artifact(record, name, data)``.
    """

    def __init__(
        self,
        experiment_name: str,
        task_pool: Optional[str] = None,
        train_func: Optional[Callable[..., Any]] = None,
        store: Optional[str] = None,
        lease: Union[None, float, int, str] = None,
    ) -> None:
        self.experiment_name = experiment_name
        self.task_pool = task_pool or experiment_name
        self.train_func = train_func
        self.manager = TaskManager(self.task_pool, store=store, lease=lease)

    def train(
        self,
        tasks: List[dict],
        train_func: Optional[Callable[..., Any]] = None,
        experiment_name: Optional[str] = None,
        **kwargs: Any,
    ) -> List[Dict[str, Any]]:
        """Train ``tasks``; returns their records (task order). A task that
        ended ``failed`` has no record; see ``manager.query`` for its errors."""
        func = train_func or self.train_func
        if func is None:
            raise TypeError("TrainerRM.train needs a train_func")
        experiment = experiment_name or self.experiment_name
        ids = self.manager.create_task(tasks)
        only_these = {"_id": {"$in": sorted(set(ids))}}
        run_task(func, self.task_pool, query=only_these, store=self.manager.store_url, lease=self.manager.lease, **kwargs)
        self.manager.wait(only_these)
        store = self.manager.store
        records = []
        for task_id in ids:
            task = self.manager.re_query(task_id)
            if task["status"] != TaskManager.STATUS_DONE:
                continue
            existing = store.records(experiment, task_id=task_id)
            if existing:
                records.append(existing[0])
                continue
            records.append(
                store.create_record(
                    experiment,
                    task=task["def"],
                    pool=self.task_pool,
                    task_id=task_id,
                    metrics=_metrics(task.get("res")),
                    status="finished",
                )
            )
        return records
