"""Bad inputs raise the documented exception and write nothing."""

import math
import time

import numpy as np
import pytest

import taskpool
from taskpool import TaskManager


@pytest.fixture
def manager(sqlite_url):
    manager = TaskManager("bad", store=sqlite_url)
    manager.create_task([{"x": 1}])
    return manager


def snapshot(manager):
    return [(t["_id"], t["status"], t["res"], t["attempts"], t["def"]) for t in manager.query()]


@pytest.mark.parametrize(
    "query",
    [{"$where": "1"}, {"filter.x": {"$regex": "a"}}, {"def.x": 1}, {"_id": "not-an-id"}, {"status": {"$in": "done"}}],
)
def test_malformed_query_raises_invalid_query_and_changes_nothing(manager, query):
    before = snapshot(manager)
    for call in (manager.task_stat, manager.remove, lambda q: manager.reset_status(q, "done"), lambda q: list(manager.query(q))):
        with pytest.raises((taskpool.InvalidQuery, taskpool.InvalidInput)) as raised:
            call(query)
        assert isinstance(raised.value, ValueError)
    assert snapshot(manager) == before


def test_unknown_status_raises_invalid_input(manager):
    before = snapshot(manager)
    with pytest.raises(taskpool.InvalidInput, match="unknown status"):
        manager.fetch_task(status="later")
    with pytest.raises(taskpool.InvalidInput, match="unknown status"):
        manager.reset_status({}, "finished")
    assert snapshot(manager) == before


def test_non_json_result_raises_type_error_naming_the_path_and_keeps_the_lease(manager):
    task = manager.fetch_task()
    with pytest.raises(TypeError, match=r'res\["model"\]\["w"\]: numpy.ndarray is not JSON.*artifact'):
        manager.commit_task_res(task, {"model": {"w": np.zeros(3)}})
    with pytest.raises(TypeError, match=r"res\[1\]: set is not JSON"):
        manager.commit_task_res(task, [1, {2}])
    with pytest.raises(TypeError, match=r"key 1 is int"):
        manager.commit_task_res(task, {1: "a"})
    with pytest.raises(taskpool.InvalidInput, match="not a JSON number"):
        manager.commit_task_res(task, {"ic": math.nan})
    with pytest.raises(taskpool.InvalidInput, match="64 bits"):
        manager.commit_task_res(task, 2**70)
    current = manager.re_query(task["_id"])
    assert (current["status"], current["res"]) == ("running", None)
    manager.commit_task_res(task, {"ic": np.float32(0.5), "n": np.int16(3), "ok": np.bool_(True), "z": np.array(7)})
    assert manager.re_query(task["_id"])["res"] == {"ic": 0.5, "n": 3, "ok": True, "z": 7}


def test_integer_beyond_i64_in_a_definition_is_refused(sqlite_url):
    manager = TaskManager("big", store=sqlite_url)
    with pytest.raises(taskpool.InvalidInput):
        manager.create_task([{"x": 2**63}])
    assert manager.task_stat() == {}


def test_bad_store_url_raises_config_error():
    for url in ["postgres://localhost/db", "no-scheme", "mongodb://[bad"]:
        with pytest.raises(taskpool.ConfigError):
            TaskManager("p", store=url)


def test_bad_pool_name_raises_config_error(sqlite_url):
    with pytest.raises(taskpool.ConfigError, match="invalid pool name"):
        TaskManager("no spaces", store=sqlite_url).create_task([{"x": 1}])


def test_bad_lease_raises_invalid_input(sqlite_url):
    for lease in ["soon", -1, 0, "0s"]:
        with pytest.raises(taskpool.InvalidInput):
            TaskManager("p", store=sqlite_url, lease=lease)


def test_unreachable_mongodb_raises_unavailable_without_the_password():
    url = "mongodb://alice:s3cret@127.0.0.1:9/db?serverSelectionTimeoutMS=500&connectTimeoutMS=500"
    start = time.monotonic()
    with pytest.raises(taskpool.Unavailable) as raised:
        TaskManager("p", store=url)
    assert time.monotonic() - start < 30
    assert isinstance(raised.value, ConnectionError)
    assert "s3cret" not in str(raised.value)
    assert "alice:***@" in str(raised.value)


def test_unresolvable_srv_url_raises_unavailable_naming_the_host():
    # mongodb+srv:// is parsed (and redacted) like mongodb://; resolving its
    # DNS SRV record fails here (.invalid never resolves): a clear error
    # naming the host, never a panic.
    url = "mongodb+srv://alice:s3cret@cluster0.taskpool.invalid/research?serverSelectionTimeoutMS=500"
    for open_it in (lambda: taskpool.open(url), lambda: TaskManager("p", store=url)):
        with pytest.raises(taskpool.Unavailable) as raised:
            open_it()
        message = str(raised.value)
        assert isinstance(raised.value, ConnectionError)
        assert "cluster0.taskpool.invalid" in message
        assert "DNS" in message
        assert "s3cret" not in message
        assert "alice:***@" in message


def test_commit_without_a_fetch_raises_lease_lost(manager):
    (task,) = manager.query()
    with pytest.raises(taskpool.LeaseLost):
        manager.commit_task_res(task, 1)
    assert manager.re_query(task["_id"])["status"] == "waiting"


def test_re_query_of_a_missing_task_raises_not_found(manager):
    with pytest.raises(taskpool.NotFound) as raised:
        manager.re_query("0123456789abcdef01234567")
    assert isinstance(raised.value, LookupError)
    with pytest.raises(taskpool.InvalidInput):
        manager.re_query("xyz")
