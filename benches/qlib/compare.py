"""Qlib's TaskManager and taskpool's MongoDB backend on the same server.

Run through run.sh (it prepares the virtualenv, the server and the build).
The Qlib side calls TaskManager.create_task, a safe_fetch_task /
commit_task_res loop and task_stat; the taskpool side is the Rust bench
`qlib_workloads` (benches/qlib_workloads.rs), run with the same sizes and the
same task definitions. Prints both timings and Qlib time / taskpool time.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time


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


def run_qlib(url, database, n, fetch, repeat):
    """Time the workloads through Qlib's TaskManager."""
    from qlib.config import C
    from qlib.workflow.task.manage import TaskManager

    C["mongo"] = {"task_url": url, "task_db_name": database}
    tm = TaskManager(task_pool="vs_taskpool")
    tm.task_pool.drop()

    started = time.perf_counter()
    tm.create_task([task_def(s) for s in range(n)])
    create_first = time.perf_counter() - started

    started = time.perf_counter()
    tm.create_task([task_def(s) for s in range(n // 2, n // 2 + n)])
    create_second = time.perf_counter() - started

    started = time.perf_counter()
    for _ in range(fetch):
        with tm.safe_fetch_task() as task:
            if task is None:
                raise RuntimeError("no waiting task to fetch")
            tm.commit_task_res(task, {"ic": 0.05})
    fetch_commit = time.perf_counter() - started

    stats = []
    total = 0
    for _ in range(max(repeat, 1)):
        started = time.perf_counter()
        total = sum(tm.task_stat().values())
        stats.append(time.perf_counter() - started)
    return {
        "n": n,
        "create_first_s": create_first,
        "create_second_s": create_second,
        "fetch": fetch,
        "fetch_commit_s": fetch_commit,
        "stat_total": total,
        "stat_median_s": statistics.median(stats),
    }


def run_taskpool(root, url, n, fetch, repeat):
    """Run the Rust side; returns its JSON report."""
    env = dict(os.environ)
    env.update(
        TASKPOOL_BENCH_MONGODB_URL=url,
        QLIB_BENCH_N=str(n),
        QLIB_BENCH_FETCH=str(fetch),
        QLIB_BENCH_STAT_REPEAT=str(repeat),
    )
    out = subprocess.run(
        ["cargo", "bench", "-q", "-p", "taskpool", "--bench", "qlib_workloads"],
        cwd=root,
        env=env,
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    ).stdout
    lines = [line for line in out.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"qlib_workloads printed no report: {out!r}")
    return json.loads(lines[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", required=True, help="the taskpool checkout")
    parser.add_argument("--n", type=int, default=1000, help="definitions per create pass")
    parser.add_argument("--fetch", type=int, default=200, help="fetch/commit round trips")
    parser.add_argument("--repeat", type=int, default=5, help="stat calls (median)")
    parser.add_argument("--json", help="also write both reports to this file")
    args = parser.parse_args()
    url = os.environ["TASKPOOL_BENCH_MONGODB_URL"]

    qlib = run_qlib(url, "qlib_vs_taskpool", args.n, args.fetch, args.repeat)
    print(f"qlib:     {json.dumps(qlib)}", file=sys.stderr)
    tp = run_taskpool(args.root, url, args.n, args.fetch, args.repeat)
    print(f"taskpool: {json.dumps(tp)}", file=sys.stderr)
    if qlib["stat_total"] != tp["stat_total"]:
        raise RuntimeError(f"the pools differ: {qlib['stat_total']} vs {tp['stat_total']} tasks")

    rows = [
        (f"create {args.n} (empty pool)", "create_first_s", args.n),
        (f"create {args.n} (half duplicates)", "create_second_s", args.n),
        (f"fetch+commit x{args.fetch}", "fetch_commit_s", args.fetch),
        (f"stat ({tp['stat_total']} tasks, median of {args.repeat})", "stat_median_s", 1),
    ]
    print("| workload | Qlib TaskManager (s) | taskpool mongo (s) | Qlib / taskpool |")
    print("|---|---:|---:|---:|")
    for name, key, _ in rows:
        ratio = qlib[key] / tp[key] if tp[key] > 0 else float("inf")
        print(f"| {name} | {qlib[key]:.3f} | {tp[key]:.4f} | {ratio:.1f}x |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"qlib": qlib, "taskpool": tp}, f, indent=1)


if __name__ == "__main__":
    main()
