//! `GET /pools/{pool}`: the pool's counts, its tasks with filters and keyset
//! pagination (see [`crate::listing`]), and bulk actions on the filter.

use axum::extract::{Path, Query as QueryString, State};
use maud::{Markup, html};
use serde::Deserialize;
use taskpool::store::{Order, Status, Task, Timestamp};

use crate::actions::{self, Action, FormTarget, encode};
use crate::error::{PageError, UiError};
use crate::layout;
use crate::listing::{ListParams, Listing, MAX_LIMIT, TEXT_SCAN_BUDGET};
use crate::state::AppState;
use crate::summary::pool_summary;

/// The pool page's query string.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct PoolQuery {
    #[serde(flatten)]
    list: ListParams,
    msg: Option<String>,
}

/// The query string of `list` with the cursor `after` (none = first page).
fn page_url(pool: &str, list: &ListParams, after: Option<String>) -> String {
    let mut parts = Vec::new();
    for (name, value) in [
        ("status", &list.status),
        ("q", &list.q),
        ("text", &list.text),
        ("sort", &list.sort),
        ("limit", &list.limit),
        ("after", &after),
    ] {
        if let Some(v) = value.as_deref().filter(|v| !v.trim().is_empty()) {
            parts.push(format!("{name}={}", encode(v)));
        }
    }
    let base = format!("/pools/{}", encode(pool));
    if parts.is_empty() {
        base
    } else {
        format!("{base}?{}", parts.join("&"))
    }
}

/// `GET /pools/{pool}`.
pub(crate) async fn get(
    State(state): State<AppState>,
    Path(pool): Path<String>,
    QueryString(query): QueryString<PoolQuery>,
) -> Result<Markup, PageError> {
    let listing = query.list.parse()?;
    let scrub = |e: taskpool::store::Error| UiError::from_store(&e, |t| state.scrub(t));
    let summary = pool_summary(state.store(), &pool, Timestamp::now())
        .await
        .map_err(scrub)?;
    let page = listing.fetch(state.store(), &pool).await.map_err(scrub)?;
    let list = &query.list;
    let here = page_url(&pool, list, list.after.clone());
    let next = page.next.map(|cursor| page_url(&pool, list, Some(cursor)));
    let csrf = state.csrf_token();
    let body = html! {
        (layout::flash(query.msg.as_deref()))
        p #pool-counts {
            @for s in Status::ALL {
                a href=(page_url(&pool, &ListParams { status: Some(s.as_str().into()), ..ListParams::default() }, None)) {
                    (layout::status(s)) " " span id=(format!("count-{}", s.as_str())) { (summary.stat.get(s)) }
                }
                " · "
            }
            "total " (summary.total) " · expired leases " (summary.expired_leases) " · " (layout::bar(summary.progress_percent()))
        }
        (filter_form(list, &listing))
        (sort_links(&pool, list, listing.order))
        @if let Some(scanned) = page.scanned {
            p { small { "Text search: read " (scanned) " task(s) for this page (at most " (TEXT_SCAN_BUDGET) ")." } }
        }
        (task_table(&pool, &page.tasks))
        p.pager {
            @if list.after.is_some() { a href=(page_url(&pool, list, None)) { "« first page" } " " }
            @if let Some(next) = &next { a #next-page href=(next) { "next page »" } }
        }
        @if !state.read_only() && listing.text.is_none() {
            (bulk_actions(&state, &csrf, &pool, list, &listing, &here))
        }
    };
    Ok(layout::page(
        &format!("Pool {pool}"),
        state.label(),
        None,
        body,
    ))
}

fn filter_form(list: &ListParams, listing: &Listing) -> Markup {
    html! {
        form method="get" #filter {
            label { "status " select name="status" {
                option value="" selected[listing.status.is_none()] { "any" }
                @for s in Status::ALL {
                    option value=(s.as_str()) selected[listing.status == Some(s)] { (s.as_str()) }
                }
            } }
            " "
            label { "query " input type="text" name="q" size="40" placeholder=r#"{"filter.model": "ridge"}"# value=(list.q.as_deref().unwrap_or("")); }
            " "
            label { "text in filter " input type="text" name="text" value=(list.text.as_deref().unwrap_or("")); }
            " "
            input type="hidden" name="sort" value=(listing.order.as_str());
            label { "per page " input type="number" name="limit" min="1" max=(MAX_LIMIT) value=(listing.limit); }
            " "
            button type="submit" { "Filter" }
        }
    }
}

/// What each order shows, as the pool page names it.
fn order_label(order: Order) -> &'static str {
    match order {
        Order::Created => "oldest first",
        Order::CreatedDesc => "newest first",
        Order::Priority => "priority (claim order)",
        Order::Finished => "recently finished",
    }
}

/// The sort links: the same filter in each order, from its first page.
fn sort_links(pool: &str, list: &ListParams, current: Order) -> Markup {
    html! {
        p #sort {
            "Sort: "
            @for order in Order::ALL {
                @if order == current {
                    strong { (order_label(order)) }
                } @else {
                    a href=(page_url(pool, &ListParams { sort: Some(order.as_str().into()), ..list.clone() }, None)) {
                        (order_label(order))
                    }
                }
                " · "
            }
            small { "pages continue after the last task shown, never by offset" }
        }
    }
}

fn task_table(pool: &str, tasks: &[Task]) -> Markup {
    html! {
        @if tasks.is_empty() {
            p #no-tasks { "No matching tasks." }
        } @else {
            table #tasks {
                thead { tr { th { "task" } th { "status" } th { "priority" } th { "attempts" } th { "created" } th { "finished" } th { "filter" } } }
                tbody {
                    @for t in tasks {
                        tr {
                            td { a href=(format!("/pools/{}/tasks/{}", encode(pool), t.id)) { code { (t.id) } } }
                            td { (layout::status(t.status)) }
                            td.n { (t.priority) }
                            td.n { (t.attempts) "/" (t.max_attempts) }
                            td { (layout::time(Some(t.created_at))) }
                            td { (layout::time(t.finished_at)) }
                            td { code { (cut(&t.filter.to_string(), 100)) } }
                        }
                    }
                }
            }
        }
    }
}

fn bulk_actions(
    state: &AppState,
    csrf: &str,
    pool: &str,
    list: &ListParams,
    listing: &Listing,
    here: &str,
) -> Markup {
    let target = FormTarget {
        status: list.status.as_deref().filter(|s| !s.is_empty()),
        q: list.q.as_deref().filter(|s| !s.is_empty()),
        back: here,
        ..FormTarget::default()
    };
    let everything = listing.query == taskpool::store::Query::All;
    html! {
        fieldset #bulk {
            legend { "On every task matching the filter" @if everything { " (the whole pool)" } }
            p { (actions::form(state, csrf, pool, Action::Requeue, &target, html!{}, "Requeue lost")) }
            p { (actions::form(state, csrf, pool, Action::Reset, &target, html!{}, "Reset failed → waiting")) }
            p { (actions::form(state, csrf, pool, Action::Prioritize, &target,
                html! { label { "priority " input type="number" name="priority" required; } }, "Prioritize")) }
            p { (actions::form(state, csrf, pool, Action::Remove, &target,
                html! { @if everything { label { "type the pool name to confirm " input type="text" name="confirm" required; } } }, "Remove")) }
        }
    }
}

/// `text` cut to `max` characters (`…` when cut).
pub(crate) fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut short: String = text.chars().take(max - 1).collect();
    short.push('…');
    short
}
