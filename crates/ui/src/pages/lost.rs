//! `GET /lost`: `running` tasks whose lease expired, per pool, with requeue
//! (one task, or every lost task of a pool).

use axum::extract::{Query as QueryString, State};
use maud::{Markup, html};
use taskpool::pipeline::worker::{LostTask, find_lost};
use taskpool::store::{Query, Timestamp};

use crate::actions::{self, Action, FormTarget, encode};
use crate::error::{PageError, UiError};
use crate::layout;
use crate::pages::Flash;
use crate::state::AppState;

/// The lost tasks of every pool that has some.
pub(crate) async fn lost_by_pool(
    state: &AppState,
) -> Result<Vec<(String, Vec<LostTask>)>, UiError> {
    let store = state.store();
    let scrub = |e: taskpool::store::Error| UiError::from_store(&e, |t| state.scrub(t));
    let now = Timestamp::now();
    let mut out = Vec::new();
    for pool in store.pools().await.map_err(scrub)? {
        let lost = find_lost(store, &pool, Query::All, now)
            .await
            .map_err(scrub)?;
        if !lost.is_empty() {
            out.push((pool, lost.iter().map(LostTask::from).collect()));
        }
    }
    Ok(out)
}

/// `GET /lost`.
pub(crate) async fn get(
    State(state): State<AppState>,
    QueryString(flash): QueryString<Flash>,
) -> Result<Markup, PageError> {
    let pools = lost_by_pool(&state).await?;
    let csrf = state.csrf_token();
    let body = html! {
        (layout::flash(flash.msg.as_deref()))
        p { "Running tasks whose lease expired: their worker died or stopped heartbeating. Workers reclaim them by themselves; a requeue also gives them a fresh attempt budget and shows them as waiting (or part_done) at once." }
        @if pools.is_empty() {
            p #no-lost { "No lost tasks." }
        }
        @for (pool, lost) in &pools {
            h2 id=(format!("pool-{pool}")) { a href=(format!("/pools/{}", encode(pool))) { (pool) } " — " (lost.len()) " lost" }
            p { (actions::form(&state, &csrf, pool, Action::Requeue, &FormTarget { back: "/lost", ..FormTarget::default() }, html!{}, "Requeue all lost tasks of this pool")) }
            table.lost {
                thead { tr { th { "task" } th { "owner" } th { "expired at" } th { "attempts" } th { "back to" } th {} } }
                tbody {
                    @for t in lost {
                        tr {
                            td { a href=(format!("/pools/{}/tasks/{}", encode(pool), t.id)) { code { (t.id) } } }
                            td { (t.owner.as_deref().unwrap_or("—")) }
                            td { (layout::time(t.expires_at)) }
                            td.n { (t.attempts) "/" (t.max_attempts) }
                            td { (layout::status(t.from_status)) }
                            td { (actions::form(&state, &csrf, pool, Action::Requeue, &FormTarget { id: Some(t.id), back: "/lost", ..FormTarget::default() }, html!{}, "Requeue")) }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::page("Lost leases", state.label(), None, body))
}
