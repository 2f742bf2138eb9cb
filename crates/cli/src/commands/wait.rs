//! `taskpool wait [QUERY] [--timeout DURATION]`: block until no matching task
//! is waiting, running or part_done, with a progress bar on a terminal.

use std::collections::HashSet;
use std::io::IsTerminal;
use std::time::Duration;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use taskpool::pipeline::worker::{ExpiredLease, WaitOptions, WaitOutcome, WaitProgress, wait};
use taskpool::store::Stat;

use crate::cli::GlobalArgs;
use crate::commands::prune::parse_age;
use crate::context::{Context, parse_query};
use crate::json::WaitJson;

/// Arguments of `wait`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  taskpool -t rolling wait
  taskpool -t rolling wait '{\"filter.model\": \"lgb\"}' --timeout 2h
Running tasks whose lease expired (their worker died) are reported as warnings while
no worker reclaims them. Exit code 1 on timeout. DURATION: 500ms, 30s, 15m, 2h…")]
pub struct WaitArgs {
    /// Only tasks matching this JSON query (default: all).
    pub query: Option<String>,
    /// Give up after this long (exit code 1).
    #[arg(long, value_name = "DURATION", value_parser = parse_age)]
    pub timeout: Option<Duration>,
    /// Pause between two looks at the pool.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_age)]
    pub poll: Duration,
}

/// Wait, then print the final counts.
///
/// # Errors
/// No pool, a bad query, a store failure, or the timeout (exit code 1).
pub fn run(global: &GlobalArgs, args: &WaitArgs) -> anyhow::Result<()> {
    let ctx = Context::new(global)?;
    let query = parse_query(args.query.as_deref())?;
    let options = WaitOptions {
        poll: args.poll,
        timeout: args.timeout,
        ..WaitOptions::default()
    };
    let show_bar = !global.json && !global.quiet && std::io::stderr().is_terminal();
    let mut view = ProgressView::new(show_bar);
    let outcome = ctx.block_on(async {
        let (store, pool) = ctx.pool_store().await?;
        Ok::<_, anyhow::Error>(wait(&*store, pool, &query, &options, |p| view.update(p)).await?)
    });
    view.finish();
    let (outcome, stat, pending) = match outcome? {
        WaitOutcome::Finished(stat) => ("finished", stat, 0),
        WaitOutcome::TimedOut(last) => ("timed_out", last.stat, last.pending),
    };
    if ctx.out.is_json() {
        ctx.out.json(&WaitJson {
            outcome,
            stat,
            total: stat.total(),
            pending,
        })?;
    } else if pending == 0 {
        ctx.out.line(format_args!(
            "all {} task(s) finished: {} done, {} failed",
            stat.total(),
            stat.done,
            stat.failed
        ))?;
    }
    if pending > 0 {
        anyhow::bail!(
            "timed out after {:?}: {pending} task(s) still pending ({} waiting, {} running, {} part_done)",
            args.timeout.unwrap_or_default(),
            stat.waiting,
            stat.running,
            stat.part_done
        );
    }
    Ok(())
}

/// The bar's numbers, all from one count: finished (done + failed), the
/// total, and what is still pending; they always add up.
fn bar_counts(stat: &Stat) -> (u64, u64, String) {
    (
        stat.done + stat.failed,
        stat.total(),
        format!(
            "{} waiting, {} running, {} part_done",
            stat.waiting, stat.running, stat.part_done
        ),
    )
}

/// The progress bar (terminal only) and the stuck-task warnings.
struct ProgressView {
    bar: Option<ProgressBar>,
    warned: HashSet<(String, i64)>,
}

impl ProgressView {
    fn new(show_bar: bool) -> ProgressView {
        let bar = show_bar.then(|| {
            let style = ProgressStyle::with_template(
                "{elapsed_precise} [{bar:40}] {pos}/{len} finished ({msg})",
            )
            .expect("the template is valid")
            .progress_chars("=> ");
            ProgressBar::new(0).with_style(style)
        });
        ProgressView {
            bar,
            warned: HashSet::new(),
        }
    }

    fn update(&mut self, progress: &WaitProgress) {
        if let Some(bar) = &self.bar {
            let (finished, total, message) = bar_counts(&progress.stat);
            bar.set_length(total);
            bar.set_position(finished);
            bar.set_message(message);
        }
        for stale in &progress.expired {
            if self
                .warned
                .insert((stale.id.to_string(), stale.expired_at.as_millis()))
            {
                self.warn(stale);
            }
        }
    }

    fn warn(&self, stale: &ExpiredLease) {
        let message = format!(
            "task {} is stuck in running: the lease of {} expired at {} and no worker has reclaimed it (start a worker, or `taskpool lost --requeue`)",
            stale.id, stale.owner, stale.expired_at
        );
        match &self.bar {
            Some(bar) => bar.println(format!("warning: {message}")),
            None => tracing::warn!("{message}"),
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bar_counts_add_up() {
        let stat = Stat {
            waiting: 6,
            running: 2,
            part_done: 1,
            done: 3,
            failed: 1,
        };
        let (finished, total, message) = bar_counts(&stat);
        assert_eq!((finished, total), (4, 13));
        assert_eq!(message, "6 waiting, 2 running, 1 part_done");
        assert_eq!(finished + 6 + 2 + 1, total);
    }
}
