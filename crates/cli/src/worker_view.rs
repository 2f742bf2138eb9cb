//! `taskpool worker`'s live counts on a terminal: what this worker claimed,
//! finished and failed, how many of its tasks are in flight and which.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use taskpool::pipeline::worker::WorkerProgress;
use taskpool::store::{Query, QueryParams, Status, TaskStore};
use tokio::sync::watch;

use crate::cli::GlobalArgs;

/// How often the line is redrawn and the running tasks looked up.
const REFRESH: Duration = Duration::from_millis(500);

/// How many running tasks the line names.
const SHOWN_TASKS: usize = 3;

/// Whether to draw the live line: stderr is a terminal, and neither `--json`
/// nor `-q` was given.
pub fn show_live_counts(global: &GlobalArgs) -> bool {
    !global.json && !global.quiet && std::io::stderr().is_terminal()
}

/// The live line of one worker.
pub struct LiveCounts {
    store: Arc<dyn TaskStore>,
    pool: String,
    worker: String,
    bar: ProgressBar,
}

impl LiveCounts {
    /// The line for `worker` working on `pool` of `store`.
    pub fn new(store: Arc<dyn TaskStore>, pool: &str, worker: &str) -> LiveCounts {
        let style = ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}")
            .expect("the template is valid");
        LiveCounts {
            store,
            pool: pool.to_string(),
            worker: worker.to_string(),
            bar: ProgressBar::new_spinner().with_style(style),
        }
    }

    /// Redraw the line until the task is aborted (the bar is cleared when
    /// dropped).
    pub async fn show(self, mut progress: watch::Receiver<WorkerProgress>) {
        let mut tick = tokio::time::interval(REFRESH);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                changed = progress.changed() => if changed.is_err() { return },
            }
            let counts = progress.borrow_and_update().clone();
            let running = self.running().await;
            self.bar.set_message(line(&counts, &running));
            self.bar.tick();
        }
    }

    /// The ids of this worker's running tasks (empty if the store cannot be
    /// read: the line is only a view).
    async fn running(&self) -> Vec<String> {
        let params = QueryParams {
            query: Query::status(Status::Running),
            limit: Some(1000),
            skip: 0,
            ..QueryParams::default()
        };
        match self.store.query(&self.pool, params).await {
            Ok(tasks) => tasks
                .into_iter()
                .filter(|t| t.lease.as_ref().is_some_and(|l| l.owner == self.worker))
                .map(|t| t.id.to_string())
                .collect(),
            Err(_) => Vec::new(),
        }
    }
}

impl Drop for LiveCounts {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

/// `3 claimed · 1 done · 0 failed (1 retried) · 2 in flight: 6b14…, 6b15…`
pub fn line(progress: &WorkerProgress, running: &[String]) -> String {
    let r = &progress.report;
    let mut text = format!(
        "{} claimed · {} done · {} failed ({} retried) · {} in flight",
        r.claimed, r.committed, r.failed, r.retried, progress.in_flight
    );
    if !running.is_empty() {
        let mut names: Vec<&str> = running
            .iter()
            .take(SHOWN_TASKS)
            .map(String::as_str)
            .collect();
        if running.len() > SHOWN_TASKS {
            names.push("…");
        }
        text.push_str(": ");
        text.push_str(&names.join(", "));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use taskpool::pipeline::worker::WorkerReport;

    #[test]
    fn line_names_counts_and_running_tasks() {
        let progress = WorkerProgress {
            report: WorkerReport {
                claimed: 5,
                committed: 2,
                retried: 1,
                failed: 0,
                ..WorkerReport::default()
            },
            in_flight: 2,
        };
        let ids: Vec<String> = ["a", "b", "c", "d"].map(String::from).to_vec();
        assert_eq!(
            line(&progress, &ids),
            "5 claimed · 2 done · 0 failed (1 retried) · 2 in flight: a, b, c, …"
        );
        assert!(line(&progress, &[]).ends_with("2 in flight"));
    }
}
