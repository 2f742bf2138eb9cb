//! The conformance suite: the behaviour every [`TaskStore`](crate::TaskStore) must show.
//!
//! It has three parts, all run by [`conformance_tests!`](crate::conformance_tests):
//!
//! - the named [`cases`]: one `pub async fn case(ctx: &Ctx)` per `# Behavior`
//!   bullet of [`TaskStore`](crate::TaskStore) and per rule of the [query language](crate::query),
//!   split into one file per area (create, claim, lease, query, translation,
//!   admin, errors, concurrency);
//! - a model-based property test ([`model`]): random operation sequences
//!   applied to the backend and to a [`MemoryStore`](crate::MemoryStore) on its
//!   own clock, every observable result compared;
//! - concurrency cases (listed in [`CONCURRENCY_CASES`]).
//!
//! # Using it from a backend
//!
//! ```ignore
//! task_store::conformance_tests!(|clock: task_store::SharedClock, case: &'static str| async move {
//!     Some(std::sync::Arc::new(task_store::MemoryStore::with_clock(clock))
//!         as std::sync::Arc<dyn task_store::Store>)
//! });
//! ```
//!
//! The macro expands, in the calling module, one `#[test]` per named case and
//! one `#[test]` for the property test ([`MODEL_CASE`]). Each test builds its
//! own multi-thread tokio runtime ([`runtime`]), so the calling crate needs no
//! tokio macros.
//!
//! # The factory
//!
//! `|clock: SharedClock, case: &'static str| async move { Option<Arc<dyn Store>> }`
//!
//! A [`Store`](crate::Store) holds tasks and records: the named cases use its
//! tasks, the property test both.
//!
//! - It is called once per test with the test's name and a clock the test
//!   controls. It must return a fresh, isolated store (its own temporary file,
//!   database or schema) that reads time only from `clock`.
//! - Returning `None` skips that test: print why first (for example "set
//!   TASKPOOL_MONGO_URL to run"). A backend whose test server cannot honour
//!   single-document atomicity under concurrency (FerretDB) skips exactly the
//!   names in [`CONCURRENCY_CASES`].
//! - The property test calls the factory once (with [`MODEL_CASE`]) and runs
//!   every sequence in that one store, each sequence in a fresh pool.
//!
//! # Environment
//!
//! `TASKPOOL_PROPTEST_CASES` sets the number of property-test sequences
//! (default [`DEFAULT_MODEL_SEQUENCES`]).

pub mod cases;
mod ctx;
mod list;
pub mod model;
pub mod records;

use std::time::Duration;

pub use ctx::{Ctx, claim_params, query, token};

use crate::time::Timestamp;

/// The start time of every case's clock (2026-01-01T00:00:00Z).
pub const START: Timestamp = Timestamp::from_millis(1_767_225_600_000);

/// The default lease used by cases.
pub const LEASE: Duration = Duration::from_secs(30);

/// The name of the property test, as passed to the factory.
pub const MODEL_CASE: &str = "random_sequences_match_memory_store";

/// Property-test sequences per run unless `TASKPOOL_PROPTEST_CASES` says otherwise.
pub const DEFAULT_MODEL_SEQUENCES: u32 = 1_000;

/// Every named case, in the order the macro expands them.
pub const CASES: &[&str] = crate::__conformance_case_list!(__conformance_case_names!());

/// The cases that need single-document atomicity under concurrent writers
/// (an atomic claim, and fenced heartbeat/commit racing a claim). A backend
/// whose test server does not provide it (FerretDB's non-atomic
/// `findAndModify`) skips exactly these by returning `None` from its factory.
///
/// `create_is_idempotent_under_concurrent_creators` is not listed: it relies
/// on the unique key index, not on atomic updates, and runs everywhere.
pub const CONCURRENCY_CASES: &[&str] = &[
    "claim_hands_each_task_out_once_under_concurrency",
    "heartbeat_races_reclaim_one_wins",
    "commit_races_reclaim_one_wins",
];

/// A multi-thread tokio runtime (4 workers) for one test.
///
/// # Panics
/// If the runtime cannot be built (no threads left): the test cannot run.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("build a tokio runtime for a conformance test")
}

/// Expand the whole conformance suite into `#[test]`s of the calling module.
///
/// `$factory` is a closure `|clock: SharedClock, case: &'static str| async move { Option<Arc<dyn Store>> }`
/// that opens a fresh, isolated store on that clock, or returns `None` to
/// skip the case (see the [module docs](crate::conformance)).
#[macro_export]
macro_rules! conformance_tests {
    ($factory:expr) => {
        $crate::__conformance_case_list!(conformance_tests!(@cases $factory;));

        #[test]
        fn random_sequences_match_memory_store() {
            $crate::conformance::model::run($factory);
        }
    };
    (@cases $factory:expr; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                $crate::conformance::runtime().block_on(async {
                    if let Some(ctx) = $crate::conformance::Ctx::new($factory, stringify!($case)).await {
                        $crate::conformance::cases::$case(&ctx).await;
                        ctx.close().await;
                    }
                });
            }
        )*
    };
}

/// Turn the case list into `&[&str]` (used for [`CASES`]).
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_case_names {
    ($($case:ident),* $(,)?) => {
        &[$(stringify!($case)),*]
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pool::validate_pool_name;

    #[test]
    fn concurrency_cases_are_cases() {
        for name in CONCURRENCY_CASES {
            assert!(CASES.contains(name), "{name} is not a conformance case");
        }
    }

    #[test]
    fn case_names_make_valid_unique_pools() {
        let mut seen = std::collections::HashSet::new();
        for name in CASES {
            validate_pool_name(&Ctx::pool_for(name)).unwrap();
            assert!(seen.insert(name), "{name} is listed twice");
        }
    }
}
