#!/usr/bin/env python3
"""A `taskpool run` model as a program (`class: command`): ridge regression
in numpy, the same model as the built-in `ridge` class.

taskpool runs it once per task through the worker protocol
(docs/worker-protocol.md): the task arrives on stdin as
{"id", "pool", "attempt", "phase", "def"}; `def.model.kwargs` holds the
model's parameters, `def.dataset.kwargs.segments` the train and test
segments ([start, end], dates or null), and `def.features` the path of the
features file (docs/run-config.md, "Your own model": datetime, instrument,
the features, label, label_norm). It writes pred.csv (date,instrument,score:
one row per test row) into TASKPOOL_ARTIFACT_DIR and prints one JSON value.
taskpool computes IC and rank IC from pred.csv itself.

Needs numpy only.
"""

import json
import os
import sys

import numpy as np


def in_segment(dates, segment):
    """Rows whose date lies in [start, end] (None = open); dates are ISO strings."""
    start, end = segment
    keep = np.ones(len(dates), dtype=bool)
    if start is not None:
        keep &= dates >= start
    if end is not None:
        keep &= dates <= end
    return keep


def main():
    task = json.load(sys.stdin)
    definition = task["def"]
    alpha = float(definition["model"]["kwargs"].get("alpha", 1.0))
    segments = definition["dataset"]["kwargs"]["segments"]
    path = definition["features"]

    with open(path) as f:
        header = f.readline().strip().split(",")
    n_features = len(header) - 4  # datetime, instrument, features…, label, label_norm
    dates = np.loadtxt(path, delimiter=",", skiprows=1, usecols=0, dtype="U10", ndmin=1)
    instruments = np.loadtxt(path, delimiter=",", skiprows=1, usecols=1, dtype=str, ndmin=1)
    values = np.loadtxt(
        path, delimiter=",", skiprows=1, usecols=range(2, len(header)), ndmin=2
    )
    features = values[:, :n_features]
    label_norm = values[:, n_features + 1]

    train = in_segment(dates, segments["train"]) & np.isfinite(label_norm)
    if not train.any():
        print("no train rows with a label", file=sys.stderr)
        sys.exit(1)
    x = features[train]
    y = label_norm[train]
    x_mean = x.mean(axis=0)
    y_mean = y.mean()
    xc = x - x_mean
    gram = xc.T @ xc + alpha * np.eye(n_features)
    weights = np.linalg.solve(gram, xc.T @ (y - y_mean))
    intercept = y_mean - x_mean @ weights

    test = in_segment(dates, segments["test"])
    scores = features[test] @ weights + intercept
    out = os.path.join(os.environ["TASKPOOL_ARTIFACT_DIR"], "pred.csv")
    with open(out, "w") as f:
        f.write("date,instrument,score\n")
        for date, instrument, score in zip(dates[test], instruments[test], scores):
            f.write(f"{date},{instrument},{float(score)!r}\n")
    json.dump({"train_rows": int(train.sum()), "test_rows": int(test.sum())}, sys.stdout)


if __name__ == "__main__":
    main()
