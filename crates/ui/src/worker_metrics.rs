//! A worker's own counters for Prometheus (`taskpool worker --metrics ADDR`):
//! `GET /metrics` on a small server that reads the worker's live
//! [`WorkerProgress`] at each scrape.
//!
//! Counters (labels `pool`, `worker`): `taskpool_worker_claims_total`,
//! `taskpool_worker_commits_total`, `taskpool_worker_failures_total` (failed
//! attempts, retried or final), `taskpool_worker_lease_losses_total`,
//! `taskpool_worker_handed_back_total`, `taskpool_worker_store_errors_total`;
//! gauge `taskpool_worker_in_flight`.

use std::future::Future;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use taskpool::pipeline::worker::WorkerProgress;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::metrics::CONTENT_TYPE;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WorkerLabel {
    pool: String,
    worker: String,
}

#[derive(Clone)]
struct WorkerSource {
    pool: String,
    progress: watch::Receiver<WorkerProgress>,
}

/// The exposition of one look at a worker's progress.
pub fn render(pool: &str, progress: &WorkerProgress) -> String {
    let label = WorkerLabel {
        pool: pool.to_string(),
        worker: progress.report.worker.clone(),
    };
    let r = &progress.report;
    let mut registry = Registry::default();
    for (name, help, value) in [
        (
            "taskpool_worker_claims",
            "Tasks this worker claimed",
            r.claimed,
        ),
        (
            "taskpool_worker_commits",
            "Tasks this worker committed",
            r.committed,
        ),
        (
            "taskpool_worker_failures",
            "Attempts that failed (retried or final)",
            r.retried + r.failed,
        ),
        (
            "taskpool_worker_lease_losses",
            "Tasks whose lease this worker lost",
            r.lease_lost,
        ),
        (
            "taskpool_worker_handed_back",
            "Tasks handed back unfinished",
            r.handed_back,
        ),
        (
            "taskpool_worker_store_errors",
            "Outcomes a store error kept from being written",
            r.store_errors,
        ),
    ] {
        let family = Family::<WorkerLabel, Counter>::default();
        family.get_or_create(&label).inc_by(value);
        registry.register(name, help, family);
    }
    let in_flight = Family::<WorkerLabel, Gauge>::default();
    in_flight
        .get_or_create(&label)
        .set(progress.in_flight as i64);
    registry.register(
        "taskpool_worker_in_flight",
        "Tasks claimed and not yet settled",
        in_flight,
    );
    let mut text = String::new();
    // Writing into a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut text, &registry);
    text
}

async fn metrics(State(source): State<WorkerSource>) -> impl IntoResponse {
    let text = render(&source.pool, &source.progress.borrow());
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], text)
}

/// Serve `GET /metrics` for a worker of `pool` on `listener` until `shutdown`
/// completes.
///
/// # Errors
/// When the server fails to accept connections.
pub async fn serve_worker_metrics(
    listener: TcpListener,
    pool: String,
    progress: watch::Receiver<WorkerProgress>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = Router::new()
        .route("/metrics", get(metrics))
        .with_state(WorkerSource { pool, progress });
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
