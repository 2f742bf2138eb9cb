//! The dashboard on the scaling bench's SQLite pools (1k, 100k and 1M
//! waiting tasks, `support/scale.rs`): server time of the overview, the
//! first page of the 1M pool and `/metrics`, each against a baseline in the
//! same run: the store calls that page cannot do without (`stat` of every
//! pool; `stat` + one page query). The pool page is also measured with a
//! status filter that matches nothing, and in every sort order on its first
//! page and on the page 50 tasks from the end (a cursor deep in the pool):
//! keyset pages cost the same wherever they start.
//!
//! Requests go through the router in process (`tower::ServiceExt::oneshot`),
//! so the times are the server's: routing, store calls, rendering, encoding.

mod support;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use criterion::{BenchmarkId, SamplingMode};
use http_body_util::BodyExt;
use support::place::{Kind, Place};
use support::{scale, settings};
use taskpool::store::{Order, Query, QueryParams, Store};
use tokio::runtime::Runtime;
use tower::ServiceExt;

fn get(rt: &Runtime, router: &axum::Router, uri: &str) -> usize {
    rt.block_on(async {
        let request = Request::get(uri).body(Body::empty()).expect("a request");
        let response = router.clone().oneshot(request).await.expect("a response");
        assert_eq!(response.status(), StatusCode::OK, "{uri}");
        response
            .into_body()
            .collect()
            .await
            .expect("a body")
            .to_bytes()
            .len()
    })
}

fn main() {
    let rt = settings::runtime();
    let mut c = settings::criterion();
    let place = Place::named(Kind::Sqlite, "scale");
    let sizes = scale::sizes(Kind::Sqlite);
    {
        let store = rt.block_on(place.open_store());
        for &size in &sizes {
            rt.block_on(scale::ensure(store.as_ref(), size));
        }
    }
    let url = place.url();
    let store: Arc<dyn Store> = rt.block_on(taskpool::open(&url)).expect("open the store");
    let router = taskpool_ui::router(store.clone(), &url, &taskpool_ui::UiOptions::default());
    let largest = scale::pool_name(*sizes.iter().max().expect("a pool size"));
    let pools = rt.block_on(store.pools()).expect("pools");

    let mut group = c.benchmark_group("dashboard_sqlite");
    group.sampling_mode(SamplingMode::Flat);
    group.bench_function("page/overview", |b| b.iter(|| get(&rt, &router, "/")));
    group.bench_function("baseline/stat_every_pool", |b| {
        b.iter(|| {
            for pool in &pools {
                rt.block_on(store.stat(pool, &Query::All)).expect("stat");
            }
        })
    });
    let first_page = format!("/pools/{largest}");
    group.bench_function(BenchmarkId::new("page/pool_first_page", &largest), |b| {
        b.iter(|| get(&rt, &router, &first_page))
    });
    group.bench_function(
        BenchmarkId::new("baseline/stat_and_page_query", &largest),
        |b| {
            b.iter(|| {
                rt.block_on(async {
                    store.stat(&largest, &Query::All).await.expect("stat");
                    let page = QueryParams {
                        query: Query::All,
                        limit: Some(51),
                        skip: 0,
                        ..QueryParams::default()
                    };
                    store.query(&largest, page).await.expect("query")
                })
            })
        },
    );
    let last_page = {
        let params = QueryParams {
            query: Query::All,
            limit: Some(1),
            skip: *sizes.iter().max().expect("a size") - 51,
            ..QueryParams::default()
        };
        let task = rt
            .block_on(store.query(&largest, params))
            .expect("query")
            .remove(0);
        format!("/pools/{largest}?after={}", task.id)
    };
    group.bench_function(BenchmarkId::new("page/pool_last_page", &largest), |b| {
        b.iter(|| get(&rt, &router, &last_page))
    });
    let failed_filter = format!("/pools/{largest}?status=failed");
    group.bench_function(
        BenchmarkId::new("page/pool_status_filter_empty", &largest),
        |b| b.iter(|| get(&rt, &router, &failed_filter)),
    );
    let failed_newest = format!("/pools/{largest}?status=failed&sort=created_desc");
    group.bench_function(
        BenchmarkId::new("page/pool_status_filter_empty_newest_first", &largest),
        |b| b.iter(|| get(&rt, &router, &failed_newest)),
    );
    for order in [Order::CreatedDesc, Order::Priority, Order::Finished] {
        let first = format!("/pools/{largest}?sort={order}");
        group.bench_function(
            BenchmarkId::new(format!("page/pool_sort_{order}_first_page"), &largest),
            |b| b.iter(|| get(&rt, &router, &first)),
        );
        // The page after the task 51st from the end of this order.
        let params = QueryParams {
            limit: Some(1),
            skip: *sizes.iter().max().expect("a size") - 51,
            order,
            ..QueryParams::default()
        };
        let task = rt
            .block_on(store.query(&largest, params))
            .expect("query")
            .remove(0);
        let cursor = match order {
            Order::CreatedDesc => task.id.to_string(),
            _ => format!(
                "{}.{}.{}",
                task.id,
                task.priority,
                task.finished_at
                    .map_or_else(|| "-".to_string(), |t| t.as_millis().to_string())
            ),
        };
        let last = format!("/pools/{largest}?sort={order}&after={cursor}");
        group.bench_function(
            BenchmarkId::new(format!("page/pool_sort_{order}_last_page"), &largest),
            |b| b.iter(|| get(&rt, &router, &last)),
        );
    }
    group.bench_function("page/metrics", |b| b.iter(|| get(&rt, &router, "/metrics")));
    group.finish();
    c.final_summary();
}
