//! The results table: IC and rank IC of every model (and the ensemble) on
//! every test window, then over all windows.

use super::{JobSummary, fmt_metric, fmt_window, skipped_lines};
use crate::job::results::ENSEMBLE;

/// The label of the footer row holding each series' ICIR (in the IC slot).
pub const ICIR: &str = "ICIR";

/// A pair of metrics: IC and rank IC.
pub type IcPair = (Option<f64>, Option<f64>);

/// The table: one column group per model (and the ensemble), one row per
/// test window, then summary rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Column group names: the models, then [`ENSEMBLE`] if there is one.
    pub groups: Vec<String>,
    /// `(test window, one pair per group)`.
    pub rows: Vec<(String, Vec<IcPair>)>,
    /// `(label, one pair per group)`: over all windows, then ICIR.
    pub footer: Vec<(String, Vec<IcPair>)>,
}

impl Table {
    /// The table of `summary`.
    pub fn from_summary(summary: &JobSummary) -> Table {
        let has_ensemble = summary.overall.iter().any(|s| s.name == ENSEMBLE);
        let mut groups = summary.models.clone();
        if has_ensemble {
            groups.push(ENSEMBLE.to_string());
        }
        let mut starts: Vec<_> = summary
            .windows
            .iter()
            .map(|w| (w.test_start, w.test_end))
            .collect();
        starts.sort();
        starts.dedup();
        let rows = starts
            .into_iter()
            .map(|(start, end)| {
                let mut cells: Vec<IcPair> = summary
                    .models
                    .iter()
                    .map(|m| {
                        summary
                            .windows
                            .iter()
                            .find(|w| &w.model == m && w.test_start == start)
                            .map_or((None, None), |w| {
                                (
                                    w.metrics.get("test_ic").copied(),
                                    w.metrics.get("test_rank_ic").copied(),
                                )
                            })
                    })
                    .collect();
                if has_ensemble {
                    cells.push(
                        summary
                            .ensemble_windows
                            .iter()
                            .find(|e| e.test_start == start)
                            .map_or((None, None), |e| (e.ic, e.rank_ic)),
                    );
                }
                (fmt_window(start, end), cells)
            })
            .collect();
        let overall: Vec<IcPair> = summary.overall.iter().map(|s| (s.ic, s.rank_ic)).collect();
        let icir: Vec<IcPair> = summary.overall.iter().map(|s| (s.icir, None)).collect();
        Table {
            groups,
            rows,
            footer: vec![
                ("all windows".to_string(), overall),
                (ICIR.to_string(), icir),
            ],
        }
    }
}

/// The table as aligned text for a terminal.
pub fn terminal_table(summary: &JobSummary) -> String {
    let table = Table::from_summary(summary);
    let first_width = table
        .rows
        .iter()
        .chain(&table.footer)
        .map(|(label, _)| label.chars().count())
        .chain(["test window".len()])
        .max()
        .unwrap_or(0);
    // Each group shows two numbers of 7 characters ("-0.0123") and a gap.
    let widths: Vec<usize> = table
        .groups
        .iter()
        .map(|g| g.chars().count().max(16))
        .collect();
    let mut out = String::new();
    let mut line = format!("{:<first_width$}", "test window");
    for (g, w) in table.groups.iter().zip(&widths) {
        line.push_str(&format!("  {g:<w$}"));
    }
    push_line(&mut out, &line);
    let mut line = " ".repeat(first_width);
    for w in &widths {
        line.push_str(&format!(
            "  {:<w$}",
            format!("{:>7}  {:>7}", "IC", "rank IC")
        ));
    }
    push_line(&mut out, &line);
    let rule_len = first_width + widths.iter().map(|w| w + 2).sum::<usize>();
    let rule = "─".repeat(rule_len);
    push_line(&mut out, &rule);
    for (i, (label, cells)) in table.rows.iter().chain(&table.footer).enumerate() {
        if i == table.rows.len() {
            push_line(&mut out, &rule);
        }
        let mut line = format!("{label:<first_width$}");
        for ((ic, rank), w) in cells.iter().zip(&widths) {
            let pair = if label == ICIR {
                format!("{:>7}", fmt_metric(*ic))
            } else {
                format!("{:>7}  {:>7}", fmt_metric(*ic), fmt_metric(*rank))
            };
            line.push_str(&format!("  {pair:<w$}"));
        }
        push_line(&mut out, &line);
    }
    for line in skipped_lines(summary) {
        push_line(&mut out, &line);
    }
    out
}

fn push_line(out: &mut String, line: &str) {
    out.push_str(line.trim_end());
    out.push('\n');
}
