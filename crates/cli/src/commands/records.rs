//! `taskpool records`: the records of an experiment and their artifacts
//! (what workers store from `TASKPOOL_ARTIFACT_DIR`, what `taskpool run`
//! stores for each task), and fetching one artifact into a file.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use taskpool::pipeline::frame::Frame;
use taskpool::pipeline::frame::binary::MAGIC;
use taskpool::store::{RecordFilter, RecordId, RecordStatus, Store};

use crate::cli::GlobalArgs;
use crate::context::{Context, not_found, parse_id};
use crate::exit::bad_input;
use crate::json::{ArtifactWritten, ExperimentLine, RecordJson};
use crate::output::Table;

/// Arguments of `records`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  taskpool records                                   # the experiments of the store
  taskpool -t rolling records                        # records of experiment `rolling` (the pool's name)
  taskpool records -e exp1 --task 615498be837d0053acbc5d58
  taskpool records -e exp1 --record 6b0763ae0f3b2c1d4e5f6a7b
  taskpool records -e exp1 --record 6b0763ae0f3b2c1d4e5f6a7b --artifact pred -o pred.csv
The experiment is -e, else the pool (-t): a worker stores a task's artifacts in the
experiment named by the definition's \"experiment\" field, else in the pool's name.
A stored prediction frame (`taskpool run`'s `pred`) is written as CSV when the output
ends in .csv or with --format csv (the CSV `taskpool ensemble` reads).
Exit code 3 if the experiment, the record or the artifact does not exist.")]
pub struct RecordsArgs {
    /// The experiment (default: the pool given with -t/--pool; neither: list the experiments).
    #[arg(short = 'e', long, value_name = "NAME")]
    pub experiment: Option<String>,
    /// Only the records of this task.
    #[arg(long, value_name = "ID", conflicts_with = "record")]
    pub task: Option<String>,
    /// Only records in this status.
    #[arg(long, value_name = "STATUS", value_parser = parse_status, conflicts_with = "record")]
    pub status: Option<RecordStatus>,
    /// Show one record (every field and its artifacts).
    #[arg(long, value_name = "ID")]
    pub record: Option<String>,
    /// Fetch this artifact of the record into the --output file.
    #[arg(long, value_name = "NAME", requires = "record", requires = "output")]
    pub artifact: Option<String>,
    /// Where the artifact goes (`-`: stdout).
    #[arg(short = 'o', long, value_name = "FILE", requires = "artifact")]
    pub output: Option<PathBuf>,
    /// How to write the artifact: as stored, or a stored frame as CSV
    /// (default: csv for an output ending in .csv, else raw).
    #[arg(long, value_enum, requires = "artifact")]
    pub format: Option<ArtifactFormat>,
}

/// `--format` of an artifact written with `-o`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ArtifactFormat {
    /// The stored bytes.
    Raw,
    /// A stored frame as `datetime,instrument,<columns>` CSV.
    Csv,
}

fn parse_status(text: &str) -> Result<RecordStatus, String> {
    text.parse()
        .map_err(|e: taskpool::store::Error| e.to_string())
}

/// List experiments or records, show one record, or fetch one artifact.
///
/// # Errors
/// A malformed id or experiment name (exit code 2), no such record or
/// artifact (exit code 3), a store without records, a store failure, an
/// unwritable output file.
pub fn run(global: &GlobalArgs, args: &RecordsArgs) -> anyhow::Result<()> {
    let ctx = Context::new(global)?;
    let experiment = args.experiment.as_deref().or(global.pool.as_deref());
    ctx.block_on(async {
        let store = ctx.existing_store().await?;
        let Some(experiment) = experiment else {
            return list_experiments(&ctx, &*store).await;
        };
        taskpool::store::record::validate_experiment_name(experiment)?;
        let experiments = store.experiments().await?;
        if !experiments.iter().any(|e| e == experiment) {
            return Err(not_found("experiment", experiment, &experiments).into());
        }
        let Some(record) = &args.record else {
            return list_records(&ctx, &*store, experiment, args).await;
        };
        let id: RecordId = record.trim().parse()?;
        match (&args.artifact, &args.output) {
            (Some(name), Some(output)) => {
                let format = args.format.unwrap_or_else(|| default_format(output));
                fetch_artifact(&ctx, &*store, experiment, id, name, output, format).await
            }
            _ => show_record(&ctx, &*store, experiment, id).await,
        }
    })
}

async fn list_experiments(ctx: &Context<'_>, store: &dyn Store) -> anyhow::Result<()> {
    let experiments = store.experiments().await?;
    if ctx.out.is_json() {
        return ctx.out.json_lines(
            experiments
                .into_iter()
                .map(|experiment| ExperimentLine { experiment }),
        );
    }
    for experiment in experiments {
        ctx.out.line(experiment)?;
    }
    Ok(())
}

async fn list_records(
    ctx: &Context<'_>,
    store: &dyn Store,
    experiment: &str,
    args: &RecordsArgs,
) -> anyhow::Result<()> {
    let mut filter = RecordFilter::all();
    if let Some(task) = &args.task {
        filter.task_id = Some(parse_id(task)?);
    }
    if let Some(status) = args.status {
        filter = filter.status([status]);
    }
    let records = store.list_records(experiment, &filter).await?;
    let mut listed = Vec::with_capacity(records.len());
    for record in records {
        let artifacts = store.list_artifacts(experiment, record.id).await?;
        listed.push((record, artifacts));
    }
    if ctx.out.is_json() {
        return ctx.out.json_lines(
            listed
                .into_iter()
                .map(|(record, artifacts)| RecordJson { record, artifacts }),
        );
    }
    let mut table = Table::new([
        "RECORD",
        "STATUS",
        "TASK",
        "FINISHED",
        "ARTIFACTS",
        "METRICS",
    ]);
    for (record, artifacts) in &listed {
        table.row([
            record.id.to_string(),
            record.status.to_string(),
            record.task_id.map(|t| t.to_string()).unwrap_or_default(),
            record
                .finished_at
                .map(|t| t.to_string())
                .unwrap_or_default(),
            artifacts
                .iter()
                .map(|a| a.name.as_str())
                .collect::<Vec<_>>()
                .join(","),
            record
                .metrics
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" "),
        ]);
    }
    ctx.out.table(&table)
}

async fn show_record(
    ctx: &Context<'_>,
    store: &dyn Store,
    experiment: &str,
    id: RecordId,
) -> anyhow::Result<()> {
    let record = store.get_record(experiment, id).await?;
    let artifacts = store.list_artifacts(experiment, id).await?;
    let doc = RecordJson { record, artifacts };
    if ctx.out.is_json() {
        ctx.out.json(&doc)
    } else {
        ctx.out.line(serde_json::to_string_pretty(&doc)?)
    }
}

async fn fetch_artifact(
    ctx: &Context<'_>,
    store: &dyn Store,
    experiment: &str,
    id: RecordId,
    name: &str,
    output: &PathBuf,
    format: ArtifactFormat,
) -> anyhow::Result<()> {
    let stored = store.get_artifact(experiment, id, name).await?;
    let bytes = match format {
        ArtifactFormat::Raw => stored,
        ArtifactFormat::Csv => frame_as_csv(name, &stored)?,
    };
    if output.as_os_str() == "-" {
        let mut stdout = std::io::stdout().lock();
        return match stdout.write_all(&bytes).and_then(|()| stdout.flush()) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
            _ => Ok(()),
        };
    }
    std::fs::write(output, &bytes)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", output.display()))?;
    if ctx.out.is_json() {
        return ctx.out.json(&ArtifactWritten {
            record: id.to_string(),
            artifact: name.to_string(),
            bytes: bytes.len() as u64,
            output: output.display().to_string(),
            format: match format {
                ArtifactFormat::Raw => "raw",
                ArtifactFormat::Csv => "csv",
            },
        });
    }
    ctx.out.line(format_args!(
        "wrote artifact {name} of record {id} ({} bytes) to {}",
        bytes.len(),
        output.display()
    ))
}

/// CSV for an output file ending in `.csv`, else the stored bytes.
fn default_format(output: &Path) -> ArtifactFormat {
    let csv = output
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    if csv {
        ArtifactFormat::Csv
    } else {
        ArtifactFormat::Raw
    }
}

/// A stored frame as CSV; an artifact that is already CSV text is kept.
///
/// # Errors
/// An artifact that is neither a frame nor CSV text (exit code 2).
fn frame_as_csv(name: &str, stored: &[u8]) -> anyhow::Result<Vec<u8>> {
    if stored.starts_with(MAGIC) {
        let frame = Frame::decode(stored)?;
        let mut out = Vec::new();
        taskpool_experiment::frame_csv::write_csv(&frame, &mut out)?;
        return Ok(out);
    }
    if std::str::from_utf8(stored).is_ok() {
        return Ok(stored.to_vec());
    }
    Err(bad_input(format!(
        "artifact {name} is not a stored frame or CSV text: fetch it with --format raw"
    )))
}
