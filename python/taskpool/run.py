"""Qlib's ``run_task``: a worker loop over a pool."""

import concurrent.futures
import logging
import multiprocessing
import signal
import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Optional, Union

from .errors import InvalidInput, LeaseLost
from .manager import TaskManager, _describe

log = logging.getLogger("taskpool")


def run_task(
    task_func: Callable[..., Any],
    task_pool: str,
    query: Optional[dict] = None,
    force_release: bool = False,
    before_status: str = TaskManager.STATUS_WAITING,
    after_status: str = TaskManager.STATUS_DONE,
    *,
    store: Optional[str] = None,
    lease: Union[None, float, int, str] = None,
    **kwargs: Any,
) -> bool:
    """Run the tasks of ``task_pool`` until none is claimable (Qlib's ``run_task``).

    For each task fetched from ``before_status``: calls
    ``task_func(task["def"], **kwargs)`` (``task["res"]`` when
    ``before_status`` is ``part_done``), commits its return value (JSON) with
    ``after_status``, and goes on with the next task.

    Unlike Qlib:

    * an exception in ``task_func`` returns the task with the error recorded
      (the attempt counts; after ``max_attempts`` it is ``failed``) and the
      loop goes on with the next task;
    * KeyboardInterrupt or SIGTERM hands the running task back without
      counting the attempt and stops (the KeyboardInterrupt propagates; SIGTERM
      becomes ``SystemExit(143)``);
    * the lease is heartbeaten in the background; a process that dies loses
      its task to the next worker once the lease expires.

    Args:
        store: the store URL (reserved keyword, not passed to ``task_func``);
            default ``$TASKPOOL_STORE``, else ``sqlite://taskpool.db``.
        lease: the lease (reserved keyword); default ``$TASKPOOL_LEASE``,
            else 60 s.
        force_release: run each task in a fresh process (``spawn``), so its
            memory goes back to the system; ``task_func`` and its arguments
            must be picklable and importable (a module-level function, and a
            main script guarded by ``if __name__ == "__main__":``).

    Returns:
        whether any task was run and committed.
    """
    if before_status not in (TaskManager.STATUS_WAITING, TaskManager.STATUS_PART_DONE):
        raise InvalidInput(f"before_status must be waiting or part_done, not {before_status!r}")
    manager = TaskManager(task_pool, store=store, lease=lease)
    ever_run = False
    with _sigterm_as_exit():
        while True:
            task = manager.fetch_task(query=query, status=before_status)
            if task is None:
                break
            param = task["def"] if before_status == TaskManager.STATUS_WAITING else task["res"]
            log.info("running task %s", task["_id"])
            try:
                result = _call(task_func, param, force_release, kwargs)
            except (KeyboardInterrupt, SystemExit):
                manager.return_task(task, status=before_status)
                raise
            except Exception as error:
                log.warning("task %s failed: %s", task["_id"], error)
                status = manager.return_task(task, status=before_status, error=_describe(error))
                if status == TaskManager.STATUS_FAILED:
                    log.error("task %s failed for good after its last attempt", task["_id"])
                continue
            try:
                manager.commit_task_res(task, result, status=after_status)
            except LeaseLost as error:
                log.warning("task %s: result dropped, the lease was lost: %s", task["_id"], error)
                continue
            except (TypeError, ValueError) as error:
                log.warning("task %s: the result cannot be stored: %s", task["_id"], error)
                manager.return_task(task, status=before_status, error=_describe(error))
                continue
            ever_run = True
    return ever_run


def _call(task_func: Callable[..., Any], param: Any, force_release: bool, kwargs: dict) -> Any:
    if not force_release:
        return task_func(param, **kwargs)
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as executor:
        return executor.submit(task_func, param, **kwargs).result()


@contextmanager
def _sigterm_as_exit() -> Iterator[None]:
    """Turn SIGTERM into ``SystemExit(143)`` while the loop runs (main thread
    only: Python delivers signals there), so the running task is handed back."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
