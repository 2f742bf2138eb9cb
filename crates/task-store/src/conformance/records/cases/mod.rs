//! The named record cases, one file per area. Each asserts one `# Behavior`
//! bullet or error of [`RecordStore`](crate::RecordStore) on a fresh store,
//! and is named `operation_constraint`.

mod artifacts;
mod create;
mod limits;
mod list;
mod update;

pub use artifacts::*;
pub use create::*;
pub use limits::*;
pub use list::*;
pub use update::*;
