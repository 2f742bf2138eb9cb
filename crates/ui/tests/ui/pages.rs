//! The pages: what they show and how they fail.

use axum::http::StatusCode;
use taskpool::store::{Order, Query, QueryParams, Status, TaskId};

use crate::support::{EXPERIMENT, Fixture, POOL, encode, get};

#[tokio::test]
async fn overview_shows_counts_from_stat_and_expired_leases() {
    let fx = Fixture::new().await;
    let page = get(&fx.open_router(), "/").await;
    assert_eq!(page.status, StatusCode::OK);
    for (status, n) in [
        (Status::Waiting, 2),
        (Status::Running, 2),
        (Status::PartDone, 1),
        (Status::Done, 1),
        (Status::Failed, 1),
    ] {
        let cell = format!(
            r#"id="count-{POOL}-{status}"><a href="/pools/{POOL}?status={status}">{n}</a>"#
        );
        assert!(page.body.contains(&cell), "no {cell} in {}", page.body);
    }
    assert!(page.body.contains(&format!(r#"id="total-{POOL}">7<"#)));
    assert!(page.body.contains(&format!(
        r##"id="expired-{POOL}"><a href="/lost#pool-{POOL}">1</a>"##
    )));
    assert!(
        page.body.contains(r#"http-equiv="refresh""#),
        "the overview refreshes itself"
    );
}

#[tokio::test]
async fn overview_shows_the_store_url() {
    let fx = Fixture::new().await;
    let page = get(&fx.open_router(), "/").await;
    assert!(page.body.contains(&fx.store.to_string()));
}

#[tokio::test]
async fn pool_page_pages_by_key_without_overlap() {
    let fx = Fixture::new().await;
    let router = fx.open_router();
    let mut seen = Vec::new();
    let mut uri = format!("/pools/{POOL}?limit=3");
    for _ in 0..5 {
        let page = get(&router, &uri).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let mut on_page: Vec<_> = fx
            .ids
            .values()
            .filter(|id| page.body.contains(&format!("/tasks/{id}\"")))
            .copied()
            .collect();
        on_page.sort();
        seen.extend(on_page);
        match page.body.find(r#"id="next-page" href=""#) {
            Some(at) => {
                let rest = &page.body[at + r#"id="next-page" href=""#.len()..];
                uri = rest[..rest.find('"').unwrap()].replace("&amp;", "&");
                assert!(uri.contains("after="), "{uri}");
            }
            None => break,
        }
    }
    let mut expected: Vec<_> = fx.ids.values().copied().collect();
    expected.sort();
    assert_eq!(seen, expected, "every task once, in id order");
}

#[tokio::test]
async fn pool_page_filters_by_status_query_and_text() {
    let fx = Fixture::new().await;
    let router = fx.open_router();
    let failed = get(&router, &format!("/pools/{POOL}?status=failed")).await;
    assert!(failed.body.contains(&fx.ids["failed"].to_string()));
    assert!(!failed.body.contains(&format!("/tasks/{}", fx.ids["done"])));
    let q = encode(r#"{"filter.name": {"$in": ["done", "lost"]}}"#);
    let queried = get(&router, &format!("/pools/{POOL}?q={q}")).await;
    assert_eq!(queried.status, StatusCode::OK, "{}", queried.body);
    assert!(queried.body.contains(&format!("/tasks/{}", fx.ids["done"])));
    assert!(queried.body.contains(&format!("/tasks/{}", fx.ids["lost"])));
    assert!(
        !queried
            .body
            .contains(&format!("/tasks/{}", fx.ids["waiting1"]))
    );
    let text = get(&router, &format!("/pools/{POOL}?text=PART_D")).await;
    assert!(
        text.body
            .contains(&format!("/tasks/{}", fx.ids["part_done"]))
    );
    assert!(!text.body.contains(&format!("/tasks/{}", fx.ids["done"])));
    assert!(text.body.contains("Text search: read 7 task(s)"));
}

#[tokio::test]
async fn pool_page_with_a_bad_query_is_a_400_naming_the_problem() {
    let fx = Fixture::new().await;
    let router = fx.open_router();
    let bad = get(
        &router,
        &format!(
            "/pools/{POOL}?q={}",
            encode(r#"{"filter.x": {"$regex": "a"}}"#)
        ),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("bad query"), "{}", bad.body);
    assert!(bad.body.contains("$regex"), "{}", bad.body);
    for uri in [
        format!("/pools/{POOL}?status=sleeping"),
        format!("/pools/{POOL}?limit=0"),
        format!("/pools/{POOL}?limit=100000"),
        format!("/pools/{POOL}?after=not-an-id"),
        "/pools/bad%20pool%2F".to_string(),
    ] {
        let page = get(&router, &uri).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{uri}: {}", page.body);
        assert!(page.body.contains("error-message"));
    }
}

#[tokio::test]
async fn task_page_shows_lease_errors_and_timestamps() {
    let fx = Fixture::new().await;
    let router = fx.open_router();
    let failed = get(
        &router,
        &format!("/pools/{POOL}/tasks/{}", fx.ids["failed"]),
    )
    .await;
    assert_eq!(failed.status, StatusCode::OK);
    assert!(
        failed
            .body
            .contains(r#"<pre class="traceback">Traceback (most recent call last):"#),
        "{}",
        failed.body
    );
    assert!(failed.body.contains("ValueError: boom"));
    assert!(failed.body.contains("worker-failed"));
    let lost = get(&router, &format!("/pools/{POOL}/tasks/{}", fx.ids["lost"])).await;
    assert!(lost.body.contains("lease expired"));
    assert!(lost.body.contains("worker-lost"));
    assert!(lost.body.contains("action-requeue"));
    let done = get(&router, &format!("/pools/{POOL}/tasks/{}", fx.ids["done"])).await;
    assert!(
        done.body.contains("&quot;ok&quot;: &quot;done&quot;"),
        "the result is shown"
    );
}

#[tokio::test]
async fn task_page_of_a_missing_task_is_a_404_and_a_bad_id_a_400() {
    let fx = Fixture::new().await;
    let router = fx.open_router();
    let missing = get(&router, &format!("/pools/{POOL}/tasks/{}", "0".repeat(24))).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.body.contains("error-message"));
    let bad = get(&router, &format!("/pools/{POOL}/tasks/xyz")).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        get(&router, "/no/such/page").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn lost_page_lists_only_expired_leases() {
    let fx = Fixture::new().await;
    let page = get(&fx.open_router(), "/lost").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(&fx.ids["lost"].to_string()));
    assert!(!page.body.contains(&fx.ids["live"].to_string()));
    assert!(page.body.contains("worker-lost"));
}

#[tokio::test]
async fn experiment_page_shows_records_chart_and_artifacts() {
    let fx = Fixture::new().await.with_records().await;
    let router = fx.open_router();
    let list = get(&router, "/experiments").await;
    assert!(list.body.contains(&format!("/experiments/{EXPERIMENT}")));
    let page = get(&router, &format!("/experiments/{EXPERIMENT}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(r#"<svg id="ic-chart""#), "{}", page.body);
    assert!(page.body.contains("<polyline"));
    assert!(page.body.contains("test_start = 2020-07-01"));
    let at = page
        .body
        .find("/artifacts/pred.csv")
        .expect("artifact link");
    let start = page.body[..at].rfind('"').unwrap() + 1;
    let link = &page.body[start..at + "/artifacts/pred.csv".len()];
    let download = get(&router, link).await;
    assert_eq!(download.status, StatusCode::OK);
    assert_eq!(download.body, "date,score\n2020-01-02,0.5\n");
    assert!(
        download.headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let missing = get(&router, &link.replace("pred.csv", "nope.csv")).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

/// The task ids of a page, in the order the page shows them.
fn ids_in_page_order(fx: &Fixture, body: &str) -> Vec<TaskId> {
    let mut shown: Vec<(usize, TaskId)> = fx
        .ids
        .values()
        .filter_map(|id| body.find(&format!("/tasks/{id}\"")).map(|at| (at, *id)))
        .collect();
    shown.sort();
    shown.into_iter().map(|(_, id)| id).collect()
}

/// The "next page" link of a page, if any.
fn next_page(body: &str) -> Option<String> {
    let at = body.find(r#"id="next-page" href=""#)? + r#"id="next-page" href=""#.len();
    let rest = &body[at..];
    Some(rest[..rest.find('"').unwrap()].replace("&amp;", "&"))
}

#[tokio::test]
async fn pool_page_sorts_by_priority_creation_and_finish_time_with_keyset_pages() {
    let fx = Fixture::new().await;
    // Priorities that disagree with creation order.
    for (role, priority) in [("failed", 7), ("waiting2", 3), ("done", 3)] {
        let query = Query::ids(&[fx.ids[role]]);
        fx.store.prioritize(POOL, &query, priority).await.unwrap();
    }
    let router = fx.open_router();
    let all = fx.store.query(POOL, QueryParams::default()).await.unwrap();
    for order in Order::ALL {
        let mut expected = all.clone();
        expected.sort_by(|a, b| order.compare(a, b));
        let expected: Vec<TaskId> = expected.iter().map(|t| t.id).collect();
        let mut seen = Vec::new();
        let mut uri = Some(format!("/pools/{POOL}?sort={order}&limit=2"));
        while let Some(here) = uri {
            let page = get(&router, &here).await;
            assert_eq!(page.status, StatusCode::OK, "{here}: {}", page.body);
            seen.extend(ids_in_page_order(&fx, &page.body));
            uri = next_page(&page.body);
            if let Some(next) = &uri {
                assert!(next.contains(&format!("sort={order}")), "{next}");
            }
        }
        assert_eq!(seen, expected, "sort={order}: every task once, in order");
    }
    assert_eq!(
        all.iter().filter(|t| t.finished_at.is_some()).count(),
        2,
        "done and failed have finished (the order has both kinds)"
    );
    let page = get(&router, &format!("/pools/{POOL}?status=waiting")).await;
    for order in ["created_desc", "priority", "finished"] {
        let link = format!(r#"href="/pools/{POOL}?status=waiting&amp;sort={order}""#);
        assert!(page.body.contains(&link), "no {link} in {}", page.body);
    }
}

#[tokio::test]
async fn pool_page_with_a_bad_sort_or_cursor_is_a_400() {
    let fx = Fixture::new().await;
    let router = fx.open_router();
    let id = fx.ids["done"];
    for (uri, says) in [
        (format!("/pools/{POOL}?sort=size"), "bad sort"),
        (
            format!("/pools/{POOL}?sort=priority&after={id}"),
            "ID.PRIORITY.FINISHED",
        ),
        (
            format!("/pools/{POOL}?sort=finished&after={id}.0.soon"),
            "ID.PRIORITY.FINISHED",
        ),
        (
            format!("/api/pools/{POOL}/tasks?sort=priority&after=x.1.-"),
            "bad page cursor",
        ),
    ] {
        let page = get(&router, &uri).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{uri}: {}", page.body);
        assert!(page.body.contains(says), "{uri}: {}", page.body);
    }
}

#[tokio::test]
async fn api_tasks_pages_in_priority_order_with_cursors() {
    let fx = Fixture::new().await;
    let query = Query::ids(&[fx.ids["lost"]]);
    fx.store.prioritize(POOL, &query, 9).await.unwrap();
    let router = fx.open_router();
    let first = get(
        &router,
        &format!("/api/pools/{POOL}/tasks?sort=priority&limit=1"),
    )
    .await
    .json();
    assert_eq!(first["tasks"][0]["_id"], fx.ids["lost"].to_string());
    let next = first["next"].as_str().unwrap();
    assert_eq!(next, format!("{}.9.-", fx.ids["lost"]));
    let rest = get(
        &router,
        &format!("/api/pools/{POOL}/tasks?sort=priority&limit=10&after={next}"),
    )
    .await
    .json();
    let rest: Vec<&str> = rest["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["_id"].as_str().unwrap())
        .collect();
    assert_eq!(rest.len(), 6);
    assert!(!rest.contains(&fx.ids["lost"].to_string().as_str()));
}
