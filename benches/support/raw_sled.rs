//! The sled baseline: sled trees and transactions on the store's own
//! database and layout (`task_store_sled::layout`) and task codec
//! (`task_store_sled::codec`), with the store's durability (`Db::flush`,
//! then `fdatasync` of sled's log file, before a write returns). Claims take
//! the first `n` keys of the claim index and move them in one transaction
//! over the record, claim and expiry trees, as the store does, without the
//! store's planning, query matching, blocking-thread hops or bulk lock.
//! Every transaction also rewrites the pool's task counts once, as the
//! store's do, and `stat` reads them (the store must have opened the
//! directory first: it writes the counts of a database that has none).

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionalTree};
use task_store_sled::{codec, layout, sled};
use taskpool::store::transition::{PreparedBatch, new_lease_token};
use taskpool::store::{CreateParams, Lease, Stat, Status, Task, TaskId, Timestamp};

use super::raw::{LEASE_MS, RawClaim, RawStore, now_ms};

type TxResult<T> = Result<T, ConflictableTransactionError<String>>;

/// Raw sled on a store directory (the store must be closed).
pub struct RawSled {
    db: sled::Db,
    log: File,
    tasks: sled::Tree,
    claim: sled::Tree,
    keys: sled::Tree,
    expiry: sled::Tree,
    pools: sled::Tree,
    counts: sled::Tree,
}

fn abort<E: std::fmt::Display>(e: E) -> ConflictableTransactionError<String> {
    ConflictableTransactionError::Abort(e.to_string())
}

fn load(tasks: &TransactionalTree, key: &[u8]) -> TxResult<Option<Task>> {
    tasks
        .get(key)?
        .map(|bytes| codec::decode_task(&bytes).map_err(abort))
        .transpose()
}

fn store(tasks: &TransactionalTree, key: Vec<u8>, task: &Task) -> TxResult<()> {
    tasks.insert(key, codec::encode_task(task).map_err(abort)?)?;
    Ok(())
}

/// Rewrite the pool's counts with `changes` (status, how many more or fewer).
fn count(counts: &TransactionalTree, prefix: &[u8], changes: &[(Status, i64)]) -> TxResult<()> {
    let stored = match counts.get(prefix)? {
        Some(bytes) => layout::decode_counts(&bytes).ok_or_else(|| abort("bad counts"))?,
        None => Stat::default(),
    };
    let mut new = Stat::default();
    for status in Status::ALL {
        let change: i64 = changes
            .iter()
            .filter(|(s, _)| *s == status)
            .map(|(_, n)| n)
            .sum();
        let n = stored
            .get(status)
            .checked_add_signed(change)
            .ok_or_else(|| abort("counts below zero"))?;
        new.add(status, n);
    }
    counts.insert(prefix, &layout::encode_counts(&new)[..])?;
    Ok(())
}

impl RawSled {
    /// Open the directory (retrying while a just-closed store releases it).
    pub fn open(dir: &Path) -> RawSled {
        let mut tries = 0;
        let db = loop {
            match sled::Config::new().path(dir).open() {
                Ok(db) => break db,
                Err(e) if tries < 50 => {
                    tries += 1;
                    eprintln!("bench: sled busy ({e}), retrying");
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) => panic!("open sled at {}: {e}", dir.display()),
            }
        };
        let tree = |name| db.open_tree(name).expect("open a sled tree");
        RawSled {
            log: File::open(dir.join("db")).expect("open sled's log file"),
            tasks: tree(layout::TASKS_TREE),
            claim: tree(layout::CLAIM_TREE),
            keys: tree(layout::KEYS_TREE),
            expiry: tree(layout::EXPIRY_TREE),
            pools: tree(layout::POOLS_TREE),
            counts: tree(layout::COUNTS_TREE),
            db,
        }
    }

    fn sync(&self) {
        self.db.flush().expect("flush sled");
        self.log.sync_data().expect("fdatasync sled's log");
    }

    /// Move a running task to `to` (done or waiting), fenced by its token.
    fn finish(&self, pool: &str, task: &RawClaim, to: Status) {
        let prefix = layout::pool_prefix(pool);
        let now = Timestamp::from_millis(now_ms());
        (&self.tasks, &self.claim, &self.expiry, &self.counts)
            .transaction(|(tasks, claim, expiry, counts)| {
                let key = layout::task_key(&prefix, task.id);
                let mut t = load(tasks, &key)?.ok_or_else(|| abort("no such task"))?;
                let lease = match &t.lease {
                    Some(l) if t.status == Status::Running && l.token == task.token => l.clone(),
                    _ => return Err(abort("lease lost")),
                };
                claim.remove(layout::claim_key(
                    &prefix,
                    Status::Running,
                    t.priority,
                    t.id,
                ))?;
                expiry.remove(layout::expiry_key(&prefix, lease.expires_at, t.id))?;
                t.status = to;
                t.lease = None;
                t.updated_at = now;
                if to == Status::Done {
                    t.res = Some(json!({}));
                    t.finished_at = Some(now);
                } else {
                    t.attempts = t.attempts.saturating_sub(1);
                }
                claim.insert(layout::claim_key(&prefix, to, t.priority, t.id), &[][..])?;
                count(counts, &prefix, &[(Status::Running, -1), (to, 1)])?;
                store(tasks, key, &t)
            })
            .expect("a raw sled finish");
        self.sync();
    }
}

#[async_trait]
impl RawStore for RawSled {
    async fn create(&self, pool: &str, defs: &[Value]) -> usize {
        let prefix = layout::pool_prefix(pool);
        let now = Timestamp::from_millis(now_ms());
        let batch = PreparedBatch::new(CreateParams::new(defs.iter().cloned()), now);
        let new = (
            &self.tasks,
            &self.claim,
            &self.keys,
            &self.pools,
            &self.counts,
        )
            .transaction(|(tasks, claim, keys, pools, counts)| {
                pools.insert(pool.as_bytes(), &[][..])?;
                let mut new = 0;
                for t in &batch.tasks {
                    let content = layout::content_key_key(&prefix, &t.key);
                    if keys.get(&content)?.is_some() {
                        continue;
                    }
                    keys.insert(content, &t.id.bytes()[..])?;
                    claim.insert(
                        layout::claim_key(&prefix, t.status, t.priority, t.id),
                        &[][..],
                    )?;
                    store(tasks, layout::task_key(&prefix, t.id), t)?;
                    new += 1;
                }
                count(counts, &prefix, &[(Status::Waiting, new)])?;
                Ok(new)
            })
            .expect("a raw sled create");
        self.sync();
        new as usize
    }

    async fn claim(&self, pool: &str, n: usize, owner: &str) -> Vec<RawClaim> {
        let prefix = layout::pool_prefix(pool);
        let now = Timestamp::from_millis(now_ms());
        let expires_at = Timestamp::from_millis(now.as_millis() + LEASE_MS);
        loop {
            // Expired leases first (the benchmarks never have any).
            let expired = self
                .expiry
                .range(prefix.clone()..layout::expiry_bound(&prefix, now))
                .count();
            assert_eq!(expired, 0, "no lease expires during a benchmark");
            let picks = self
                .claim
                .scan_prefix(layout::claim_prefix(&prefix, Status::Waiting))
                .keys()
                .take(n)
                .collect::<Result<Vec<_>, _>>()
                .expect("read the claim index");
            if picks.is_empty() {
                return Vec::new();
            }
            let claimed = (&self.tasks, &self.claim, &self.expiry, &self.counts)
                .transaction(|(tasks, claim, expiry, counts)| {
                    let mut got = Vec::new();
                    for pick in &picks {
                        if claim.remove(pick)?.is_none() {
                            continue;
                        }
                        let id: TaskId =
                            layout::trailing_id(pick).ok_or_else(|| abort("bad key"))?;
                        let key = layout::task_key(&prefix, id);
                        let bytes = tasks.get(&key)?.ok_or_else(|| abort("no record"))?;
                        let mut t = codec::decode_task(&bytes).map_err(abort)?;
                        let token = new_lease_token();
                        t.status = Status::Running;
                        t.attempts += 1;
                        t.lease = Some(Lease {
                            owner: owner.to_string(),
                            token: token.clone(),
                            expires_at,
                            from_status: Status::Waiting,
                        });
                        t.started_at = Some(now);
                        t.updated_at = now;
                        claim.insert(
                            layout::claim_key(&prefix, Status::Running, t.priority, id),
                            &[][..],
                        )?;
                        expiry.insert(layout::expiry_key(&prefix, expires_at, id), &[][..])?;
                        got.push(RawClaim {
                            id,
                            token,
                            read_len: bytes.len(),
                        });
                        store(tasks, key, &t)?;
                    }
                    let n = got.len() as i64;
                    count(
                        counts,
                        &prefix,
                        &[(Status::Waiting, -n), (Status::Running, n)],
                    )?;
                    Ok(got)
                })
                .expect("a raw sled claim");
            if !claimed.is_empty() {
                self.sync();
                return claimed;
            }
        }
    }

    async fn commit(&self, pool: &str, task: &RawClaim) {
        self.finish(pool, task, Status::Done);
    }

    async fn hand_back(&self, pool: &str, task: &RawClaim) {
        self.finish(pool, task, Status::Waiting);
    }

    async fn stat(&self, pool: &str) -> Vec<(String, u64)> {
        let counts = self
            .counts
            .get(layout::pool_prefix(pool))
            .expect("read the counts")
            .map(|bytes| layout::decode_counts(&bytes).expect("counts"))
            .unwrap_or_default();
        Status::ALL
            .iter()
            .map(|s| (s.to_string(), counts.get(*s)))
            .filter(|(_, n)| *n > 0)
            .collect()
    }

    async fn reset(&self, pool: &str) {
        let prefix = layout::pool_prefix(pool);
        let now = Timestamp::from_millis(now_ms());
        let ids: Vec<TaskId> = self
            .tasks
            .scan_prefix(&prefix)
            .keys()
            .map(|k| layout::trailing_id(&k.expect("read the tasks tree")).expect("a task key"))
            .collect();
        for chunk in ids.chunks(1024) {
            (&self.tasks, &self.claim, &self.expiry, &self.counts)
                .transaction(|(tasks, claim, expiry, counts)| {
                    let mut changes = Vec::with_capacity(chunk.len() + 1);
                    for &id in chunk {
                        let key = layout::task_key(&prefix, id);
                        let mut t = load(tasks, &key)?.ok_or_else(|| abort("no record"))?;
                        claim.remove(layout::claim_key(&prefix, t.status, t.priority, id))?;
                        if let Some(l) = &t.lease {
                            expiry.remove(layout::expiry_key(&prefix, l.expires_at, id))?;
                        }
                        changes.push((t.status, -1));
                        t.status = Status::Waiting;
                        t.attempts = 0;
                        t.res = None;
                        t.lease = None;
                        t.started_at = None;
                        t.finished_at = None;
                        t.updated_at = now;
                        claim.insert(
                            layout::claim_key(&prefix, Status::Waiting, t.priority, id),
                            &[][..],
                        )?;
                        store(tasks, key, &t)?;
                    }
                    changes.push((Status::Waiting, chunk.len() as i64));
                    count(counts, &prefix, &changes)
                })
                .expect("a raw sled reset");
        }
        self.sync();
    }

    async fn drop_pool(&self, pool: &str) {
        let prefix = layout::pool_prefix(pool);
        for tree in [&self.tasks, &self.claim, &self.keys, &self.expiry] {
            let keys: Vec<_> = tree
                .scan_prefix(&prefix)
                .keys()
                .collect::<Result<_, _>>()
                .expect("read a tree");
            let mut batch = sled::Batch::default();
            for k in keys {
                batch.remove(k);
            }
            tree.apply_batch(batch).expect("delete a pool's keys");
        }
        self.counts
            .remove(&prefix)
            .expect("delete the pool's counts");
        self.pools
            .remove(pool.as_bytes())
            .expect("delete the pool name");
        self.sync();
    }

    async fn scan(&self, pool: &str, limit: Option<usize>, out: &mut (dyn Write + Send)) -> usize {
        let prefix = layout::pool_prefix(pool);
        let mut n = 0;
        for entry in self
            .tasks
            .scan_prefix(&prefix)
            .take(limit.unwrap_or(usize::MAX))
        {
            let (_, bytes) = entry.expect("read the tasks tree");
            let t = codec::decode_task(&bytes).expect("a record");
            writeln!(out, "{}\t{}\t{}", t.id, t.status, t.def).expect("write a task");
            n += 1;
        }
        n
    }
}
