"""Qlib's TaskManager and taskpool's MongoDB backend on the same server.

Run through run.sh (it prepares the virtualenv, the server and the build).
The Qlib side calls TaskManager.create_task, a safe_fetch_task /
commit_task_res loop and task_stat; the taskpool side is the Rust bench
`qlib_workloads` (benches/qlib_workloads.rs), run with the same sizes and the
same task definitions. Each of `--runs` runs does both sides, one after the
other; prints the medians and Qlib time / taskpool time (see
benches/support/qlib_bench.py).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import qlib_bench  # noqa: E402  (benches/support/qlib_bench.py)


def run_qlib(url, n, fetch, repeat, server):
    """Time the workloads through Qlib's TaskManager."""
    tm = qlib_bench.qlib_manager(url, "qlib_vs_taskpool", "vs_taskpool")
    report = qlib_bench.workloads(tm, n, fetch, server)
    stats = []
    for _ in range(max(repeat, 1)):
        started = time.perf_counter()
        report["stat_total"] = sum(tm.task_stat().values())
        stats.append(time.perf_counter() - started)
    report["stat_s"] = statistics.median(stats)
    return report


def run_taskpool(root, url, n, fetch, repeat, binary=None):
    """Run the Rust side (`cargo bench`, or the bench executable `binary`);
    returns its JSON report."""
    env = dict(os.environ)
    env.update(
        TASKPOOL_BENCH_MONGODB_URL=url,
        QLIB_BENCH_N=str(n),
        QLIB_BENCH_FETCH=str(fetch),
        QLIB_BENCH_STAT_REPEAT=str(repeat),
    )
    command = [binary, "--bench"] if binary else ["cargo", "bench", "-q", "-p", "taskpool", "--bench", "qlib_workloads"]
    out = subprocess.run(
        command,
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
    parser.add_argument("--runs", type=int, default=3, help="runs of both sides (medians)")
    parser.add_argument("--json", help="also write every run's reports to this file")
    parser.add_argument("--taskpool-bin", help="run this qlib_workloads executable (e.g. a copy of an older build) instead of cargo bench")
    args = parser.parse_args()
    url = os.environ["TASKPOOL_BENCH_MONGODB_URL"]
    server = qlib_bench.ServerCpu()

    qlib_runs, tp_runs = [], []
    for run in range(args.runs):
        qlib = run_qlib(url, args.n, args.fetch, args.repeat, server)
        print(f"run {run + 1} qlib:     {json.dumps(qlib)}", file=sys.stderr)
        tp = run_taskpool(args.root, url, args.n, args.fetch, args.repeat, args.taskpool_bin)
        print(f"run {run + 1} taskpool: {json.dumps(tp)}", file=sys.stderr)
        if qlib["stat_total"] != tp["stat_total"]:
            raise RuntimeError(f"the pools differ: {qlib['stat_total']} vs {tp['stat_total']} tasks")
        qlib_runs.append(qlib)
        tp_runs.append(tp)

    rows = [(label.format(n=args.n, fetch=args.fetch), key) for key, label in qlib_bench.WORKLOADS]
    rows.append((f"stat ({tp_runs[0]['stat_total']} tasks, median of {args.repeat})", "stat"))
    qlib_bench.print_table(rows, "Qlib TaskManager", "taskpool mongo", qlib_runs, tp_runs)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"qlib": qlib_runs, "taskpool": tp_runs}, f, indent=1)


if __name__ == "__main__":
    main()
