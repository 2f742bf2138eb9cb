//! The docs test (docs/cli.md, "The docs test"): every fenced command block
//! of README.md and docs/*.md runs verbatim against a temporary store, so the
//! documentation cannot rot.
//!
//! - A block whose info string starts with `sh` runs with `bash -e -o
//!   pipefail`, in a temporary directory holding a copy of `examples/` (one
//!   directory per document, blocks in order), with the `taskpool` built by
//!   `cargo test` first on `PATH`; it must exit 0, and each `# prints: TEXT`
//!   line must find TEXT in what the block printed.
//! - `sh no-run: REASON` is not run; the reason is required.
//! - `sh mongodb` blocks (docs/deploy.md's recipes) run in
//!   [`mongodb_command_blocks_of_the_docs_run`] against the MongoDB test
//!   server, with [`PLACEHOLDER_URL`] replaced by the server's URL (a fresh
//!   database per document) and an `srun` on `PATH` that runs its command
//!   here (one Slurm array task); a `yaml kubernetes` block is a Job whose
//!   worker container's `command` runs here with its `env`.
//! - Any other block must have an info string (`text`, `json`, …).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The longest a block may run (the README's `taskpool run` trains the
/// built-in example, about a minute in a debug build on 2 busy cores).
const BLOCK_TIMEOUT: Duration = Duration::from_secs(600);

/// One fenced block of a document.
#[derive(Debug, Clone, PartialEq)]
struct Block {
    /// Its 1-based line number (the opening fence).
    line: usize,
    /// The info string after the fence.
    info: String,
    /// The lines between the fences.
    body: String,
}

/// What the test does with a block.
#[derive(Debug, PartialEq)]
enum Kind<'a> {
    /// Commands to run.
    Run,
    /// Commands not run, and why.
    NoRun(&'a str),
    /// Commands run against the MongoDB test server.
    MongoDb,
    /// Not commands (output, configuration, code in another language).
    Other,
}

impl Block {
    fn kind(&self) -> Result<Kind<'_>, String> {
        let info = self.info.trim();
        if info.is_empty() {
            return Err(format!(
                "line {}: a fenced block needs an info string (sh for commands, text, json, …)",
                self.line
            ));
        }
        let Some(rest) = info.strip_prefix("sh") else {
            return Ok(Kind::Other);
        };
        let rest = rest.trim();
        if rest.is_empty() {
            return Ok(Kind::Run);
        }
        if rest == "mongodb" {
            return Ok(Kind::MongoDb);
        }
        match rest.strip_prefix("no-run:").map(str::trim) {
            Some(reason) if !reason.is_empty() => Ok(Kind::NoRun(reason)),
            _ => Err(format!(
                "line {}: `{info}`: mark a block that must not run as `sh no-run: REASON` \
                 (or one that needs a MongoDB server as `sh mongodb`)",
                self.line
            )),
        }
    }

    /// The texts its `# prints: TEXT` lines require.
    fn expected(&self) -> Vec<&str> {
        self.body
            .lines()
            .filter_map(|l| l.trim().strip_prefix("# prints:"))
            .map(str::trim)
            .collect()
    }
}

/// The fenced blocks of a Markdown document (``` fences, not indented).
fn blocks(markdown: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut open: Option<Block> = None;
    for (i, line) in markdown.lines().enumerate() {
        match (&mut open, line.strip_prefix("```")) {
            (None, Some(info)) => {
                open = Some(Block {
                    line: i + 1,
                    info: info.to_string(),
                    body: String::new(),
                });
            }
            (Some(_), Some(rest)) if rest.trim().is_empty() => {
                out.extend(open.take());
            }
            (Some(block), _) => {
                block.body.push_str(line);
                block.body.push('\n');
            }
            (None, None) => {}
        }
    }
    out
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// README.md and every docs/*.md, sorted.
fn documents() -> Vec<PathBuf> {
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .expect("docs/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    docs.insert(0, root().join("README.md"));
    docs
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// `PATH` with the `taskpool` of this build first, then `extra` (shims).
fn test_path(extra: Option<&Path>) -> std::ffi::OsString {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_taskpool"))
        .parent()
        .expect("bin dir")
        .to_path_buf();
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::join_paths(
        std::iter::once(bin_dir)
            .chain(extra.map(Path::to_path_buf))
            .chain(std::env::split_paths(&path)),
    )
    .expect("PATH")
}

/// A document's name (relative to the checkout), its text, and the
/// directory its blocks run in (holding a copy of `examples/`).
fn open_document(doc: &Path) -> (String, String, tempfile::TempDir) {
    let name = doc
        .strip_prefix(root())
        .unwrap_or(doc)
        .display()
        .to_string();
    let text = std::fs::read_to_string(doc).expect("read doc");
    let dir = tempfile::tempdir().expect("temp dir");
    copy_dir(&root().join("examples"), &dir.path().join("examples"));
    (name, text, dir)
}

/// Run one block in `dir`; `Err` says what went wrong.
fn run_block(doc: &str, block: &Block, dir: &Path) -> Result<(), String> {
    let mut cmd = Command::new("bash");
    cmd.args(["-e", "-o", "pipefail", "-c", &block.body])
        .env("PATH", test_path(None));
    run_command(doc, block, dir, cmd, &[])
}

/// Run `cmd` (one block's commands) in `dir`, with the clean environment of
/// the docs test plus `env`; `Err` says what went wrong.
fn run_command(
    doc: &str,
    block: &Block,
    dir: &Path,
    mut cmd: Command,
    env: &[(String, String)],
) -> Result<(), String> {
    cmd.current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("TASKPOOL_STORE")
        .env_remove("TASKPOOL_POOL")
        .env_remove("TASKPOOL_LOG")
        .envs(env.iter().map(|(k, v)| (k, v)));
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn a block's commands");
    let started = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > BLOCK_TIMEOUT {
            let _ = child.kill();
            return Err(format!(
                "{doc}:{}: still running after {BLOCK_TIMEOUT:?}",
                block.line
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("output");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if !out.status.success() {
        return Err(format!(
            "{doc}:{}: exited with {}:\n{}\n--- printed:\n{printed}",
            block.line, out.status, block.body
        ));
    }
    for text in block.expected() {
        if !printed.contains(text) {
            return Err(format!(
                "{doc}:{}: `# prints: {text}` not found in:\n{printed}",
                block.line
            ));
        }
    }
    Ok(())
}

#[test]
fn blocks_are_parsed_and_classified() {
    let md = "x\n```sh\ntaskpool list\n# prints: demo\n```\n```sh no-run: needs a server\ny\n```\n```json\n{}\n```\n```\nz\n```\n";
    let b = blocks(md);
    assert_eq!(b.len(), 4);
    assert_eq!(b[0].kind(), Ok(Kind::Run));
    assert_eq!(b[0].expected(), vec!["demo"]);
    assert_eq!(b[0].line, 2);
    assert_eq!(b[1].kind(), Ok(Kind::NoRun("needs a server")));
    assert_eq!(b[2].kind(), Ok(Kind::Other));
    assert!(b[3].kind().is_err(), "an unlabeled block is refused");
    let bad = blocks("```sh skip\nx\n```\n");
    assert!(
        bad[0].kind().is_err(),
        "a no-run without a reason is refused"
    );
}

#[test]
fn every_command_block_of_the_docs_runs() {
    let mut failures = Vec::new();
    let mut ran = 0;
    for doc in documents() {
        let (name, text, dir) = open_document(&doc);
        for block in blocks(&text) {
            match block.kind() {
                Err(e) => failures.push(format!("{name}: {e}")),
                Ok(Kind::Other) => {}
                Ok(Kind::NoRun(reason)) => {
                    eprintln!("{name}:{}: not run: {reason}", block.line);
                }
                Ok(Kind::MongoDb) => {
                    eprintln!(
                        "{name}:{}: runs in mongodb_command_blocks_of_the_docs_run",
                        block.line
                    );
                }
                Ok(Kind::Run) => {
                    ran += 1;
                    if let Err(e) = run_block(&name, &block, dir.path()) {
                        failures.push(e);
                    }
                }
            }
        }
    }
    assert!(ran >= 10, "only {ran} command blocks found");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The store URL the MongoDB recipes of the docs show; the test replaces it
/// with the test server's.
const PLACEHOLDER_URL: &str = "mongodb://user:password@db1,db2,db3/research?replicaSet=rs0";

/// A directory with the stand-ins for a cluster scheduler's launchers:
/// `srun CMD…` runs `CMD…` here, as one array task would on its node.
fn scheduler_shims() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let srun = dir.path().join("srun");
    std::fs::write(&srun, "#!/bin/sh\nexec \"$@\"\n").expect("write srun");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&srun, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    dir
}

/// A container of a Kubernetes Job: its command line and environment.
type Container = (Vec<String>, Vec<(String, String)>);

/// The worker containers of a Kubernetes Job, with a `secretKeyRef` value
/// given `secret`.
fn job_commands(yaml: &str, secret: &str) -> Result<Vec<Container>, String> {
    let job: serde_json::Value =
        serde_saphyr::from_str(yaml).map_err(|e| format!("not YAML: {e}"))?;
    if job["kind"] != "Job" || !job["spec"]["parallelism"].is_u64() {
        return Err(format!("not a Job with a parallelism: {job}"));
    }
    let containers = job["spec"]["template"]["spec"]["containers"]
        .as_array()
        .ok_or("no spec.template.spec.containers")?;
    containers
        .iter()
        .map(|c| {
            let command = c["command"]
                .as_array()
                .ok_or("a container without a command")?
                .iter()
                .map(|a| {
                    a.as_str()
                        .map(str::to_string)
                        .ok_or("a non-string argument")
                })
                .collect::<Result<Vec<_>, _>>()?;
            let env = c["env"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| {
                    let name = e["name"].as_str().ok_or("an env entry without a name")?;
                    let value = match (&e["value"], &e["valueFrom"]["secretKeyRef"]) {
                        (serde_json::Value::String(v), _) => v.clone(),
                        (_, r) if r.is_object() => secret.to_string(),
                        _ => return Err("an env entry without a value"),
                    };
                    Ok((name.to_string(), value))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok((command, env))
        })
        .collect::<Result<Vec<_>, &str>>()
        .map_err(str::to_string)
}

/// docs/deploy.md's recipes (`sh mongodb` blocks, the `yaml kubernetes`
/// Job) run against the MongoDB test server, in order, one fresh database
/// per document.
#[test]
fn mongodb_command_blocks_of_the_docs_run() {
    let Some(server) = crate::support::mongodb_server() else {
        return;
    };
    let shims = scheduler_shims();
    let mut failures = Vec::new();
    let (mut ran, mut jobs) = (0, 0);
    let mut databases = Vec::new();
    for doc in documents() {
        let (name, text, dir) = open_document(&doc);
        let database = crate::support::mongodb_test_database();
        let url = crate::support::with_database(&server, &database);
        databases.push(database);
        for block in blocks(&text) {
            if block.kind() == Ok(Kind::MongoDb) {
                ran += 1;
                let body = block.body.replace(PLACEHOLDER_URL, &url);
                let mut cmd = Command::new("bash");
                cmd.args(["-e", "-o", "pipefail", "-c", &body])
                    .env("PATH", test_path(Some(shims.path())));
                if let Err(e) = run_command(&name, &block, dir.path(), cmd, &[]) {
                    failures.push(e);
                }
            } else if block.info.trim() == "yaml kubernetes" {
                jobs += 1;
                let containers = match job_commands(&block.body, &url) {
                    Ok(c) if !c.is_empty() => c,
                    Ok(_) => {
                        failures.push(format!("{name}:{}: a Job without containers", block.line));
                        continue;
                    }
                    Err(e) => {
                        failures.push(format!("{name}:{}: {e}", block.line));
                        continue;
                    }
                };
                for (command, env) in containers {
                    let mut cmd = Command::new(&command[0]);
                    cmd.args(&command[1..]).env("PATH", test_path(None));
                    if let Err(e) = run_command(&name, &block, dir.path(), cmd, &env) {
                        failures.push(e);
                    }
                }
            }
        }
    }
    for db in &databases {
        crate::support::drop_mongodb_database(db);
    }
    assert!(ran >= 2, "only {ran} `sh mongodb` blocks found");
    assert!(jobs >= 1, "no `yaml kubernetes` block found");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
