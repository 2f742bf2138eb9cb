//! The one test-support module of the pipeline's integration tests.

// Not every helper is used by every test module.
#![allow(dead_code)]

mod calendars;
#[macro_use]
mod stores;

pub use calendars::*;
pub use stores::*;
