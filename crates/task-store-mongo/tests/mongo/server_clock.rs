//! Leases on the server's clock: stores whose own clocks disagree by ten
//! minutes never take each other's live leases and do reclaim each other's
//! expired ones.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use task_store::{ClaimParams, Clock, CreateParams, HeartbeatParams, Task, TaskStore, Timestamp};
use task_store_mongo::{MongoOptions, MongoStore};

use super::support;

/// The system clock moved by a fixed number of milliseconds.
#[derive(Debug)]
struct Skewed(i64);

impl Clock for Skewed {
    fn now(&self) -> Timestamp {
        Timestamp::from_millis(Timestamp::now().as_millis() + self.0)
    }
}

const FIVE_MINUTES: i64 = 5 * 60 * 1000;
const LEASE: Duration = Duration::from_millis(1500);
const POOL: &str = "skew";

async fn claim(store: &MongoStore, owner: &str, n: usize) -> Vec<Task> {
    let mut params = ClaimParams::new(owner, LEASE);
    params.n = n;
    store.claim(POOL, params).await.unwrap()
}

#[tokio::test]
async fn skewed_clocks_share_the_servers_lease_times() {
    let test = "skewed_clocks_share_the_servers_lease_times";
    let Some(url) = support::server_url(test) else {
        return;
    };
    // The default options: the server's clock re-measured every minute.
    let options = MongoOptions::default().database(support::database_for(test));
    let ahead =
        support::fresh_store_with(&url, Arc::new(Skewed(FIVE_MINUTES)), options.clone()).await;
    let behind = MongoStore::open(&url, Arc::new(Skewed(-FIVE_MINUTES)), options)
        .await
        .unwrap();
    ahead
        .create(POOL, CreateParams::new([json!({"t": 1}), json!({"t": 2})]))
        .await
        .unwrap();

    let a = claim(&ahead, "ahead", 1).await;
    assert_eq!(a.len(), 1);
    // Each store sees the lease on its own clock.
    let expires = a[0].lease.as_ref().unwrap().expires_at.as_millis();
    let expected = Skewed(FIVE_MINUTES).now().as_millis() + 1500;
    assert!(
        (expires - expected).abs() < 1_000,
        "{expires} vs {expected}"
    );

    // The store behind does not see the ahead store's lease as expired (by
    // its own clock, it will not expire for ten minutes) ...
    let b = claim(&behind, "behind", 5).await;
    assert_eq!(b.len(), 1, "the store behind took a live lease");
    assert_ne!(b[0].id, a[0].id);
    // ... and the store ahead does not see the other's as expired (by its
    // own clock, it expired ten minutes ago).
    assert!(
        claim(&ahead, "ahead", 5).await.is_empty(),
        "the store ahead took a live lease"
    );
    let beat = behind
        .heartbeat(
            POOL,
            HeartbeatParams {
                id: b[0].id,
                token: b[0].lease.as_ref().unwrap().token.clone(),
                lease: LEASE,
            },
        )
        .await
        .unwrap();
    let expected = Skewed(-FIVE_MINUTES).now().as_millis() + 1500;
    assert!((beat.as_millis() - expected).abs() < 1_000);

    // Once both leases expired on the server's clock, each store reclaims
    // the other's task.
    tokio::time::sleep(LEASE + Duration::from_millis(500)).await;
    let back = claim(&behind, "behind", 1).await;
    let forth = claim(&ahead, "ahead", 1).await;
    let mut reclaimed: Vec<_> = back.iter().chain(&forth).map(|t| t.id).collect();
    reclaimed.sort();
    let mut both = vec![a[0].id, b[0].id];
    both.sort();
    assert_eq!(reclaimed, both);
    assert!(back.iter().chain(&forth).all(|t| t.attempts == 2));
}
