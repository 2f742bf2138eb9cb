//! `class: command`: a model that is a program, run once per task through
//! the worker protocol (`docs/worker-protocol.md`), without a shell.
//!
//! The program gets the task on stdin as every worker command does
//! (`{"id", "pool", "attempt", "phase", "def"}`); its `def` is the task
//! definition (`model.kwargs`, `dataset.kwargs.segments`) plus `features`,
//! the path of the [features file](super::features_file). It writes
//! [`PRED_FILE`] (`date,instrument,score`: one row per (date, instrument)
//! of the test segment) into `TASKPOOL_ARTIFACT_DIR` and prints one JSON
//! value (its own notes, which taskpool does not use) on stdout.
//!
//! taskpool checks the predictions against the test rows and computes the
//! metrics itself, so everything downstream (records, collect, ensembles,
//! the report) is the same as for the built-in ridge.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use jiff::civil::Date;
use taskpool_pipeline::worker::{CommandTask, TaskFn, TaskInput};

use super::features_file;
use super::market::MarketData;
use super::ridge_task::{Trained, add_metrics, score_frame};
use super::task_def::TaskDef;

/// The file a command model writes into its artifact directory.
pub const PRED_FILE: &str = "pred.csv";
/// The header [`PRED_FILE`] must have.
pub const PRED_HEADER: [&str; 3] = ["date", "instrument", "score"];

/// Run the command of `def` on `input` and read its predictions.
///
/// # Errors
/// A message naming the problem: the program failed (exit status and the
/// end of its stderr), [`PRED_FILE`] is missing or malformed, or its rows
/// do not cover the test segment exactly.
pub async fn train(
    def: &TaskDef,
    data: Arc<MarketData>,
    input: &TaskInput,
) -> Result<Trained, String> {
    let Some((program, args)) = def
        .model
        .command
        .as_deref()
        .and_then(<[String]>::split_first)
    else {
        return Err("a model of class \"command\" needs `command: [PROGRAM, ARGS…]`".into());
    };
    let task = CommandTask::new(program, args).map_err(|e| e.message().to_string())?;
    let spec = def.dataset.kwargs.data.clone();
    let for_file = Arc::clone(&data);
    let features = tokio::task::spawn_blocking(move || features_file::ensure(&spec, &for_file))
        .await
        .map_err(|e| format!("writing the features file stopped: {e}"))??;
    let mut payload = input.payload.clone();
    payload["features"] = features.display().to_string().into();
    let run = TaskInput {
        payload,
        ..input.clone()
    };
    task.run(run)
        .await
        .map_err(|e| format!("model command {program}: {e}"))?;
    let path = input.artifact_dir.join(PRED_FILE);
    let test = def.dataset.kwargs.segments.test;
    tokio::task::spawn_blocking(move || {
        let trained = read_predictions(&path, &data, test)?;
        // Kept as the record's `pred` artifact: the worker need not keep
        // (or warn about) the file.
        std::fs::remove_file(&path).map_err(|e| format!("removing {PRED_FILE}: {e}"))?;
        Ok(trained)
    })
    .await
    .map_err(|e| format!("reading {PRED_FILE} stopped: {e}"))?
    .map_err(|e: String| format!("model command {program}: {e}"))
}

/// Read `path` and measure it on the test rows `[start, end]` of `data`.
fn read_predictions(
    path: &Path,
    data: &MarketData,
    [start, end]: [Option<Date>; 2],
) -> Result<Trained, String> {
    let file = std::fs::File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => {
            format!("wrote no {PRED_FILE} into TASKPOOL_ARTIFACT_DIR")
        }
        _ => format!("cannot read {PRED_FILE}: {e}"),
    })?;
    let rows = data.dataset.rows(start, end);
    if rows.is_empty() {
        return Err("the test segment has no rows".to_string());
    }
    let names = &data.dataset.instruments;
    let index: HashMap<(Date, &str), usize> = (0..rows.len())
        .map(|i| {
            (
                (rows.dates[i], names[rows.instruments[i] as usize].as_str()),
                i,
            )
        })
        .collect();
    let mut pred = vec![f64::NAN; rows.len()];
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(file);
    let header = reader
        .headers()
        .map_err(|e| format!("{PRED_FILE}: {e}"))?
        .clone();
    if header.iter().ne(PRED_HEADER) {
        return Err(format!(
            "{PRED_FILE}: the header must be {}, not {}",
            PRED_HEADER.join(","),
            header.iter().collect::<Vec<_>>().join(",")
        ));
    }
    let segment = format!(
        "{}..{}",
        start.map_or("…".to_string(), |d| d.to_string()),
        end.map_or("…".to_string(), |d| d.to_string())
    );
    for record in reader.records() {
        let record = record.map_err(|e| format!("{PRED_FILE}: {e}"))?;
        let line = record.position().map_or(0, |p| p.line());
        let at = |msg: String| format!("{PRED_FILE} line {line}: {msg}");
        let date: Date = record[0]
            .parse()
            .map_err(|_| at(format!("{:?} is not a date YYYY-MM-DD", &record[0])))?;
        let score: f64 = record[2]
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite())
            .ok_or_else(|| at(format!("score {:?} is not a finite number", &record[2])))?;
        if start.is_some_and(|s| date < s) || end.is_some_and(|e| date > e) {
            return Err(at(format!("{date} is outside the test segment {segment}")));
        }
        let Some(&i) = index.get(&(date, &record[1])) else {
            return Err(at(format!(
                "no test row for instrument {:?} on {date}",
                &record[1]
            )));
        };
        if !pred[i].is_nan() {
            return Err(at(format!("a second score for {:?} on {date}", &record[1])));
        }
        pred[i] = score;
    }
    if let Some(first) = pred.iter().position(|v| v.is_nan()) {
        let missing = pred.iter().filter(|v| v.is_nan()).count();
        return Err(format!(
            "{PRED_FILE} has no score for {missing} of the {} test rows (the first: {:?} on {})",
            rows.len(),
            names[rows.instruments[first] as usize],
            rows.dates[first]
        ));
    }
    let mut metrics = std::collections::BTreeMap::new();
    add_metrics(&mut metrics, "test", &rows, &pred);
    let pred = score_frame(data, &rows, pred)?;
    Ok(Trained {
        metrics,
        pred,
        model: None,
    })
}
