//! A store that becomes unreachable: 503 pages, and the server keeps going.

use std::sync::Arc;

use axum::http::StatusCode;
use taskpool_ui::UiOptions;

use crate::support::{Fixture, POOL, get};
use crate::unplug::Unpluggable;

#[tokio::test]
async fn an_unreachable_store_gives_503_pages_and_the_server_keeps_serving() {
    let fx = Fixture::new().await;
    let store = Arc::new(Unpluggable::new(fx.store.clone()));
    let router = taskpool_ui::router(store.clone(), &fx.url, &UiOptions::default());
    assert_eq!(get(&router, "/").await.status, StatusCode::OK);
    store.set_plugged(false);
    for uri in [
        "/".to_string(),
        format!("/pools/{POOL}"),
        "/lost".into(),
        "/experiments".into(),
        "/metrics".into(),
    ] {
        let page = get(&router, &uri).await;
        assert_eq!(
            page.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{uri}: {}",
            page.body
        );
        assert!(
            page.body.contains("cannot be reached"),
            "{uri}: the page names the problem"
        );
    }
    let api = get(&router, &format!("/api/pools/{POOL}/stat")).await;
    assert_eq!(api.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(api.json()["error"]["status"], 503);
    store.set_plugged(true);
    let again = get(&router, "/").await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
}
