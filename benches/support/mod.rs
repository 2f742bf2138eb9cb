//! Shared pieces of the benchmarks: settings, task definitions, the stores
//! under test, the raw-backend baselines and the cached large pools.
//!
//! Every bench target compiles this module and uses a different part of it,
//! so items unused by one target are expected (each is used by another).
#![allow(dead_code)]

pub mod binary;
pub mod defs;
pub mod place;
pub mod raw;
pub mod raw_mongo;
pub mod raw_sled;
pub mod raw_sqlite;
pub mod run;
pub mod scale;
pub mod settings;
