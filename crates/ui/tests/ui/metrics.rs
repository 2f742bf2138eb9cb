//! `GET /metrics`: the Prometheus exposition of the store.

use axum::http::StatusCode;

use crate::support::{Fixture, POOL, get};

#[tokio::test]
async fn metrics_expose_counts_expired_leases_durations_and_failed_attempts() {
    let fx = Fixture::new().await;
    let page = get(&fx.open_router(), "/metrics").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.headers["content-type"]
            .to_str()
            .unwrap()
            .contains("openmetrics-text")
    );
    for line in [
        format!(r#"taskpool_tasks{{pool="{POOL}",status="waiting"}} 2"#),
        format!(r#"taskpool_tasks{{pool="{POOL}",status="running"}} 2"#),
        format!(r#"taskpool_tasks{{pool="{POOL}",status="failed"}} 1"#),
        format!(r#"taskpool_expired_leases{{pool="{POOL}"}} 1"#),
        format!(r#"taskpool_task_duration_seconds_count{{pool="{POOL}"}} 1"#),
        format!(r#"taskpool_task_duration_seconds_sum{{pool="{POOL}"}} 3.0"#),
        format!(r#"taskpool_failed_attempts_total{{pool="{POOL}"}} 1"#),
        "# EOF".to_string(),
    ] {
        assert!(
            page.body.lines().any(|l| l == line),
            "no line {line} in\n{}",
            page.body
        );
    }
}

#[tokio::test]
async fn metrics_window_leaves_out_tasks_created_before_it() {
    let fx = Fixture::new().await;
    let router = fx.router(&taskpool_ui::UiOptions {
        duration_window: std::time::Duration::from_secs(60),
        ..taskpool_ui::UiOptions::default()
    });
    let page = get(&router, "/metrics").await;
    let line = format!(r#"taskpool_task_duration_seconds_count{{pool="{POOL}"}} 0"#);
    assert!(
        page.body.lines().any(|l| l == line),
        "the fixture's tasks are an hour old:\n{}",
        page.body
    );
}
