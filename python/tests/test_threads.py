"""Threads of one process share a TaskManager; store calls release the GIL."""

import collections
import os
import threading
import time

import pytest

from taskpool import TaskManager


def test_threads_share_a_task_manager(any_store_url):
    if any_store_url.startswith("mongodb") and os.environ.get("TASKPOOL_TEST_MONGODB_SERVER") == "ferretdb":
        # FerretDB's findAndModify is read-then-write without a lock: two
        # concurrent claims may both get a task. The Rust suite gates its
        # concurrency cases on FerretDB the same way (task-store-mongo tests).
        pytest.skip("FerretDB's findAndModify is not atomic: concurrent claims need mongo-java-server or MongoDB")
    manager = TaskManager("threads", store=any_store_url)
    manager.create_task([{"n": i} for i in range(200)])
    runs = collections.Counter()
    lock = threading.Lock()

    def drain():
        while True:
            task = manager.fetch_task()
            if task is None:
                return
            with lock:
                runs[task["def"]["n"]] += 1
            manager.commit_task_res(task, {"n": task["def"]["n"]})

    threads = [threading.Thread(target=drain) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert manager.task_stat() == {"done": 200}
    assert set(runs) == set(range(200)) and set(runs.values()) == {1}


def test_a_blocking_store_call_lets_other_threads_run(sqlite_url):
    manager = TaskManager("gil", store=sqlite_url)
    manager.create_task([{"n": 1}])
    held = manager.fetch_task()  # keeps the pool pending: wait() blocks in Rust
    started = threading.Event()
    outcome = {}

    def blocked_wait():
        started.set()
        look = manager.store.wait("gil", None, timeout=1.0, poll=0.5)
        outcome["finished"] = look["finished"]

    thread = threading.Thread(target=blocked_wait)
    thread.start()
    started.wait()
    spins = 0
    while thread.is_alive():
        spins += 1  # only runs while the waiting thread has released the GIL
        time.sleep(0.001)
    assert outcome == {"finished": False}
    assert spins > 50
    manager.commit_task_res(held, 1)
