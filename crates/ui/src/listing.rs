//! The pool page's task list: filters (status, a query in the CLI's query
//! language, text in `filter`), a sort order and keyset pagination.
//!
//! Pages are cut by key, never skipped over: a page is "the first `limit`
//! matching tasks after the cursor in the chosen [`Order`]", which the store
//! answers from an index starting at the cursor (see
//! `taskpool::store::Order`), so the last page of a million tasks costs
//! what the first does. The cursor of the next page is the position of the
//! last task shown, written in the URL as [`cursor_text`]: the task id for
//! the orders by id, `ID.PRIORITY.FINISHED` (milliseconds, `-` when not
//! finished) for the orders by priority and finish time.
//!
//! The text filter is not a store query (the query language has no text
//! match): it is applied to the fetched tasks, at most [`TEXT_SCAN_BUDGET`]
//! tasks per page, and the page says how far it looked.

use serde::{Deserialize, Serialize};
use taskpool::store::{Cursor, Order, Query, QueryParams, Status, Store, Task, TaskId, Timestamp};

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
    /// The sort order (`created`, `created_desc`, `priority`, `finished`;
    /// empty = `created`).
    pub(crate) sort: Option<String>,
    /// The cursor: the tasks after this position in the order.
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
    /// The order.
    pub(crate) order: Order,
    /// The cursor.
    pub(crate) after: Option<Cursor>,
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
        let order = non_empty(&self.sort)
            .map(|s| {
                s.parse::<Order>()
                    .map_err(|e| UiError::bad_request(format!("bad sort: {}", e.message())))
            })
            .transpose()?
            .unwrap_or_default();
        let after = non_empty(&self.after)
            .map(|a| {
                parse_cursor(a, order)
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
            order,
            after,
            limit,
        })
    }
}

/// `after` of a URL: the cursor of `order`.
fn parse_cursor(text: &str, order: Order) -> Result<Cursor, String> {
    let bad_id = |e: taskpool::store::Error| e.message().to_string();
    match order {
        Order::Created | Order::CreatedDesc => Ok(Cursor {
            id: text.parse::<TaskId>().map_err(bad_id)?,
            priority: 0,
            finished_at: None,
        }),
        Order::Priority | Order::Finished => {
            let shape = || format!("{text:?} is not ID.PRIORITY.FINISHED (sort={order})");
            let mut parts = text.splitn(3, '.');
            let (Some(id), Some(priority), Some(finished)) =
                (parts.next(), parts.next(), parts.next())
            else {
                return Err(shape());
            };
            Ok(Cursor {
                id: id.parse::<TaskId>().map_err(bad_id)?,
                priority: priority.parse().map_err(|_| shape())?,
                finished_at: match finished {
                    "-" => None,
                    ms => Some(Timestamp::from_millis(ms.parse().map_err(|_| shape())?)),
                },
            })
        }
    }
}

/// The `after` text of the position of `task` in `order` (read back by
/// [`ListParams::parse`]).
pub(crate) fn cursor_text(task: &Task, order: Order) -> String {
    match order {
        Order::Created | Order::CreatedDesc => task.id.to_hex(),
        Order::Priority | Order::Finished => format!(
            "{}.{}.{}",
            task.id,
            task.priority,
            task.finished_at
                .map_or_else(|| "-".to_string(), |t| t.as_millis().to_string())
        ),
    }
}

/// One page of tasks.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct TaskPage {
    /// The tasks, in the listing's order.
    pub(crate) tasks: Vec<Task>,
    /// The cursor of the next page (`after=`), if there may be more.
    pub(crate) next: Option<String>,
    /// For a text search: how many tasks were read for this page.
    pub(crate) scanned: Option<usize>,
}

impl Listing {
    /// The store query of at most `limit` tasks after `after`.
    fn params(&self, after: Option<Cursor>, limit: usize) -> QueryParams {
        QueryParams {
            query: self.query.clone(),
            limit: Some(limit),
            skip: 0,
            order: self.order,
            after,
        }
    }

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
                let mut tasks = store
                    .query(pool, self.params(self.after, self.limit + 1))
                    .await?;
                let next = if tasks.len() > self.limit {
                    tasks.truncate(self.limit);
                    tasks.last().map(|t| cursor_text(t, self.order))
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
        let mut last_read = None;
        let mut scanned = 0;
        loop {
            let batch = TEXT_BATCH.min(TEXT_SCAN_BUDGET - scanned);
            let tasks = store.query(pool, self.params(cursor, batch)).await?;
            let exhausted = tasks.len() < batch;
            for task in tasks {
                scanned += 1;
                cursor = Some(Cursor::of(&task));
                last_read = Some(cursor_text(&task, self.order));
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
                    next: last_read,
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
