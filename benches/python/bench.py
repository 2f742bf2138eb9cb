"""taskpool's Python package against Qlib's TaskManager, and the binding's
per-call overhead against the Rust API.

Run through run.sh (it prepares the virtualenv with pyqlib and taskpool, the
MongoDB-wire server and the Rust baseline). Two parts:

1. On one MongoDB-wire server (different databases): Qlib's TaskManager and
   taskpool's Python TaskManager each create N definitions into an empty
   pool, create N again (half of them duplicates), then run a
   safe_fetch_task + commit_task_res loop F times; `--runs` times, the two
   sides alternating, after `--warmup` uncounted runs of both. Prints the
   medians, Qlib time / taskpool time and the server's CPU time per workload
   (benches/support/qlib_bench.py).
2. On SQLite (skipped with `--skip-sqlite`): the same store operations through the Python binding (the
   native Store, and TaskManager's fetch/commit with its background
   heartbeat) and through the Rust API (the `python_binding` bench target);
   prints µs per call and the difference (the binding's overhead).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import qlib_bench  # noqa: E402  (benches/support/qlib_bench.py)
from qlib_bench import task_def  # noqa: E402  (the definitions of every bench)


def mongo_qlib(url, n, fetch, server):
    tm = qlib_bench.qlib_manager(url, "py_bench_qlib", "py_bench")
    return qlib_bench.workloads(tm, n, fetch, server)


def mongo_taskpool(url, n, fetch, server, options):
    import taskpool

    database_url = qlib_bench.with_options(qlib_bench.with_database(url, "py_bench_taskpool"), options)
    tm = taskpool.TaskManager("py_bench", store=database_url)
    # Through the manager's own (shared) store: a store remembers the pools
    # whose indexes it made, and forgets one only when it drops it itself.
    tm.store.drop_pool("py_bench")
    return qlib_bench.workloads(tm, n, fetch, server)


def sqlite_python(n, fetch, repeat):
    """The Rust baseline's workloads through the binding (per call, seconds)."""
    import taskpool

    with tempfile.TemporaryDirectory() as tmp:
        store = taskpool.open(f"sqlite://{tmp}/py.db")
        started = time.perf_counter()
        store.create("py_overhead", [task_def(s) for s in range(n)])
        create = time.perf_counter() - started

        started = time.perf_counter()
        last = None
        for _ in range(fetch):
            (task,) = store.claim("py_overhead", 1, lease=60)
            last = task["_id"]
            store.commit("py_overhead", last, task["lease"]["token"], {"ic": 0.05})
        claim_commit = (time.perf_counter() - started) / fetch

        started = time.perf_counter()
        for _ in range(repeat):
            store.stat("py_overhead")
        stat = (time.perf_counter() - started) / repeat

        started = time.perf_counter()
        for _ in range(repeat):
            store.get("py_overhead", last)
        get = (time.perf_counter() - started) / repeat

        tm = taskpool.TaskManager("py_manager", store=f"sqlite://{tmp}/tm.db")
        tm.create_task([task_def(s) for s in range(fetch)])
        started = time.perf_counter()
        for _ in range(fetch):
            task = tm.fetch_task()
            tm.commit_task_res(task, {"ic": 0.05})
        manager = (time.perf_counter() - started) / fetch
    return {"create_s": create, "claim_commit_s_per_task": claim_commit, "stat_s_per_call": stat, "get_s_per_call": get, "manager_fetch_commit_s_per_task": manager}


def sqlite_rust(root, n, fetch, repeat):
    env = dict(os.environ, PY_BENCH_N=str(n), PY_BENCH_FETCH=str(fetch), PY_BENCH_REPEAT=str(repeat))
    env.pop("PY_BENCH_URL", None)
    out = subprocess.run(
        ["cargo", "bench", "-q", "-p", "taskpool", "--bench", "python_binding"],
        cwd=root, env=env, check=True, stdout=subprocess.PIPE, text=True,
    ).stdout
    lines = [line for line in out.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"python_binding printed no report: {out!r}")
    return json.loads(lines[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", required=True, help="the taskpool checkout")
    parser.add_argument("--n", type=int, default=1000, help="definitions per create pass")
    parser.add_argument("--fetch", type=int, default=200, help="fetch/commit round trips")
    parser.add_argument("--repeat", type=int, default=200, help="stat/get calls (overhead part)")
    parser.add_argument("--runs", type=int, default=3, help="runs of both MongoDB sides (medians)")
    parser.add_argument(
        "--warmup",
        type=int,
        default=2,
        help="uncounted runs of both sides first: a fresh server JVM compiles its insert and "
        "query paths during the first runs (default 2)",
    )
    parser.add_argument("--skip-sqlite", action="store_true", help="only the MongoDB part (no cargo bench)")
    parser.add_argument("--json", help="also write every report to this file")
    parser.add_argument(
        "--taskpool-options",
        default="",
        help="URL options of taskpool's store, e.g. lookupIndexes=true&claimBatch=256 "
        "(default: none, taskpool's defaults, what a user gets)",
    )
    args = parser.parse_args()
    url = os.environ["TASKPOOL_BENCH_MONGODB_URL"]
    options = args.taskpool_options
    print(f"taskpool's store URL options: {options or '(none)'}", file=sys.stderr)
    server = qlib_bench.ServerCpu()

    qlib_runs, tp_runs = [], []
    for run in range(-args.warmup, args.runs):
        name = f"run {run + 1}" if run >= 0 else f"warm-up {run + args.warmup + 1}"
        qlib = mongo_qlib(url, args.n, args.fetch, server)
        print(f"{name} qlib:     {json.dumps(qlib)}", file=sys.stderr)
        tp = mongo_taskpool(url, args.n, args.fetch, server, options)
        print(f"{name} taskpool: {json.dumps(tp)}", file=sys.stderr)
        if qlib["total"] != tp["total"]:
            raise RuntimeError(f"the pools differ: {qlib['total']} vs {tp['total']} tasks")
        if run >= 0:
            qlib_runs.append(qlib)
            tp_runs.append(tp)

    print(f"\nMongoDB-wire server, {tp_runs[0]['total']} tasks at the end\n")
    rows = [(label.format(n=args.n, fetch=args.fetch), key) for key, label in qlib_bench.WORKLOADS]
    qlib_bench.print_table(rows, "Qlib TaskManager", "taskpool Python TaskManager", qlib_runs, tp_runs)
    report = {"qlib": qlib_runs, "taskpool": tp_runs}
    if not args.skip_sqlite:
        report.update(overhead(args))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)


def overhead(args):
    """Part 2: the binding against the Rust API on SQLite; returns both reports."""
    py = sqlite_python(args.n, args.fetch, args.repeat)
    print(f"python:   {json.dumps(py)}", file=sys.stderr)
    rust = sqlite_rust(args.root, args.n, args.fetch, args.repeat)
    print(f"rust:     {json.dumps(rust)}", file=sys.stderr)

    print("\nSQLite, per call (µs): the Python binding vs the Rust API\n")
    print("| call | Rust API | Python binding | overhead | binding / Rust |")
    print("|---|---:|---:|---:|---:|")
    rows = [
        (f"create {args.n} definitions (one call)", "create_s", "create_s"),
        ("claim 1 + commit", "claim_commit_s_per_task", "claim_commit_s_per_task"),
        ("TaskManager fetch_task + commit_task_res (heartbeat start/stop)", "claim_commit_s_per_task", "manager_fetch_commit_s_per_task"),
        ("stat", "stat_s_per_call", "stat_s_per_call"),
        ("get", "get_s_per_call", "get_s_per_call"),
    ]
    for name, rust_key, py_key in rows:
        r, p = rust[rust_key] * 1e6, py[py_key] * 1e6
        print(f"| {name} | {r:.0f} | {p:.0f} | {p - r:+.0f} | {p / r:.2f} |")
    return {"python": py, "rust": rust}


if __name__ == "__main__":
    main()
