"""A child made by ``os.fork()`` (multiprocessing's default start method on
Linux): a TaskManager made in the parent goes on working there with a store
of the child's own; a native Store opened in the parent refuses clearly
instead of waiting forever (its connections belong to the parent's runtime,
whose threads the child does not have)."""

import json
import os
import time

import pytest

import taskpool
from taskpool import TaskManager

# How long a child may take before the test calls it hung.
CHILD_SECONDS = 30


def run_in_child(body):
    """Run ``body()`` in a forked child; return what it returned (JSON),
    or fail the test if the child hangs or raises."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read_end)
        try:
            outcome = {"ok": body()}
        except BaseException as e:  # report everything to the parent
            outcome = {"error": type(e).__name__, "message": str(e)}
        with os.fdopen(write_end, "w") as out:
            json.dump(outcome, out)
        os._exit(0)
    os.close(write_end)
    deadline = time.monotonic() + CHILD_SECONDS
    while True:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            os.close(read_end)
            pytest.fail(f"the forked child did not finish within {CHILD_SECONDS} s")
        time.sleep(0.05)
    with os.fdopen(read_end) as result:
        return json.load(result)


def test_a_task_manager_from_the_parent_works_in_a_forked_child(store_url):
    manager = TaskManager("fork", store=store_url)
    manager.create_task([{"n": 1}, {"n": 2}])

    def child():
        with manager.safe_fetch_task() as task:
            manager.commit_task_res(task, {"by": "child"})
        return manager.task_stat()

    assert run_in_child(child) == {"ok": {"waiting": 1, "done": 1}}
    # The parent's store still works after the child used its own.
    assert manager.task_stat() == {"waiting": 1, "done": 1}
    done = list(manager.query({"status": "done"}))
    assert [t["res"] for t in done] == [{"by": "child"}]


def test_a_native_store_from_the_parent_refuses_in_a_forked_child(store_url):
    store = taskpool.open(store_url)
    store.create("fork", [{"n": 1}])

    outcome = run_in_child(lambda: store.stat("fork"))
    assert outcome["error"] == "Unsupported"
    assert "cannot be used in process" in outcome["message"]
    assert "open it again in the child" in outcome["message"]
    assert store.stat("fork")["waiting"] == 1
