//! Peak resident memory (RSS) of the `taskpool` command line, each next to a
//! raw baseline process doing the same work on the same data:
//!
//! - an idle `taskpool worker --follow` on an empty pool, both in an empty
//!   store and in the store holding the large pools (target: ≤ 30 MB);
//! - `stat`, `query --json --limit 1000`, `query --json` (the whole pool,
//!   streamed to /dev/null) and `create` of 10k new definitions, on the 1k
//!   and 1M pools: memory must grow with the batch, not with the pool.
//!
//! One-shot commands are measured with `wait4` (`ru_maxrss`); idle workers
//! by `VmHWM` after [`IDLE_FOR`], then SIGTERM. The baseline is this
//! executable re-run with `TASKPOOL_BENCH_RAW_OP` set, calling the raw
//! backend (`support/raw_*.rs`) directly. The `taskpool` binary is
//! `TASKPOOL_BIN`, or `taskpool` beside the bench's target directory (built
//! with `cargo build --release -p taskpool-cli` if missing). Results are
//! printed as a markdown table and written to `memory.md` in the bench
//! directory. MongoDB pools are capped as in `scaling` (see `support/scale.rs`).

mod support;

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::json;
use support::place::{Kind, Place};
use support::{defs, scale, settings};
use taskpool::store::{Query, TaskStore};

/// How long an idle worker runs before its peak RSS is read.
const IDLE_FOR: Duration = Duration::from_secs(3);
/// How long a one-shot command may run before it is stopped and reported
/// as too slow (`TASKPOOL_BENCH_COMMAND_TIMEOUT_S`, default 300 s).
fn command_timeout() -> Duration {
    Duration::from_secs(settings::number("TASKPOOL_BENCH_COMMAND_TIMEOUT_S", 300) as u64)
}
/// How many new definitions `create` adds to a pool.
const CREATE_N: u64 = 10_000;
/// Seeds of the created definitions (far from the pools' seeds).
const CREATE_SEED: u64 = 1 << 40;

/// A peak RSS, and whether the process was stopped at the time limit.
#[derive(Clone, Copy)]
struct Peak {
    kb: u64,
    timed_out: bool,
}

/// One measured process.
struct Row {
    kind: Kind,
    what: String,
    pool: String,
    taskpool: Peak,
    raw: Option<Peak>,
}

impl Row {
    fn line(&self) -> String {
        let mb = |p: Peak| {
            let limit = if p.timed_out {
                " (stopped at the time limit)"
            } else {
                ""
            };
            if p.timed_out {
                return format!("not measured{limit}");
            }
            format!("{:.1}{limit}", p.kb as f64 / 1024.0)
        };
        let (raw, ratio) = match self.raw {
            Some(r) if r.timed_out || self.taskpool.timed_out => (mb(r), "–".into()),
            Some(r) => (
                mb(r),
                format!("{:.2}", self.taskpool.kb as f64 / r.kb as f64),
            ),
            None => ("–".into(), "–".into()),
        };
        format!(
            "| {} | {} | {} | {} | {} | {} |",
            self.kind.label(),
            self.what,
            self.pool,
            mb(self.taskpool),
            raw,
            ratio
        )
    }
}

/// Print a row as soon as it is measured (a later failure keeps it).
fn push(rows: &mut Vec<Row>, row: Row) {
    eprintln!("bench: {}", row.line());
    rows.push(row);
}

fn main() {
    if std::env::var_os("TASKPOOL_BENCH_LAUNCH").is_some() {
        launch();
        return;
    }
    if let Ok(op) = std::env::var("TASKPOOL_BENCH_RAW_OP") {
        raw_child(&op);
        return;
    }
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let bin = support::binary::taskpool();
    let rt = settings::runtime();
    let dir = settings::bench_dir();
    let mut rows = Vec::new();
    for kind in settings::backends() {
        let empty = rt.block_on(Place::scratch(kind, "idle"));
        if kind != Kind::Memory {
            // Create the store's files, then close it.
            drop(rt.block_on(empty.open_store()));
        }
        push(
            &mut rows,
            Row {
                kind,
                what: "idle worker, empty store".into(),
                pool: "idle".into(),
                taskpool: idle_peak(worker_command(&bin, &empty.url())),
                raw: (kind != Kind::Memory)
                    .then(|| idle_peak(raw_command(kind, "idle", "idle", "idle"))),
            },
        );
        if kind == Kind::Memory {
            // Each `taskpool` process has its own empty memory store.
            continue;
        }
        let place = Place::named(kind, "scale");
        let sizes: Vec<usize> = scale::sizes(kind)
            .into_iter()
            .filter(|&n| n == 1_000 || n == 1_000_000 || n == largest(kind))
            .collect();
        {
            let store = rt.block_on(place.open_store());
            for &size in &sizes {
                rt.block_on(scale::ensure(store.as_ref(), size));
            }
        }
        let url = place.url();
        push(
            &mut rows,
            Row {
                kind,
                what: "idle worker, store holding the large pools".into(),
                pool: "idle".into(),
                taskpool: idle_peak(worker_command(&bin, &url)),
                raw: Some(idle_peak(raw_command(kind, "scale", "idle", "idle"))),
            },
        );
        let defs_file = dir.join("create-10k.json");
        let defs = defs::tasks(CREATE_SEED..CREATE_SEED + CREATE_N);
        std::fs::write(&defs_file, serde_json::to_vec(&defs).expect("JSON")).expect("write defs");
        for &size in &sizes {
            let pool = scale::pool_name(size);
            let ops: [(&str, Vec<String>, &str); 4] = [
                ("stat", vec!["stat".into()], "stat"),
                (
                    "query --limit 1000",
                    vec!["query".into(), "--limit".into(), "1000".into()],
                    "query1000",
                ),
                ("query (whole pool)", vec!["query".into()], "query"),
                (
                    "create 10k new",
                    vec!["create".into(), defs_file.display().to_string()],
                    "create",
                ),
            ];
            for (what, args, raw_op) in ops {
                let mut cmd = Command::new(&bin);
                cmd.args(["--store", &url, "-t", &pool, "--json"])
                    .args(&args);
                let taskpool = one_shot_peak(cmd);
                remove_created(&rt, &place, &pool, raw_op);
                let raw = one_shot_peak(raw_command(kind, "scale", raw_op, &pool));
                remove_created(&rt, &place, &pool, raw_op);
                push(
                    &mut rows,
                    Row {
                        kind,
                        what: what.into(),
                        pool: pool.clone(),
                        taskpool,
                        raw: Some(raw),
                    },
                );
            }
        }
    }
    let table = render(&rows);
    println!("{table}");
    let out = dir.join("memory.md");
    std::fs::write(&out, &table).expect("write memory.md");
    eprintln!("bench: wrote {}", out.display());
}

fn largest(kind: Kind) -> usize {
    scale::sizes(kind).into_iter().max().unwrap_or(0)
}

/// Delete what a `create` measurement added to the pool (untimed).
fn remove_created(rt: &tokio::runtime::Runtime, place: &Place, pool: &str, op: &str) {
    if op != "create" {
        return;
    }
    let store = rt.block_on(place.open_store());
    let query = Query::parse(&json!({"filter.seed": {"$gte": CREATE_SEED}})).expect("a query");
    let removed = rt.block_on(store.remove(pool, &query)).expect("remove");
    assert_eq!(removed, CREATE_N, "the created tasks");
}

/// The `taskpool` executable.
fn worker_command(bin: &PathBuf, url: &str) -> Command {
    let mut cmd = Command::new(bin);
    cmd.args([
        "--store", url, "-t", "idle", "worker", "--follow", "--", "true",
    ]);
    cmd
}

/// This executable as a raw baseline child doing `op` on `pool` of the
/// store [`Place::named`] `kind` and `place`.
fn raw_command(kind: Kind, place: &str, op: &str, pool: &str) -> Command {
    let mut cmd = Command::new(std::env::current_exe().expect("the bench executable"));
    cmd.env("TASKPOOL_BENCH_RAW_OP", op)
        .env("TASKPOOL_BENCH_RAW_KIND", kind.label())
        .env("TASKPOOL_BENCH_RAW_PLACE", place)
        .env("TASKPOOL_BENCH_RAW_POOL", pool);
    cmd
}

/// Run `cmd` to completion (or stop it at [`command_timeout`]); its peak RSS.
///
/// `cmd` runs under a small launcher (this executable with
/// `TASKPOOL_BENCH_LAUNCH` set) that reports its `ru_maxrss`: Linux carries
/// the high-water mark of the process that called `exec` into the child's
/// `ru_maxrss`, so a command spawned straight from this (large) process
/// would report this process's peak.
#[allow(clippy::zombie_processes, reason = "reaped by wait4 in wait_rusage")]
fn one_shot_peak(cmd: Command) -> Peak {
    let mut launcher = Command::new(std::env::current_exe().expect("the bench executable"));
    launcher
        .env("TASKPOOL_BENCH_LAUNCH", "1")
        .arg(cmd.get_program())
        .args(cmd.get_args())
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    for (key, value) in cmd.get_envs() {
        match value {
            Some(v) => launcher.env(key, v),
            None => launcher.env_remove(key),
        };
    }
    let mut child = launcher.spawn().expect("spawn the launcher");
    let pid = child.id();
    let deadline = std::time::Instant::now() + command_timeout();
    loop {
        if let Some((status, _)) = try_wait_rusage(pid) {
            assert!(status == 0, "{cmd:?} failed with wait status {status}");
            let mut out = String::new();
            std::io::Read::read_to_string(child.stdout.as_mut().expect("a pipe"), &mut out)
                .expect("read the launcher's report");
            let kb = out.trim().parse().expect("the launcher's ru_maxrss");
            return Peak {
                kb,
                timed_out: false,
            };
        }
        if std::time::Instant::now() >= deadline {
            eprintln!(
                "bench: {cmd:?} still running after {:?}: stopped",
                command_timeout()
            );
            // SAFETY: the launcher leads its own process group.
            unsafe { libc::kill(-(pid as i32), libc::SIGKILL) };
            wait_rusage(pid);
            return Peak {
                kb: 0,
                timed_out: true,
            };
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The launcher side of [`one_shot_peak`]: run the command given as
/// arguments, print its `ru_maxrss` (KiB), exit with failure if it failed.
#[allow(clippy::zombie_processes, reason = "reaped by wait4 in wait_rusage")]
fn launch() {
    let mut args = std::env::args_os().skip(1);
    let program = args.next().expect("a command to launch");
    let child = Command::new(program)
        .args(args)
        .env_remove("TASKPOOL_BENCH_LAUNCH")
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn the measured command");
    let (status, kb) = wait_rusage(child.id());
    println!("{kb}");
    std::process::exit(i32::from(status != 0));
}

/// Start `cmd`, let it idle, read its peak RSS, stop it.
#[allow(clippy::zombie_processes, reason = "reaped by wait4 in wait_rusage")]
fn idle_peak(mut cmd: Command) -> Peak {
    cmd.stdin(Stdio::null()).stdout(Stdio::null());
    let child = cmd.spawn().expect("spawn");
    let pid = child.id();
    std::thread::sleep(IDLE_FOR);
    let kb = support::binary::vm_hwm(pid).unwrap_or_else(|| panic!("process {pid} is not running"));
    // SAFETY: `pid` is our child, not yet waited for.
    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    wait_rusage(pid);
    Peak {
        kb,
        timed_out: false,
    }
}

/// The wait status and `ru_maxrss` (KiB) of child `pid` if it has exited.
fn try_wait_rusage(pid: u32) -> Option<(i32, u64)> {
    let mut status = 0;
    // SAFETY: zeroed rusage is a valid value; wait4 fills it for our child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid as i32, &mut status, libc::WNOHANG, &mut usage) };
    assert!(r >= 0, "wait4");
    (r == pid as i32).then_some((status, usage.ru_maxrss as u64))
}

/// Wait for child `pid`; its wait status and `ru_maxrss` (KiB).
fn wait_rusage(pid: u32) -> (i32, u64) {
    let mut status = 0;
    // SAFETY: zeroed rusage is a valid value; wait4 fills it for our child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid as i32, &mut status, 0, &mut usage) };
    assert_eq!(r, pid as i32, "wait4");
    (status, usage.ru_maxrss as u64)
}

/// The child side of [`raw_command`].
fn raw_child(op: &str) {
    let kind = Kind::parse(&std::env::var("TASKPOOL_BENCH_RAW_KIND").expect("a kind"))
        .expect("a known kind");
    let pool = std::env::var("TASKPOOL_BENCH_RAW_POOL").expect("a pool");
    let place = Place::named(
        kind,
        &std::env::var("TASKPOOL_BENCH_RAW_PLACE").expect("a place"),
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    rt.block_on(async {
        let raw = place.open_raw().await.expect("a raw baseline");
        let mut out = std::io::BufWriter::new(std::io::stdout());
        match op {
            "stat" => writeln!(out, "{:?}", raw.stat(&pool).await).expect("write"),
            "query1000" => {
                raw.scan(&pool, Some(1000), &mut out).await;
            }
            "query" => {
                raw.scan(&pool, None, &mut out).await;
            }
            "create" => {
                let defs = defs::tasks(CREATE_SEED..CREATE_SEED + CREATE_N);
                let new = support::run::raw_create_all(raw.as_ref(), &pool, &defs, 1000).await;
                assert_eq!(new as u64, CREATE_N);
            }
            "idle" => {
                let mut pause = Duration::from_millis(50);
                loop {
                    assert!(raw.claim(&pool, 1, "idle").await.is_empty());
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(5));
                }
            }
            other => panic!("unknown raw op {other}"),
        }
    });
}

fn render(rows: &[Row]) -> String {
    let mut s = String::from(
        "| backend | what | pool | taskpool peak RSS (MB) | raw baseline (MB) | ratio |\n|---|---|---|---:|---:|---:|\n",
    );
    for r in rows {
        s.push_str(&r.line());
        s.push('\n');
    }
    s
}
