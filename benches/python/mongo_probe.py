#!/usr/bin/env python3
"""Server CPU per claim-path operation on a MongoDB-wire server (PyMongo):
the sorted claims (taskpool before the batch claim, Qlib), the candidate
read, the claim by _id, $in over a batch, the commit, a full scan.

Usage: python benches/python/mongo_probe.py URL SERVER_PID N [REPS]
(N tasks of a Qlib-like shape in the database "probe"; CPU from
/proc/SERVER_PID/stat, so the server must run on this machine)."""
import os, sys, time, random
from datetime import datetime, timedelta
from pymongo import MongoClient, ReturnDocument
from bson import ObjectId
url, pid, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
tick = os.sysconf("SC_CLK_TCK")
def cpu():
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / tick
c = MongoClient(url)
db = c["probe"]; coll = db["tasks.p"]; coll.drop()
docs = []
for i in range(n):
    docs.append({"_id": ObjectId(), "key": f"k{i:08d}", "def": {"model": "lgb", "x": "y" * 250, "i": i},
                 "filter": {"model": "lgb", "i": i}, "status": "waiting", "priority": 0, "attempts": 0,
                 "max_attempts": 3, "errors": [], "created_at": datetime.utcnow()})
for i in range(0, n, 5000): coll.insert_many(docs[i:i+5000])
coll.create_index([("key", 1)], unique=True)
now = datetime.utcnow()
claimable = {"$or": [{"status": "waiting"}, {"status": "running", "lease.from_status": "waiting", "lease.expires_at": {"$lte": now}}]}
def upd(tok): return {"$set": {"status": "running", "lease": {"token": tok, "from_status": "waiting", "expires_at": now + timedelta(seconds=60)}}, "$inc": {"attempts": 1}}
def measure(name, fn, reps):
    c0, t0 = cpu(), time.perf_counter()
    for r in range(reps): fn(r)
    c1, t1 = cpu(), time.perf_counter()
    print(f"{name:55s} server CPU {1000*(c1-c0)/reps:7.2f} ms  wall {1000*(t1-t0)/reps:7.2f} ms", flush=True)
reps = int(sys.argv[4]) if len(sys.argv) > 4 else 20
measure("claim now: $or + sort priority,_id", lambda r: coll.find_one_and_update(claimable, upd(f"a{r}"), sort=[("priority", -1), ("_id", 1)]), reps)
measure("claim qlib: status + sort priority", lambda r: coll.find_one_and_update({"status": "waiting"}, upd(f"q{r}"), sort=[("priority", -1)]), reps)
for k in (32, 128):
    measure(f"candidates: find $or sort limit {k} proj _id", lambda r: list(coll.find(claimable, {"_id": 1}, sort=[("priority", -1), ("_id", 1)], limit=k)), reps)
ids = [d["_id"] for d in coll.find(claimable, {"_id": 1}, sort=[("priority", -1), ("_id", 1)], limit=8000)]
it = iter(ids)
measure("claim by _id eq + $and claimable", lambda r: coll.find_one_and_update({"_id": next(it), "$and": [claimable]}, upd(f"b{r}")), reps)
for k in (8,):
    measure(f"claim by _id $in {k} + $and claimable, sort", lambda r: coll.find_one_and_update({"_id": {"$in": [next(it) for _ in range(k)]}, "$and": [claimable]}, upd(f"c{r}"), sort=[("priority", -1), ("_id", 1)]), reps)
held = [d["_id"] for d in coll.find({"status": "running"}, {"_id": 1, "lease.token": 1})]
tokens = {d["_id"]: d["lease"]["token"] for d in coll.find({"status": "running"}, {"_id": 1, "lease": 1})}
hi = iter(list(tokens.items()))
def commit(r):
    i, t = next(hi)
    coll.find_one_and_update({"_id": i, "status": "running", "lease.token": t}, {"$set": {"status": "done", "res": 1}, "$unset": {"lease": ""}})
measure("commit: findAndModify {_id,status,token}", commit, reps)
measure("get by _id only", lambda r: coll.find_one({"_id": ids[-r-1]}), reps)
measure("scan: find {status: nosuch} (no sort)", lambda r: list(coll.find({"status": "nosuch"})), reps)
measure("find {_id: X} + {status} (no sort)", lambda r: list(coll.find({"_id": ids[-r-1], "status": "waiting"})), reps)
