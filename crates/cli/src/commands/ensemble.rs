//! `taskpool ensemble rolling|average FILE...`: combine prediction files
//! (CSV, or frames stored by `taskpool run` and fetched with `taskpool
//! records --artifact pred -o FILE --format raw`) with Qlib's
//! `RollingEnsemble` or `AverageEnsemble`.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use serde_json::Value;
use taskpool::pipeline::ensemble::{AverageEnsemble, RollingEnsemble};
use taskpool::pipeline::frame::Frame;
use taskpool::pipeline::frame::binary::MAGIC;
use taskpool_experiment::frame_csv::{read_csv, write_csv_rows};

use crate::cli::GlobalArgs;
use crate::exit::bad_input;
use crate::json::EnsembleRow;
use crate::output::Output;

/// How to combine the files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Method {
    /// Concatenate rolling windows: on a repeated (datetime, instrument) the
    /// file whose earliest datetime is later wins; equal starts: the later FILE wins.
    Rolling,
    /// Per datetime, z-score every column of every file across instruments
    /// (sample std), then average the z-scores, skipping missing ones.
    Average,
}

/// Arguments of `ensemble`.
#[derive(Debug, Args)]
#[command(
    after_help = "Each FILE is CSV with the header datetime,instrument,<col>[,<col>...]; datetime is
YYYY-MM-DD; an empty field or NaN is a missing value. For `rolling` every file must have
the same columns; the output has them (a missing cell is written empty). For `average`
the output has the single column `score`. Output rows are sorted by datetime then
instrument; a row whose values are all missing is omitted. A FILE may also be a
stored prediction frame (`taskpool run`'s `pred` artifact, fetched with
`taskpool records … --artifact pred -o FILE --format raw`). With --json: one JSON
object per row (datetime, instrument, one key per column; null when missing).

Examples:
  taskpool ensemble rolling examples/ensemble/window_2020q1.csv examples/ensemble/window_2020q2.csv > pred.csv
  taskpool ensemble average examples/ensemble/lgb.csv examples/ensemble/xgb.csv > score.csv

  $ cat lgb.csv
  datetime,instrument,score
  2020-01-02,SH600000,0.12
  2020-01-02,SZ000001,-0.05"
)]
pub struct EnsembleArgs {
    /// `rolling` or `average`.
    #[arg(value_enum)]
    pub method: Method,
    /// Prediction files (CSV or stored frames), in input order.
    pub files: Vec<PathBuf>,
}

/// Read the files, combine them and print the result as CSV on stdout (JSON
/// lines of [`EnsembleRow`] with `--json`).
///
/// # Errors
/// Bad input (exit 2, nothing printed): no files, an unreadable file, a
/// missing column, columns that differ between files (`rolling`), a bad
/// date, an unparsable value, a repeated (datetime, instrument) in one file
/// (`average`).
pub fn run(global: &GlobalArgs, args: &EnsembleArgs) -> anyhow::Result<()> {
    if args.files.is_empty() {
        return Err(bad_input(
            "ensemble needs at least one FILE (CSV with datetime,instrument,<col>...)",
        ));
    }
    let frames = args
        .files
        .iter()
        .map(|p| read_frame(p))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let combined = match args.method {
        Method::Rolling => {
            check_same_columns(&args.files, &frames)?;
            RollingEnsemble.combine(&frames)
        }
        Method::Average => {
            check_unique_entries(&args.files, &frames)?;
            AverageEnsemble.combine(&frames)
        }
    }
    .map_err(|e| bad_input(e.to_string()))?;
    let shown = |row: usize| combined.columns().iter().any(|c| !c.values()[row].is_nan());
    if global.json {
        let rows = (0..combined.len()).filter(|&r| shown(r));
        return Output::new(true, global.quiet).json_lines(rows.map(|r| row_json(&combined, r)));
    }
    let mut out = Vec::new();
    write_csv_rows(&combined, &mut out, shown)?;
    std::io::stdout().lock().write_all(&out)?;
    Ok(())
}

/// One row as `{"datetime", "instrument", <column>: value or null}`.
fn row_json(frame: &Frame, row: usize) -> EnsembleRow {
    let mut map = EnsembleRow::new();
    map.insert(
        "datetime".into(),
        Value::String(frame.datetimes()[row].to_string()),
    );
    map.insert(
        "instrument".into(),
        Value::String(frame.instruments()[row].to_string()),
    );
    for column in frame.columns() {
        let value =
            serde_json::Number::from_f64(column.values()[row]).map_or(Value::Null, Value::Number);
        map.insert(column.name().to_string(), value);
    }
    map
}

/// A CSV file, or a stored frame (recognised by its magic bytes).
fn read_frame(path: &Path) -> anyhow::Result<Frame> {
    let bytes = std::fs::read(path)
        .map_err(|e| bad_input(format!("{}: cannot read: {e}", path.display())))?;
    let frame = if bytes.starts_with(MAGIC) {
        Frame::decode(&bytes)
    } else {
        read_csv(bytes.as_slice())
    };
    frame.map_err(|e| bad_input(format!("{}: {e}", path.display())))
}

fn check_same_columns(paths: &[PathBuf], frames: &[Frame]) -> anyhow::Result<()> {
    let names = |f: &Frame| f.column_names().map(str::to_string).collect::<Vec<_>>();
    let first = names(&frames[0]);
    let first_set: HashSet<&String> = first.iter().collect();
    for (path, frame) in paths.iter().zip(frames).skip(1) {
        let theirs = names(frame);
        if theirs.len() != first.len() || !theirs.iter().all(|n| first_set.contains(n)) {
            return Err(bad_input(format!(
                "{}: columns {} differ from {}'s columns {} (rolling needs the same columns in every file)",
                path.display(),
                theirs.join(","),
                paths[0].display(),
                first.join(",")
            )));
        }
    }
    Ok(())
}

fn check_unique_entries(paths: &[PathBuf], frames: &[Frame]) -> anyhow::Result<()> {
    for (path, frame) in paths.iter().zip(frames) {
        let mut seen = HashSet::new();
        for (d, inst) in frame.datetimes().iter().zip(frame.instruments()) {
            if !seen.insert((d, inst)) {
                return Err(bad_input(format!(
                    "{}: ({d}, {inst}) appears more than once (average needs one row per datetime and instrument)",
                    path.display()
                )));
            }
        }
    }
    Ok(())
}
