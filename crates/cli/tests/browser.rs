//! The dashboard in a real browser: `taskpool ui` on a SQLite store with
//! tasks in every status, driven by headless Chromium over the DevTools
//! protocol (`headless_chrome`). Loads the overview and a task page, checks
//! the rendered counts, requeues the lost task with the token and sees the
//! counts change. Screenshots go to `$TASKPOOL_CACHE/screenshots` (default
//! `~/.cache/taskpool/screenshots`).
//!
//! Needs Debian's `chromium` (`/usr/bin/chromium`, or `TASKPOOL_CHROMIUM`);
//! `.ci/run` installs it. Without it the test prints why and passes, except
//! under CI (`CI` set), where a missing browser fails it.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use headless_chrome::protocol::cdp::Page::CaptureScreenshotFormatOption;
use headless_chrome::{Browser, LaunchOptions, Tab};
use taskpool::store::{
    ClaimParams, CommitParams, CreateParams, ManualClock, NewTask, Query, ReturnParams, Status,
    Timestamp,
};

const POOL: &str = "demo";
const TOKEN: &str = "browser-test-token";

fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("TASKPOOL_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    path.exists().then_some(path)
}

fn screenshots_dir() -> PathBuf {
    let cache = std::env::var_os("TASKPOOL_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
            home.join(".cache").join("taskpool")
        });
    let dir = cache.join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Tasks in every status; the store's clock an hour back, so the `lost`
/// task's one-minute lease has long expired while `live`'s two hours have not.
fn seed(url: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let clock = Arc::new(ManualClock::new(Timestamp::from_millis(
            Timestamp::now().as_millis() - 3_600_000,
        )));
        let store = taskpool::open_with_clock(url, clock).await.unwrap();
        let names = ["waiting", "live", "lost", "part_done", "done", "failed"];
        let tasks = names.iter().map(|name| NewTask {
            max_attempts: (*name == "failed").then_some(1),
            ..NewTask::from(serde_json::json!({"name": name}))
        });
        store
            .create(POOL, CreateParams::new(tasks.collect::<Vec<_>>()))
            .await
            .unwrap();
        let claim = |name: &str, minutes: u64| ClaimParams {
            query: Query::parse_str(&format!(r#"{{"filter.name": "{name}"}}"#)).unwrap(),
            ..ClaimParams::new(format!("worker-{name}"), Duration::from_secs(60 * minutes))
        };
        store.claim(POOL, claim("live", 120)).await.unwrap();
        store.claim(POOL, claim("lost", 1)).await.unwrap();
        for (name, status) in [("part_done", Status::PartDone), ("done", Status::Done)] {
            let task = store.claim(POOL, claim(name, 1)).await.unwrap().remove(0);
            let commit = CommitParams {
                id: task.id,
                token: task.lease.unwrap().token,
                result: serde_json::json!({"ok": true}),
                status,
            };
            store.commit(POOL, commit).await.unwrap();
        }
        let task = store
            .claim(POOL, claim("failed", 1))
            .await
            .unwrap()
            .remove(0);
        let give_up = ReturnParams {
            id: task.id,
            token: task.lease.unwrap().token,
            error: Some("Traceback (most recent call last):\nValueError: boom".into()),
            status: None,
        };
        store.return_task(POOL, give_up).await.unwrap();
    });
}

/// `taskpool ui` on port 0; returns the child and the base URL it printed.
fn start_ui(url: &str) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_taskpool"))
        .args([
            "--store",
            url,
            "ui",
            "--listen",
            "127.0.0.1:0",
            "--token",
            TOKEN,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .trim_end_matches('/')
        .to_string();
    (child, base)
}

struct Stop(Child);

impl Drop for Stop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn text(tab: &Tab, selector: &str) -> String {
    tab.wait_for_element(selector)
        .unwrap_or_else(|e| panic!("no {selector}: {e}"))
        .get_inner_text()
        .unwrap()
        .trim()
        .to_string()
}

fn screenshot(tab: &Tab, name: &str) {
    let png = tab
        .capture_screenshot(CaptureScreenshotFormatOption::Png, None, None, true)
        .unwrap();
    let path = screenshots_dir().join(format!("dashboard-{name}.png"));
    std::fs::write(&path, png).unwrap();
    println!("screenshot: {}", path.display());
}

#[test]
fn dashboard_in_chromium_shows_counts_and_requeues_a_lost_task() {
    let Some(chromium) = chromium() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI needs Chromium for the browser test: .ci/run installs Debian's chromium"
        );
        println!(
            "skipped: no Chromium at /usr/bin/chromium (set TASKPOOL_CHROMIUM or apt-get install chromium)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("browser.db").display());
    seed(&url);
    let (child, base) = start_ui(&url);
    let _stop = Stop(child);
    let profile = dir.path().join("chromium-profile");
    let flags: Vec<&OsStr> = [
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ]
    .iter()
    .map(OsStr::new)
    .collect();
    let options = LaunchOptions::default_builder()
        .path(Some(chromium))
        .headless(true)
        .sandbox(false)
        .user_data_dir(Some(profile))
        .window_size(Some((1280, 900)))
        .args(flags)
        .build()
        .unwrap();
    let browser = Browser::new(options).expect("Chromium starts");
    let tab = browser.new_tab().unwrap();

    tab.navigate_to(&format!("{base}/"))
        .unwrap()
        .wait_until_navigated()
        .unwrap();
    let count = |tab: &Tab, status: &str| text(tab, &format!("#count-{POOL}-{status}"));
    assert_eq!(count(&tab, "waiting"), "1");
    assert_eq!(count(&tab, "running"), "2");
    assert_eq!(count(&tab, "part_done"), "1");
    assert_eq!(count(&tab, "done"), "1");
    assert_eq!(count(&tab, "failed"), "1");
    assert_eq!(text(&tab, &format!("#expired-{POOL}")), "1");
    screenshot(&tab, "overview");

    tab.navigate_to(&format!("{base}/pools/{POOL}?status=failed"))
        .unwrap()
        .wait_until_navigated()
        .unwrap();
    tab.wait_for_element("#tasks a").unwrap().click().unwrap();
    tab.wait_until_navigated().unwrap();
    assert_eq!(text(&tab, "#task-status"), "failed");
    assert!(text(&tab, "pre.traceback").contains("ValueError: boom"));
    screenshot(&tab, "task");

    tab.navigate_to(&format!("{base}/lost"))
        .unwrap()
        .wait_until_navigated()
        .unwrap();
    screenshot(&tab, "lost");
    tab.wait_for_element("table.lost input[name=token]")
        .unwrap()
        .click()
        .unwrap();
    tab.type_str(TOKEN).unwrap();
    tab.wait_for_element("table.lost button.action-requeue")
        .unwrap()
        .click()
        .unwrap();
    tab.wait_until_navigated().unwrap();
    assert_eq!(text(&tab, "#flash"), "1 task(s) requeued");
    assert!(
        tab.wait_for_element("#no-lost").is_ok(),
        "no lost task left"
    );
    screenshot(&tab, "requeued");

    tab.navigate_to(&format!("{base}/"))
        .unwrap()
        .wait_until_navigated()
        .unwrap();
    assert_eq!(count(&tab, "waiting"), "2");
    assert_eq!(count(&tab, "running"), "1");
    assert_eq!(text(&tab, &format!("#expired-{POOL}")), "0");
    screenshot(&tab, "overview-after");
}
