"""Failing tasks: poison tasks end failed with their error history,
safe_fetch_task returns a task on an exception, KeyboardInterrupt hands the
task back uncounted."""

import pytest

from taskpool import TaskManager, run_task


def poison(task_def: dict) -> dict:
    if task_def.get("poison"):
        raise RuntimeError(f"cannot train {task_def['name']}")
    return {"ok": task_def["name"]}


def test_poison_task_fails_after_max_attempts_and_the_rest_run(any_store_url):
    manager = TaskManager("poison", store=any_store_url, max_attempts=3)
    manager.create_task([{"name": "bad", "poison": True}, {"name": "a"}, {"name": "b"}])
    assert run_task(poison, "poison", store=any_store_url)
    assert manager.task_stat() == {"done": 2, "failed": 1}
    (failed,) = manager.query({"status": "failed"})
    assert failed["attempts"] == 3
    assert len(failed["errors"]) == 3
    assert [e["attempt"] for e in failed["errors"]] == [1, 2, 3]
    assert all("RuntimeError: cannot train bad" in e["message"] for e in failed["errors"])


def test_safe_fetch_task_returns_the_task_on_an_exception(any_store_url):
    manager = TaskManager("safe", store=any_store_url)
    (task_id,) = manager.create_task([{"x": 1}])
    with pytest.raises(ValueError, match="boom"):
        with manager.safe_fetch_task() as task:
            assert task["status"] == "running"
            raise ValueError("boom")
    task = manager.re_query(task_id)
    assert task["status"] == "waiting"
    assert task["attempts"] == 1
    assert "ValueError: boom" in task["errors"][0]["message"]
    assert task["lease"] is None


def test_safe_fetch_task_yields_none_on_an_empty_pool(sqlite_url):
    manager = TaskManager("empty", store=sqlite_url)
    with manager.safe_fetch_task() as task:
        assert task is None


def test_safe_fetch_task_hands_back_a_task_left_uncommitted(sqlite_url):
    manager = TaskManager("left", store=sqlite_url)
    (task_id,) = manager.create_task([{"x": 1}])
    with manager.safe_fetch_task() as task:
        assert task["_id"] == task_id
    task = manager.re_query(task_id)
    assert (task["status"], task["attempts"], task["errors"]) == ("waiting", 0, [])


def test_keyboard_interrupt_in_run_task_hands_the_task_back_uncounted(sqlite_url):
    manager = TaskManager("interrupt", store=sqlite_url)
    manager.create_task([{"x": 1}, {"x": 2}])

    def interrupted(task_def):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_task(interrupted, "interrupt", store=sqlite_url)
    tasks = list(manager.query())
    assert [(t["status"], t["attempts"], t["errors"]) for t in tasks] == [("waiting", 0, [])] * 2


def test_run_task_rejects_a_result_that_is_not_json_and_counts_the_attempt(sqlite_url):
    manager = TaskManager("nonjson", store=sqlite_url, max_attempts=2)
    (task_id,) = manager.create_task([{"x": 1}])
    assert not run_task(lambda d: {"model": object()}, "nonjson", store=sqlite_url)
    task = manager.re_query(task_id)
    assert task["status"] == "failed"
    assert task["res"] is None
    assert "is not JSON" in task["errors"][0]["message"]


def test_force_release_runs_the_function_in_another_process(sqlite_url):
    import os

    manager = TaskManager("fresh", store=sqlite_url)
    manager.create_task([{"x": 1}])
    assert run_task(_pid_of_runner, "fresh", store=sqlite_url, force_release=True)
    (task,) = manager.query()
    assert task["res"] != os.getpid()


def _pid_of_runner(task_def):
    import os

    return os.getpid()
