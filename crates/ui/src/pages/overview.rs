//! `GET /`: every pool with its counts by status (the store's `stat`),
//! progress, failed count and expired leases; refreshes itself.

use axum::extract::{Query as QueryString, State};
use maud::{Markup, html};
use taskpool::store::Status;

use crate::actions::encode;
use crate::error::{PageError, UiError};
use crate::layout;
use crate::pages::Flash;
use crate::state::AppState;
use crate::summary::all_pools;

/// Seconds between two automatic reloads of the overview.
pub(crate) const REFRESH_SECS: u32 = 10;

/// `GET /`.
pub(crate) async fn get(
    State(state): State<AppState>,
    QueryString(flash): QueryString<Flash>,
) -> Result<Markup, PageError> {
    let pools = all_pools(state.store())
        .await
        .map_err(|e| UiError::from_store(&e, |t| state.scrub(t)))?;
    let body = html! {
        (layout::flash(flash.msg.as_deref()))
        @if pools.is_empty() {
            p { "The store has no pools yet." }
        } @else {
            table #pools {
                thead { tr {
                    th { "pool" }
                    @for s in Status::ALL { th { (s.as_str()) } }
                    th { "total" } th { "progress" } th { "expired leases" }
                } }
                tbody {
                    @for p in &pools {
                        @let pool = encode(&p.pool);
                        tr {
                            td { a href=(format!("/pools/{pool}")) { (p.pool) } }
                            @for s in Status::ALL {
                                td.n id=(format!("count-{}-{}", p.pool, s.as_str())) {
                                    a href=(format!("/pools/{pool}?status={}", s.as_str())) { (p.stat.get(s)) }
                                }
                            }
                            td.n id=(format!("total-{}", p.pool)) { (p.total) }
                            td { (layout::bar(p.progress_percent())) }
                            td.n id=(format!("expired-{}", p.pool)) {
                                @if p.expired_leases > 0 {
                                    a href=(format!("/lost#pool-{}", p.pool)) { (p.expired_leases) }
                                } @else { "0" }
                            }
                        }
                    }
                }
            }
        }
        p { small { "Counts from the store's stat; this page reloads every " (REFRESH_SECS) " s." } }
    };
    Ok(layout::page(
        "Pools",
        state.label(),
        Some(REFRESH_SECS),
        body,
    ))
}
