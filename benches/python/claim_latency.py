#!/usr/bin/env python3
# Usage: python benches/python/claim_latency.py URL SERVER_PID N CLAIMS
#   (the taskpool package installed: pip install ./python)
"""Claim latency at N waiting tasks on one MongoDB-wire server: the batch
claim (default URL) vs claimBatch=1 (the sorted findAndModify per claim),
through taskpool's native Python API. Per variant: a fresh pool of N tasks
(~300-byte Qlib-like definitions), then CLAIMS claim(n=1)+commit(done)
rounds; reports per-claim wall (median, p90, max), commit wall, and server
CPU per claim+commit (from /proc/PID/stat)."""
import os, sys, time, statistics
import taskpool
url, pid, n, claims = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
tick = os.sysconf("SC_CLK_TCK")
def cpu():
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / tick
def defs(start, count):
    return [{"model": {"class": "LGBModel", "kwargs": {"loss": "mse", "num_leaves": 210, "seed": i}},
             "dataset": {"class": "DatasetH", "handler": "Alpha158", "segments": {"train": ["2008-01-01", "2014-12-31"], "test": ["2017-01-01", "2020-08-01"]}},
             "i": i} for i in range(start, start + count)]
sep = "&" if "?" in url else "?"
for label, variant in (("claimBatch=1 (before)", f"{url}{sep}claimBatch=1"), ("batch claim (after)", url)):
    store = taskpool.open(variant)
    pool = "lat80k"
    store.drop_pool(pool)
    for s in range(0, n, 5000):
        store.create(pool, defs(s, 5000))
    assert store.stat(pool)["waiting"] == n
    lat, com = [], []
    c0 = cpu(); t0 = time.perf_counter()
    for _ in range(claims):
        a = time.perf_counter()
        t = store.claim(pool, 1, lease="10m")[0]
        b = time.perf_counter()
        store.commit(pool, t["_id"], t["lease"]["token"], {"ok": 1})
        c = time.perf_counter()
        lat.append(b - a); com.append(c - b)
    c1 = cpu(); t1 = time.perf_counter()
    lat.sort()
    print(f"{label:24s} N={n} claims={claims}: claim median {1000*statistics.median(lat):.1f} ms, "
          f"p90 {1000*lat[int(0.9*len(lat))]:.1f} ms, max {1000*lat[-1]:.1f} ms; commit median {1000*statistics.median(com):.1f} ms; "
          f"server CPU per claim+commit {1000*(c1-c0)/claims:.2f} ms; wall per claim+commit {1000*(t1-t0)/claims:.2f} ms; "
          f"load {os.getloadavg()[0]:.1f}", flush=True)
    store.drop_pool(pool)
