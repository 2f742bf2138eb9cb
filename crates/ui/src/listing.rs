//! The pool page's task list: filters (status, a query in the CLI's query
//! language, text in `filter`) and keyset pagination.
//!
//! Pages are cut by `_id`, never skipped over: a page is "the first `limit`
//! matching tasks with `_id` after the cursor", which every backend answers
//! from its `_id` order without reading the rows before the cursor. The
//! store's query returns tasks in `_id` order only, so the list is sorted by
//! creation (ids are made at creation), oldest first; sorting by priority or
//! finish time would need an ordered query in the store contract.
//!
//! The text filter is not a store query (the query language has no text
//! match): it is applied to the fetched tasks, at most [`TEXT_SCAN_BUDGET`]
//! tasks per page, and the page says how far it looked.

use serde::{Deserialize, Serialize};
use taskpool::store::query::{Field, Op, Scalar};
use taskpool::store::{Query, QueryParams, Status, Store, Task, TaskId};

use crate::error::UiError;

/// Tasks per page unless `limit` says otherwise.
pub(crate) const DEFAULT_LIMIT: usize = 50;
/// The largest `limit` accepted.
pub(crate) const MAX_LIMIT: usize = 500;
/// The most tasks one page of a text search reads.
pub(crate) const TEXT_SCAN_BUDGET: usize = 20_000;
/// Tasks fetched per store call during a text search.
const TEXT_BATCH: usize = 500;

/// The filter and page of a task list, as query-string parameters.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct ListParams {
    /// Only this status (empty = all).
    pub(crate) status: Option<String>,
    /// A JSON query in the CLI's query language (empty = all).
    pub(crate) q: Option<String>,
    /// Text that the task's `filter` (as JSON) must contain, case-insensitive.
    pub(crate) text: Option<String>,
    /// The cursor: tasks with a larger `_id`.
    pub(crate) after: Option<String>,
    /// Page size (1..=500).
    pub(crate) limit: Option<String>,
}

/// A parsed, checked [`ListParams`].
#[derive(Debug, Clone)]
pub(crate) struct Listing {
    /// The store query of the filter (status and `q`).
    pub(crate) query: Query,
    /// The status filter.
    pub(crate) status: Option<Status>,
    /// The text filter, lowercased.
    pub(crate) text: Option<String>,
    /// The cursor.
    pub(crate) after: Option<TaskId>,
    /// Page size.
    pub(crate) limit: usize,
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl ListParams {
    /// Parse and check every parameter.
    ///
    /// # Errors
    /// A 400 naming the bad parameter: an unknown status, a query the query
    /// language rejects, a malformed cursor, a limit out of range.
    pub(crate) fn parse(&self) -> Result<Listing, UiError> {
        let status = non_empty(&self.status)
            .map(|s| {
                s.parse::<Status>()
                    .map_err(|e| UiError::bad_request(format!("bad status filter: {e}")))
            })
            .transpose()?;
        let mut query = match non_empty(&self.q) {
            Some(q) => Query::parse_str(q)
                .map_err(|e| UiError::bad_request(format!("bad query {q}: {}", e.message())))?,
            None => Query::All,
        };
        if let Some(status) = status {
            query = query.and(Query::status(status));
        }
        let after = non_empty(&self.after)
            .map(|a| {
                a.parse::<TaskId>()
                    .map_err(|e| UiError::bad_request(format!("bad page cursor `after`: {e}")))
            })
            .transpose()?;
        let limit = match non_empty(&self.limit) {
            None => DEFAULT_LIMIT,
            Some(l) => match l.parse::<usize>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                _ => {
                    return Err(UiError::bad_request(format!(
                        "bad limit {l}: give a number from 1 to {MAX_LIMIT}"
                    )));
                }
            },
        };
        Ok(Listing {
            query,
            status,
            text: non_empty(&self.text).map(str::to_lowercase),
            after,
            limit,
        })
    }
}

/// One page of tasks.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct TaskPage {
    /// The tasks, in `_id` order.
    pub(crate) tasks: Vec<Task>,
    /// The cursor of the next page (`after=`), if there may be more.
    pub(crate) next: Option<TaskId>,
    /// For a text search: how many tasks were read for this page.
    pub(crate) scanned: Option<usize>,
}

fn after_id(query: &Query, after: Option<TaskId>) -> Query {
    match after {
        Some(id) => query
            .clone()
            .and(Query::Cond(Field::Id, Op::Gt(Scalar::String(id.to_hex())))),
        None => query.clone(),
    }
}

impl Listing {
    /// The page this listing names.
    ///
    /// # Errors
    /// Whatever the store reports.
    pub(crate) async fn fetch(
        &self,
        store: &dyn Store,
        pool: &str,
    ) -> taskpool::store::Result<TaskPage> {
        match &self.text {
            None => {
                let params = QueryParams {
                    query: after_id(&self.query, self.after),
                    limit: Some(self.limit + 1),
                    skip: 0,
                    ..QueryParams::default()
                };
                let mut tasks = store.query(pool, params).await?;
                let next = if tasks.len() > self.limit {
                    tasks.truncate(self.limit);
                    tasks.last().map(|t| t.id)
                } else {
                    None
                };
                Ok(TaskPage {
                    tasks,
                    next,
                    scanned: None,
                })
            }
            Some(text) => self.fetch_text(store, pool, text).await,
        }
    }

    async fn fetch_text(
        &self,
        store: &dyn Store,
        pool: &str,
        text: &str,
    ) -> taskpool::store::Result<TaskPage> {
        let mut found = Vec::new();
        let mut cursor = self.after;
        let mut scanned = 0;
        loop {
            let batch = TEXT_BATCH.min(TEXT_SCAN_BUDGET - scanned);
            let params = QueryParams {
                query: after_id(&self.query, cursor),
                limit: Some(batch),
                skip: 0,
                ..QueryParams::default()
            };
            let tasks = store.query(pool, params).await?;
            let exhausted = tasks.len() < batch;
            for task in tasks {
                scanned += 1;
                cursor = Some(task.id);
                if found.len() < self.limit && filter_contains(&task, text) {
                    found.push(task);
                    if found.len() == self.limit {
                        break;
                    }
                }
            }
            if exhausted && found.len() < self.limit {
                return Ok(TaskPage {
                    tasks: found,
                    next: None,
                    scanned: Some(scanned),
                });
            }
            if found.len() == self.limit || scanned >= TEXT_SCAN_BUDGET {
                return Ok(TaskPage {
                    tasks: found,
                    next: cursor,
                    scanned: Some(scanned),
                });
            }
        }
    }
}

/// Whether the task's `filter`, as compact JSON, contains `lowercase_text`
/// (case-insensitive).
fn filter_contains(task: &Task, lowercase_text: &str) -> bool {
    task.filter
        .to_string()
        .to_lowercase()
        .contains(lowercase_text)
}
