//! Records and artifacts: what a trained task leaves behind.
//!
//! A [`Record`] belongs to an *experiment* (a name, like a pool name) and
//! holds the task it came from (pool, task id, definition), the definition's
//! [flattened parameters](flatten_params), metrics, tags, a status and
//! timestamps. Named *artifacts* (bytes, e.g. a prediction frame under
//! `pred`) hang off a record and go away with it.
//!
//! Records live in the same store as the tasks: [`RecordStore`] is the small
//! trait each backend implements next to [`TaskStore`](crate::TaskStore).
//! Everything a backend must decide is decided here, as pure functions:
//! [`NewRecord::into_record`] validates and builds a record,
//! [`UpdateRecord::apply`] applies an update, [`RecordFilter::matches`]
//! is the listing oracle, and the `validate_*` functions check names and
//! sizes. A backend stores and fetches; it never re-implements a rule.
//!
//! ## Size contract
//!
//! Every backend stores artifacts of any length up to [`MAX_ARTIFACT_LEN`]
//! (512 MiB), far beyond MongoDB's 16 MB document limit (the MongoDB backend
//! keeps artifacts in GridFS) and beyond what a single sled value should
//! hold (chunk it). Longer artifacts are rejected with
//! [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) before
//! anything is written, on every backend alike.
//!
//! ## Names
//!
//! Experiment names follow the pool-name rule (1–64 characters from
//! `A–Z a–z 0–9 _ - .`, not starting with `.` or `system.`). Artifact names
//! are relative paths such as `pred` or `sig_analysis/ic.bin`. Parameter,
//! metric and tag names are any non-empty string of at most
//! [`MAX_FIELD_NAME_LEN`] bytes; they may contain dots (`model.kwargs.alpha`),
//! so a backend that stores them as document keys must escape them or store
//! the maps as lists of pairs.

mod flatten;
mod params;
mod store;
mod types;
mod validate;

pub use flatten::flatten_params;
pub use params::{NewRecord, RecordFilter, UpdateRecord};
pub use store::RecordStore;
pub use types::{ArtifactInfo, Record, RecordId, RecordStatus};
pub use validate::{
    MAX_ARTIFACT_LEN, MAX_ARTIFACT_NAME_LEN, MAX_FIELD_NAME_LEN, validate_artifact_len,
    validate_artifact_name, validate_experiment_name,
};
