"""Qlib's ``TaskManager`` on a taskpool store.

Same names, arguments and task dict shape as
``qlib.workflow.task.manage.TaskManager``; underneath, taskpool's leases,
attempts and content-key dedupe. See ``docs/python.md`` for what differs.
"""

import logging
import sys
import threading
import time
import traceback
from contextlib import contextmanager
from typing import Any, Dict, Iterator, List, Optional, Union

from . import _config, _native
from .errors import LeaseLost

log = logging.getLogger("taskpool")

Query = Dict[str, Any]
Task = Dict[str, Any]


def _describe(error: BaseException) -> str:
    """An error as stored in a task's history: type, message, last frame."""
    text = "".join(traceback.format_exception_only(type(error), error)).strip()
    frames = traceback.extract_tb(error.__traceback__)
    if frames:
        last = frames[-1]
        text += f" (at {last.filename}:{last.lineno} in {last.name})"
    return text


def _claim_query(query: Optional[Query]) -> Optional[Query]:
    """Qlib's fetch overrides any ``status`` in the query with its own
    argument; a claim query may not mention status, so drop it."""
    if not query:
        return None
    if not isinstance(query, dict):
        raise TypeError(f"query must be a dict, got {type(query).__name__}")
    return {k: v for k, v in query.items() if k != "status"} or None


class _PoolsMethod:
    """``TaskManager.list()`` works on the class (Qlib's static method: the
    default store) and on an instance (its store)."""

    def __get__(self, manager: Optional["TaskManager"], owner: type):
        def list_pools(store: Optional[str] = None) -> List[str]:
            """The names of the task pools in the store."""
            if manager is not None and store is None:
                return manager._store.pools()
            return _config.shared_store(_config.store_url(store)).pools()

        return list_pools


class TaskManager:
    """A task pool (Qlib's ``TaskManager``).

    Args:
        task_pool: the pool name (1–64 characters from ``A-Z a-z 0-9 _ - .``).
        store: the store URL; default ``$TASKPOOL_STORE``, else
            ``sqlite://taskpool.db`` (the CLI's default). Every scheme of the
            CLI works: ``sqlite://``, ``sled://``, ``mongodb://``,
            ``mongodb+srv://``, ``memory://``.
        lease: how long a fetched task stays reserved without a heartbeat,
            in seconds or as ``"30s"``, ``"2m"``; default
            ``$TASKPOOL_LEASE``, else 60 s. A background heartbeat keeps the
            lease of every task this manager fetched until it is committed or
            returned.
        max_attempts: attempts of a new task before it becomes ``failed``
            (default 3).

    Raises:
        ConfigError: for an unknown scheme or malformed URL.
        Unavailable: when the store cannot be reached.

    A TaskManager may be shared by threads: store calls release the GIL.
    """

    STATUS_WAITING = "waiting"
    STATUS_RUNNING = "running"
    STATUS_PART_DONE = "part_done"
    STATUS_DONE = "done"
    STATUS_FAILED = "failed"

    list = _PoolsMethod()

    def __init__(
        self,
        task_pool: str,
        store: Optional[str] = None,
        lease: Union[None, float, int, str] = None,
        max_attempts: Optional[int] = None,
    ) -> None:
        if not isinstance(task_pool, str):
            raise TypeError(f"task_pool must be a str, got {type(task_pool).__name__}")
        self.task_pool = task_pool
        self.store_url = _config.store_url(store)
        self.lease = _config.lease_seconds(lease)
        self.max_attempts = _native.DEFAULT_MAX_ATTEMPTS if max_attempts is None else max_attempts
        _config.shared_store(self.store_url)  # opened now: a bad URL fails here
        self._held: Dict[str, Any] = {}
        self._held_lock = threading.Lock()

    def __str__(self) -> str:
        return f"TaskManager({self.task_pool})"

    def __repr__(self) -> str:
        return f"TaskManager({self.task_pool!r}, store={self._store.url!r})"

    @property
    def store(self) -> "_native.Store":
        """The native store under this manager (records, artifacts…)."""
        return self._store

    @property
    def _store(self) -> "_native.Store":
        # Looked up at every call: a child made by os.fork() gets a store of
        # its own (the parent's cannot work there, its runtime is the parent's).
        return _config.shared_store(self.store_url)

    # -- creating -----------------------------------------------------------

    def create_task(self, task_def_l: List[dict], dry_run: bool = False, print_nt: bool = False) -> List[str]:
        """Create tasks from definitions; definitions already in the pool
        (same content, whatever their status) are reused.

        Returns:
            the ``_id`` of each definition, in input order (duplicates map to
            the same id); ``[]`` with ``dry_run`` (as in Qlib), which writes
            nothing.
        """
        if isinstance(task_def_l, dict):
            raise TypeError("create_task takes a list of task definitions; use insert_task_def for one")
        defs = list(task_def_l)
        created = self._store.create(
            self.task_pool, defs, max_attempts=self.max_attempts, dry_run=dry_run
        )
        new = [d for d, c in zip(defs, created) if c["new"]]
        log.info("Total Tasks: %d, New Tasks: %d", len(defs), len(new))
        if print_nt:
            for task_def in new:
                print(task_def)
        if dry_run:
            return []
        return [c["_id"] for c in created]

    def insert_task_def(self, task_def: dict) -> str:
        """Create one task from a definition (reused if it exists); returns its ``_id``."""
        return self._store.create(self.task_pool, [task_def], max_attempts=self.max_attempts)[0]["_id"]

    # -- fetching and finishing -------------------------------------------

    def fetch_task(self, query: Optional[Query] = None, status: str = STATUS_WAITING) -> Optional[Task]:
        """Claim the highest-priority task of ``status`` matching ``query``.

        The task is ``running`` under a lease that a background heartbeat
        (outside the GIL) keeps alive until :meth:`commit_task_res` or
        :meth:`return_task`. A ``status`` key in ``query`` is ignored, as in
        Qlib. Returns ``None`` when no task is claimable.
        """
        tasks = self._store.claim(
            self.task_pool, 1, lease=self.lease, query=_claim_query(query), from_status=status
        )
        if not tasks:
            return None
        task = tasks[0]
        heartbeat = self._store.keep_alive(self.task_pool, task["_id"], task["lease"]["token"], self.lease)
        with self._held_lock:
            self._held[task["_id"]] = heartbeat
        return task

    @contextmanager
    def safe_fetch_task(self, query: Optional[Query] = None, status: str = STATUS_WAITING) -> Iterator[Optional[Task]]:
        """Fetch a task for the ``with`` block (``None`` if there is none).

        On an exception or KeyboardInterrupt in the block, the task goes back
        to ``status`` with the error recorded (the attempt counts; after
        ``max_attempts`` the task is ``failed``) and the exception propagates.
        A task the block neither committed nor returned is handed back
        (uncounted) when the block ends.
        """
        task = self.fetch_task(query=query, status=status)
        try:
            yield task
        except (Exception, KeyboardInterrupt) as error:
            if task is not None and self._holds(task):
                self.return_task(task, status=status, error=_describe(error))
            raise
        finally:
            if task is not None and self._holds(task):
                self.return_task(task, status=status)

    def task_fetcher_iter(self, query: Optional[Query] = None) -> Iterator[Task]:
        """Yield fetched tasks until none is claimable; commit each with
        :meth:`commit_task_res`."""
        while True:
            with self.safe_fetch_task(query=query) as task:
                if task is None:
                    break
                yield task

    def commit_task_res(self, task: Task, res: Any, status: Optional[str] = STATUS_DONE) -> None:
        """Store ``res`` (JSON) as the task's result and move it to ``status``
        (``done``; ``part_done`` when a second phase follows).

        Raises:
            LeaseLost: the lease expired and another worker took the task.
            TypeError: ``res`` is not JSON (the lease is kept: return the task).
        """
        token = self._token(task)
        try:
            self._store.commit(self.task_pool, task["_id"], token, res, status or self.STATUS_DONE)
        except LeaseLost:
            self._release(task)
            raise
        self._release(task)

    def return_task(self, task: Task, status: Optional[str] = STATUS_WAITING, error: Optional[str] = None) -> str:
        """Give a fetched task back, to ``status`` (default ``waiting``).

        Without ``error`` the attempt is not counted (a hand-back); with it,
        the error joins the task's history and after ``max_attempts`` the task
        becomes ``failed``. Returns the task's new status.
        """
        token = self._token(task)
        try:
            return self._store.return_task(self.task_pool, task["_id"], token, error=error, status=status or self.STATUS_WAITING)
        finally:
            self._release(task)

    # -- reading and administration ---------------------------------------

    def query(self, query: Optional[Query] = None, decode: bool = True) -> Iterator[Task]:
        """Iterate over the tasks matching ``query`` (creation order).
        ``decode`` is accepted for Qlib compatibility: nothing is pickled."""
        yield from self._store.query(self.task_pool, query)

    def re_query(self, _id: str) -> Task:
        """The task with id ``_id`` (``NotFound`` if there is none)."""
        return self._store.get(self.task_pool, _id)

    def remove(self, query: Optional[Query] = None) -> int:
        """Delete the tasks matching ``query`` (every task for ``{}``); returns how many."""
        return self._store.remove(self.task_pool, query)

    def task_stat(self, query: Optional[Query] = None) -> Dict[str, int]:
        """Counts by status of the tasks matching ``query`` (statuses with no
        task are absent, as in Qlib), counted by the store."""
        return {k: v for k, v in self._store.stat(self.task_pool, query).items() if v}

    def reset_waiting(self, query: Optional[Query] = None) -> int:
        """Put ``running`` tasks matching ``query`` back to ``waiting`` (all
        ``running`` ones for ``{}``); returns how many."""
        if query and "status" in query:
            return self._store.reset_status(self.task_pool, query, self.STATUS_WAITING)
        return self._store.reset_waiting(self.task_pool, query)

    def reset_status(self, query: Query, status: str) -> int:
        """Set the status of the tasks matching ``query``; returns how many."""
        return self._store.reset_status(self.task_pool, query, status)

    def prioritize(self, task: Task, priority: int) -> int:
        """Set a task's priority (higher is fetched first)."""
        return self._store.prioritize(self.task_pool, {"_id": task["_id"]}, priority)

    def replace_task(self, task: Task, new_task: dict) -> Task:
        """Replace a task's definition. ``new_task`` is a task dict (its
        ``def`` and ``filter`` are used) or a bare definition."""
        if "def" in new_task:
            definition, flt = new_task["def"], new_task.get("filter")
        else:
            definition, flt = new_task, None
        return self._store.replace(self.task_pool, task["_id"], definition, flt)

    def wait(self, query: Optional[Query] = None, timeout: Optional[float] = None, poll: float = 1.0) -> Dict[str, int]:
        """Wait until no task matching ``query`` is waiting, running or
        part_done; a progress bar on stderr when it is a terminal.

        Beyond Qlib: running tasks whose lease expired (a dead worker) are
        reported in the log, and ``timeout`` (seconds) bounds the wait
        (``TimeoutError``). Returns the final counts by status.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        bar = _ProgressBar(sys.stderr)
        warned = set()
        try:
            while True:
                step = poll if deadline is None else max(0.001, min(poll, deadline - time.monotonic()))
                look = self._store.wait(self.task_pool, query, timeout=step, poll=poll)
                bar.show(look["stat"], look["pending"])
                for expired in look["expired"]:
                    if expired["_id"] not in warned:
                        warned.add(expired["_id"])
                        log.warning(
                            "task %s: the lease of %s expired at %s; it waits for a worker to reclaim it",
                            expired["_id"], expired["owner"], expired["expired_at"],
                        )
                if look["finished"]:
                    return {k: v for k, v in look["stat"].items() if v}
                if deadline is not None and time.monotonic() >= deadline:
                    raise TimeoutError(f"{look['pending']} task(s) of {self.task_pool} still pending after {timeout} s")
        finally:
            bar.close()

    # -- leases held by this manager ---------------------------------------

    def _holds(self, task: Task) -> bool:
        with self._held_lock:
            return task["_id"] in self._held

    def _token(self, task: Task) -> str:
        lease = task.get("lease") if isinstance(task, dict) else None
        if not lease:
            raise LeaseLost(f"task {task.get('_id') if isinstance(task, dict) else task} holds no lease: fetch it first")
        return lease["token"]

    def _release(self, task: Task) -> None:
        with self._held_lock:
            heartbeat = self._held.pop(task["_id"], None)
        if heartbeat is not None:
            heartbeat.stop()


class _ProgressBar:
    """A one-line progress bar (done / total) on a terminal; silent otherwise."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.enabled = hasattr(stream, "isatty") and stream.isatty()
        self.drawn = False

    def show(self, stat: Dict[str, int], pending: int) -> None:
        if not self.enabled:
            return
        total = sum(stat.values())
        done = total - pending
        width = 30
        filled = width * done // total if total else width
        line = f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} finished"
        if stat.get("running"):
            line += f", {stat['running']} running"
        self.stream.write(line)
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()
