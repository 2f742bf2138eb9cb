//! The online page: `<report dir>/online/report.md` (signal IC over time,
//! which model was online when, the routines) and `signals.csv`.

use std::fmt::Write;
use std::path::PathBuf;

use jiff::civil::Date;

use super::manager::OnlineManager;
use super::routine::ModelRef;
use super::routine::visible;
use super::state::OnlineState;
use crate::job::JobError;
use crate::job::report::{SIGNALS_FILE, write_signals};
use crate::job::results::{SeriesResult, measure};

/// The online page's file name.
pub const ONLINE_REPORT: &str = "report.md";

/// One period a model was online.
#[derive(Debug, Clone, PartialEq)]
struct OnlinePeriod {
    model: ModelRef,
    from: Date,
    until: Option<Date>,
}

/// Which model was online when, from the routines' summaries.
fn periods(state: &OnlineState) -> Vec<OnlinePeriod> {
    let mut out: Vec<OnlinePeriod> = Vec::new();
    for routine in &state.routines {
        let as_of = routine.summary.as_of;
        for off in &routine.summary.taken_offline {
            if let Some(p) = out
                .iter_mut()
                .find(|p| p.model == *off && p.until.is_none())
            {
                p.until = Some(as_of);
            }
        }
        for on in &routine.summary.online {
            if !out.iter().any(|p| p.model == *on && p.until.is_none()) {
                out.push(OnlinePeriod {
                    model: on.clone(),
                    from: as_of,
                    until: None,
                });
            }
        }
    }
    out
}

fn fmt(value: Option<f64>) -> String {
    value.map_or_else(|| "–".to_string(), |v| format!("{v:.4}"))
}

/// Write the online page and `signals.csv` into the plan's online report
/// directory; returns the directory and the files written.
///
/// # Errors
/// [`JobError::Report`] naming a file that cannot be written; store and
/// data errors.
pub async fn write(manager: &OnlineManager) -> Result<(PathBuf, Vec<String>), JobError> {
    let dir = manager.plan().report_dir.clone();
    std::fs::create_dir_all(&dir).map_err(|e| JobError::Report {
        path: dir.display().to_string(),
        message: e.to_string(),
    })?;
    let state = manager.state().await?;
    let status = manager.status().await?;
    let signal = manager.signal().await?;
    let mut files = Vec::new();
    let mut ic: Option<SeriesResult> = None;
    if let (Some(signal), Some(last)) = (&signal, status.last_as_of) {
        write_signals(&dir.join(SIGNALS_FILE), signal)?;
        files.push(SIGNALS_FILE.to_string());
        // Labels known at the last routine.
        let seen = visible(&manager.plan().job.data, last).await?;
        ic = Some(measure("signal", signal, &seen.data.labels())?);
    }
    let mut out = String::new();
    let _ = writeln!(out, "# taskpool online: {}\n", status.experiment);
    let _ = writeln!(out, "| | |\n|---|---|");
    let range = match (status.signal_start, status.signal_end) {
        (Some(a), Some(b)) => format!("{a} … {b}"),
        _ => "none yet".to_string(),
    };
    for (k, v) in [
        ("store", format!("`{}`", status.store)),
        ("routines", status.routines.to_string()),
        (
            "last as-of",
            status.last_as_of.map_or("–".to_string(), |d| d.to_string()),
        ),
        ("signal", range),
        ("models trained", status.models.to_string()),
        (
            "signal IC (all days)",
            format!(
                "{} (rank IC {}, ICIR {}, {} days)",
                fmt(ic.as_ref().and_then(|s| s.ic)),
                fmt(ic.as_ref().and_then(|s| s.rank_ic)),
                fmt(ic.as_ref().and_then(|s| s.icir)),
                ic.as_ref().map_or(0, |s| s.days)
            ),
        ),
    ] {
        let _ = writeln!(out, "| {k} | {v} |");
    }
    let _ = writeln!(out, "\n## Signal IC over time\n");
    let _ = writeln!(
        out,
        "Mean daily IC of the signal (cross-sectional Pearson correlation with the next day's return) over the dates each routine added, and cumulated.\n"
    );
    let _ = writeln!(
        out,
        "| routine as-of | signal dates | IC | rank IC | cumulative IC |\n|---|---|---:|---:|---:|"
    );
    let mut sum = 0.0;
    let mut days = 0usize;
    for routine in state.routines.iter().filter(|r| r.summary.signal_rows > 0) {
        let (Some(a), Some(b)) = (routine.summary.signal_start, routine.summary.signal_end) else {
            continue;
        };
        let (mean, rank) = ic.as_ref().map_or((None, None), |s| s.window(a, Some(b)));
        if let Some(s) = &ic {
            for (_, d_ic, _) in s.daily.iter().filter(|(d, _, _)| *d >= a && *d <= b) {
                sum += d_ic;
                days += 1;
            }
        }
        let cumulative = (days > 0).then(|| sum / days as f64);
        let _ = writeln!(
            out,
            "| {} | {a} … {b} | {} | {} | {} |",
            routine.summary.as_of,
            fmt(mean),
            fmt(rank),
            fmt(cumulative)
        );
    }
    let _ = writeln!(out, "\n## Which model was online when\n");
    let _ = writeln!(
        out,
        "A model serves the signal from its window's start (a later window wins) until the next window's model is put online.\n"
    );
    let _ = writeln!(
        out,
        "| strategy | window start | record | put online by the routine as of | taken offline by the routine as of |\n|---|---|---|---|---|"
    );
    for p in periods(&state) {
        let _ = writeln!(
            out,
            "| {} | {} | `{}` | {} | {} |",
            p.model.strategy,
            p.model.test_start,
            p.model.record,
            p.from,
            p.until.map_or("now".to_string(), |d| d.to_string())
        );
    }
    let _ = writeln!(out, "\n## Routines\n");
    let _ = writeln!(
        out,
        "| as-of | trained | predictions updated | signal rows | seconds (training) |\n|---|---:|---:|---:|---:|"
    );
    for routine in &state.routines {
        let s = &routine.summary;
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {:.1} ({:.1}) |",
            s.as_of,
            s.trained.len(),
            s.updated.len(),
            s.signal_rows,
            s.total_seconds,
            s.train_seconds
        );
    }
    let path = dir.join(ONLINE_REPORT);
    std::fs::write(&path, out).map_err(|e| JobError::Report {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    files.insert(0, ONLINE_REPORT.to_string());
    Ok((dir, files))
}
