//! The actions: guarded by read-only mode, the token and the CSRF token;
//! each changes exactly what it names.

use axum::http::StatusCode;
use taskpool::store::Status;
use taskpool_ui::UiOptions;

use crate::support::{Fixture, POOL, TOKEN, get, post_form};

fn action(name: &str) -> String {
    format!("/pools/{POOL}/actions/{name}")
}

#[tokio::test]
async fn requeue_with_token_and_csrf_puts_a_lost_task_back() {
    let fx = Fixture::new().await;
    let router = fx.token_router();
    let page = get(&router, "/lost").await;
    assert!(
        page.body.contains(r#"name="token""#),
        "the form asks for the token"
    );
    let id = fx.ids["lost"].to_string();
    let done = post_form(
        &router,
        &action("requeue"),
        &[
            ("csrf", &page.csrf()),
            ("token", TOKEN),
            ("id", &id),
            ("back", "/lost"),
        ],
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert!(
        done.location().starts_with("/lost?msg=1%20task"),
        "{}",
        done.location()
    );
    let task = fx.task("lost").await;
    assert_eq!(task.status, Status::Waiting);
    assert!(task.lease.is_none());
    assert_eq!(
        fx.task("live").await.status,
        Status::Running,
        "a live lease is kept"
    );
}

#[tokio::test]
async fn an_action_without_token_is_401_and_changes_nothing() {
    let fx = Fixture::new().await;
    let router = fx.token_router();
    let csrf = get(&router, "/lost").await.csrf();
    let id = fx.ids["lost"].to_string();
    let refused = post_form(&router, &action("requeue"), &[("csrf", &csrf), ("id", &id)]).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{}", refused.body);
    let wrong = post_form(
        &router,
        &action("requeue"),
        &[("csrf", &csrf), ("id", &id), ("token", "guess")],
    )
    .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    let remove_all = post_form(
        &router,
        &action("remove"),
        &[("csrf", &csrf), ("confirm", POOL)],
    )
    .await;
    assert_eq!(remove_all.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        fx.task("lost").await.status,
        Status::Running,
        "nothing changed"
    );
    assert_eq!(
        fx.store
            .stat(POOL, &taskpool::store::Query::All)
            .await
            .unwrap()
            .total(),
        7
    );
}

#[tokio::test]
async fn an_action_without_a_valid_csrf_token_is_403_and_changes_nothing() {
    let fx = Fixture::new().await;
    let router = fx.open_router();
    let id = fx.ids["failed"].to_string();
    for csrf in [
        "",
        "1.2.3",
        "ffffffff.0000000000000000.00000000000000000000000000000000",
    ] {
        let refused = post_form(&router, &action("reset"), &[("csrf", csrf), ("id", &id)]).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{csrf}");
    }
    let other_server = fx.open_router();
    let foreign = get(&other_server, "/lost").await.csrf();
    let refused = post_form(
        &router,
        &action("reset"),
        &[("csrf", &foreign), ("id", &id)],
    )
    .await;
    assert_eq!(
        refused.status,
        StatusCode::FORBIDDEN,
        "a token of another server"
    );
    assert_eq!(fx.task("failed").await.status, Status::Failed);
}

#[tokio::test]
async fn read_only_hides_and_refuses_actions() {
    let fx = Fixture::new().await;
    let router = fx.router(&UiOptions {
        read_only: true,
        ..UiOptions::default()
    });
    for uri in [
        "/lost".to_string(),
        format!("/pools/{POOL}"),
        format!("/pools/{POOL}/tasks/{}", fx.ids["failed"]),
    ] {
        let page = get(&router, &uri).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(
            !page.body.contains("<form method=\"post\""),
            "{uri} shows no action"
        );
        assert!(!page.body.contains("name=\"csrf\""), "{uri}");
    }
    let csrf = get(&fx.open_router(), "/lost").await.csrf();
    let id = fx.ids["failed"].to_string();
    let refused = post_form(&router, &action("reset"), &[("csrf", &csrf), ("id", &id)]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.body.contains("read-only"));
    assert_eq!(fx.task("failed").await.status, Status::Failed);
}

#[tokio::test]
async fn reset_puts_failed_tasks_of_the_filter_back_to_waiting() {
    let fx = Fixture::new().await;
    let router = fx.open_router();
    let csrf = get(&router, &format!("/pools/{POOL}")).await.csrf();
    let done = post_form(
        &router,
        &action("reset"),
        &[("csrf", &csrf), ("q", r#"{"filter.model": "ridge"}"#)],
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let failed = fx.task("failed").await;
    assert_eq!(failed.status, Status::Waiting);
    assert_eq!(failed.attempts, 0);
    assert_eq!(
        fx.task("done").await.status,
        Status::Done,
        "only failed tasks are reset"
    );
}

#[tokio::test]
async fn prioritize_sets_the_priority_of_one_task_or_a_filter() {
    let fx = Fixture::new().await;
    let router = fx.open_router();
    let csrf = get(&router, &format!("/pools/{POOL}")).await.csrf();
    let id = fx.ids["waiting1"].to_string();
    let one = post_form(
        &router,
        &action("prioritize"),
        &[("csrf", &csrf), ("id", &id), ("priority", "7")],
    )
    .await;
    assert_eq!(one.status, StatusCode::SEE_OTHER);
    assert_eq!(fx.task("waiting1").await.priority, 7);
    assert_eq!(fx.task("waiting2").await.priority, 0);
    let bulk = post_form(
        &router,
        &action("prioritize"),
        &[("csrf", &csrf), ("status", "waiting"), ("priority", "-3")],
    )
    .await;
    assert_eq!(bulk.status, StatusCode::SEE_OTHER);
    assert_eq!(fx.task("waiting1").await.priority, -3);
    assert_eq!(fx.task("waiting2").await.priority, -3);
    assert_eq!(fx.task("done").await.priority, 0);
    let bad = post_form(
        &router,
        &action("prioritize"),
        &[("csrf", &csrf), ("id", &id), ("priority", "high")],
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn remove_deletes_the_filter_and_needs_confirmation_for_a_whole_pool() {
    let fx = Fixture::new().await;
    let router = fx.open_router();
    let csrf = get(&router, &format!("/pools/{POOL}")).await.csrf();
    let all = post_form(&router, &action("remove"), &[("csrf", &csrf)]).await;
    assert_eq!(all.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        fx.store
            .stat(POOL, &taskpool::store::Query::All)
            .await
            .unwrap()
            .total(),
        7
    );
    let text = post_form(
        &router,
        &action("remove"),
        &[("csrf", &csrf), ("text", "done")],
    )
    .await;
    assert_eq!(
        text.status,
        StatusCode::BAD_REQUEST,
        "a text search is no bulk target"
    );
    let done = post_form(
        &router,
        &action("remove"),
        &[("csrf", &csrf), ("status", "done")],
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let stat = fx
        .store
        .stat(POOL, &taskpool::store::Query::All)
        .await
        .unwrap();
    assert_eq!((stat.done, stat.total()), (0, 6));
    let confirmed = post_form(
        &router,
        &action("remove"),
        &[("csrf", &csrf), ("confirm", POOL)],
    )
    .await;
    assert_eq!(confirmed.status, StatusCode::SEE_OTHER);
    assert_eq!(
        fx.store
            .stat(POOL, &taskpool::store::Query::All)
            .await
            .unwrap()
            .total(),
        0
    );
}

#[tokio::test]
async fn an_unknown_action_is_404_and_a_bad_id_400() {
    let fx = Fixture::new().await;
    let router = fx.open_router();
    let csrf = get(&router, "/lost").await.csrf();
    assert_eq!(
        post_form(&router, &action("explode"), &[("csrf", &csrf)])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        post_form(&router, &action("remove"), &[("csrf", &csrf), ("id", "zz")])
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    let get_action = get(&router, &action("remove")).await;
    assert_eq!(
        get_action.status,
        StatusCode::METHOD_NOT_ALLOWED,
        "actions are POST only"
    );
}

#[tokio::test]
async fn an_action_answers_json_when_asked_and_takes_a_bearer_token() {
    let fx = Fixture::new().await;
    let router = fx.token_router();
    let csrf = get(&router, "/lost").await.csrf();
    let request = axum::http::Request::post(action("requeue"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .header("authorization", format!("Bearer {TOKEN}"))
        .body(axum::body::Body::from(format!("csrf={csrf}")))
        .unwrap();
    let response = tower::ServiceExt::oneshot(router, request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"action": "requeue", "pool": POOL, "changed": 1})
    );
}
