//! The job's report: a [`JobSummary`] (also written as `summary.json`), a
//! terminal table, `report.md` and the `ic.png` plot.

mod markdown;
mod plot;
mod table;

use std::path::{Path, PathBuf};

use jiff::civil::Date;
use serde::Serialize;

use super::error::JobError;
use super::plan::SkippedWindow;
use super::results::{Results, SeriesResult, WindowResult};
use crate::frame_csv::write_signals_csv;
use taskpool_pipeline::frame::Frame;

pub use table::{Table, terminal_table};

/// The summary file's name.
pub const SUMMARY_FILE: &str = "summary.json";
/// The Markdown report's name.
pub const MARKDOWN_FILE: &str = "report.md";
/// The plot's name.
pub const PLOT_FILE: &str = "ic.png";
/// The signal's file (`date,instrument,score`).
pub const SIGNALS_FILE: &str = "signals.csv";

/// How many tasks the job had and what happened to them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct TaskCounts {
    /// All tasks of the job.
    pub total: usize,
    /// Created by this run.
    pub new: usize,
    /// Already done before this run (reused, not trained).
    pub reused: usize,
    /// Failed before and put back to waiting by this run.
    pub retried: usize,
    /// Waiting or running when training started.
    pub trained: usize,
}

/// The ensemble's IC on one test window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EnsembleWindow {
    /// The window's first day.
    pub test_start: Date,
    /// Its last day (`None`: to the end of the data).
    pub test_end: Option<Date>,
    /// Mean daily IC of the ensemble over the window.
    pub ic: Option<f64>,
    /// Mean daily rank IC.
    pub rank_ic: Option<f64>,
}

/// Everything a job reports (`summary.json`, and `--json` output).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobSummary {
    /// The store (password redacted).
    pub store: String,
    /// The pool.
    pub pool: String,
    /// The experiment.
    pub experiment: String,
    /// The data.
    pub data: String,
    /// Task counts.
    pub tasks: TaskCounts,
    /// The models, in configuration order.
    pub models: Vec<String>,
    /// Each model's result on each test window.
    pub windows: Vec<WindowResult>,
    /// The cross-model ensemble on each test window (empty without one).
    pub ensemble_windows: Vec<EnsembleWindow>,
    /// Each model's rolling ensemble over all windows, then the
    /// cross-model ensemble.
    pub overall: Vec<SeriesResult>,
    /// The rolling windows left out because they cannot be evaluated.
    pub skipped: Vec<SkippedWindow>,
    /// Seconds spent training.
    pub train_seconds: f64,
    /// Seconds the whole job took.
    pub total_seconds: f64,
    /// The report directory.
    pub report_dir: PathBuf,
    /// The files written there.
    pub files: Vec<String>,
}

impl JobSummary {
    /// The summary of `results` (the report files are filled in by [`write`]).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        store: String,
        pool: String,
        experiment: String,
        data: String,
        tasks: TaskCounts,
        results: &Results,
        report_dir: PathBuf,
    ) -> JobSummary {
        let ensemble_windows = results
            .ensemble
            .as_ref()
            .map(|e| {
                results
                    .test_windows()
                    .into_iter()
                    .map(|(start, end)| {
                        let (ic, rank_ic) = e.window(start, end);
                        EnsembleWindow {
                            test_start: start,
                            test_end: end,
                            ic,
                            rank_ic,
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut overall = results.series.clone();
        overall.extend(results.ensemble.clone());
        JobSummary {
            store,
            pool,
            experiment,
            data,
            tasks,
            models: results.models.clone(),
            windows: results.windows.clone(),
            ensemble_windows,
            overall,
            skipped: Vec::new(),
            train_seconds: 0.0,
            total_seconds: 0.0,
            report_dir,
            files: Vec::new(),
        }
    }
}

/// Write `summary.json`, `report.md`, (with `plot`) `ic.png` and (with a
/// `signal`) `signals.csv` into the summary's report directory, creating
/// it; the files are listed in the summary.
///
/// # Errors
/// [`JobError::Report`] naming the file that could not be written.
pub fn write(summary: &mut JobSummary, plot: bool, signal: Option<&Frame>) -> Result<(), JobError> {
    let dir = summary.report_dir.clone();
    std::fs::create_dir_all(&dir).map_err(|e| report_error(&dir, e))?;
    summary.files = vec![MARKDOWN_FILE.to_string(), SUMMARY_FILE.to_string()];
    if let Some(signal) = signal {
        write_signals(&dir.join(SIGNALS_FILE), signal)?;
        summary.files.push(SIGNALS_FILE.to_string());
    }
    if plot {
        let path = dir.join(PLOT_FILE);
        plot::draw(summary, &path).map_err(|message| JobError::Report {
            path: path.display().to_string(),
            message,
        })?;
        summary.files.push(PLOT_FILE.to_string());
    }
    let markdown = markdown::render(summary, plot);
    let path = dir.join(MARKDOWN_FILE);
    std::fs::write(&path, markdown).map_err(|e| report_error(&path, e))?;
    let json = serde_json::to_string_pretty(summary).expect("a summary serializes");
    let path = dir.join(SUMMARY_FILE);
    std::fs::write(&path, json + "\n").map_err(|e| report_error(&path, e))?;
    Ok(())
}

/// Write `signal` as `date,instrument,score` to `path` (atomically: a
/// temporary file renamed into place).
///
/// # Errors
/// [`JobError::Report`] naming the file.
pub fn write_signals(path: &Path, signal: &Frame) -> Result<(), JobError> {
    let fail = |message: String| JobError::Report {
        path: path.display().to_string(),
        message,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut file = tempfile::NamedTempFile::new_in(dir).map_err(|e| fail(e.to_string()))?;
    write_signals_csv(signal, std::io::BufWriter::new(file.as_file_mut()))
        .map_err(|e| fail(e.to_string()))?;
    file.persist(path).map_err(|e| fail(e.error.to_string()))?;
    Ok(())
}

fn report_error(path: &Path, e: std::io::Error) -> JobError {
    JobError::Report {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// A metric with 4 decimals, `–` when undefined.
pub(crate) fn fmt_metric(value: Option<f64>) -> String {
    value.map_or_else(|| "–".to_string(), |v| format!("{v:.4}"))
}

/// One line per skipped window: which window, which models, why.
pub(crate) fn skipped_lines(summary: &JobSummary) -> Vec<String> {
    summary
        .skipped
        .iter()
        .map(|w| {
            format!(
                "skipped test window {} ({}): {}",
                fmt_window(w.test_start, w.test_end),
                w.models.join(", "),
                w.reason()
            )
        })
        .collect()
}

/// A test window as `start … end` (`end` open: `start …`).
pub(crate) fn fmt_window(start: Date, end: Option<Date>) -> String {
    match end {
        Some(end) => format!("{start} … {end}"),
        None => format!("{start} … (end)"),
    }
}
