//! The record and artifact conformance cases: the behaviour every
//! [`RecordStore`] must show, one case per `# Behavior` bullet and error.
//!
//! [`record_conformance_tests!`](crate::record_conformance_tests) expands,
//! in the calling module, one `#[test]` per case, each on a fresh store:
//!
//! ```ignore
//! task_store::record_conformance_tests!(|clock: task_store::SharedClock, _case: &'static str| async move {
//!     Some(std::sync::Arc::new(task_store::MemoryStore::with_clock(clock))
//!         as std::sync::Arc<dyn task_store::Store>)
//! });
//! ```
//!
//! The factory follows the same contract as the task suite's: a fresh,
//! isolated store reading time only from `clock`, or `None` (after printing
//! why) to skip the case.
//!
//! Laid out like the task suite: [`RecordCtx`] (the context every case
//! gets), the case list (`list.rs`, expanded into the tests and
//! [`RECORD_CASES`]) and the [`cases`], one file per area.

pub mod cases;
mod ctx;
mod list;

pub use cases::*;
pub use ctx::RecordCtx;

/// Run one case's future on a fresh multi-thread runtime (used by the macro).
///
/// # Panics
/// If the runtime cannot be built: the test cannot run.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("build a tokio runtime for a record conformance test")
        .block_on(future)
}

/// Expand every record conformance case into a `#[test]` of the calling module.
///
/// `$factory` is a closure `|clock: SharedClock, case: &'static str| async move { Option<Arc<dyn Store>> }`
/// (a store of tasks and records: the case closes it at its end, see
/// [`TaskStore::close`](crate::TaskStore::close)).
#[macro_export]
macro_rules! record_conformance_tests {
    ($factory:expr) => {
        $crate::__record_case_list!([$crate::record_conformance_tests] (@cases $factory;));
    };
    (@cases $factory:expr; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                $crate::conformance::records::block_on(async {
                    if let Some(ctx) =
                        $crate::conformance::records::RecordCtx::new($factory, stringify!($case)).await
                    {
                        $crate::conformance::records::$case(&ctx).await;
                        ctx.close().await;
                    }
                });
            }
        )*
    };
}

/// Every record case, in the order the macro expands them.
pub const RECORD_CASES: &[&str] = crate::__record_case_list!([crate::__record_case_names]());

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::validate_experiment_name;

    #[test]
    fn record_case_names_make_valid_unique_experiments() {
        let mut seen = std::collections::HashSet::new();
        for name in RECORD_CASES {
            validate_experiment_name(&RecordCtx::experiment_for(name)).unwrap();
            validate_experiment_name(&format!("{}_other", RecordCtx::experiment_for(name)))
                .unwrap();
            assert!(seen.insert(name), "{name} is listed twice");
        }
    }
}
