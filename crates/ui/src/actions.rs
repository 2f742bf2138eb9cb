//! The actions: requeue lost tasks, reset failed tasks to waiting,
//! prioritize, remove; each on one task (`id`) or in bulk on a filter
//! (`status` and `q`, as on the pool page).
//!
//! `POST /pools/{pool}/actions/{action}` only. Checked in this order, before
//! anything is read or changed: `--read-only` → 403; a token is configured
//! and none is given (form field `token` or `Authorization: Bearer`) → 401, a
//! wrong one → 403; a missing or invalid per-page CSRF token (form field
//! `csrf`) → 403. Every action is logged with what it changed. The answer
//! is a redirect (303) back to the page (`back`) with a message, or JSON
//! `{"action", "pool", "changed"}` when the request accepts JSON.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::json;
use taskpool::pipeline::worker::{find_lost, requeue_lost};
use taskpool::store::{Query, ResetParams, Status, TaskId, Timestamp};

use crate::error::{PageError, UiError};
use crate::listing::ListParams;
use crate::state::AppState;

/// The form every action posts.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ActionForm {
    csrf: Option<String>,
    token: Option<String>,
    id: Option<String>,
    status: Option<String>,
    q: Option<String>,
    text: Option<String>,
    priority: Option<String>,
    confirm: Option<String>,
    back: Option<String>,
}

/// The four actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    Requeue,
    Reset,
    Prioritize,
    Remove,
}

impl Action {
    fn parse(name: &str) -> Result<Action, UiError> {
        match name {
            "requeue" => Ok(Action::Requeue),
            "reset" => Ok(Action::Reset),
            "prioritize" => Ok(Action::Prioritize),
            "remove" => Ok(Action::Remove),
            other => Err(UiError::not_found(format!(
                "no action {other}: the actions are requeue, reset, prioritize and remove"
            ))),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Action::Requeue => "requeue",
            Action::Reset => "reset",
            Action::Prioritize => "prioritize",
            Action::Remove => "remove",
        }
    }

    fn past(self) -> &'static str {
        match self {
            Action::Requeue => "requeued",
            Action::Reset => "reset to waiting",
            Action::Prioritize => "reprioritized",
            Action::Remove => "removed",
        }
    }
}

/// `POST /pools/{pool}/actions/{action}`.
pub(crate) async fn post(
    State(state): State<AppState>,
    Path((pool, action)): Path<(String, String)>,
    headers: HeaderMap,
    Form(form): Form<ActionForm>,
) -> Result<Response, PageError> {
    let action = Action::parse(&action)?;
    authorize(&state, &headers, &form)?;
    let target = target(&form)?;
    let store = state.store();
    let scrub = |e: taskpool::store::Error| UiError::from_store(&e, |t| state.scrub(t));
    let changed = match action {
        Action::Requeue => {
            let lost = find_lost(store, &pool, target.clone(), Timestamp::now())
                .await
                .map_err(scrub)?;
            requeue_lost(store, &pool, &lost).await.map_err(scrub)?
        }
        Action::Reset => store
            .reset_status(
                &pool,
                ResetParams {
                    query: target.clone().and(Query::status(Status::Failed)),
                    status: Status::Waiting,
                },
            )
            .await
            .map_err(scrub)?,
        Action::Prioritize => {
            let priority = form
                .priority
                .as_deref()
                .map(str::trim)
                .and_then(|p| p.parse::<i64>().ok())
                .ok_or_else(|| UiError::bad_request("prioritize needs an integer `priority`"))?;
            store
                .prioritize(&pool, &target, priority)
                .await
                .map_err(scrub)?
        }
        Action::Remove => {
            if target == Query::All && form.confirm.as_deref() != Some(pool.as_str()) {
                return Err(UiError::bad_request(
                    "removing every task of a pool needs `confirm` set to the pool's name",
                )
                .into());
            }
            store.remove(&pool, &target).await.map_err(scrub)?
        }
    };
    tracing::info!(
        action = action.as_str(),
        pool = %pool,
        query = %state.scrub(&format!("{target:?}")),
        changed,
        "dashboard action"
    );
    let message = format!("{changed} task(s) {}", action.past());
    if accepts_json(&headers) {
        return Ok(
            Json(json!({"action": action.as_str(), "pool": pool, "changed": changed}))
                .into_response(),
        );
    }
    Ok(Redirect::to(&back_with_message(form.back.as_deref(), &pool, &message)).into_response())
}

/// Read-only, token and CSRF checks (see the module docs).
fn authorize(state: &AppState, headers: &HeaderMap, form: &ActionForm) -> Result<(), UiError> {
    if state.read_only() {
        return Err(UiError::new(
            StatusCode::FORBIDDEN,
            "the dashboard is read-only (--read-only): actions are disabled",
        ));
    }
    if state.needs_token() {
        let given = form
            .token
            .as_deref()
            .filter(|t| !t.is_empty())
            .or_else(|| bearer(headers));
        match given {
            None => {
                return Err(UiError::new(
                    StatusCode::UNAUTHORIZED,
                    "this action needs the dashboard token (form field `token` or `Authorization: Bearer`)",
                ));
            }
            Some(token) if !state.token_matches(token) => {
                return Err(UiError::new(StatusCode::FORBIDDEN, "wrong dashboard token"));
            }
            Some(_) => {}
        }
    }
    match form.csrf.as_deref() {
        Some(csrf) if state.csrf_valid(csrf) => Ok(()),
        _ => Err(UiError::new(
            StatusCode::FORBIDDEN,
            "missing or stale CSRF token: reload the page and try again",
        )),
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

fn accepts_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|a| a.to_str().ok())
        .is_some_and(|a| a.contains("application/json"))
}

/// The tasks an action applies to: one task by `id`, or the filter.
fn target(form: &ActionForm) -> Result<Query, UiError> {
    if let Some(id) = form.id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let id = id
            .parse::<TaskId>()
            .map_err(|e| UiError::bad_request(format!("bad task id: {e}")))?;
        return Ok(Query::id(id));
    }
    if form.text.as_deref().is_some_and(|t| !t.trim().is_empty()) {
        return Err(UiError::bad_request(
            "a bulk action applies to a status and a query, not to a text search: clear the text filter",
        ));
    }
    let listing = ListParams {
        status: form.status.clone(),
        q: form.q.clone(),
        ..ListParams::default()
    }
    .parse()?;
    Ok(listing.query)
}

/// Where to go after the action: `back` if it is a path on this server,
/// else the pool page; with `msg` added.
fn back_with_message(back: Option<&str>, pool: &str, message: &str) -> String {
    let base = back
        .filter(|b| b.starts_with('/') && !b.starts_with("//") && !b.contains('\\'))
        .map_or_else(|| format!("/pools/{}", encode(pool)), str::to_string);
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}msg={}", encode(message))
}

/// Percent-encode for a URL path segment or query value.
pub(crate) fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// What an action form carries besides its button.
#[derive(Debug, Default)]
pub(crate) struct FormTarget<'a> {
    /// One task.
    pub(crate) id: Option<TaskId>,
    /// The status filter.
    pub(crate) status: Option<&'a str>,
    /// The query filter.
    pub(crate) q: Option<&'a str>,
    /// The page to come back to.
    pub(crate) back: &'a str,
}

/// An action's form: hidden target fields, the CSRF token of this page, a
/// token field when one is configured, `extra` inputs and the button.
/// Nothing when the dashboard is read-only.
pub(crate) fn form(
    state: &AppState,
    csrf: &str,
    pool: &str,
    action: Action,
    target: &FormTarget<'_>,
    extra: Markup,
    label: &str,
) -> Markup {
    if state.read_only() {
        return html! {};
    }
    html! {
        form.inline method="post" action=(format!("/pools/{}/actions/{}", encode(pool), action.as_str())) {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="back" value=(target.back);
            @if let Some(id) = target.id { input type="hidden" name="id" value=(id); }
            @if let Some(s) = target.status { input type="hidden" name="status" value=(s); }
            @if let Some(q) = target.q { input type="hidden" name="q" value=(q); }
            (extra)
            @if state.needs_token() {
                input type="password" name="token" placeholder="token" required autocomplete="current-password";
            }
            " "
            button type="submit" class=(format!("action-{}", action.as_str())) { (label) }
        }
    }
}
