//! A worker's own counters (`taskpool worker --metrics`), scraped over TCP
//! while and after the worker runs.

use std::sync::Arc;

use taskpool::pipeline::worker::{Shutdown, Worker, WorkerConfig, from_async};
use taskpool::store::{CreateParams, MemoryStore, Store, TaskStore};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

async fn scrape(addr: std::net::SocketAddr) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).await.unwrap();
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    text
}

fn value(text: &str, metric: &str) -> String {
    text.lines()
        .find(|l| l.starts_with(metric))
        .unwrap_or_else(|| panic!("no {metric} in {text}"))
        .rsplit(' ')
        .next()
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_metrics_count_claims_commits_failures_and_in_flight() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let defs = (0..3).map(|i| serde_json::json!({"i": i, "fail": i == 1}));
    let mut params = CreateParams::new(defs);
    params.max_attempts = 1;
    store.create("w", params).await.unwrap();
    let release = Arc::new(Notify::new());
    let gate = release.clone();
    let task_fn = from_async(move |input| {
        let gate = gate.clone();
        async move {
            gate.notified().await;
            if input.payload["fail"] == true {
                Err("boom".to_string())
            } else {
                Ok(serde_json::json!({"ok": true}))
            }
        }
    });
    let config = WorkerConfig {
        concurrency: 3,
        ..WorkerConfig::new("w")
    };
    let worker = Worker::new(store.clone() as Arc<dyn TaskStore>, config, task_fn).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(taskpool_ui::worker_metrics::serve_worker_metrics(
        listener,
        "w".into(),
        worker.progress(),
        async move {
            let _ = stopped.await;
        },
    ));
    let mut progress = worker.progress();
    let run = tokio::spawn(async move { worker.run(&Shutdown::new()).await });
    progress.wait_for(|p| p.in_flight == 3).await.unwrap();
    let during = scrape(addr).await;
    assert_eq!(value(&during, "taskpool_worker_in_flight{"), "3");
    assert_eq!(value(&during, "taskpool_worker_claims_total{"), "3");
    assert!(during.contains(r#"pool="w""#));
    while !run.is_finished() {
        release.notify_waiters();
        tokio::task::yield_now().await;
    }
    let report = run.await.unwrap().unwrap();
    assert_eq!((report.committed, report.failed), (2, 1));
    let after = scrape(addr).await;
    assert_eq!(value(&after, "taskpool_worker_in_flight{"), "0");
    assert_eq!(value(&after, "taskpool_worker_commits_total{"), "2");
    assert_eq!(value(&after, "taskpool_worker_failures_total{"), "1");
    assert_eq!(value(&after, "taskpool_worker_lease_losses_total{"), "0");
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}
