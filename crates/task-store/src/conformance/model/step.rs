//! The operations of the property test and how proptest generates them.
//!
//! Tasks, leases, records and definitions are referred to by small indexes
//! (resolved modulo what exists when the step runs), so sequences shrink
//! well and print readably.

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Map, Value, json};

use crate::record::RecordStatus;
use crate::task::Status;

/// How many distinct definitions sequences draw from (few, so keys repeat).
pub const DEFS: usize = 10;

/// Definition `i` of the universe: varied kinds so queries have work to do.
pub fn def(i: usize) -> Value {
    let mut m = Map::new();
    m.insert("n".into(), json!(i));
    m.insert("model".into(), json!(["LGB", "MLP", "Linear"][i % 3]));
    m.insert("flag".into(), json!(i.is_multiple_of(2)));
    let w = [json!(1), json!(1.5), json!(2.0), json!("2")];
    m.insert("w".into(), w[i % 4].clone());
    let cfg = if i % 3 == 2 {
        json!([i])
    } else {
        json!({"depth": i % 4})
    };
    m.insert("cfg".into(), cfg);
    if i.is_multiple_of(5) {
        m.insert("opt".into(), Value::Null);
    }
    Value::Object(m)
}

/// Queries the steps use; the first [`CLAIM_QUERIES`] do not mention `status`.
pub fn queries() -> Vec<Value> {
    vec![
        json!({"filter.model": "LGB"}),
        json!({"filter.n": {"$gte": 5}}),
        json!({"filter.flag": true}),
        json!({"filter.opt": null}),
        json!({"filter.cfg.depth": {"$lt": 2}}),
        json!({"priority": {"$gt": 0}}),
        json!({"attempts": {"$gte": 1}}),
        json!({"$or": [{"filter.model": "MLP"}, {"priority": {"$lt": 0}}]}),
        json!({"filter.w": {"$in": [2, "2"]}}),
        json!({"filter.w": {"$gt": 1}}),
        json!({"status": "waiting"}),
        json!({"status": {"$in": ["running", "part_done"]}}),
        json!({"status": {"$ne": "done"}}),
        json!({"status": "failed", "filter.flag": false}),
    ]
}

/// How many of [`queries`] a claim may use.
pub const CLAIM_QUERIES: usize = 10;
const ALL_QUERIES: usize = 14;

/// Which tasks an operation addresses.
#[derive(Debug, Clone)]
pub enum Sel {
    /// `{}`.
    All,
    /// One of the step queries (by index).
    Json(usize),
    /// The task of a handle, by `_id`.
    Id(usize),
    /// Tasks created after the task of a handle (`_id` `$gt`).
    After(usize),
}

/// One step of a sequence. Task and lease fields are indexes into what the
/// sequence created and claimed so far.
#[derive(Debug, Clone)]
pub enum Step {
    /// Create definitions (indexes into the universe), maybe with one task's own priority.
    Create {
        /// Definition indexes (repeats allowed).
        defs: Vec<usize>,
        /// Batch priority.
        priority: i64,
        /// Batch attempt limit (0 is invalid).
        max_attempts: u32,
        /// Report only.
        dry_run: bool,
        /// `(position, priority)` of a task that sets its own priority.
        own_priority: Option<(usize, i64)>,
    },
    /// Claim up to `n`.
    Claim {
        /// The status to claim from (done is invalid).
        from: Status,
        /// How many.
        n: usize,
        /// Owner index.
        owner: usize,
        /// Lease length in ms.
        lease_ms: u64,
        /// Which tasks (never a status query).
        sel: Sel,
    },
    /// Heartbeat an issued lease (or a forged token for its task).
    Heartbeat {
        /// Issued lease index.
        lease: usize,
        /// Use a token that was never issued.
        forged: bool,
        /// New lease length in ms.
        lease_ms: u64,
    },
    /// Commit an issued lease.
    Commit {
        /// Issued lease index.
        lease: usize,
        /// Use a token that was never issued.
        forged: bool,
        /// Target status (failed is invalid).
        status: Status,
        /// Result value.
        result: u8,
    },
    /// Return an issued lease.
    Return {
        /// Issued lease index.
        lease: usize,
        /// Use a token that was never issued.
        forged: bool,
        /// Error message number, if any.
        error: Option<u8>,
        /// Target status (done is invalid).
        status: Option<Status>,
    },
    /// Set priorities.
    Prioritize {
        /// Which tasks.
        sel: Sel,
        /// The priority.
        priority: i64,
    },
    /// Force a status (running is invalid).
    Reset {
        /// Which tasks.
        sel: Sel,
        /// The status.
        status: Status,
    },
    /// Delete tasks.
    Remove {
        /// Which tasks.
        sel: Sel,
    },
    /// Give a task a definition of the universe.
    Replace {
        /// Task handle.
        task: usize,
        /// Definition index.
        def: usize,
    },
    /// Move both clocks.
    Advance {
        /// Milliseconds.
        ms: u64,
    },
    /// Read one task.
    Get {
        /// Task handle.
        task: usize,
    },
    /// Read a page of tasks.
    Query {
        /// Which tasks.
        sel: Sel,
        /// Skip.
        skip: usize,
        /// Limit.
        limit: Option<usize>,
    },
    /// Count tasks.
    Stat {
        /// Which tasks.
        sel: Sel,
    },
    /// Create a record.
    CreateRecord {
        /// Experiment index (see [`EXPERIMENTS`]).
        exp: usize,
        /// The task (handle) it belongs to, if any.
        task: Option<usize>,
        /// Its definition (index into the universe).
        def: usize,
        /// Initial status.
        status: RecordStatus,
        /// Metrics: `(name, value)` indexes into [`METRIC_NAMES`], [`METRIC_VALUES`].
        metrics: Vec<(usize, usize)>,
        /// Tags: `(name, value)` indexes into [`TAG_NAMES`], [`TAG_VALUES`].
        tags: Vec<(usize, usize)>,
        /// Reuse the id of a record handle (`AlreadyExists` while it lives).
        taken_id: Option<usize>,
    },
    /// Change a record.
    UpdateRecord {
        /// Record handle.
        record: RecordRef,
        /// New status.
        status: Option<RecordStatus>,
        /// Metrics to set.
        metrics: Vec<(usize, usize)>,
        /// Tags to set.
        tags: Vec<(usize, usize)>,
        /// A parameter to set: `(name, value)`, the value a definition of the universe.
        param: Option<(usize, usize)>,
    },
    /// Read one record.
    GetRecord {
        /// Record handle.
        record: RecordRef,
    },
    /// List records.
    ListRecords {
        /// Experiment index.
        exp: usize,
        /// Only these statuses.
        statuses: Option<Vec<RecordStatus>>,
        /// Only records with this tag.
        tag: Option<(usize, usize)>,
        /// Only records of this task (handle).
        task: Option<usize>,
    },
    /// Delete a record.
    DeleteRecord {
        /// Record handle.
        record: RecordRef,
    },
    /// Store an artifact.
    PutArtifact {
        /// Record handle.
        record: RecordRef,
        /// Name index into [`ARTIFACT_NAMES`].
        name: usize,
        /// Length index into [`ARTIFACT_LENS`].
        len: usize,
        /// Fill pattern.
        fill: u8,
    },
    /// Read an artifact.
    GetArtifact {
        /// Record handle.
        record: RecordRef,
        /// Name index.
        name: usize,
    },
    /// List a record's artifacts.
    ListArtifacts {
        /// Record handle.
        record: RecordRef,
    },
    /// Delete an artifact.
    DeleteArtifact {
        /// Record handle.
        record: RecordRef,
        /// Name index.
        name: usize,
    },
    /// List experiments (compared on the sequence's own).
    Experiments,
}

impl Step {
    /// Whether the step is a record or artifact operation.
    pub fn on_records(&self) -> bool {
        matches!(
            self,
            Step::CreateRecord { .. }
                | Step::UpdateRecord { .. }
                | Step::GetRecord { .. }
                | Step::ListRecords { .. }
                | Step::DeleteRecord { .. }
                | Step::PutArtifact { .. }
                | Step::GetArtifact { .. }
                | Step::ListArtifacts { .. }
                | Step::DeleteArtifact { .. }
                | Step::Experiments
        )
    }
}

/// A record addressed by a step: a handle (index modulo the records created
/// so far), in its own experiment or, to check scoping, in the other one.
#[derive(Debug, Clone, Copy)]
pub struct RecordRef {
    /// Record handle.
    pub handle: usize,
    /// Address it in the other experiment (`NotFound`).
    pub wrong_experiment: bool,
}

/// The experiments of a sequence, as suffixes of its pool name.
pub const EXPERIMENTS: [&str; 2] = ["", "_b"];
/// Metric names; the empty name is invalid.
pub const METRIC_NAMES: &[&str] = &["ic", "loss", "model.rank_ic", ""];
/// Metric values, exact round trips required; NaN is invalid.
pub const METRIC_VALUES: &[f64] = &[0.0, 0.30000000000000004, -1e-300, 1e300, -2.5, f64::NAN];
/// Tag names; the empty name is invalid.
pub const TAG_NAMES: &[&str] = &["online", "kind", ""];
/// Tag values.
pub const TAG_VALUES: &[&str] = &["yes", "no", ""];
/// Artifact names; the last two are invalid.
pub const ARTIFACT_NAMES: &[&str] = &["pred", "sig_analysis/ic.bin", "label", "../escape", ""];
/// Artifact lengths: empty, small, and across the 255 KiB (GridFS) and
/// 1 MiB (SQLite, sled) chunk boundaries.
pub const ARTIFACT_LENS: &[usize] = &[0, 1, 300, 255 * 1024 + 1, (1 << 20) + 1];

/// The bytes of an artifact of `len` bytes filled from `fill`.
pub fn artifact_bytes(len: usize, fill: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(fill))
        .collect()
}

const PRIORITIES: &[i64] = &[-1, 0, 0, 1, 5];
const LEASES_MS: &[u64] = &[1, 1_000, 30_000];
const ADVANCES_MS: &[u64] = &[1, 500, 1_000, 30_000, 60_000];

fn sel(json_queries: usize) -> impl Strategy<Value = Sel> {
    prop_oneof![
        2 => Just(Sel::All),
        4 => (0..json_queries).prop_map(Sel::Json),
        2 => (0..16usize).prop_map(Sel::Id),
        1 => (0..16usize).prop_map(Sel::After),
    ]
}

fn create() -> impl Strategy<Value = Step> {
    (
        vec(0..DEFS, 0..5),
        select(PRIORITIES),
        prop_oneof![20 => 1..4u32, 1 => Just(0u32)],
        prop::bool::weighted(0.1),
        option::weighted(0.2, (0..5usize, select(PRIORITIES))),
    )
        .prop_map(
            |(defs, priority, max_attempts, dry_run, own_priority)| Step::Create {
                defs,
                priority,
                max_attempts,
                dry_run,
                own_priority,
            },
        )
}

fn claim() -> impl Strategy<Value = Step> {
    let from = prop_oneof![
        12 => Just(Status::Waiting),
        6 => Just(Status::PartDone),
        1 => Just(Status::Done),
    ];
    (
        from,
        0..4usize,
        0..3usize,
        select(LEASES_MS),
        sel(CLAIM_QUERIES),
    )
        .prop_map(|(from, n, owner, lease_ms, sel)| Step::Claim {
            from,
            n,
            owner,
            lease_ms,
            sel,
        })
}

fn lease_steps() -> impl Strategy<Value = Step> {
    let forged = prop::bool::weighted(0.1);
    let commit_to = prop_oneof![
        6 => Just(Status::Done),
        3 => Just(Status::PartDone),
        2 => Just(Status::Waiting),
        1 => Just(Status::Failed),
    ];
    let return_to = prop_oneof![
        6 => Just(None),
        2 => Just(Some(Status::Waiting)),
        2 => Just(Some(Status::PartDone)),
        2 => Just(Some(Status::Failed)),
        1 => Just(Some(Status::Done)),
    ];
    prop_oneof![
        2 => (0..16usize, forged, select(LEASES_MS)).prop_map(|(lease, forged, lease_ms)| {
            Step::Heartbeat { lease, forged, lease_ms }
        }),
        3 => (0..16usize, forged, commit_to, any::<u8>()).prop_map(
            |(lease, forged, status, result)| Step::Commit { lease, forged, status, result }
        ),
        2 => (0..16usize, forged, option::weighted(0.7, any::<u8>()), return_to).prop_map(
            |(lease, forged, error, status)| Step::Return { lease, forged, error, status }
        ),
    ]
}

fn admin_steps() -> impl Strategy<Value = Step> {
    let status = prop_oneof![
        3 => Just(Status::Waiting),
        2 => Just(Status::PartDone),
        2 => Just(Status::Done),
        2 => Just(Status::Failed),
        1 => Just(Status::Running),
    ];
    prop_oneof![
        (sel(ALL_QUERIES), select(PRIORITIES))
            .prop_map(|(sel, priority)| Step::Prioritize { sel, priority }),
        (sel(ALL_QUERIES), status).prop_map(|(sel, status)| Step::Reset { sel, status }),
        sel(ALL_QUERIES).prop_map(|sel| Step::Remove { sel }),
        (0..16usize, 0..DEFS).prop_map(|(task, def)| Step::Replace { task, def }),
    ]
}

fn read_steps() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0..16usize).prop_map(|task| Step::Get { task }),
        (sel(ALL_QUERIES), 0..3usize, option::of(0..4usize))
            .prop_map(|(sel, skip, limit)| Step::Query { sel, skip, limit }),
        sel(ALL_QUERIES).prop_map(|sel| Step::Stat { sel }),
    ]
}

fn record_status() -> impl Strategy<Value = RecordStatus> {
    select(RecordStatus::ALL.to_vec())
}

fn record_ref() -> impl Strategy<Value = RecordRef> {
    (0..16usize, prop::bool::weighted(0.05)).prop_map(|(handle, wrong_experiment)| RecordRef {
        handle,
        wrong_experiment,
    })
}

/// `(name, value)` index pairs, names weighted towards the valid ones.
fn entries(names: usize, values: usize) -> impl Strategy<Value = Vec<(usize, usize)>> {
    let name = prop_oneof![20 => 0..names - 1, 1 => Just(names - 1)];
    vec((name, 0..values), 0..3)
}

fn metrics() -> impl Strategy<Value = Vec<(usize, usize)>> {
    let name = prop_oneof![20 => 0..METRIC_NAMES.len() - 1, 1 => Just(METRIC_NAMES.len() - 1)];
    let value = prop_oneof![
        30 => 0..METRIC_VALUES.len() - 1,
        1 => Just(METRIC_VALUES.len() - 1)
    ];
    vec((name, value), 0..3)
}

fn artifact_name() -> impl Strategy<Value = usize> {
    prop_oneof![30 => 0..3usize, 1 => 3..ARTIFACT_NAMES.len()]
}

fn record_write_steps() -> impl Strategy<Value = Step> {
    let len = prop_oneof![10 => 0..3usize, 2 => Just(3usize), 1 => Just(4usize)];
    prop_oneof![
        4 => (
            0..EXPERIMENTS.len(),
            option::weighted(0.7, 0..16usize),
            0..DEFS,
            record_status(),
            metrics(),
            entries(TAG_NAMES.len(), TAG_VALUES.len()),
            option::weighted(0.05, 0..16usize),
        )
            .prop_map(|(exp, task, def, status, metrics, tags, taken_id)| {
                Step::CreateRecord { exp, task, def, status, metrics, tags, taken_id }
            }),
        3 => (
            record_ref(),
            option::of(record_status()),
            metrics(),
            entries(TAG_NAMES.len(), TAG_VALUES.len()),
            option::weighted(0.3, (0..METRIC_NAMES.len(), 0..DEFS)),
        )
            .prop_map(|(record, status, metrics, tags, param)| Step::UpdateRecord {
                record,
                status,
                metrics,
                tags,
                param,
            }),
        1 => record_ref().prop_map(|record| Step::DeleteRecord { record }),
        3 => (record_ref(), artifact_name(), len, any::<u8>())
            .prop_map(|(record, name, len, fill)| Step::PutArtifact { record, name, len, fill }),
        1 => (record_ref(), artifact_name())
            .prop_map(|(record, name)| Step::DeleteArtifact { record, name }),
    ]
}

fn record_read_steps() -> impl Strategy<Value = Step> {
    prop_oneof![
        record_ref().prop_map(|record| Step::GetRecord { record }),
        (
            0..EXPERIMENTS.len(),
            option::weighted(0.3, vec(record_status(), 0..3)),
            option::weighted(0.3, (0..TAG_NAMES.len() - 1, 0..TAG_VALUES.len())),
            option::weighted(0.2, 0..16usize),
        )
            .prop_map(|(exp, statuses, tag, task)| Step::ListRecords {
                exp,
                statuses,
                tag,
                task
            }),
        (record_ref(), artifact_name())
            .prop_map(|(record, name)| Step::GetArtifact { record, name }),
        record_ref().prop_map(|record| Step::ListArtifacts { record }),
        Just(Step::Experiments),
    ]
}

/// One random step.
pub fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => create(),
        4 => claim(),
        7 => lease_steps(),
        2 => select(ADVANCES_MS).prop_map(|ms| Step::Advance { ms }),
        4 => admin_steps(),
        3 => read_steps(),
        3 => record_write_steps(),
        2 => record_read_steps(),
    ]
}

/// A random sequence of steps.
pub fn sequence() -> impl Strategy<Value = Vec<Step>> {
    vec(step(), 1..40)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::Query;

    #[test]
    fn queries_parse_and_only_the_tail_mentions_status() {
        let qs = queries();
        assert_eq!(qs.len(), ALL_QUERIES);
        for (i, q) in qs.iter().enumerate() {
            let parsed = Query::parse(q).unwrap();
            assert_eq!(parsed.mentions_status(), i >= CLAIM_QUERIES, "{q}");
        }
    }

    #[test]
    fn universe_keys_are_distinct() {
        let keys: std::collections::HashSet<_> =
            (0..DEFS).map(|i| crate::content_key(&def(i))).collect();
        assert_eq!(keys.len(), DEFS);
    }
}
