//! `taskpool get ID`: one task (Qlib's `re_query`): a readable view, or the
//! stored document with `--json`.

use std::fmt::Write as _;

use clap::Args;
use serde_json::Value;
use taskpool::store::Task;

use crate::cli::GlobalArgs;
use crate::context::{Context, parse_id};

/// Arguments of `get`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  taskpool -t rolling get 615498be837d0053acbc5d58
  taskpool -t rolling --json get 615498be837d0053acbc5d58 | jq .def
Exit code 3 if the pool has no task with this id.")]
pub struct GetArgs {
    /// The task id (24 hexadecimal digits).
    pub id: String,
}

/// Print the task: status, attempts, lease, the error history (tracebacks
/// as written) and the definition and result indented; `--json`: the stored
/// document on one line.
///
/// # Errors
/// No pool, a malformed id (exit code 2), no such store, pool or task (exit
/// code 3), or a store failure.
pub fn run(global: &GlobalArgs, args: &GetArgs) -> anyhow::Result<()> {
    let ctx = Context::new(global)?;
    let id = parse_id(&args.id)?;
    let (pool, task) = ctx.block_on(async {
        let (store, pool) = ctx.pool_store().await?;
        Ok::<_, anyhow::Error>((pool, store.get(pool, id).await?))
    })?;
    if ctx.out.is_json() {
        ctx.out.json(&task)
    } else {
        ctx.out.line(view(pool, &task)?.trim_end())
    }
}

/// The readable view of `task`.
fn view(pool: &str, task: &Task) -> anyhow::Result<String> {
    let mut out = String::new();
    writeln!(out, "task      {}  (pool {pool})", task.id)?;
    writeln!(out, "status    {}", task.status)?;
    writeln!(out, "priority  {}", task.priority)?;
    writeln!(out, "attempts  {} of {}", task.attempts, task.max_attempts)?;
    if let Some(lease) = &task.lease {
        writeln!(
            out,
            "lease     held by {} until {} (claimed from {})",
            lease.owner, lease.expires_at, lease.from_status
        )?;
    }
    writeln!(out, "created   {}", task.created_at)?;
    writeln!(out, "updated   {}", task.updated_at)?;
    if let Some(t) = task.started_at {
        writeln!(out, "started   {t}")?;
    }
    if let Some(t) = task.finished_at {
        writeln!(out, "finished  {t}")?;
    }
    writeln!(out, "key       {}", task.key)?;
    section(&mut out, "definition", &task.def)?;
    if task.filter != task.def {
        section(&mut out, "filter", &task.filter)?;
    }
    if let Some(res) = &task.res {
        section(&mut out, "result", res)?;
    }
    if !task.errors.is_empty() {
        writeln!(out, "\nerrors ({}, oldest first):", task.errors.len())?;
        for e in &task.errors {
            writeln!(out, "  attempt {} at {} by {}:", e.attempt, e.at, e.owner)?;
            for line in e.message.lines() {
                writeln!(out, "    {line}")?;
            }
        }
    }
    Ok(out)
}

/// `\nNAME:` and the value as indented, pretty-printed JSON.
fn section(out: &mut String, name: &str, value: &Value) -> anyhow::Result<()> {
    writeln!(out, "\n{name}:")?;
    for line in serde_json::to_string_pretty(value)?.lines() {
        writeln!(out, "  {line}")?;
    }
    Ok(())
}
