//! `taskpool prune --status done|failed --older-than DURATION`: delete finished
//! tasks that finished before a cut-off.

use std::time::Duration;

use clap::{Args, ValueEnum};
use taskpool::store::{Query, Status, Task, TaskStoreExt, Timestamp};

use crate::cli::GlobalArgs;
use crate::context::Context;
use crate::exit::bad_input;
use crate::json::RemovedJson;

/// How many tasks one delete names.
const CHUNK: usize = 500;

/// Arguments of `prune`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  taskpool -t rolling prune --status done --older-than 30d
  taskpool -t rolling prune --status failed --older-than 12h --dry-run
DURATION is a number and a unit: 90s, 15m, 12h, 7d, 2w, or combinations such as 1d12h.
Age is counted from when the task finished.")]
pub struct PruneArgs {
    /// Which finished tasks.
    #[arg(long, value_enum)]
    pub status: FinishedStatus,
    /// Only tasks that finished longer ago than this.
    #[arg(long, value_name = "DURATION", value_parser = parse_age)]
    pub older_than: Duration,
    /// Only count what would be deleted.
    #[arg(long)]
    pub dry_run: bool,
}

/// The statuses `prune` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FinishedStatus {
    /// `done` tasks.
    Done,
    /// `failed` tasks.
    Failed,
}

impl From<FinishedStatus> for Status {
    fn from(s: FinishedStatus) -> Status {
        match s {
            FinishedStatus::Done => Status::Done,
            FinishedStatus::Failed => Status::Failed,
        }
    }
}

/// Parse an age such as `7d`, `12h`, `1d12h` or `90s`; days are 24 hours and
/// weeks 7 days; calendar units (months, years) are refused.
///
/// # Errors
/// A message saying what is accepted.
pub fn parse_age(text: &str) -> Result<Duration, String> {
    let bad = |why: String| {
        format!("invalid duration {text:?}: {why} (use e.g. 90s, 15m, 12h, 7d, 2w or 1d12h)")
    };
    let span: jiff::Span = text
        .trim()
        .parse()
        .map_err(|e: jiff::Error| bad(e.to_string()))?;
    if span.get_years() != 0 || span.get_months() != 0 {
        return Err(bad("months and years have no fixed length".into()));
    }
    let signed = span
        .to_duration(jiff::SpanRelativeTo::days_are_24_hours())
        .map_err(|e| bad(e.to_string()))?;
    Duration::try_from(signed).map_err(|_| bad("it must not be negative".into()))
}

/// Delete (or count) the finished tasks older than the cut-off; prints how many.
///
/// # Errors
/// No pool, or a store failure.
pub fn run(global: &GlobalArgs, args: &PruneArgs) -> anyhow::Result<()> {
    let ctx = Context::new(global)?;
    let status = Status::from(args.status);
    let cutoff = cutoff(Timestamp::now(), args.older_than)?;
    let n = ctx.block_on(async {
        let (store, pool) = ctx.pool_store().await?;
        let finished = store.query_all(pool, Query::status(status)).await?;
        let old: Vec<_> = finished
            .iter()
            .filter(|t| finished_before(t, cutoff))
            .map(|t| t.id)
            .collect();
        if args.dry_run {
            return Ok::<_, anyhow::Error>(old.len() as u64);
        }
        let mut removed = 0;
        for chunk in old.chunks(CHUNK) {
            let query = Query::ids(chunk).and(Query::status(status));
            removed += store.remove(pool, &query).await?;
        }
        Ok(removed)
    })?;
    if ctx.out.is_json() {
        return ctx.out.json(&RemovedJson {
            removed: n,
            dry_run: args.dry_run,
        });
    }
    if args.dry_run {
        ctx.out
            .line(format_args!("would remove {n} {status} task(s) (dry run)"))
    } else {
        ctx.out.line(format_args!("removed {n} {status} task(s)"))
    }
}

fn cutoff(now: Timestamp, age: Duration) -> anyhow::Result<Timestamp> {
    let age_ms =
        i64::try_from(age.as_millis()).map_err(|_| bad_input("--older-than is too large"))?;
    Ok(Timestamp::from_millis(
        now.as_millis().saturating_sub(age_ms),
    ))
}

/// Finished strictly before `cutoff` (by `finished_at`, else `updated_at`).
fn finished_before(task: &Task, cutoff: Timestamp) -> bool {
    task.finished_at.unwrap_or(task.updated_at) < cutoff
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_age_accepts_days_hours_and_combinations() {
        assert_eq!(parse_age("7d").unwrap(), Duration::from_secs(7 * 86_400));
        assert_eq!(parse_age("12h").unwrap(), Duration::from_secs(12 * 3_600));
        assert_eq!(parse_age("1d12h").unwrap(), Duration::from_secs(36 * 3_600));
        assert_eq!(parse_age("2w").unwrap(), Duration::from_secs(14 * 86_400));
        assert_eq!(parse_age("90s").unwrap(), Duration::from_secs(90));
    }

    #[test]
    fn parse_age_rejects_garbage_calendar_units_and_negatives() {
        for bad in ["", "7", "seven days", "1mo", "2y", "-3h"] {
            assert!(parse_age(bad).is_err(), "{bad}");
        }
    }
}
