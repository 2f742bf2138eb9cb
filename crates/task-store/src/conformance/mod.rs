//! The conformance suite: the behaviour every [`TaskStore`] must show.
//!
//! Each case is a plain `pub async fn(&Ctx)`; the [`conformance_tests!`](crate::conformance_tests)
//! macro expands them into one `#[tokio::test]` per case in the calling test
//! module, each on a fresh store from the backend's factory:
//!
//! ```ignore
//! task_store::conformance_tests!(|clock, _case| async move {
//!     Some(std::sync::Arc::new(task_store::MemoryStore::with_clock(clock))
//!         as std::sync::Arc<dyn task_store::TaskStore>)
//! });
//! ```
//!
//! The factory gets the case name and returns `None` to skip it (after
//! printing why): for a backend whose server is not configured, or a case a
//! test server cannot honour.

pub mod cases;
pub mod records;

use std::sync::Arc;
use std::time::Duration;

use crate::store::TaskStore;
use crate::time::{ManualClock, SharedClock, Timestamp};

/// The start time of every case's clock (2026-01-01T00:00:00Z).
pub const START: Timestamp = Timestamp::from_millis(1_767_225_600_000);

/// The default lease used by cases.
pub const LEASE: Duration = Duration::from_secs(30);

/// What a case gets: a fresh store, the clock it reads, and a pool name.
pub struct Ctx {
    /// The store under test.
    pub store: Arc<dyn TaskStore>,
    /// The store's clock; cases move it to expire leases.
    pub clock: ManualClock,
    /// A pool name unique to this case.
    pub pool: String,
}

impl Ctx {
    /// Build a context from a factory; `None` if the factory skips.
    pub async fn new<F, Fut>(factory: F, case: &'static str) -> Option<Ctx>
    where
        F: FnOnce(SharedClock, &'static str) -> Fut,
        Fut: std::future::Future<Output = Option<Arc<dyn TaskStore>>>,
    {
        let clock = ManualClock::new(START);
        let store = factory(Arc::new(clock.clone()), case).await?;
        Some(Ctx {
            store,
            clock,
            pool: format!("conf_{case}"),
        })
    }
}

/// Expand every conformance case into a `#[tokio::test]` of the calling module.
///
/// `$factory` is a closure `|clock: SharedClock, case: &'static str| async { Option<Arc<dyn TaskStore>> }`
/// that opens a fresh, isolated store on that clock (or returns `None` to skip the case).
#[macro_export]
macro_rules! conformance_tests {
    ($factory:expr) => {
        $crate::conformance_tests!(@cases $factory;
            create_reports_new_and_existing,
            claim_respects_priority,
            claim_reclaims_expired_lease,
            commit_with_stale_lease_fails,
        );
    };
    (@cases $factory:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                if let Some(ctx) = $crate::conformance::Ctx::new($factory, stringify!($case)).await {
                    $crate::conformance::cases::$case(&ctx).await;
                }
            }
        )*
    };
}
