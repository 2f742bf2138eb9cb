//! Online serving (`taskpool online init|routine|simulate|status`): Qlib's
//! `OnlineManager` + `RollingStrategy` + `OnlineTool` + `PredUpdater` on the
//! store, with no pickle.
//!
//! A **routine** at an as-of date sees the data up to that date only (the
//! calendar is read from the data every routine), and then:
//!
//! 1. generates each strategy's rolling windows on that calendar and keeps
//!    the ones not trained yet ([`RollingStrategy::prepare_tasks`]; a window
//!    is known by its model and test start, so a window whose end was open
//!    when it was trained is never trained again once its end is known);
//! 2. trains them through the task pool (deduplicated, leased: see
//!    [`Trainer`](taskpool_pipeline::trainer::Trainer); a delayed trainer's
//!    `end_train` runs before anything reads the models);
//! 3. updates predictions: each model predicts the dates after its last
//!    prediction that it serves (up to the day before the next window's
//!    start, or up to as-of for the latest), with all the history the
//!    features need;
//! 4. marks the latest window's model of each strategy `online` and the
//!    one it replaces `offline` (record tag `online_status`);
//! 5. appends the new dates to the signal: each strategy's models rolled
//!    together (the later window wins), then the configured ensemble across
//!    strategies, as `taskpool run` combines them
//!    ([`combine_models`](crate::job)), so that routines at the windows' test
//!    starts give exactly the offline run's signal;
//! 6. stores one **routine record** (as-of, models trained, models online,
//!    signal range, data fingerprint) with the new signal rows as its
//!    artifact `signals`.
//!
//! All state is in the store: model records tagged online/offline and the
//! routine records. Any machine with the store URL runs the next routine;
//! a routine holds the experiment's lock task (a lease in the lock pool,
//! heartbeated), so two routines started at once run one after the other,
//! and the second finds nothing left to do.

mod ahead;
mod lock;
mod manager;
mod predict;
pub mod report;
mod routine;
mod signals;
mod state;
mod strategy;
mod trainer;

pub use manager::{OnlineManager, OnlineOptions, OnlinePlan, SimulateSummary};
pub use routine::{ModelRef, PredUpdate, RoutineSummary};
pub use state::{
    KIND_ROUTINE, ModelRecord, OFFLINE, ONLINE, OnlineState, OnlineStatus, SIGNALS, TAG_AS_OF,
    TAG_KIND, TAG_ONLINE, TAG_PRED_END,
};
pub use strategy::RollingStrategy;
pub use trainer::PoolTrainer;
