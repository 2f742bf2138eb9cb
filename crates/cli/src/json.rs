//! The `--json` shapes of every command, one struct per shape (documented
//! with an example per command in `docs/cli.md`; the dashboard's `/api/`
//! serves the same structs).
//!
//! **The one rule:** a command that lists things prints one JSON object per
//! line (JSON lines: `query`, `list`, `records` listings, `gen`, `ensemble`);
//! every other command prints exactly one JSON object. Nothing else goes to
//! stdout; logs and errors go to stderr.
//!
//! Documents stored by taskpool keep their stored form: `get` and `query`
//! print the task document ([`taskpool::store::Task`]), `worker` its
//! [`WorkerReport`](taskpool::pipeline::worker::WorkerReport).

use serde::Serialize;
use serde_json::{Map, Value};
use taskpool::pipeline::worker::LostTask;
use taskpool::store::{ArtifactInfo, Created, Record, Stat, Status};
use taskpool_experiment::online::{RoutineSummary, SimulateSummary};

/// `list`: one line per pool.
#[derive(Debug, Clone, Serialize)]
pub struct PoolLine {
    /// The pool's name.
    pub pool: String,
}

/// `records` without -e or -t: one line per experiment.
#[derive(Debug, Clone, Serialize)]
pub struct ExperimentLine {
    /// The experiment's name.
    pub experiment: String,
}

/// `records -e NAME` (one line per record) and `records --record ID` (one
/// object): the record and its artifacts.
#[derive(Debug, Clone, Serialize)]
pub struct RecordJson {
    /// The record as stored (`_id`, `experiment`, `task_id`, `metrics`, …).
    #[serde(flatten)]
    pub record: Record,
    /// Its artifacts (`name`, `len`).
    pub artifacts: Vec<ArtifactInfo>,
}

/// `records --record ID --artifact NAME -o FILE`.
#[derive(Debug, Clone, Serialize)]
pub struct ArtifactWritten {
    /// The record's id.
    pub record: String,
    /// The artifact's name.
    pub artifact: String,
    /// Bytes written to `output`.
    pub bytes: u64,
    /// The file written.
    pub output: String,
    /// `raw` (the stored bytes) or `csv` (a stored frame converted).
    pub format: &'static str,
}

/// `stat`: the count of every status, zeros included, and the total.
#[derive(Debug, Clone, Serialize)]
pub struct StatJson {
    /// `waiting`, `running`, `part_done`, `done`, `failed`.
    #[serde(flatten)]
    pub stat: Stat,
    /// The sum.
    pub total: u64,
}

/// `wait`: how the wait ended and the last counts.
#[derive(Debug, Clone, Serialize)]
pub struct WaitJson {
    /// `finished` or `timed_out` (exit code 1).
    pub outcome: &'static str,
    /// The counts by status.
    #[serde(flatten)]
    pub stat: Stat,
    /// The sum of the counts.
    pub total: u64,
    /// Tasks still waiting, running or part_done.
    pub pending: u64,
}

/// `create`: what the file added.
#[derive(Debug, Clone, Serialize)]
pub struct CreateJson {
    /// Definitions in the file.
    pub total: usize,
    /// Definitions that made a new task (would make, with `--dry-run`).
    pub new: usize,
    /// Definitions already in the pool (or repeated in the file).
    pub existing: usize,
    /// Whether nothing was written.
    pub dry_run: bool,
    /// One entry per definition, in file order.
    pub tasks: Vec<CreatedJson>,
}

/// One definition of `create`.
#[derive(Debug, Clone, Serialize)]
pub struct CreatedJson {
    /// The task's id; `null` for a new task in a dry run (the id is made when
    /// the task is really created).
    #[serde(rename = "_id")]
    pub id: Option<String>,
    /// The content key.
    pub key: String,
    /// Whether this definition makes a new task.
    pub new: bool,
    /// The task's status (`waiting` for a new one).
    pub status: Status,
}

impl CreatedJson {
    /// The entry for `created`; a dry run shows no id for a new task.
    pub fn new(created: &Created, dry_run: bool) -> CreatedJson {
        CreatedJson {
            id: (!(dry_run && created.new)).then(|| created.id.to_string()),
            key: created.key.clone(),
            new: created.new,
            status: created.status,
        }
    }
}

/// `remove`, `prune`: how many tasks were deleted (would be, with `--dry-run`).
#[derive(Debug, Clone, Serialize)]
pub struct RemovedJson {
    /// The number of tasks.
    pub removed: u64,
    /// Whether nothing was deleted (`prune --dry-run`).
    pub dry_run: bool,
}

/// `reset-waiting`, `reset-status`, `prioritize`: how many tasks matched and were changed.
#[derive(Debug, Clone, Serialize)]
pub struct MatchedJson {
    /// The number of tasks.
    pub matched: u64,
}

/// `lost`: the running tasks whose lease expired, and how many of them
/// `--requeue` put back (`null` without it).
#[derive(Debug, Clone, Serialize)]
pub struct LostJson {
    /// The lost tasks (`_id`, `owner`, `expires_at`, `attempts`,
    /// `max_attempts`, `from_status`).
    pub lost: Vec<LostTask>,
    /// How many were requeued.
    pub requeued: Option<u64>,
}

/// `drop-pool`.
#[derive(Debug, Clone, Serialize)]
pub struct DroppedJson {
    /// The pool deleted.
    pub dropped: String,
}

/// `ensemble`: one line per output row: `datetime`, `instrument`, then one
/// key per column (`null` for a missing value).
pub type EnsembleRow = Map<String, Value>;

/// `online init`, `online routine`: what the routine did (its
/// [`RoutineSummary`], as stored in its routine record) and the report.
#[derive(Debug, Clone, Serialize)]
pub struct OnlineRoutineJson {
    /// The routine: `as_of ran note trained online taken_offline updated
    /// signal_start signal_end signal_rows overwrite data train_seconds
    /// train_phase_seconds predict_seconds total_seconds`.
    #[serde(flatten)]
    pub routine: RoutineSummary,
    /// The online report directory.
    pub report_dir: String,
    /// The files written there.
    pub files: Vec<String>,
}

/// `online simulate`: every routine and where the time went, and the report.
#[derive(Debug, Clone, Serialize)]
pub struct OnlineSimulateJson {
    /// `start end routines trained wall_seconds model_work_seconds
    /// train_seconds predict_seconds train_phase_seconds
    /// orchestration_seconds trained_ahead`.
    #[serde(flatten)]
    pub simulate: SimulateSummary,
    /// The online report directory.
    pub report_dir: String,
    /// The files written there.
    pub files: Vec<String>,
}
