//! The named cases, one file per area. Each asserts one `# Behavior` bullet
//! of [`TaskStore`](crate::TaskStore) or one rule of the
//! [query language](crate::query), on a fresh store, and names it
//! `operation_constraint`.

mod admin;
mod claim;
mod concurrency;
mod create;
mod errors;
mod lease;
mod limits;
mod query;
mod translation;

pub use admin::*;
pub use claim::*;
pub use concurrency::*;
pub use create::*;
pub use errors::*;
pub use lease::*;
pub use limits::*;
pub use query::*;
pub use translation::*;
