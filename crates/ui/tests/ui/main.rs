//! In-process HTTP tests of the dashboard: every page, every action, the
//! API, `/metrics` and the error pages, over a SQLite store.

mod actions;
mod api;
mod metrics;
mod pages;
mod support;
mod unavailable;
mod unplug;
mod worker_metrics;
