#!/usr/bin/env python3
"""A taskpool worker command in Python: one task in on stdin, one result out on stdout.

Run it on a pool (one process per task, no shell involved):

    taskpool --store sqlite://tasks.db -t demo worker -- python3 examples/workers/square_worker.py

Two phases (a first phase committed to part_done, then a second phase):

    taskpool ... worker --phase first --after-status part_done -- python3 square_worker.py
    taskpool ... worker --phase second -- python3 square_worker.py

First phase, input `def`:  {"x": 3}       -> result {"square": 9}
Second phase, input `res`: {"square": 9}  -> result {"square": 9, "plus_one": 10}

The protocol (docs/worker-protocol.md): stdin holds one JSON object
{"id", "pool", "attempt", "phase", "def" | "res"}; stdout must be exactly one
JSON value; exit status 0 means success. Anything written on stderr is logged
by the worker, and its last lines are recorded in the task's error history
when the command fails.
"""

import json
import os
import sys


def first_phase(definition):
    x = definition["x"]
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise ValueError(f"x must be a number, got {x!r}")
    return {"square": x * x}


def second_phase(result):
    return {"square": result["square"], "plus_one": result["square"] + 1}


def main():
    task = json.load(sys.stdin)
    # The same facts are in the environment; the artifact directory only there.
    assert os.environ["TASKPOOL_ATTEMPT"] == str(task["attempt"])
    artifacts = os.environ["TASKPOOL_ARTIFACT_DIR"]
    print(
        f"task {task['id']} attempt {task['attempt']} phase {task['phase']} "
        f"(artifacts in {artifacts})",
        file=sys.stderr,
    )
    try:
        if task["phase"] == "first":
            result = first_phase(task["def"])
        else:
            result = second_phase(task["res"])
    except (KeyError, TypeError, ValueError) as error:
        print(f"bad task: {error!r}", file=sys.stderr)
        return 2
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
