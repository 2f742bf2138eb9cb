#!/usr/bin/env python3
"""One soak run of taskpool workers against one store (driven by scripts/soak.sh).

Creates WORKERS x TASKS_PER_WORKER tasks, keeps WORKERS `taskpool worker`
processes draining them while SIGKILLing random workers (KILLS in all) and
SIGSTOPping some past their lease (then SIGCONT), optionally SIGKILLs
`taskpool create` mid-batch, copies a SQLite file while workers run, and
restarts the store's server mid-run, or, for a server that keeps nothing
across a restart (mongo-java-server), before the work begins: the workers
connect and drain one warm-up task each, the server restarts empty, and the
same workers must then drain the real tasks. Then checks:

- every task is `done`, exactly once, by its last lease holder: the stored
  result names the attempt that produced it and equals the task's attempts;
- nothing acknowledged is lost: every commit a worker logged as
  acknowledged ("task committed", logged after the store's answer) is the
  task's stored result (the result names the worker process), and no task
  has two acknowledged commits. `--not-atomic` (FerretDB, whose updates are
  read-modify-write without a lock) reports the overwritten ones instead of
  failing on them;
- every task was executed at least once (executions are logged by the task
  command itself, outside the store), and how many ran more than once;
- `stat` equals the counts of a full query;
- SQLite: `PRAGMA integrity_check` is ok, on the live file and on the copy.

Prints one JSON line with the figures (soak.sh turns them into the table)
and exits 1 if any check failed.
"""

import argparse
import json
import os
import glob
import random
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

POOL = "soak"
# Kills must not use up a task's attempts: every task must end `done`.
MAX_ATTEMPTS = "1000"

# The task command: log the execution (outside the store), answer with the
# attempt and the worker process ($PPID of `sh -c`) as the result. No shell
# features beyond sh itself.
TASK_SCRIPT = (
    'printf "%s %s\\n" "$TASKPOOL_TASK_ID" "$TASKPOOL_ATTEMPT" >> "$SOAK_LOG"; '
    'printf \'{"attempt": %s, "worker": %s}\' "$TASKPOOL_ATTEMPT" "$PPID"'
)

# What a worker logs (at -v) once the store acknowledged a commit.
COMMITTED = re.compile(r"task committed task=([0-9a-f]+)")


def taskpool(args, store, check=True, **kw):
    cmd = [ARGS.bin, "--store", store, "-t", POOL] + args
    return subprocess.run(cmd, check=check, capture_output=True, text=True, **kw)


def sqlite_path(store):
    return store[len("sqlite://"):] if store.startswith("sqlite://") else None


def integrity(path):
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return con.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        con.close()


def create_tasks(store, n, create_kills, workdir, report):
    defs = os.path.join(workdir, "tasks.jsonl")
    with open(defs, "w") as f:
        for i in range(n):
            f.write(json.dumps({"i": i, "soak": True}) + "\n")
    killed = 0
    for _ in range(create_kills):
        proc = subprocess.Popen(
            [ARGS.bin, "--store", store, "-t", POOL, "-q", "create", "--max-attempts", MAX_ATTEMPTS, defs],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(random.uniform(0.05, 1.5))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        proc.wait()
        path = sqlite_path(store)
        if path and os.path.exists(path):
            result = integrity(path)
            if result != "ok":
                report["failures"].append(f"integrity_check after a killed create: {result}")
    report["create_kills"] = killed
    start = time.time()
    taskpool(["-q", "create", "--max-attempts", MAX_ATTEMPTS, defs], store)
    report["create_s"] = round(time.time() - start, 1)


def start_worker(store, log, lease, follow=False):
    """A worker process; its log goes to worker-PID.log next to `log`. It
    stops when nothing is claimable, unless it should `follow` (keep
    polling until SIGTERM)."""
    env = dict(os.environ, SOAK_LOG=log)
    env.pop("TASKPOOL_LOG", None)
    with tempfile.NamedTemporaryFile(dir=os.path.dirname(log), prefix="starting-", delete=False) as err:
        proc = subprocess.Popen(
            [ARGS.bin, "--store", store, "-t", POOL, "-v", "worker", "--concurrency", "2",
             "--lease", f"{lease}s"] + (["--follow", "--max-poll", "1s"] if follow else [])
            + ["--", "sh", "-c", TASK_SCRIPT],
            stdout=subprocess.DEVNULL,
            stderr=err,
            env=env,
        )
    os.rename(err.name, os.path.join(os.path.dirname(log), f"worker-{proc.pid}.log"))
    return proc


def acknowledged_commits(workdir, skip=frozenset()):
    """(task id, worker pid) of every commit a worker logged as acknowledged,
    except those of the tasks in `skip` (the warm-up's)."""
    acks = []
    for path in glob.glob(os.path.join(workdir, "worker-*.log")):
        pid = int(os.path.basename(path)[len("worker-"):-len(".log")])
        with open(path, errors="replace") as f:
            acks.extend((m.group(1), pid) for m in map(COMMITTED.search, f)
                        if m and m.group(1) not in skip)
    return acks


def undone(store):
    out = taskpool(["--json", "stat"], store, check=False)
    if out.returncode != 0:
        return None
    stat = json.loads(out.stdout)
    counts = stat.get("counts", stat)
    return sum(counts.get(s, 0) for s in ("waiting", "running", "part_done"))


def warm_up(store, log, report):
    """Workers that drained the warm-up tasks (one per worker), then a
    server restart.

    The restart empties an in-memory server: the pool the workers knew is
    gone, and the real tasks are created after it. Returns the workers and
    the warm-up tasks' ids (their commits are not the soak's).
    """
    defs = os.path.join(os.path.dirname(log), "warm-up.jsonl")
    with open(defs, "w") as f:
        for i in range(ARGS.workers):
            f.write(json.dumps({"warm_up": i}) + "\n")
    taskpool(["-q", "create", defs], store)
    workers = [start_worker(store, log, ARGS.lease, follow=True) for _ in range(ARGS.workers)]
    deadline = time.time() + 60
    while undone(store) != 0:
        if time.time() > deadline:
            report["failures"].append("the warm-up tasks were not drained within 60 s")
            break
        time.sleep(0.5)
    warm_ids = frozenset(t["_id"] for t in stored_tasks(store, ARGS.workers + 1))
    report["warm_up_commits"] = len(acknowledged_commits(os.path.dirname(log)))
    subprocess.run(ARGS.restart_before_work, shell=True, check=True)
    report["restarts"] = 1
    # The warm-up's executions are not the soak's.
    open(log, "w").close()
    return workers, warm_ids


def drain(store, workdir, report, log, workers=None):
    if workers is None:
        workers = [start_worker(store, log, ARGS.lease) for _ in range(ARGS.workers)]
    kills = stops = copies = 0
    restarts = report.get("restarts", 0)
    stopped = []  # (proc, resume_at)
    start = time.time()
    next_action = start + 0.5
    next_check = start + 5.0
    restart_at = start + ARGS.restart_after if ARGS.restart_cmd else None
    copy_at = start + 2.0 if sqlite_path(store) else None
    while True:
        now = time.time()
        for proc, resume_at in list(stopped):
            if now >= resume_at:
                proc.send_signal(signal.SIGCONT)
                stopped.remove((proc, resume_at))
        if restart_at and now >= restart_at:
            subprocess.run(ARGS.restart_cmd, shell=True, check=True)
            restarts += 1
            restart_at = None
        if copy_at and now >= copy_at:
            copies += snapshot_copy(sqlite_path(store), workdir, report)
            copy_at = None
        if now >= next_action:
            next_action = now + ARGS.kill_interval
            live = [w for w in workers if w.poll() is None and all(w is not p for p, _ in stopped)]
            if live and kills < ARGS.kills:
                victim = random.choice(live)
                if stops < ARGS.stops and random.random() < 0.1:
                    victim.send_signal(signal.SIGSTOP)
                    stopped.append((victim, now + 2.5 * ARGS.lease))
                    stops += 1
                else:
                    victim.send_signal(signal.SIGKILL)
                    kills += 1
        # Replace exited workers while work remains.
        for i, w in enumerate(workers):
            if w.poll() is not None:
                workers[i] = start_worker(store, log, ARGS.lease)
        if now >= next_check:
            next_check = now + 2.0
            left = undone(store)
            if left == 0 and not stopped:
                break
        if now - start > ARGS.timeout:
            report["failures"].append(f"not drained after {ARGS.timeout} s")
            break
        time.sleep(0.05)
    for w in workers:
        if w.poll() is None:
            w.send_signal(signal.SIGCONT)
            w.terminate()
    for w in workers:
        w.wait()
    report.update(drain_s=round(time.time() - start, 1), kills=kills, stops=stops,
                  copies=copies, restarts=restarts)


def snapshot_copy(path, workdir, report):
    """cp of the database file (and its WAL) while workers write."""
    copy = os.path.join(workdir, "copy.db")
    subprocess.run(["cp", path, copy], check=True)
    if os.path.exists(path + "-wal"):
        subprocess.run(["cp", path + "-wal", copy + "-wal"], check=True)
    result = integrity(copy)
    con = sqlite3.connect(copy)
    try:
        rows = con.execute("SELECT count(*) FROM tasks").fetchone()[0]
    finally:
        con.close()
    report["copy"] = f"{result}, {rows} tasks"
    if result != "ok":
        report["failures"].append(f"integrity_check of the copy taken while workers ran: {result}")
    return 1


def stored_tasks(store, limit):
    """Up to `limit` tasks of the pool, as `taskpool --json query` prints them."""
    out = taskpool(["--json", "query", "{}", "--limit", str(limit)], store)
    tasks = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
    if len(tasks) == 1 and isinstance(tasks[0], list):
        tasks = tasks[0]
    return tasks


def check(store, log, n, report, warm_ids=frozenset(), warm_pids=frozenset()):
    tasks = stored_tasks(store, n + 1)
    report["tasks"] = len(tasks)
    if len(tasks) != n:
        report["failures"].append(f"{len(tasks)} tasks stored, {n} created")
    executions = {}
    with open(log) as f:
        for line in f:
            tid, attempt = line.split()
            executions.setdefault(tid, []).append(int(attempt))
    counts = {}
    stale = not_run = 0
    for t in tasks:
        counts[t["status"]] = counts.get(t["status"], 0) + 1
        res = t.get("res") or {}
        if t["status"] == "done" and res.get("attempt") != t["attempts"]:
            stale += 1
        if t["_id"] not in executions:
            not_run += 1
    stored = {t["_id"]: (t.get("res") or {}).get("worker") for t in tasks}
    acks = acknowledged_commits(os.path.dirname(log), skip=warm_ids)
    if warm_ids:
        # The warm-up's workers must have gone on through the restart.
        through = {pid for _, pid in acks} & warm_pids
        report["workers_through_restart"] = len(through)
        if not through:
            report["failures"].append("no worker committed a task after the server restart")
    overwritten = sum(1 for tid, pid in acks if stored.get(tid) != pid)
    per_task = {}
    for tid, _ in acks:
        per_task[tid] = per_task.get(tid, 0) + 1
    report["acked_commits"] = len(acks)
    report["acked_overwritten"] = overwritten
    twice = sum(1 for c in per_task.values() if c > 1)
    if (overwritten or twice) and not ARGS.not_atomic:
        report["failures"].append(
            f"{overwritten} acknowledged commits lost (not the stored result), "
            f"{twice} tasks with two or more acknowledged commits")
    report["done"] = counts.get("done", 0)
    report["ran_twice_or_more"] = sum(1 for runs in executions.values() if len(runs) > 1)
    report["executions"] = sum(len(runs) for runs in executions.values())
    if counts.get("done", 0) != n:
        report["failures"].append(f"not all done: {counts}")
    if stale:
        report["failures"].append(f"{stale} results not from the last lease holder")
    if not_run:
        report["failures"].append(f"{not_run} done tasks never executed")
    stat = json.loads(taskpool(["--json", "stat"], store).stdout)
    stat = stat.get("counts", stat)
    if any(stat.get(s, 0) != counts.get(s, 0) for s in ("waiting", "running", "part_done", "done", "failed")):
        report["failures"].append(f"stat {stat} differs from the query's counts {counts}")
    path = sqlite_path(store)
    if path:
        report["integrity"] = integrity(path)
        if report["integrity"] != "ok":
            report["failures"].append(f"integrity_check: {report['integrity']}")


def main():
    report = {"label": ARGS.label, "failures": []}
    n = ARGS.workers * ARGS.tasks_per_worker
    report["workers"], report["planned_tasks"] = ARGS.workers, n
    with tempfile.TemporaryDirectory(prefix="taskpool-soak-") as workdir:
        taskpool(["drop-pool", POOL], ARGS.store, check=False)
        log = os.path.join(workdir, "executions.log")
        open(log, "w").close()
        workers, warm_ids, warm_pids = None, frozenset(), frozenset()
        if ARGS.restart_before_work:
            workers, warm_ids = warm_up(ARGS.store, log, report)
            warm_pids = frozenset(w.pid for w in workers)
        create_tasks(ARGS.store, n, ARGS.create_kills, workdir, report)
        drain(ARGS.store, workdir, report, log, workers)
        check(ARGS.store, log, n, report, warm_ids, warm_pids)
    print(json.dumps(report))
    return 1 if report["failures"] else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", required=True, help="the taskpool binary")
    parser.add_argument("--store", required=True)
    parser.add_argument("--label", required=True)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--tasks-per-worker", type=int, default=10_000)
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--stops", type=int, default=5)
    parser.add_argument("--kill-interval", type=float, default=0.4)
    parser.add_argument("--lease", type=int, default=2)
    parser.add_argument("--create-kills", type=int, default=0)
    parser.add_argument("--restart-cmd", help="shell command that restarts the store's server")
    parser.add_argument("--restart-after", type=float, default=10.0)
    parser.add_argument("--restart-before-work",
                        help="shell command that restarts the store's server after a warm-up, "
                             "before the tasks are created (for a server that keeps nothing)")
    parser.add_argument("--timeout", type=float, default=3600.0)
    parser.add_argument("--not-atomic", action="store_true",
                        help="the server's updates are not atomic (FerretDB v1): report "
                             "acknowledged commits it overwrote instead of failing")
    ARGS = parser.parse_args()
    sys.exit(main())
