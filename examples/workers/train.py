#!/usr/bin/env python3
"""Where your training goes: the worker command of docs/deploy.md's recipes.

`taskpool worker -- python3 examples/workers/train.py` runs it once per task
(docs/worker-protocol.md): the task on stdin as {"id", "pool", "attempt",
"phase", "def"}, one JSON value on stdout, exit status 0 for success. Here
it reads a Qlib task made by `taskpool gen` and reports which model and test
window it would train; replace the body of `train` with your model.
"""

import json
import sys


def train(definition):
    segments = definition["dataset"]["kwargs"]["segments"]
    return {"model": definition["model"]["class"], "test": segments["test"]}


def main():
    task = json.load(sys.stdin)
    json.dump(train(task["def"]), sys.stdout)


if __name__ == "__main__":
    main()
