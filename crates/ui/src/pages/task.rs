//! `GET /pools/{pool}/tasks/{id}`: everything about one task (definition,
//! filter, result, lease, attempts, error history as preformatted text,
//! timestamps) and the actions on it.

use axum::extract::{Path, Query as QueryString, State};
use maud::{Markup, html};
use taskpool::pipeline::worker::is_lost;
use taskpool::store::{Status, Task, TaskId, Timestamp};

use crate::actions::{self, Action, FormTarget, encode};
use crate::error::{PageError, UiError};
use crate::layout;
use crate::pages::Flash;
use crate::state::AppState;

/// Parse the `{id}` of a task URL.
pub(crate) fn parse_id(id: &str) -> Result<TaskId, UiError> {
    id.parse::<TaskId>()
        .map_err(|e| UiError::bad_request(format!("bad task id {id}: {e}")))
}

/// `GET /pools/{pool}/tasks/{id}`.
pub(crate) async fn get(
    State(state): State<AppState>,
    Path((pool, id)): Path<(String, String)>,
    QueryString(flash): QueryString<Flash>,
) -> Result<Markup, PageError> {
    let id = parse_id(&id)?;
    let task = state
        .store()
        .get(&pool, id)
        .await
        .map_err(|e| UiError::from_store(&e, |t| state.scrub(t)))?;
    let csrf = state.csrf_token();
    let back = format!("/pools/{}/tasks/{}", encode(&pool), task.id);
    let body = html! {
        (layout::flash(flash.msg.as_deref()))
        p { a href=(format!("/pools/{}", encode(&pool))) { "« pool " (pool) } }
        (facts(&task))
        @if !state.read_only() {
            (task_actions(&state, &csrf, &pool, &task, &back))
        }
        h2 { "Definition" } (layout::json(&task.def))
        h2 { "Filter" } (layout::json(&task.filter))
        h2 { "Result" }
        @match &task.res { Some(res) => (layout::json(res)), None => p { "—" } }
        h2 { "Errors (" (task.errors.len()) ")" }
        @if task.errors.is_empty() { p { "—" } }
        @for e in task.errors.iter().rev() {
            h3 { "attempt " (e.attempt) " · " (layout::time(Some(e.at))) " · " (e.owner) }
            pre.traceback { (e.message) }
        }
    };
    Ok(layout::page(
        &format!("Task {}", task.id),
        state.label(),
        None,
        body,
    ))
}

fn facts(task: &Task) -> Markup {
    let lost = is_lost(task, Timestamp::now());
    html! {
        table #task-facts {
            tr { th { "status" } td #task-status { (layout::status(task.status)) @if lost { " (lease expired)" } } }
            tr { th { "priority" } td { (task.priority) } }
            tr { th { "attempts" } td { (task.attempts) " of " (task.max_attempts) } }
            tr { th { "key" } td { code { (task.key) } } }
            @if let Some(lease) = &task.lease {
                tr { th { "lease owner" } td { (lease.owner) } }
                tr { th { "lease expires" } td { (layout::time(Some(lease.expires_at))) } }
                tr { th { "claimed from" } td { (layout::status(lease.from_status)) } }
            }
            tr { th { "created" } td { (layout::time(Some(task.created_at))) } }
            tr { th { "updated" } td { (layout::time(Some(task.updated_at))) } }
            tr { th { "started" } td { (layout::time(task.started_at)) } }
            tr { th { "finished" } td { (layout::time(task.finished_at)) } }
        }
    }
}

fn task_actions(state: &AppState, csrf: &str, pool: &str, task: &Task, back: &str) -> Markup {
    let target = FormTarget {
        id: Some(task.id),
        back,
        ..FormTarget::default()
    };
    html! {
        fieldset #task-actions {
            legend { "Actions" }
            @if is_lost(task, Timestamp::now()) {
                p { (actions::form(state, csrf, pool, Action::Requeue, &target, html!{}, "Requeue")) }
            }
            @if task.status == Status::Failed {
                p { (actions::form(state, csrf, pool, Action::Reset, &target, html!{}, "Reset to waiting")) }
            }
            p { (actions::form(state, csrf, pool, Action::Prioritize, &target,
                html! { label { "priority " input type="number" name="priority" value=(task.priority) required; } }, "Prioritize")) }
            p { (actions::form(state, csrf, pool, Action::Remove, &target, html!{}, "Remove")) }
        }
    }
}
