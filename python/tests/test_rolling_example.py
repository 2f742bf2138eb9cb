"""A port of Qlib's rolling task-management example
(examples/model_rolling/task_manager_rolling.py): generate rolling tasks for
two models with task_generator + RollingGen, create them in a pool, train
them with run_task (a small NumPy ridge model on synthetic data), and collect
the results grouped by model and test window through the task filter."""

import datetime

import numpy as np
import pytest

from taskpool import RollingGen, TaskManager, run_task, task_generator

POOL = "rolling_exp"


def weekdays(start: datetime.date, end: datetime.date):
    day = start
    while day <= end:
        if day.weekday() < 5:
            yield day
        day += datetime.timedelta(days=1)


CALENDAR = list(weekdays(datetime.date(2020, 1, 1), datetime.date(2020, 12, 31)))


def template(model: str, alpha: float) -> dict:
    return {
        "model": {"class": model, "kwargs": {"alpha": alpha}},
        "dataset": {
            "class": "DatasetH",
            "kwargs": {
                "handler": {"class": "Synthetic", "kwargs": {"start_time": "2020-01-01", "end_time": "2020-06-30", "seed": 7}},
                "segments": {
                    "train": ["2020-01-01", "2020-03-31"],
                    "valid": ["2020-04-01", "2020-04-30"],
                    "test": ["2020-05-01", "2020-12-31"],
                },
            },
        },
    }


def synthetic(seed: int, start: str, end: str):
    """Features and a label with a planted linear signal, one row per day."""
    days = [d.isoformat() for d in CALENDAR if start <= d.isoformat() <= end]
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(len(CALENDAR), 4))
    y = x @ np.array([0.5, -0.2, 0.1, 0.0]) + rng.normal(scale=0.5, size=len(CALENDAR))
    index = [d.isoformat() for d in CALENDAR]
    rows = [index.index(d) for d in days]
    return x[rows], y[rows]


def task_train(task_def: dict, experiment_name: str) -> dict:
    """Fit ridge regression on the train segment, score on the test segment."""
    segments = task_def["dataset"]["kwargs"]["segments"]
    handler = task_def["dataset"]["kwargs"]["handler"]["kwargs"]
    alpha = task_def["model"]["kwargs"]["alpha"]
    x_train, y_train = synthetic(handler["seed"], *segments["train"])
    test_end = segments["test"][1] or CALENDAR[-1].isoformat()
    x_test, y_test = synthetic(handler["seed"], segments["test"][0], test_end)
    weights = np.linalg.solve(x_train.T @ x_train + alpha * np.eye(x_train.shape[1]), x_train.T @ y_train)
    pred = x_test @ weights
    ic = np.corrcoef(pred, y_test)[0, 1]
    # NumPy scalars go in as they are: they become JSON numbers.
    return {"experiment": experiment_name, "ic": ic, "n_test": np.int64(len(y_test)), "weights": weights.tolist()}


def test_rolling_example_flow(store_url):
    tasks = task_generator(
        [template("Ridge", 1.0), template("RidgeShrunk", 50.0)],
        RollingGen(step=40, rtype=RollingGen.ROLL_SD, calendar=CALENDAR),
    )
    # 2020-05-01 … 2020-12-31 is 175 weekdays: windows of 40 → 5 per model.
    assert len(tasks) == 10
    manager = TaskManager(POOL, store=store_url)
    manager.remove({})
    ids = manager.create_task(tasks)
    assert len(set(ids)) == 10
    # Creating again reuses every task.
    assert manager.create_task(tasks) == ids

    assert run_task(task_train, POOL, store=store_url, experiment_name="rolling_exp")
    assert not run_task(task_train, POOL, store=store_url, experiment_name="rolling_exp")
    assert manager.task_stat() == {"done": 10}

    # Collect by filter: the results of one model, keyed by test window.
    collected = {}
    for model in ("Ridge", "RidgeShrunk"):
        for task in manager.query({"filter.model.class": model, "status": "done"}):
            test = tuple(task["filter"]["dataset"]["kwargs"]["segments"]["test"])
            collected[(model, test)] = task["res"]
    assert len(collected) == 10
    windows = sorted({test for (_, test) in collected})
    assert windows[0] == ("2020-05-01", "2020-06-25")
    for res in collected.values():
        assert res["experiment"] == "rolling_exp"
        assert isinstance(res["ic"], float) and -1 <= res["ic"] <= 1
        assert isinstance(res["n_test"], int)
    # The planted signal shows in every window of the lightly regularised model.
    assert all(res["ic"] > 0.3 for (model, _), res in collected.items() if model == "Ridge")

    manager.wait({})


@pytest.mark.parametrize("after", ["part_done"])
def test_two_phase_run_task(sqlite_url, after):
    manager = TaskManager("phases", store=sqlite_url)
    manager.create_task([{"x": i} for i in range(3)])
    assert run_task(lambda d: {"y": d["x"] * 2}, "phases", store=sqlite_url, after_status=after)
    assert manager.task_stat() == {"part_done": 3}
    assert run_task(lambda r: r["y"] + 1, "phases", store=sqlite_url, before_status="part_done")
    assert sorted(t["res"] for t in manager.query()) == [1, 3, 5]
