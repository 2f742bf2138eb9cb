"""Generation: the worked examples of Qlib's RollingGen and
MultiHorizonGenBase (reference §2.5, §2.6), computed by the Rust generators."""

import datetime

import pytest

import taskpool
from taskpool import MultiHorizonGenBase, RollingGen, task_generator


def weekdays_2020():
    day = datetime.date(2020, 1, 1)
    while day.year == 2020:
        if day.weekday() < 5:
            yield day
        day += datetime.timedelta(days=1)


DENSE = [f"2021-01-{d:02d}" for d in range(1, 31)]


def task(train, valid, test, handler_end):
    return {
        "model": {"class": "LGBModel"},
        "dataset": {"kwargs": {"handler": {"kwargs": {"end_time": handler_end}}, "segments": {"train": train, "valid": valid, "test": test}}},
    }


def segs(t):
    s = t["dataset"]["kwargs"]["segments"]
    return s["train"], s["valid"], s["test"], t["dataset"]["kwargs"]["handler"]["kwargs"]["end_time"]


def test_worked_example_a_sliding_and_truncated():
    template = task(["2020-01-01", "2020-03-31"], ["2020-04-01", "2020-04-30"], ["2020-05-01", "2020-06-30"], "2020-06-30")
    sliding = RollingGen(step=20, rtype=RollingGen.ROLL_SD, calendar=list(weekdays_2020())).generate(template)
    assert [segs(t) for t in sliding] == [
        (["2020-01-01", "2020-03-31"], ["2020-04-01", "2020-04-30"], ["2020-05-01", "2020-05-28"], "2020-06-30"),
        (["2020-01-29", "2020-04-28"], ["2020-04-29", "2020-05-28"], ["2020-05-29", "2020-06-25"], "2020-06-30"),
        (["2020-02-26", "2020-05-26"], ["2020-05-27", "2020-06-25"], ["2020-06-26", "2020-07-23"], "2020-07-23"),
    ]
    truncated = RollingGen(step=20, rtype="sliding", trunc_days=3, calendar=list(weekdays_2020())).generate(template)
    assert [segs(t)[1] for t in truncated] == [["2020-04-01", "2020-04-28"], ["2020-04-29", "2020-05-26"], ["2020-05-27", "2020-06-23"]]
    expanding = RollingGen(step=20, calendar=list(weekdays_2020())).generate(template)
    assert [segs(t)[0] for t in expanding] == [["2020-01-01", "2020-03-31"], ["2020-01-01", "2020-04-28"], ["2020-01-01", "2020-05-26"]]


def test_worked_example_c_gen_following_tasks():
    gen = RollingGen(step=4, rtype="sliding", calendar=DENSE)
    base = task(["2021-01-01", "2021-01-08"], ["2021-01-09", "2021-01-12"], ["2021-01-13", "2021-01-16"], "2021-01-16")
    assert gen.gen_following_tasks(base, "2021-01-16") == []
    assert [segs(t)[2] for t in gen.gen_following_tasks(base, datetime.date(2021, 1, 22))] == [
        ["2021-01-17", "2021-01-20"],
        ["2021-01-21", "2021-01-24"],
    ]


def test_calendar_from_a_day_txt_file_and_set_calendar(tmp_path):
    path = tmp_path / "day.txt"
    path.write_text("\n".join(DENSE) + "\n")
    template = task(["2021-01-01", "2021-01-08"], ["2021-01-09", "2021-01-12"], ["2021-01-13", "2021-01-22"], "2021-01-20")
    from_file = RollingGen(step=4, calendar=str(path)).generate(template)
    taskpool.set_calendar(DENSE)
    from_default = RollingGen(step=4).generate(template)
    assert from_file == from_default and len(from_file) == 3


def test_custom_ds_extra_mod_func_and_task_generator_order():
    seen = []

    def mark(t, gen):
        seen.append(gen.step)
        t["marked"] = True

    class Twice(taskpool.TaskGen):
        def generate(self, t):
            return [dict(t, copy=0), dict(t, copy=1)]

    template = task(["2021-01-01", "2021-01-08"], ["2021-01-09", "2021-01-12"], ["2021-01-13", "2021-01-22"], "2021-01-20")
    tasks = task_generator(template, [Twice(), RollingGen(step=4, ds_extra_mod_func=mark, calendar=DENSE)])
    assert [t["copy"] for t in tasks] == [0, 0, 0, 1, 1, 1]
    assert all(t["marked"] for t in tasks) and seen == [4] * 6
    # No handler_mod: the handler end stays.
    assert {segs(t)[3] for t in tasks} == {"2021-01-20"}


def test_multi_horizon_gen_base_truncates_before_the_test():
    class Horizon(MultiHorizonGenBase):
        def set_horizon(self, t, hr):
            t["dataset"]["kwargs"]["handler"]["kwargs"]["label"] = [f"Ref($close, -{hr + 1}) / Ref($close, -1) - 1"]

    calendar = [f"2021-01-{d:02d}" for d in range(1, 32)]
    template = task(["2021-01-02", "2021-01-12"], ["2021-01-13", "2021-01-17"], ["2021-01-18", "2021-01-25"], "2021-01-25")
    tasks = Horizon(horizon=[1, 3], label_leak_n=2, calendar=calendar).generate(template)
    assert [segs(t)[1] for t in tasks] == [["2021-01-13", "2021-01-15"], ["2021-01-13", "2021-01-13"]]
    assert tasks[1]["dataset"]["kwargs"]["handler"]["kwargs"]["label"] == ["Ref($close, -4) / Ref($close, -1) - 1"]


def test_generation_errors_are_clear():
    with pytest.raises(taskpool.InvalidInput, match="rtype"):
        RollingGen(rtype="rolling", calendar=DENSE)
    with pytest.raises(taskpool.InvalidInput, match="step"):
        RollingGen(step=0, calendar=DENSE)
    with pytest.raises(taskpool.InvalidInput, match="segments"):
        RollingGen(step=4, calendar=DENSE).generate({"dataset": {}})
    with pytest.raises(taskpool.InvalidInput, match="not a date"):
        taskpool.Calendar(["2021-13-01"])
    with pytest.raises(taskpool.InvalidInput, match="cannot read|No such file"):
        RollingGen(calendar="/nonexistent/day.txt")
