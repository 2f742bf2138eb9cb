//! `report.md`: the run, the results table and the plot.

use std::fmt::Write;

use super::table::{ICIR, Table};
use super::{JobSummary, PLOT_FILE, fmt_metric, fmt_window, skipped_lines};

/// The Markdown report of `summary`.
pub(crate) fn render(summary: &JobSummary, plot: bool) -> String {
    let mut out = String::new();
    let t = &summary.tasks;
    let _ = writeln!(out, "# taskpool run: {}\n", summary.experiment);
    let _ = writeln!(out, "| | |\n|---|---|");
    for (k, v) in [
        ("data", summary.data.clone()),
        ("store", format!("`{}`", summary.store)),
        (
            "pool / experiment",
            format!("`{}` / `{}`", summary.pool, summary.experiment),
        ),
        ("models", summary.models.join(", ")),
        (
            "tasks",
            format!(
                "{} ({} new, {} reused, {} retried; {} trained)",
                t.total, t.new, t.reused, t.retried, t.trained
            ),
        ),
        (
            "time",
            format!(
                "{:.1} s ({:.1} s training)",
                summary.total_seconds, summary.train_seconds
            ),
        ),
    ] {
        let _ = writeln!(out, "| {k} | {v} |");
    }
    let table = Table::from_summary(summary);
    let _ = writeln!(out, "\n## IC per test window\n");
    let _ = writeln!(
        out,
        "IC: mean over the window's days of the cross-sectional Pearson correlation between \
         prediction and next-day return; rank IC: the same with Spearman correlation. \
         Model columns come from each task's record; `ensemble` is the z-score average \
         across models.\n"
    );
    let mut header = "| test window |".to_string();
    let mut rule = "|---|".to_string();
    for g in &table.groups {
        let _ = write!(header, " {g} IC | {g} rank IC |");
        rule.push_str("---:|---:|");
    }
    let _ = writeln!(out, "{header}\n{rule}");
    for (label, cells) in table.rows.iter().chain(&table.footer) {
        let label = if label == ICIR {
            "**ICIR** (IC column)".to_string()
        } else if table.rows.iter().any(|(l, _)| l == label) {
            label.clone()
        } else {
            format!("**{label}**")
        };
        let _ = write!(out, "| {label} |");
        for (ic, rank) in cells {
            let _ = write!(out, " {} | {} |", fmt_metric(*ic), fmt_metric(*rank));
        }
        out.push('\n');
    }
    for line in skipped_lines(summary) {
        let _ = writeln!(out, "\n{line}");
    }
    if plot {
        let _ = writeln!(
            out,
            "\n## Plot\n\n![IC per test window and cumulative daily IC]({PLOT_FILE})\n"
        );
    }
    let _ = writeln!(out, "\n## Records\n");
    let _ = writeln!(
        out,
        "| model | test window | valid IC | test IC | test MSE | record |\n|---|---|---:|---:|---:|---|"
    );
    for w in &summary.windows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | `{}` |",
            w.model,
            fmt_window(w.test_start, w.test_end),
            fmt_metric(w.metrics.get("valid_ic").copied()),
            fmt_metric(w.metrics.get("test_ic").copied()),
            fmt_metric(w.metrics.get("test_mse").copied()),
            w.record
        );
    }
    out
}
