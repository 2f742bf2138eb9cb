"""The native API: taskpool.open(url) -> Store, leases, records, artifacts."""

import time

import pytest

import taskpool


def test_store_operations(any_store_url):
    store = taskpool.open(any_store_url)
    created = store.create("native", [{"a": 1}, {"a": 2}, {"a": 1}], priority=1)
    assert [c["new"] for c in created] == [True, True, False]
    assert created[0]["_id"] == created[2]["_id"]
    assert "native" in store.pools()
    assert store.stat("native") == {"waiting": 2, "running": 0, "part_done": 0, "done": 0, "failed": 0}

    (task,) = store.claim("native", n=1, lease="5s", query={"filter.a": 2})
    assert task["def"] == {"a": 2} and task["status"] == "running"
    token = task["lease"]["token"]
    assert store.heartbeat("native", task["_id"], token, 5.0) >= task["lease"]["expires_at"]
    store.commit("native", task, token, {"score": 0.5})
    assert store.get("native", task["_id"])["res"] == {"score": 0.5}

    (other,) = store.claim("native")
    assert store.return_task("native", other["_id"], other["lease"]["token"], error="oops") == "waiting"
    assert store.get("native", other["_id"])["errors"][0]["message"] == "oops"
    assert store.prioritize("native", {"_id": other["_id"]}, 9) == 1
    replaced = store.replace("native", other["_id"], {"a": 3})
    assert replaced["def"] == {"a": 3}
    assert [t["def"] for t in store.query("native", {"status": "waiting"}, limit=5)] == [{"a": 3}]
    assert store.reset_status("native", {"status": "done"}, "waiting") == 1
    assert store.remove("native", {"filter.a": 3}) == 1
    assert store.drop_pool("native") is True
    assert "native" not in store.pools()


def test_stale_commit_raises_lease_lost(sqlite_url):
    store = taskpool.open(sqlite_url)
    store.create("stale", [{"a": 1}])
    (first,) = store.claim("stale", lease=0.05)
    time.sleep(0.2)
    (second,) = store.claim("stale", lease=30)
    assert second["_id"] == first["_id"] and second["attempts"] == 2
    with pytest.raises(taskpool.LeaseLost):
        store.commit("stale", first["_id"], first["lease"]["token"], "late")
    store.commit("stale", second["_id"], second["lease"]["token"], "fresh")
    assert store.get("stale", first["_id"])["res"] == "fresh"


def test_background_heartbeat_keeps_the_lease_beyond_its_length(sqlite_url):
    manager = taskpool.TaskManager("keep", store=sqlite_url, lease="300ms")
    manager.create_task([{"a": 1}])
    task = manager.fetch_task()
    time.sleep(1.0)  # more than three leases: only heartbeats keep it
    assert manager.fetch_task() is None
    manager.commit_task_res(task, "kept")
    assert manager.re_query(task["_id"])["res"] == "kept"


def test_a_lost_lease_is_reported_by_the_heartbeat(sqlite_url):
    store = taskpool.open(sqlite_url)
    store.create("lost", [{"a": 1}])
    (task,) = store.claim("lost", lease=0.3)
    heartbeat = store.keep_alive("lost", task["_id"], task["lease"]["token"], 0.3)
    store.reset_waiting("lost")
    deadline = time.monotonic() + 10
    while not heartbeat.lost:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert "lease" in heartbeat.last_error
    assert not heartbeat.running


def test_records_and_artifacts(any_store_url, tmp_path):
    store = taskpool.TaskManager("rec", store=any_store_url).store
    (created,) = store.create("rec", [{"model": {"alpha": 1}}])
    record = store.create_record("exp", task={"model": {"alpha": 1}}, pool="rec", task_id=created["_id"], metrics={"ic": 0.1}, tags={"phase": "first"})
    assert record["params"] == {"model.alpha": 1}
    store.put_artifact(record, "pred", b"\x00\x01binary")
    path = tmp_path / "report.txt"
    path.write_text("hello")
    store.put_artifact(record, "report/summary.txt", path)
    assert store.get_artifact(record, "pred") == b"\x00\x01binary"
    assert store.get_artifact(record, "report/summary.txt") == b"hello"
    assert sorted(a["name"] for a in store.artifacts(record)) == ["pred", "report/summary.txt"]
    updated = store.update_record(record, status="finished", metrics={"rank_ic": 0.2})
    assert updated["metrics"] == {"ic": 0.1, "rank_ic": 0.2} and updated["status"] == "finished"
    assert [r["_id"] for r in store.records("exp", task_id=created["_id"])] == [record["_id"]]
    assert store.records("exp", status=["running"]) == []
    assert store.get_record("exp", record["_id"])["tags"] == {"phase": "first"}
    assert "exp" in store.experiments()
    with pytest.raises(taskpool.NotFound):
        store.get_artifact(record, "missing")
    assert store.delete_artifact(record, "pred") is True
    assert store.delete_record(record) is True
    with pytest.raises(TypeError):
        store.put_artifact(record, "x", 3.5)


def test_trainer_rm_trains_through_the_pool_and_records(sqlite_url):
    trainer = taskpool.TrainerRM("trainer_exp", "trainer_pool", store=sqlite_url)
    records = trainer.train([{"alpha": 1}, {"alpha": 2}], train_func=lambda d: {"metrics": {"ic": d["alpha"] / 10, "note": "x"}})
    assert [r["metrics"] for r in records] == [{"ic": 0.1}, {"ic": 0.2}]
    again = trainer.train([{"alpha": 1}], train_func=lambda d: pytest.fail("trained twice"))
    assert again[0]["_id"] == records[0]["_id"]


def test_trainer_r_trains_in_process_and_records(sqlite_url):
    trainer = taskpool.TrainerR("local_exp", store=sqlite_url)
    records = trainer.train([{"alpha": 3}], train_func=lambda d: {"metrics": {"ic": 0.3}})
    assert [(r["metrics"], r["status"], r["params"]) for r in records] == [({"ic": 0.3}, "finished", {"alpha": 3})]
    with pytest.raises(ZeroDivisionError):
        trainer.train([{"alpha": 0}], train_func=lambda d: 1 / d["alpha"])
    assert [r["status"] for r in trainer.store.records("local_exp", status=["failed"])] == ["failed"]


def test_version_is_the_workspace_version():
    assert taskpool.__version__.count(".") == 2
    assert set(taskpool.URL_SCHEMES) >= {"sqlite", "sled", "mongodb", "mongodb+srv", "memory"}
