//! Peak resident memory and wall time of `taskpool run` at research scale
//! (issue 22, goal 3): the built-in example (2 models, quarterly rolling
//! windows, 2 worker processes, SQLite store) on the synthetic dataset with
//! 1,500 instruments × 3,000 trading days (`TASKPOOL_BENCH_RUN_INSTRUMENTS`,
//! `TASKPOOL_BENCH_RUN_DAYS` change the size).
//!
//! Every process of the run (the `taskpool run` parent and each
//! `run-worker` it starts, found by parent pid) is sampled every
//! 20 ms for `VmHWM`; the parent's peak is exact (`wait4`'s `ru_maxrss`), a
//! worker's is its last sample before it exited. The baseline is this
//! executable re-run loading the same data in process (features, labels,
//! calendar: what every process of the run must hold), so `ratio` says how
//! much a process holds beyond the data itself.
//!
//! The `taskpool` binary is `TASKPOOL_BIN`, or the release build beside the
//! bench's target directory (see `support/binary.rs`). Results are printed as
//! a markdown table and written to `run_memory.md` in the bench directory.

mod support;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{binary, settings};
use taskpool_experiment::job::market::{self, DataSpec};

/// How often the run's processes are sampled.
const SAMPLE_EVERY: Duration = Duration::from_millis(20);

fn main() {
    if let Ok(size) = std::env::var("TASKPOOL_BENCH_RUN_DATA_ONLY") {
        data_only(&size);
        return;
    }
    if std::env::args().any(|a| a == "--list") {
        println!("run_memory: benchmark");
        return;
    }
    let instruments = settings::number("TASKPOOL_BENCH_RUN_INSTRUMENTS", 1500);
    let days = settings::number("TASKPOOL_BENCH_RUN_DAYS", 3000);
    let bin = binary::taskpool();
    let dir = tempfile::tempdir().expect("a scratch directory");

    let example = Command::new(&bin)
        .args(["run", "--print-config"])
        .output()
        .expect("taskpool run --print-config");
    let example = String::from_utf8(example.stdout).expect("UTF-8 config");
    let config = example
        .replacen(
            "instruments: 300",
            &format!("instruments: {instruments}"),
            1,
        )
        .replacen("days: 1300", &format!("days: {days}"), 1);
    assert_ne!(config, example, "the built-in example names its data size");
    let config_path = dir.path().join("research.yaml");
    std::fs::write(&config_path, config).expect("write the config");

    let baseline_kb = data_floor(instruments, days);
    let started = Instant::now();
    let (peaks, parent_kb) = run_and_sample(
        Command::new(&bin)
            .current_dir(dir.path())
            .arg("--store")
            .arg(format!("sqlite://{}", dir.path().join("run.db").display()))
            .arg("run")
            .arg(&config_path)
            .args(["--fresh", "--json", "--report-dir"])
            .arg(dir.path().join("report")),
    );
    let wall = started.elapsed();

    let mut table = format!(
        "`taskpool run` of the built-in example on {instruments} instruments × {days} days: \
         wall {:.1} s\n\n| process | peak RSS (MB) | data in process (MB) | ratio |\n|---|---:|---:|---:|\n",
        wall.as_secs_f64()
    );
    let mb = |kb: u64| kb as f64 / 1024.0;
    table += &format!(
        "| run (parent) | {:.0} | {:.0} | {:.2} |\n",
        mb(parent_kb),
        mb(baseline_kb),
        parent_kb as f64 / baseline_kb as f64
    );
    for (i, kb) in peaks.values().enumerate() {
        table += &format!(
            "| run-worker {} | {:.0} | {:.0} | {:.2} |\n",
            i + 1,
            mb(*kb),
            mb(baseline_kb),
            *kb as f64 / baseline_kb as f64
        );
    }
    print!("{table}");
    let out = settings::bench_dir().join("run_memory.md");
    std::fs::write(&out, &table).expect("write run_memory.md");
    eprintln!("bench: table written to {}", out.display());
}

/// Run `cmd`; sample it and every process descending from it until it
/// exits. Returns the workers' peaks (KiB, by pid) and the
/// leader's exact peak.
#[allow(clippy::zombie_processes, reason = "reaped by wait4 below")]
fn run_and_sample(cmd: &mut Command) -> (BTreeMap<u32, u64>, u64) {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn taskpool run");
    let leader = child.id();
    let mut peaks = BTreeMap::new();
    loop {
        for pid in std::iter::once(leader).chain(descendants(leader)) {
            if let Some(kb) = binary::vm_hwm(pid) {
                let peak = peaks.entry(pid).or_insert(0);
                *peak = (*peak).max(kb);
            }
        }
        let mut status = 0;
        // SAFETY: zeroed rusage is valid; wait4 fills it for our child.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let r = unsafe { libc::wait4(leader as i32, &mut status, libc::WNOHANG, &mut usage) };
        assert!(r >= 0, "wait4");
        if r == leader as i32 {
            assert!(status == 0, "taskpool run failed with wait status {status}");
            peaks.remove(&leader);
            return (peaks, usage.ru_maxrss as u64);
        }
        std::thread::sleep(SAMPLE_EVERY);
    }
}

/// The pids descending from `root` (the run's workers and anything they start).
fn descendants(root: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    // (pid, parent pid) of every process; the parent is the field after the
    // state, which follows the command's closing parenthesis.
    let parents: Vec<(u32, u32)> = entries
        .filter_map(|e| {
            let pid = e.ok()?.file_name().to_str()?.parse::<u32>().ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let rest = &stat[stat.rfind(')')? + 1..];
            Some((pid, rest.split_whitespace().nth(1)?.parse().ok()?))
        })
        .collect();
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(parents.iter().filter(|p| p.1 == parent).map(|p| p.0));
        i += 1;
    }
    found.remove(0);
    found
}

/// Peak RSS (KiB) of this executable re-run to load the data only.
fn data_floor(instruments: usize, days: usize) -> u64 {
    let out = Command::new(std::env::current_exe().expect("the bench executable"))
        .env(
            "TASKPOOL_BENCH_RUN_DATA_ONLY",
            format!("{instruments}x{days}"),
        )
        .output()
        .expect("run the data-only baseline");
    assert!(out.status.success(), "the data-only baseline failed");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("the baseline's peak RSS")
}

/// The baseline child: load the example's data at `size` (`INSTRUMENTSxDAYS`)
/// and print this process's peak RSS (KiB).
fn data_only(size: &str) {
    let (instruments, days) = size.split_once('x').expect("INSTRUMENTSxDAYS");
    let spec = DataSpec::Synthetic {
        instruments: instruments.parse().expect("instruments"),
        days: days.parse().expect("days"),
        start: jiff::civil::date(2019, 1, 1),
        seed: 7,
        until: None,
    };
    let data = market::load(&spec).expect("load the synthetic data");
    assert!(!data.dataset.instruments.is_empty());
    // SAFETY: zeroed rusage is valid; getrusage fills it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    println!("{}", usage.ru_maxrss);
}
