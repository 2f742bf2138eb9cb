//! The integrity check: indexes agree with records, both ways.

use std::collections::BTreeSet;

use task_store::{Result, Status, Task, TaskId, content_key, validate_pool_name};

use crate::codec;
use crate::counts::{self, PoolCounts};
use crate::error::SledError;
use crate::layout;
use crate::store::{Inner, SledStore};
use crate::tx::{claim_entry, expiry_entry};

/// What [`SledStore::check_integrity`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IntegrityReport {
    /// Pools listed in the pools tree.
    pub pools: u64,
    /// Task records.
    pub tasks: u64,
    /// Entries of the claim, content-key and expiry indexes.
    pub index_entries: u64,
    /// Pools with a task-counts entry (pools holding tasks).
    pub counted_pools: u64,
    /// Records (of every experiment).
    pub records: u64,
    /// Artifacts listed in the records' artifact directories.
    pub artifacts: u64,
    /// Artifact chunks.
    pub artifact_chunks: u64,
    /// Every disagreement found, one sentence each; empty when consistent.
    pub problems: Vec<String>,
}

impl IntegrityReport {
    /// Whether no problem was found.
    pub fn is_consistent(&self) -> bool {
        self.problems.is_empty()
    }
}

impl SledStore {
    /// Check that the indexes and the records agree:
    ///
    /// - every task decodes, sits under its own id, belongs to a listed pool,
    ///   has the content key of its definition, and is `running` exactly when
    ///   it has a lease;
    /// - every task has exactly its index entries: one claim entry
    ///   (status, priority, id), the content-key entry pointing at it (so keys
    ///   are unique per pool), and an expiry entry at its lease's expiry iff it
    ///   is `running`;
    /// - every index entry points at a task whose fields agree with it;
    /// - every pool's task counts equal its claim-index entries by status
    ///   (so, with the above, its tasks by status);
    /// - every record decodes under its own id; every artifact directory
    ///   belongs to a record; every artifact has exactly its chunks
    ///   (indexes `0..n`, none larger than [`CHUNK_LEN`](crate::layout::CHUNK_LEN),
    ///   their lengths adding up to the artifact's) and no chunk belongs to
    ///   no artifact.
    ///
    /// Writers are held off while it runs, so the check sees one state.
    ///
    /// # Errors
    /// `Unavailable`/`Backend` when sled cannot be read; disagreements are
    /// reported in [`IntegrityReport::problems`], not as errors.
    pub async fn check_integrity(&self) -> Result<IntegrityReport> {
        self.blocking(Inner::check_integrity).await
    }
}

impl Inner {
    fn check_integrity(&self) -> Result<IntegrityReport> {
        let _exclusive = self.exclusive();
        let mut report = IntegrityReport::default();
        let mut pools = BTreeSet::new();
        for key in self.trees.pools.iter().keys() {
            let key = key.map_err(SledError::Sled)?;
            match std::str::from_utf8(&key)
                .ok()
                .filter(|p| validate_pool_name(p).is_ok())
            {
                Some(pool) => {
                    pools.insert(pool.to_string());
                }
                None => report
                    .problems
                    .push(format!("the pools tree holds an invalid name {key:?}")),
            }
        }
        report.pools = pools.len() as u64;
        for entry in self.trees.tasks.iter() {
            let (key, value) = entry.map_err(SledError::Sled)?;
            report.tasks += 1;
            self.check_task(&key, &value, &pools, &mut report.problems)?;
        }
        self.check_claim_index(&mut report)?;
        self.check_counts(&mut report)?;
        self.check_key_index(&mut report)?;
        self.check_expiry_index(&mut report)?;
        self.check_records(&mut report)?;
        Ok(report)
    }

    fn check_task(
        &self,
        key: &[u8],
        value: &[u8],
        pools: &BTreeSet<String>,
        problems: &mut Vec<String>,
    ) -> Result<()> {
        let Some((pool, Some(id))) =
            layout::split_pool(key).map(|(p, rest)| (p, layout::id_from_bytes(rest)))
        else {
            problems.push(format!("malformed task key {key:?}"));
            return Ok(());
        };
        let at = format!("task {id} of pool {pool:?}");
        if !pools.contains(pool) {
            problems.push(format!("{at}: its pool is not listed"));
        }
        let task = match codec::decode_task(value) {
            Ok(task) => task,
            Err(e) => {
                problems.push(format!("{at}: the stored task does not decode: {e}"));
                return Ok(());
            }
        };
        if task.id != id {
            problems.push(format!("{at}: the stored task holds id {}", task.id));
        }
        if task.key != content_key(&task.def) {
            problems.push(format!("{at}: its key is not the content key of its def"));
        }
        if (task.status == Status::Running) != task.lease.is_some() {
            problems.push(format!(
                "{at}: status {} with{} a lease",
                task.status,
                if task.lease.is_some() { "" } else { "out" }
            ));
        }
        let prefix = layout::pool_prefix(pool);
        let trees = &self.trees;
        if !trees
            .claim
            .contains_key(claim_entry(&prefix, &task))
            .map_err(SledError::Sled)?
        {
            problems.push(format!(
                "{at}: no claim-index entry for its status and priority"
            ));
        }
        let owner = trees
            .keys
            .get(layout::content_key_key(&prefix, &task.key))
            .map_err(SledError::Sled)?;
        if owner.as_deref() != Some(&task.id.bytes()[..]) {
            problems.push(format!(
                "{at}: the content-key entry of its key does not point at it"
            ));
        }
        if let Some(entry) = expiry_entry(&prefix, &task)
            && !trees.expiry.contains_key(entry).map_err(SledError::Sled)?
        {
            problems.push(format!("{at}: no expiry-index entry for its lease"));
        }
        Ok(())
    }

    /// The task an index entry points at, or a problem saying why there is none.
    fn target(&self, index: &str, pool: &str, id: TaskId) -> Result<Result<Task, String>> {
        let at = format!("{index}-index entry for task {id} of pool {pool:?}");
        Ok(
            match self
                .trees
                .tasks
                .get(layout::task_key(&layout::pool_prefix(pool), id))
                .map_err(SledError::Sled)?
            {
                None => Err(format!("{at}: no such task")),
                Some(bytes) => codec::decode_task(&bytes)
                    .map_err(|e| format!("{at}: the stored task does not decode: {e}")),
            },
        )
    }

    fn check_claim_index(&self, report: &mut IntegrityReport) -> Result<()> {
        for entry in self.trees.claim.iter() {
            let (key, value) = entry.map_err(SledError::Sled)?;
            report.index_entries += 1;
            let parsed = layout::split_pool(&key)
                .and_then(|(pool, rest)| Some((pool, layout::parse_claim_suffix(rest)?)));
            let Some((pool, (status, priority, id))) = parsed else {
                report
                    .problems
                    .push(format!("malformed claim-index key {key:?}"));
                continue;
            };
            if !value.is_empty() {
                report
                    .problems
                    .push(format!("claim-index entry for task {id} has a value"));
            }
            match self.target("claim", pool, id)? {
                Err(problem) => report.problems.push(problem),
                Ok(task) if task.status != status || task.priority != priority => {
                    report.problems.push(format!(
                        "claim-index entry ({status}, {priority}) for task {id} of pool {pool:?}: the task has ({}, {})",
                        task.status, task.priority
                    ))
                }
                Ok(_) => {}
            }
        }
        Ok(())
    }

    fn check_counts(&self, report: &mut IntegrityReport) -> Result<()> {
        // Malformed claim-index keys are reported by the claim-index check.
        let (expected, _) = counts::count_claim_index(&self.trees.claim)?;
        let mut stored = PoolCounts::new();
        for entry in self.trees.counts.iter() {
            let (key, value) = entry.map_err(SledError::Sled)?;
            report.counted_pools += 1;
            let Some((pool, b"")) = layout::split_pool(&key) else {
                report
                    .problems
                    .push(format!("malformed task-counts key {key:?}"));
                continue;
            };
            match counts::decode(&value) {
                Ok(stat) => {
                    stored.insert(key.to_vec(), stat);
                }
                Err(e) => report
                    .problems
                    .push(format!("task counts of pool {pool:?}: {e}")),
            }
        }
        let prefixes: BTreeSet<&Vec<u8>> = expected.keys().chain(stored.keys()).collect();
        for prefix in prefixes {
            let (want, have) = (expected.get(prefix), stored.get(prefix));
            if want.copied().unwrap_or_default() != have.copied().unwrap_or_default() {
                let pool = layout::split_pool(prefix).map_or("?", |(p, _)| p);
                report.problems.push(format!(
                    "task counts of pool {pool:?} are {have:?}; its claim index has {want:?}"
                ));
            }
        }
        Ok(())
    }

    fn check_key_index(&self, report: &mut IntegrityReport) -> Result<()> {
        for entry in self.trees.keys.iter() {
            let (key, value) = entry.map_err(SledError::Sled)?;
            report.index_entries += 1;
            let parsed = layout::split_pool(&key)
                .and_then(|(pool, rest)| Some((pool, std::str::from_utf8(rest).ok()?)));
            let (Some((pool, content)), Some(id)) = (parsed, layout::id_from_bytes(&value)) else {
                report
                    .problems
                    .push(format!("malformed content-key entry {key:?}"));
                continue;
            };
            match self.target("content-key", pool, id)? {
                Err(problem) => report.problems.push(problem),
                Ok(task) if task.key != content => report.problems.push(format!(
                    "content-key entry {content} of pool {pool:?} points at task {id}, whose key is {}",
                    task.key
                )),
                Ok(_) => {}
            }
        }
        Ok(())
    }

    fn check_expiry_index(&self, report: &mut IntegrityReport) -> Result<()> {
        for entry in self.trees.expiry.iter() {
            let (key, value) = entry.map_err(SledError::Sled)?;
            report.index_entries += 1;
            let parsed = layout::split_pool(&key)
                .and_then(|(pool, rest)| Some((pool, layout::parse_expiry_suffix(rest)?)));
            let Some((pool, (expires_at, id))) = parsed else {
                report
                    .problems
                    .push(format!("malformed expiry-index key {key:?}"));
                continue;
            };
            if !value.is_empty() {
                report
                    .problems
                    .push(format!("expiry-index entry for task {id} has a value"));
            }
            match self.target("expiry", pool, id)? {
                Err(problem) => report.problems.push(problem),
                Ok(task) => {
                    let lease_end = task.lease.as_ref().map(|l| l.expires_at);
                    if task.status != Status::Running || lease_end != Some(expires_at) {
                        report.problems.push(format!(
                            "expiry-index entry at {expires_at} for task {id} of pool {pool:?}: the task is {} with lease end {lease_end:?}",
                            task.status
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}
