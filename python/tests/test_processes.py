"""Several Python processes drain one SQLite pool with run_task; one of them
is SIGKILLed in the middle of a task (2 s lease): the others finish
everything, each task runs once, the killed one at most twice."""

import collections
import os
import signal
import subprocess
import sys
import time

from taskpool import TaskManager

WORKER = os.path.join(os.path.dirname(__file__), "drain_worker.py")
TASKS = 500


def test_four_processes_drain_a_pool_despite_a_killed_one(tmp_path):
    store = f"sqlite://{tmp_path}/pool.db"
    manager = TaskManager("drain", store=store)
    manager.create_task([{"n": i} for i in range(TASKS)])

    def start(*extra):
        return subprocess.Popen([sys.executable, WORKER, store, "drain", str(tmp_path), *extra])

    victim = start("--victim")
    others = [start() for _ in range(3)]
    marker = tmp_path / "victim.started"
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert time.monotonic() < deadline, "the victim never reached its 20th task"
        assert victim.poll() is None, "the victim exited early"
        time.sleep(0.05)
    time.sleep(0.1)  # the marker's content is written
    killed_task = int(marker.read_text())
    victim.send_signal(signal.SIGKILL)
    victim.wait()

    for process in others:
        assert process.wait(timeout=300) == 0

    assert manager.task_stat() == {"done": TASKS}
    executions = collections.Counter(
        int(line.split()[0]) for line in (tmp_path / "executions.log").read_text().splitlines()
    )
    assert set(executions) == set(range(TASKS))
    assert executions[killed_task] in (1, 2)
    twice = [n for n, count in executions.items() if count > 1 and n != killed_task]
    assert twice == [], f"tasks run more than once: {twice}"
    # The killed task was finished by another process, after its lease expired.
    task = next(manager.query({"filter.n": killed_task}))
    assert task["res"]["pid"] != victim.pid
    assert task["attempts"] == 2
