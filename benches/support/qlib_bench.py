"""What benches/qlib/compare.py and benches/python/bench.py share: the task
definitions, Qlib's TaskManager on a MongoDB-wire server, the workload loop
both TaskManagers run, the server's CPU time, and the tables of medians.

The machine is shared, so every workload is run `--runs` times, the two
sides alternating, and the tables give medians; each run also records the
load average and the CPU time the server process spent on each workload
(read from /proc when the server's pid is known: TASKPOOL_BENCH_SERVER_PID,
set by benches/support/qlib-bench.sh). Server CPU per workload does not
depend on how busy the machine is, wall time does.
"""

import os
import statistics
import time
import urllib.parse

# The workloads both TaskManagers run, in order: (key, label for `n`, `fetch`).
WORKLOADS = [
    ("create_first", "create {n} (empty pool)"),
    ("create_second", "create {n} (half duplicates)"),
    ("fetch_commit", "safe_fetch_task + commit_task_res x{fetch}"),
]


def task_def(seed):
    """The definition benches/support/defs.rs makes for `seed`."""
    return {
        "model": {
            "class": "LGBModel",
            "module_path": "qlib.contrib.model.gbdt",
            "kwargs": {"learning_rate": 0.05, "num_leaves": 64, "seed": seed},
        },
        "dataset": {
            "class": "DatasetH",
            "handler": "Alpha158",
            "segments": {
                "train": ["2008-01-01", "2014-12-31"],
                "valid": ["2015-01-01", "2016-12-31"],
                "test": ["2017-01-01", "2020-08-01"],
            },
        },
        "seed": seed,
    }


def with_database(url, database):
    """`url` with its database path replaced by `database`."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


def with_options(url, options):
    """`url` with the URL options `options` (`a=1&b=2`, may be empty) added."""
    if not options:
        return url
    parts = urllib.parse.urlsplit(url)
    query = f"{parts.query}&{options}" if parts.query else options
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def qlib_manager(url, database, pool):
    """Qlib's TaskManager on `database` of the server at `url`, its pool emptied."""
    from qlib.config import C
    from qlib.workflow.task.manage import TaskManager

    C["mongo"] = {"task_url": url, "task_db_name": database}
    tm = TaskManager(task_pool=pool)
    tm.task_pool.drop()
    return tm


class ServerCpu:
    """CPU seconds (user + system) the server process has used, from
    /proc/PID/stat; None when the pid is unknown or not readable."""

    def __init__(self, pid=None):
        pid = pid if pid is not None else os.environ.get("TASKPOOL_BENCH_SERVER_PID")
        self.path = f"/proc/{pid}/stat" if pid else None

    def seconds(self):
        if self.path is None:
            return None
        try:
            with open(self.path) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(report, key, server, work):
    """Run `work()`, recording its wall time as `KEY_s` and the server's CPU
    time as `KEY_server_cpu_s` (when known) in `report`."""
    cpu = server.seconds()
    started = time.perf_counter()
    result = work()
    report[f"{key}_s"] = time.perf_counter() - started
    if cpu is not None:
        report[f"{key}_server_cpu_s"] = server.seconds() - cpu
    return result


def workloads(tm, n, fetch, server):
    """Create `n` definitions into the (empty) pool, create `n` again (half
    of them duplicates), then `fetch` safe_fetch_task + commit_task_res
    rounds: the same calls on Qlib's TaskManager and taskpool's."""
    report = {"n": n, "fetch": fetch, "load": os.getloadavg()[0]}
    timed(report, "create_first", server, lambda: tm.create_task([task_def(s) for s in range(n)]))
    timed(report, "create_second", server, lambda: tm.create_task([task_def(s) for s in range(n // 2, n // 2 + n)]))

    def fetch_commit():
        for _ in range(fetch):
            with tm.safe_fetch_task() as task:
                if task is None:
                    raise RuntimeError("no waiting task to fetch")
                tm.commit_task_res(task, {"ic": 0.05})

    timed(report, "fetch_commit", server, fetch_commit)
    report["total"] = sum(tm.task_stat().values())
    return report


def median(runs, key):
    """The median of `key` over the runs that have it (None if none has)."""
    values = [run[key] for run in runs if run.get(key) is not None]
    return statistics.median(values) if values else None


def print_table(rows, left, right, left_runs, right_runs):
    """A Markdown table: per row (label, key), the median wall times of both
    sides (`left` is Qlib's, `right` taskpool's), the ratio of the medians, each run's ratio, and the server CPU
    medians when measured."""
    cpu = any(f"{key}_server_cpu_s" in run for _, key in rows for run in left_runs + right_runs)
    head = f"| workload | {left} (s) | {right} (s) | Qlib / taskpool (medians) | ratio per run |"
    line = "|---|---:|---:|---:|---|"
    if cpu:
        head += " server CPU, Qlib side (s) | server CPU, taskpool side (s) |"
        line += "---:|---:|"
    print(head)
    print(line)
    for label, key in rows:
        a, b = median(left_runs, f"{key}_s"), median(right_runs, f"{key}_s")
        per_run = ", ".join(f"{x[f'{key}_s'] / y[f'{key}_s']:.1f}" for x, y in zip(left_runs, right_runs))
        row = f"| {label} | {a:.3f} | {b:.4f} | {a / b:.1f}x | {per_run} |"
        if cpu:
            ca, cb = median(left_runs, f"{key}_server_cpu_s"), median(right_runs, f"{key}_server_cpu_s")
            row += f" {fmt(ca)} | {fmt(cb)} |"
        print(row)
    loads = ", ".join(f"{run['load']:.1f}" for run in left_runs + right_runs if "load" in run)
    print(f"\n{len(left_runs)} run(s), medians; load average (1 min) at the start of each side: {loads}")


def fmt(value):
    return "n/a" if value is None else f"{value:.3f}"
