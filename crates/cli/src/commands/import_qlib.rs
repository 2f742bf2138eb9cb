//! `taskpool import-qlib SOURCE COLLECTION`: move a Qlib task pool (a MongoDB
//! collection written by Qlib's `TaskManager`) into a taskpool pool.
//!
//! Definitions come from each document's `filter` (plain BSON); the pickled
//! `def` and `res` are never fetched or loaded. Every imported task starts
//! `waiting`: Qlib's results are pickles, so `done` and `part_done` tasks run
//! again (or are left out with `--skip-done`).

use clap::Args;
use serde::Serialize;
use taskpool::qlib::{QlibTask, SkippedDocument, read_qlib_pool};
use taskpool::redact_url;
use taskpool::store::{NewTask, validate_pool_name};

use crate::cli::GlobalArgs;
use crate::commands::create::CreateOptions;
use crate::context::Context;
use crate::exit::bad_input;
use crate::output::Table;

/// Arguments of `import-qlib`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  taskpool --store sqlite://taskpool.db import-qlib mongodb://127.0.0.1:27017/rolling_db rolling_task --dry-run
  taskpool --store mongodb://db1/research -t rolling import-qlib mongodb://db1/ rolling_task --db qlib_tasks --skip-done
The target pool is -t/--pool, or the collection's name. Definitions are read from each
document's `filter`; pickles (`def`, `res`) are never loaded. All imported tasks start
waiting: Qlib results are pickles and cannot be imported, so done tasks run again unless
--skip-done leaves them out. --priority applies to the tasks Qlib never prioritized.
Documents that cannot be converted are listed and make the command exit with code 1
after importing the others.")]
pub struct ImportQlibArgs {
    /// The Qlib MongoDB URL (`mongodb://HOST:PORT/DATABASE`).
    pub source: String,
    /// The Qlib task pool: the collection's name.
    pub collection: String,
    /// The Qlib database (Qlib's `task_db_name`), if the URL names none.
    #[arg(long, value_name = "NAME")]
    pub db: Option<String>,
    /// Leave out tasks that Qlib marked `done`.
    #[arg(long)]
    pub skip_done: bool,
    /// How the tasks are created (`--priority`: of the tasks Qlib never
    /// prioritized).
    #[command(flatten)]
    pub options: CreateOptions,
}

/// One imported document.
#[derive(Debug, Serialize)]
struct Imported {
    qlib_id: String,
    qlib_status: String,
    #[serde(rename = "_id")]
    id: String,
    new: bool,
}

/// A document that was not imported.
#[derive(Debug, Serialize)]
struct NotImported {
    qlib_id: String,
    reason: String,
}

impl From<SkippedDocument> for NotImported {
    fn from(s: SkippedDocument) -> NotImported {
        NotImported {
            qlib_id: s.qlib_id,
            reason: s.reason,
        }
    }
}

#[derive(Debug, Serialize)]
struct ImportReport {
    source: String,
    collection: String,
    pool: String,
    read: usize,
    new: usize,
    existing: usize,
    skipped_done: usize,
    dry_run: bool,
    skipped: Vec<NotImported>,
    tasks: Vec<Imported>,
}

/// Import the pool and report what happened.
///
/// # Errors
/// A bad target pool or source URL (exit code 2), no such collection (exit
/// code 3), an unreachable server (exit code 4), documents that could not be
/// converted (exit code 1, after importing the rest).
pub fn run(global: &GlobalArgs, args: &ImportQlibArgs) -> anyhow::Result<()> {
    let ctx = Context::new(global)?;
    let pool = target_pool(global, args)?;
    let params = args.options.params(Vec::<NewTask>::new());
    params.validate()?;
    let (report, skipped) = ctx.block_on(async {
        let qlib = read_qlib_pool(&args.source, &args.collection, args.db.clone()).await?;
        let read = qlib.tasks.len() + qlib.skipped.len();
        let (tasks, done): (Vec<QlibTask>, Vec<QlibTask>) = qlib
            .tasks
            .into_iter()
            .partition(|t| !(args.skip_done && t.status == "done"));
        let store = ctx.store().await?;
        let batch_size = args.options.batch_size(tasks.len());
        let mut imported = Vec::with_capacity(tasks.len());
        for chunk in tasks.chunks(batch_size) {
            let mut batch = params.clone();
            batch.tasks = chunk.iter().map(new_task).collect();
            let created = store.create(&pool, batch).await?;
            imported.extend(chunk.iter().zip(created).map(|(t, c)| Imported {
                qlib_id: t.qlib_id.clone(),
                qlib_status: t.status.clone(),
                id: c.id.to_string(),
                new: c.new,
            }));
        }
        let new = imported.iter().filter(|i| i.new).count();
        let skipped = qlib.skipped.len();
        let report = ImportReport {
            source: redact_url(&args.source),
            collection: args.collection.clone(),
            pool: pool.clone(),
            read,
            new,
            existing: imported.len() - new,
            skipped_done: done.len(),
            dry_run: args.options.dry_run,
            skipped: qlib.skipped.into_iter().map(NotImported::from).collect(),
            tasks: imported,
        };
        Ok::<_, anyhow::Error>((report, skipped))
    })?;
    print(&ctx, &report)?;
    if skipped > 0 {
        anyhow::bail!(
            "{skipped} Qlib document(s) could not be imported (listed in the output); the others were"
        );
    }
    Ok(())
}

/// `-t/--pool`, or the collection's name if it is a valid pool name.
fn target_pool(global: &GlobalArgs, args: &ImportQlibArgs) -> anyhow::Result<String> {
    match &global.pool {
        Some(pool) => {
            validate_pool_name(pool)?;
            Ok(pool.clone())
        }
        None => {
            validate_pool_name(&args.collection).map_err(|e| {
                bad_input(format!(
                    "{}; choose the target pool with -t NAME",
                    e.message()
                ))
            })?;
            Ok(args.collection.clone())
        }
    }
}

fn new_task(task: &QlibTask) -> NewTask {
    NewTask {
        priority: task.priority,
        ..NewTask::from(task.def.clone())
    }
}

fn print(ctx: &Context<'_>, report: &ImportReport) -> anyhow::Result<()> {
    if ctx.out.is_json() {
        return ctx.out.json(report);
    }
    if !report.skipped.is_empty() {
        let mut table = Table::new(["QLIB _ID", "NOT IMPORTED BECAUSE"]);
        for s in &report.skipped {
            table.row([s.qlib_id.clone(), s.reason.clone()]);
        }
        ctx.out.table(&table)?;
    }
    ctx.out.line(format_args!(
        "read {} document(s) of Qlib pool {} from {}",
        report.read, report.collection, report.source
    ))?;
    let verb = if report.dry_run {
        "would create"
    } else {
        "created"
    };
    ctx.out.line(format_args!(
        "{verb} {} new task(s) in pool {}; {} already there; {} done task(s) left out; {} not importable",
        report.new,
        report.pool,
        report.existing,
        report.skipped_done,
        report.skipped.len()
    ))?;
    let rerun = report
        .tasks
        .iter()
        .filter(|t| t.new && (t.qlib_status == "done" || t.qlib_status == "part_done"))
        .count();
    if rerun > 0 {
        ctx.out.line(format_args!(
            "note: {rerun} task(s) Qlib had finished start waiting and will run again (Qlib results are pickles and are not imported)"
        ))?;
    }
    if report.dry_run {
        ctx.out.line("dry run: nothing written")?;
    }
    Ok(())
}
