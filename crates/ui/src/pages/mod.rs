//! The HTML pages (server-rendered with maud; they work without JavaScript).

pub(crate) mod experiments;
pub(crate) mod lost;
pub(crate) mod overview;
pub(crate) mod pool;
pub(crate) mod task;

use serde::Deserialize;

/// The `?msg=` an action's redirect leaves.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Flash {
    pub(crate) msg: Option<String>,
}
