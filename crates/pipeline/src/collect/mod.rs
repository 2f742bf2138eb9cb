//! Collecting results: Qlib's `Collector`, `RecorderCollector` and
//! `MergeCollector` (reference §5).
//!
//! What is collected is a [`Collection`]: an ordered map from [`Key`]s
//! (tuples of strings) to [`Node`]s, each either a value (a leaf, usually a
//! [`Frame`](crate::frame::Frame)) or another collection. A collector's
//! [`collect`](Collector::collect) gathers `{artifact: {record key: value}}`;
//! [`call`](Collector::call) then runs its process list (groups, ensembles,
//! any closure, see [`Process`]) on every top-level value, in order.
//!
//! Differences from Qlib, on purpose:
//! - keys are tuples of strings, never arbitrary objects; a merged key is
//!   the child's name followed by the parts of the child's key;
//! - [`RecorderCollector`]'s duplicate-key rule is chosen, not accidental:
//!   by default the **newest** record wins (see [`DuplicateRule`]);
//! - every requested artifact appears in the result, even with no values.

mod collector;
mod key;
mod merge;
mod node;
mod recorder;

pub use collector::{Collector, Process, process_collect};
pub use key::Key;
pub use merge::MergeCollector;
pub use node::{Collection, Node};
pub use recorder::{DuplicateRule, RecorderCollector};
