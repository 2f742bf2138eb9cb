"""A worker process for test_processes.py: runs ``run_task`` on a pool
until no task is waiting or running, logging every execution.

Usage: python drain_worker.py STORE POOL LOG_DIR [--victim]

Each execution appends ``<task id> <pid>`` to LOG_DIR/executions.log. The
victim, on its 20th task, writes LOG_DIR/victim.started with the task id and
sleeps until it is killed.
"""

import os
import sys
import time

from taskpool import TaskManager, run_task

store, pool, log_dir = sys.argv[1:4]
victim = "--victim" in sys.argv[4:]
executed = 0


def work(task_def: dict) -> dict:
    global executed
    executed += 1
    task_id = task_def["n"]
    with open(os.path.join(log_dir, "executions.log"), "a") as log:
        log.write(f"{task_id} {os.getpid()}\n")
    if victim and executed == 20:
        with open(os.path.join(log_dir, "victim.started"), "w") as marker:
            marker.write(str(task_id))
        time.sleep(600)
    time.sleep(0.002)
    return {"n": task_id, "pid": os.getpid()}


manager = TaskManager(pool, store=store)
while True:
    run_task(work, pool, store=store, lease="2s")
    stat = manager.task_stat()
    if not stat.get("waiting") and not stat.get("running"):
        break
    time.sleep(0.1)
