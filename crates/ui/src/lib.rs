//! # taskpool-ui: the dashboard and `/metrics`
//!
//! `taskpool ui` serves this crate's [`router`]: server-rendered HTML pages
//! (maud; they work without JavaScript, the overview reloads itself with a
//! `<meta refresh>`), a JSON API under `/api/` and `GET /metrics` in the
//! Prometheus text format, over any store the facade opens.
//!
//! ## Design choices
//!
//! *Never a scan of the pool.* The overview and the metrics count with the
//! store's `stat` (server-side counting on every backend); expired leases
//! come from the `running` tasks only. The pool page pages by key (`_id`
//! after the last one shown, see [`listing`](crate::listing)), so the tenth
//! page of a million tasks costs what the first does.
//!
//! *Actions are guarded twice.* Every action is a POST carrying the
//! per-page CSRF token (a keyed BLAKE3 MAC, so the server keeps no session)
//! and, when a token is configured, the token; `--read-only` hides and
//! refuses them. A non-loopback address needs a token ([`UiOptions::validate`]).
//! Every action is logged with what it changed.
//!
//! *Errors by kind.* A bad filter is a 400 naming the problem, a missing
//! task a 404, an unreachable store a 503 page; the server keeps serving.
//! The store URL shown is the store's `Display` (password redacted) and
//! error messages are scrubbed of the URL's password.
//!
//! [`worker_metrics`] serves a worker's own counters (`taskpool worker
//! --metrics ADDR`).

mod actions;
mod api;
mod csrf;
mod error;
mod layout;
mod listing;
mod metrics;
mod options;
mod pages;
mod state;
mod summary;
pub mod worker_metrics;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use taskpool::store::Store;
use taskpool::store::redact::Secrets;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

pub use options::{DEFAULT_LISTEN, TOKEN_ENV, UiOptions};

use state::AppState;

/// The dashboard's routes over `store`. `url` is the URL the store was
/// opened with: its password is scrubbed from every message.
pub fn router(store: Arc<dyn Store>, url: &str, options: &UiOptions) -> Router {
    let state = AppState::new(store, options, Secrets::from_url(url, None));
    Router::new()
        .route("/", get(pages::overview::get))
        .route("/pools/{pool}", get(pages::pool::get))
        .route("/pools/{pool}/tasks/{id}", get(pages::task::get))
        .route("/pools/{pool}/actions/{action}", post(actions::post))
        .route("/lost", get(pages::lost::get))
        .route("/experiments", get(pages::experiments::list))
        .route("/experiments/{experiment}", get(pages::experiments::show))
        .route(
            "/experiments/{experiment}/records/{id}/artifacts/{*name}",
            get(pages::experiments::artifact),
        )
        .route("/metrics", get(metrics::get))
        .route("/api/pools", get(api::pools))
        .route("/api/pools/{pool}/stat", get(api::stat))
        .route("/api/pools/{pool}/tasks", get(api::tasks))
        .route("/api/pools/{pool}/tasks/{id}", get(api::task))
        .route("/api/pools/{pool}/lost", get(api::lost))
        .route("/api/experiments", get(api::experiments))
        .route(
            "/api/experiments/{experiment}/records",
            get(api::experiment_records),
        )
        .fallback(|| async { error::PageError(error::UiError::not_found("no such page")) })
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Serve `router` on `listener` until `shutdown` completes.
///
/// # Errors
/// When the server fails to accept connections.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}
