//! `taskpool create FILE`: create tasks from a file of definitions (Qlib's
//! `create_task`), deduplicated by content: a definition already in the pool
//! is reported as existing, whatever its status.

use clap::Args;
use taskpool::store::{CreateParams, DEFAULT_MAX_ATTEMPTS, NewTask};

use crate::cli::GlobalArgs;
use crate::commands::task_file::read_definitions;
use crate::context::Context;
use crate::json::{CreateJson, CreatedJson};
use crate::output::Table;

/// How many definitions one store round trip creates.
pub const BATCH: usize = 1000;

/// Arguments of `create`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  taskpool -t rolling create tasks.yaml
  taskpool -t rolling create tasks.jsonl --priority 5 --max-attempts 2
  taskpool -t rolling gen config.yaml | taskpool -t rolling create - --dry-run
FILE holds a JSON array (.json), JSON lines (.jsonl, .ndjson) or a YAML list (.yaml, .yml)
of task definitions (objects); for other names and stdin (-) the content decides.")]
pub struct CreateArgs {
    /// The file of task definitions (`-` for stdin).
    pub file: String,
    /// How the tasks are created.
    #[command(flatten)]
    pub options: CreateOptions,
}

/// The options of the commands that create tasks (`create`, `import-qlib`).
#[derive(Debug, Args)]
pub struct CreateOptions {
    /// Show which tasks are new and which exist already, and write nothing
    /// (new tasks get their id when they are really created: none is shown).
    #[arg(long)]
    pub dry_run: bool,
    /// Priority of the new tasks (higher is claimed first).
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    pub priority: i64,
    /// Attempts before a task that keeps failing becomes `failed`.
    #[arg(long, default_value_t = DEFAULT_MAX_ATTEMPTS)]
    pub max_attempts: u32,
}

impl CreateOptions {
    /// The parameters of a batch of `tasks` created with these options.
    pub fn params<T: Into<NewTask>>(&self, tasks: Vec<T>) -> CreateParams {
        let mut params = CreateParams::new(tasks);
        params.priority = self.priority;
        params.max_attempts = self.max_attempts;
        params.dry_run = self.dry_run;
        params
    }

    /// How many of `total` tasks one store round trip creates: all of them
    /// in a dry run (it writes nothing, so later batches could not see the
    /// earlier ones' new tasks), else [`BATCH`].
    pub fn batch_size(&self, total: usize) -> usize {
        if self.dry_run { total.max(1) } else { BATCH }
    }
}

/// Create the tasks and report how many were new.
///
/// # Errors
/// No pool, an unreadable or malformed file, a zero attempt limit, an
/// integer beyond the 64-bit signed range (exit code 2, naming its path), or
/// a store failure.
pub fn run(global: &GlobalArgs, args: &CreateArgs) -> anyhow::Result<()> {
    let ctx = Context::new(global)?;
    let pool = ctx.pool()?;
    let defs = read_definitions(&args.file)?;
    let mut params = args.options.params(defs);
    // Every definition is checked before the first batch is written.
    params.validate()?;
    let defs = std::mem::take(&mut params.tasks);
    let total = defs.len();
    let tasks = ctx.block_on(async {
        let store = ctx.store().await?;
        let mut created = Vec::with_capacity(total);
        let batch_size = args.options.batch_size(total);
        let mut defs = defs.into_iter().peekable();
        // An empty file still creates the pool (as the store's create does).
        let mut first = true;
        while first || defs.peek().is_some() {
            first = false;
            let mut batch = params.clone();
            batch.tasks = defs.by_ref().take(batch_size).collect();
            created.extend(store.create(pool, batch).await?);
        }
        Ok::<_, anyhow::Error>(created)
    })?;
    let new = tasks.iter().filter(|c| c.new).count();
    let dry_run = args.options.dry_run;
    let report = CreateJson {
        total,
        new,
        existing: total - new,
        dry_run,
        tasks: tasks.iter().map(|c| CreatedJson::new(c, dry_run)).collect(),
    };
    if ctx.out.is_json() {
        return ctx.out.json(&report);
    }
    if args.options.dry_run {
        let mut table = Table::new(["#", "_ID", "STATE", "STATUS"]).right_align(0);
        for (i, c) in report.tasks.iter().enumerate() {
            let state = if c.new { "new" } else { "existing" };
            table.row([
                (i + 1).to_string(),
                c.id.clone().unwrap_or_else(|| "(new)".to_string()),
                state.to_string(),
                c.status.to_string(),
            ]);
        }
        ctx.out.table(&table)?;
        ctx.out.line(format_args!(
            "{} task(s): {} new, {} existing (dry run: nothing written)",
            report.total, report.new, report.existing
        ))
    } else {
        ctx.out.line(format_args!(
            "created {} new task(s) in pool {pool}; {} already existed",
            report.new, report.existing
        ))
    }
}
