"""taskpool: task management for research workflows, with Qlib's API.

A Qlib task-management script runs on taskpool with its imports changed::

    from taskpool import TaskManager, run_task, RollingGen, task_generator

``TaskManager``, ``run_task``, ``RollingGen``, ``task_generator`` and
``MultiHorizonGenBase`` keep Qlib's names, arguments and task dict shape; the
work is done by taskpool's Rust crates (leases with background heartbeats,
attempt limits, content-key dedupe, server-side counts) on every store:
``sqlite://``, ``sled://``, ``mongodb://``, ``mongodb+srv://``, ``memory://``.

The native API goes further: :func:`open` gives a :class:`Store` with every
store operation, records and artifacts. See ``docs/python.md``.
"""

from . import _native, errors
from ._native import DEFAULT_STORE_URL, URL_SCHEMES, Heartbeat, Store
from .errors import (
    AlreadyExists,
    BackendError,
    ConfigError,
    InvalidInput,
    InvalidQuery,
    LeaseLost,
    NotFound,
    TaskpoolError,
    Unavailable,
    Unsupported,
)
from .generate import (
    Calendar,
    MultiHorizonGen,
    MultiHorizonGenBase,
    RollingGen,
    TaskGen,
    handler_mod,
    set_calendar,
    task_generator,
)
from .manager import TaskManager
from .run import run_task
from .trainer import TrainerR, TrainerRM

__version__: str = _native.__version__

STATUS_WAITING = TaskManager.STATUS_WAITING
STATUS_RUNNING = TaskManager.STATUS_RUNNING
STATUS_PART_DONE = TaskManager.STATUS_PART_DONE
STATUS_DONE = TaskManager.STATUS_DONE
STATUS_FAILED = TaskManager.STATUS_FAILED


def open(url: str) -> Store:  # noqa: A001 - the native API's entry point
    """Open the store at ``url`` (``sqlite://PATH``, ``sled://PATH``,
    ``mongodb://…``, ``mongodb+srv://…``, ``memory://``): tasks, records and
    artifacts behind one URL.

    Raises:
        ConfigError: unknown scheme or malformed URL.
        Unavailable: the store cannot be reached or is locked.
    """
    return _native.open(url)


__all__ = [
    "__version__",
    "open",
    "Store",
    "Heartbeat",
    "Calendar",
    "DEFAULT_STORE_URL",
    "URL_SCHEMES",
    "TaskManager",
    "run_task",
    "TrainerR",
    "TrainerRM",
    "TaskGen",
    "RollingGen",
    "MultiHorizonGenBase",
    "MultiHorizonGen",
    "handler_mod",
    "set_calendar",
    "task_generator",
    "STATUS_WAITING",
    "STATUS_RUNNING",
    "STATUS_PART_DONE",
    "STATUS_DONE",
    "STATUS_FAILED",
    *errors.__all__,
]
