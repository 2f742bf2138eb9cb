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
        match rest.strip_prefix("no-run:").map(str::trim) {
            Some(reason) if !reason.is_empty() => Ok(Kind::NoRun(reason)),
            _ => Err(format!(
                "line {}: `{info}`: mark a block that must not run as `sh no-run: REASON`",
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

/// Run one block in `dir`; `Err` says what went wrong.
fn run_block(doc: &str, block: &Block, dir: &Path) -> Result<(), String> {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_taskpool"))
        .parent()
        .expect("bin dir")
        .to_path_buf();
    let path = std::env::join_paths(std::iter::once(bin_dir).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .expect("PATH");
    let mut child = Command::new("bash")
        .args(["-e", "-o", "pipefail", "-c", &block.body])
        .current_dir(dir)
        .env("PATH", path)
        .env("NO_COLOR", "1")
        .env_remove("TASKPOOL_STORE")
        .env_remove("TASKPOOL_POOL")
        .env_remove("TASKPOOL_LOG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("bash");
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
        let name = doc
            .strip_prefix(root())
            .unwrap_or(&doc)
            .display()
            .to_string();
        let text = std::fs::read_to_string(&doc).expect("read doc");
        let dir = tempfile::tempdir().expect("temp dir");
        copy_dir(&root().join("examples"), &dir.path().join("examples"));
        for block in blocks(&text) {
            match block.kind() {
                Err(e) => failures.push(format!("{name}: {e}")),
                Ok(Kind::Other) => {}
                Ok(Kind::NoRun(reason)) => {
                    eprintln!("{name}:{}: not run: {reason}", block.line);
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
