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
//!    `end_train` runs before anything reads the new models);
//! 3. updates predictions: each model predicts the dates after its last
//!    prediction that it serves (up to the day before the next window's
//!    start, or up to as-of for the latest), with all the history the
//!    features need. The models of earlier routines do so while step 2
//!    trains (the next window's start is known from the windows, trained
//!    or not); the new ones predicted up to their data's end when trained;
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
//! heartbeated; `simulate` holds it once for all its routines), so two
//! routines started at once run one after the other, and the second finds
//! nothing left to do. A routine sees only models trained on data before
//! its as-of, and after its training the ones trained on data up to it
//! ([`OnlineState::before`], [`OnlineState::up_to`]).
//!
//! **`simulate` trains ahead** (module `ahead`): its routines' dates are
//! known from the start, and so is what each will train, so it creates all
//! their training tasks at once (each reading the data up to its own
//! routine's as-of) and an in-process worker trains them back to back while
//! the routines do their other steps; each routine asks the pool for its
//! windows as always (deduplicated onto the tasks created ahead) and waits
//! for them. The signals and records are those of routines one after the
//! other ([`OnlineManager::train_ahead`] turns it off).

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
mod windows;

pub use manager::{OnlineManager, OnlineOptions, OnlinePlan, SimulateSummary};
pub use routine::{ModelRef, PredUpdate, RoutineSummary};
pub use state::{
    KIND_ROUTINE, ModelRecord, OFFLINE, ONLINE, OnlineState, OnlineStatus, SIGNALS, TAG_AS_OF,
    TAG_KIND, TAG_ONLINE, TAG_PRED_END,
};
pub use strategy::RollingStrategy;
pub use trainer::PoolTrainer;
