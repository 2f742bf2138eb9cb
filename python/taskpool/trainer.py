"""A thin ``TrainerRM`` (Qlib's trainer through a task pool): train tasks
through a pool, leave one record per trained task."""

import numbers
from typing import Any, Callable, Dict, List, Optional, Union

from .manager import TaskManager
from .run import run_task


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
            res = task.get("res")
            metrics = res.get("metrics") if isinstance(res, dict) else None
            metrics = {
                k: float(v)
                for k, v in (metrics or {}).items()
                if isinstance(v, numbers.Real) and not isinstance(v, bool) and v == v and abs(v) != float("inf")
            }
            records.append(
                store.create_record(
                    experiment, task=task["def"], pool=self.task_pool, task_id=task_id, metrics=metrics, status="finished"
                )
            )
        return records
