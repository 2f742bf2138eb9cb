//! `/api/`: the shapes of the CLI's `--json` output.

use axum::http::StatusCode;

use crate::support::{EXPERIMENT, Fixture, POOL, get};

#[tokio::test]
async fn api_pools_and_stat_have_the_stat_shape() {
    let fx = Fixture::new().await;
    let router = fx.open_router();
    let pools = get(&router, "/api/pools").await.json();
    assert_eq!(
        pools,
        serde_json::json!([{"pool": POOL, "waiting": 2, "running": 2, "part_done": 1, "done": 1, "failed": 1, "total": 7, "expired_leases": 1}])
    );
    let stat = get(&router, &format!("/api/pools/{POOL}/stat"))
        .await
        .json();
    assert_eq!(
        stat,
        serde_json::json!({"waiting": 2, "running": 2, "part_done": 1, "done": 1, "failed": 1, "total": 7})
    );
}

#[tokio::test]
async fn api_tasks_pages_by_key_and_reports_bad_filters_as_json() {
    let fx = Fixture::new().await;
    let router = fx.open_router();
    let first = get(&router, &format!("/api/pools/{POOL}/tasks?limit=4"))
        .await
        .json();
    assert_eq!(first["tasks"].as_array().unwrap().len(), 4);
    let next = first["next"].as_str().unwrap();
    let rest = get(
        &router,
        &format!("/api/pools/{POOL}/tasks?limit=4&after={next}"),
    )
    .await
    .json();
    assert_eq!(rest["tasks"].as_array().unwrap().len(), 3);
    assert!(rest["next"].is_null());
    assert_eq!(
        rest["tasks"][0]["status"], "part_done",
        "tasks have the query --json shape"
    );
    let bad = get(&router, &format!("/api/pools/{POOL}/tasks?q=nope")).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.json()["error"]["status"], 400);
}

#[tokio::test]
async fn api_task_lost_and_records() {
    let fx = Fixture::new().await.with_records().await;
    let router = fx.open_router();
    let task = get(
        &router,
        &format!("/api/pools/{POOL}/tasks/{}", fx.ids["failed"]),
    )
    .await
    .json();
    assert_eq!(task["_id"], fx.ids["failed"].to_string());
    assert_eq!(task["errors"][0]["attempt"], 1);
    let missing = get(
        &router,
        &format!("/api/pools/{POOL}/tasks/{}", "0".repeat(24)),
    )
    .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let lost = get(&router, &format!("/api/pools/{POOL}/lost"))
        .await
        .json();
    assert_eq!(lost["lost"][0]["_id"], fx.ids["lost"].to_string());
    assert_eq!(lost["lost"][0]["owner"], "worker-lost");
    assert!(lost["requeued"].is_null());
    assert_eq!(
        get(&router, "/api/experiments").await.json(),
        serde_json::json!([{ "experiment": EXPERIMENT }])
    );
    let records = get(&router, &format!("/api/experiments/{EXPERIMENT}/records"))
        .await
        .json();
    assert_eq!(records.as_array().unwrap().len(), 3);
    assert_eq!(records[0]["artifacts"][0]["name"], "pred.csv");
}
