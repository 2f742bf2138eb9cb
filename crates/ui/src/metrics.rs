//! `GET /metrics`: the store's pools in the Prometheus text format
//! (OpenMetrics, encoded by `prometheus-client`), computed at each scrape:
//!
//! - `taskpool_tasks{pool,status}` (gauge): counts from the store's `stat`;
//! - `taskpool_expired_leases{pool}` (gauge): `running` tasks whose lease
//!   expired (the running tasks are listed, nothing else);
//! - `taskpool_task_duration_seconds{pool}` (histogram): `finished_at -
//!   started_at` of the `done` tasks created within the window
//!   (`UiOptions::duration_window`, by task id, which holds the creation
//!   second), at most [`DURATION_SAMPLE`] per pool;
//! - `taskpool_failed_attempts_total{pool}` (counter): the error entries
//!   recorded on the pool's `failed` tasks (at most [`FAILED_SAMPLE`] tasks
//!   read per pool). Derived from the store, it drops when failed tasks are
//!   reset or removed; Prometheus reads a drop as a counter reset.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use taskpool::pipeline::worker::find_lost;
use taskpool::store::query::{Field, Op, Scalar};
use taskpool::store::{Query, QueryParams, Result, Stat, Status, Store, TaskId, Timestamp};

use crate::error::{PageError, UiError};
use crate::state::AppState;

/// The content type of the exposition.
pub(crate) const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// The most `done` tasks per pool observed by the duration histogram.
pub(crate) const DURATION_SAMPLE: usize = 10_000;
/// The most `failed` tasks per pool read for the failed-attempts counter.
pub(crate) const FAILED_SAMPLE: usize = 10_000;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabel {
    pool: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolStatusLabel {
    pool: String,
    status: String,
}

fn duration_histogram() -> Histogram {
    // 0.1 s × 4ⁿ: 0.1 s … about 19 days.
    Histogram::new(exponential_buckets(0.1, 4.0, 13))
}

/// The metric families of one scrape.
struct StoreMetrics {
    tasks: Family<PoolStatusLabel, Gauge>,
    expired: Family<PoolLabel, Gauge>,
    durations: Family<PoolLabel, Histogram, fn() -> Histogram>,
    failed_attempts: Family<PoolLabel, Counter>,
}

impl StoreMetrics {
    fn new() -> StoreMetrics {
        StoreMetrics {
            tasks: Family::default(),
            expired: Family::default(),
            durations: Family::new_with_constructor(duration_histogram),
            failed_attempts: Family::default(),
        }
    }

    fn into_registry(self) -> Registry {
        let mut registry = Registry::default();
        registry.register(
            "taskpool_tasks",
            "Tasks by pool and status (the store's stat)",
            self.tasks,
        );
        registry.register(
            "taskpool_expired_leases",
            "Running tasks whose lease expired",
            self.expired,
        );
        registry.register(
            "taskpool_task_duration_seconds",
            "Run time (finished - started) of done tasks created within the window",
            self.durations,
        );
        registry.register(
            "taskpool_failed_attempts",
            "Error entries recorded on the pool's failed tasks",
            self.failed_attempts,
        );
        registry
    }

    fn record(&self, pool: &str, look: &PoolLook) {
        let label = PoolLabel {
            pool: pool.to_string(),
        };
        for status in Status::ALL {
            self.tasks
                .get_or_create(&PoolStatusLabel {
                    pool: pool.to_string(),
                    status: status.as_str().to_string(),
                })
                .set(look.stat.get(status) as i64);
        }
        self.expired.get_or_create(&label).set(look.expired as i64);
        let histogram = self.durations.get_or_create(&label);
        for seconds in &look.durations {
            histogram.observe(*seconds);
        }
        drop(histogram);
        self.failed_attempts
            .get_or_create(&label)
            .inc_by(look.failed_attempts);
    }
}

/// What one scrape reads of one pool.
struct PoolLook {
    stat: Stat,
    expired: usize,
    durations: Vec<f64>,
    failed_attempts: u64,
}

impl PoolLook {
    async fn read(
        store: &dyn Store,
        pool: &str,
        since: TaskId,
        now: Timestamp,
    ) -> Result<PoolLook> {
        let stat = store.stat(pool, &Query::All).await?;
        let expired = if stat.running > 0 {
            find_lost(store, pool, Query::All, now).await?.len()
        } else {
            0
        };
        let mut durations = Vec::new();
        if stat.done > 0 {
            let recent_done = Query::status(Status::Done).and(Query::Cond(
                Field::Id,
                Op::Gte(Scalar::String(since.to_hex())),
            ));
            let params = QueryParams {
                query: recent_done,
                limit: Some(DURATION_SAMPLE),
                skip: 0,
                ..QueryParams::default()
            };
            for task in store.query(pool, params).await? {
                if let (Some(start), Some(end)) = (task.started_at, task.finished_at) {
                    durations.push((end.as_millis() - start.as_millis()).max(0) as f64 / 1000.0);
                }
            }
        }
        let mut failed_attempts = 0;
        if stat.failed > 0 {
            let params = QueryParams {
                query: Query::status(Status::Failed),
                limit: Some(FAILED_SAMPLE),
                skip: 0,
                ..QueryParams::default()
            };
            failed_attempts = store
                .query(pool, params)
                .await?
                .iter()
                .map(|t| t.errors.len() as u64)
                .sum();
        }
        Ok(PoolLook {
            stat,
            expired,
            durations,
            failed_attempts,
        })
    }
}

/// The smallest id a task created at or after `t` can have.
fn first_id_at(t: Timestamp) -> TaskId {
    let secs = t.as_millis().div_euclid(1000).clamp(0, i64::from(u32::MAX)) as u32;
    let mut bytes = [0u8; 12];
    bytes[..4].copy_from_slice(&secs.to_be_bytes());
    TaskId::from_bytes(bytes)
}

/// The exposition of every pool of `store`.
///
/// # Errors
/// Whatever the store reports.
pub(crate) async fn render(store: &dyn Store, window: std::time::Duration) -> Result<String> {
    let now = Timestamp::now();
    let since = first_id_at(Timestamp::from_millis(
        now.as_millis() - window.as_millis() as i64,
    ));
    let metrics = StoreMetrics::new();
    for pool in store.pools().await? {
        let look = PoolLook::read(store, &pool, since, now).await?;
        metrics.record(&pool, &look);
    }
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &metrics.into_registry())
        .map_err(|e| taskpool::store::Error::backend(format!("encoding metrics: {e}")))?;
    Ok(text)
}

/// `GET /metrics`.
pub(crate) async fn get(State(state): State<AppState>) -> Result<Response, PageError> {
    let text = render(state.store(), state.duration_window())
        .await
        .map_err(|e| UiError::from_store(&e, |t| state.scrub(t)))?;
    Ok(([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response())
}
