//! The orders [`TaskStore::query`](crate::TaskStore::query) returns tasks
//! in, and keyset pagination over them.
//!
//! Each [`Order`] is a total order: a sort key, then `_id` to break ties, so
//! "the tasks after this one" is well defined. A [`Cursor`] is a task's
//! position (its id and sort keys): a query with `after: Some(cursor)`
//! returns only the tasks that come after it in the order, which every
//! backend answers from an index without reading the tasks before it
//! (SQLite and MongoDB; sled walks its claim index for a priority order on
//! one status, and sorts in memory otherwise). Pages cut this way stay
//! correct while tasks are created or removed, unlike `skip`.
//!
//! Each order is the exact reverse of an ascending order on two columns
//! (`Finished` is `(finished_at, _id)` descending), so one index on those
//! columns serves it in either direction.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use crate::id::TaskId;
use crate::task::Task;
use crate::time::Timestamp;

/// The order of a query's results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Order {
    /// By `_id` ascending: creation order, oldest first (ids are made at
    /// creation and sort by it).
    #[default]
    Created,
    /// By `_id` descending: newest first.
    CreatedDesc,
    /// Claim order: highest `priority` first, ties by `_id` ascending
    /// (oldest first), as claims take them.
    Priority,
    /// Most recently finished first: `finished_at` descending, ties by `_id`
    /// descending; tasks without `finished_at` (never finished) last.
    Finished,
}

impl Order {
    /// Every order.
    pub const ALL: [Order; 4] = [
        Order::Created,
        Order::CreatedDesc,
        Order::Priority,
        Order::Finished,
    ];

    /// How `a` and `b` compare in this order (`Less`: `a` comes first).
    /// Never `Equal` for two different tasks.
    pub fn compare(self, a: &Task, b: &Task) -> Ordering {
        self.compare_positions(&Cursor::of(a), &Cursor::of(b))
    }

    /// Whether `task` comes after `cursor` in this order.
    pub fn is_after(self, task: &Task, cursor: &Cursor) -> bool {
        self.compare_positions(&Cursor::of(task), cursor) == Ordering::Greater
    }

    fn compare_positions(self, a: &Cursor, b: &Cursor) -> Ordering {
        match self {
            Order::Created => a.id.cmp(&b.id),
            Order::CreatedDesc => b.id.cmp(&a.id),
            Order::Priority => b.priority.cmp(&a.priority).then(a.id.cmp(&b.id)),
            // `None` sorts before every time, so descending puts it last.
            Order::Finished => (b.finished_at, b.id).cmp(&(a.finished_at, a.id)),
        }
    }

    /// The name used in URLs and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Order::Created => "created",
            Order::CreatedDesc => "created_desc",
            Order::Priority => "priority",
            Order::Finished => "finished",
        }
    }
}

impl std::fmt::Display for Order {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Order {
    type Err = crate::Error;

    fn from_str(s: &str) -> crate::Result<Order> {
        Order::ALL
            .into_iter()
            .find(|o| o.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Order::ALL.iter().map(|o| o.as_str()).collect();
                crate::Error::invalid_input(format!(
                    "unknown order {s:?}: use one of {}",
                    names.join(", ")
                ))
            })
    }
}

/// A task's position in every [`Order`]: its id and sort keys. Take it from
/// the last task of a page ([`Cursor::of`]) to ask for the next page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Cursor {
    /// The task's `_id`.
    pub id: TaskId,
    /// Its `priority`.
    pub priority: i64,
    /// Its `finished_at`.
    pub finished_at: Option<Timestamp>,
}

impl Cursor {
    /// The position of `task`.
    pub fn of(task: &Task) -> Cursor {
        Cursor {
            id: task.id,
            priority: task.priority,
            finished_at: task.finished_at,
        }
    }
}
