//! # task-store: the core of taskpool
//!
//! This crate defines what a task pool *is*, independently of where it lives:
//!
//! - the task record ([`Task`], [`TaskId`], [`Status`], [`Lease`]), identical on
//!   every backend;
//! - the query language ([`Query`]), a small subset of MongoDB syntax whose
//!   meaning is pinned down by [`Query::matches`];
//! - the [`TaskStore`] trait (atomic claim, heartbeat, commit, return, query,
//!   stat…) with one parameter struct per operation, and [`TaskStoreExt`]
//!   conveniences;
//! - the lifecycle rules as pure functions ([`transition`]);
//! - [`MemoryStore`], the reference implementation, and (feature
//!   `conformance`) the behaviour suite every backend must pass;
//! - (feature `fuzz`) what the parser fuzz properties of every crate share.
//!
//! ## Design choices
//!
//! *Leases and fencing.* A claim hands out a lease with a random token; every
//! later write about that attempt (heartbeat, commit, return) must present the
//! token and fails with [`ErrorKind::LeaseLost`] otherwise. A worker that was
//! presumed dead can therefore never overwrite the result of the worker that
//! took over its task. An expired lease makes the task claimable again; when
//! its attempts are used up it becomes `failed` instead of looping forever.
//!
//! *Injectable time.* Stores read time only from a [`Clock`], so lease expiry
//! is tested by moving a [`ManualClock`], not by sleeping.
//!
//! *Content keys.* Deduplication is by a hash of the canonical JSON of the
//! definition ([`content_key`]), enforced by a unique index in each backend,
//! never by check-then-insert.

pub mod backend;
pub mod error;
mod id;
mod int_range;
mod key;
pub mod limits;
mod memory;
mod memory_records;
mod order;
mod params;
mod pool;
pub mod query;
pub mod record;
pub mod redact;
mod store;
mod task;
mod time;
pub mod transition;

#[cfg(feature = "conformance")]
pub mod conformance;
#[cfg(any(test, feature = "fuzz"))]
pub mod fuzz;

pub use backend::{Capabilities, RecordBackend, TaskBackend};
pub use error::{Error, ErrorKind, Result};
pub use id::TaskId;
pub use key::{canonical_json, content_key};
pub use limits::{MAX_DEPTH, MAX_FIELD_BYTES, MAX_OWNER_BYTES};
pub use memory::{MemoryStore, URL_SCHEMES as MEMORY_URL_SCHEMES};
pub use order::{Cursor, Order};
pub use params::{
    ClaimParams, CommitParams, CreateParams, Created, HeartbeatParams, NewTask, QueryParams,
    ReplaceParams, ResetParams, ReturnParams,
};
pub use pool::{MAX_POOL_NAME_LEN, validate_pool_name};
pub use query::Query;
pub use record::{
    ArtifactInfo, NewRecord, Record, RecordFilter, RecordId, RecordStatus, RecordStore,
    UpdateRecord,
};
pub use redact::redact_url;
pub use store::{Store, TaskStore, TaskStoreExt};
pub use task::{
    DEFAULT_MAX_ATTEMPTS, ErrorEntry, Lease, MAX_ERROR_MESSAGE_BYTES, MAX_ERRORS, Stat, Status,
    Task,
};
pub use time::{Clock, ManualClock, SharedClock, SystemClock, Timestamp};
