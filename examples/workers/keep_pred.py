#!/usr/bin/env python3
"""A worker command that keeps a file and a metric (docs/worker-protocol.md).

Each successful task gets a record in the experiment named by the
definition's "experiment" field, holding `pred.csv` and the metric `ic`.
"""

import json
import os
import sys

task = json.load(sys.stdin)
x = task["def"]["x"]
with open(os.path.join(os.environ["TASKPOOL_ARTIFACT_DIR"], "pred.csv"), "w") as f:
    f.write(f"x,pred\n{x},{2 * x}\n")
json.dump({"pred_rows": 1, "metrics": {"ic": 0.1 * x}}, sys.stdout)
