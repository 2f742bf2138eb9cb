//! Test support: a SQLite store with tasks in every status, the dashboard's
//! router over it, and requests sent in process.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use taskpool::store::{
    ClaimParams, CommitParams, CreateParams, ManualClock, NewRecord, NewTask, Query, ReturnParams,
    Status, Store, Task, TaskId, Timestamp,
};
use taskpool_ui::UiOptions;
use tower::ServiceExt;

/// The pool every fixture task lives in.
pub const POOL: &str = "demo";
/// The experiment of the fixture records.
pub const EXPERIMENT: &str = "rolling";
/// The token of [`Fixture::with_token`].
pub const TOKEN: &str = "s3cret-token";

/// A store with one task per named role, and the ids of those tasks.
pub struct Fixture {
    /// Holds the database file for the fixture's lifetime.
    _dir: tempfile::TempDir,
    pub url: String,
    pub store: Arc<dyn Store>,
    pub ids: BTreeMap<&'static str, TaskId>,
}

/// The roles: two waiting, one live running, one lost (lease expired), one
/// part_done, one done, one failed (with an error).
pub const ROLES: [&str; 7] = [
    "waiting1",
    "waiting2",
    "live",
    "lost",
    "part_done",
    "done",
    "failed",
];

fn by_name(name: &str) -> Query {
    Query::parse_str(&format!(r#"{{"filter.name": "{name}"}}"#)).unwrap()
}

async fn claim(store: &dyn Store, name: &str, lease: Duration) -> Task {
    let params = ClaimParams {
        query: by_name(name),
        ..ClaimParams::new(format!("worker-{name}"), lease)
    };
    store.claim(POOL, params).await.unwrap().pop().unwrap()
}

impl Fixture {
    /// Tasks in every status. The store's clock stands an hour in the past,
    /// so a 1-minute lease taken on it has expired by the dashboard's time
    /// (the `lost` task) while a 2-hour lease is live.
    pub async fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("ui.db").display());
        let clock = Arc::new(ManualClock::new(Timestamp::from_millis(
            Timestamp::now().as_millis() - 3_600_000,
        )));
        let store = taskpool::open_with_clock(&url, clock.clone())
            .await
            .unwrap();
        let tasks: Vec<NewTask> = ROLES
            .iter()
            .map(|name| NewTask {
                max_attempts: (*name == "failed").then_some(1),
                ..NewTask::from(serde_json::json!({"name": name, "model": "ridge"}))
            })
            .collect();
        let created = store.create(POOL, CreateParams::new(tasks)).await.unwrap();
        let ids = ROLES
            .iter()
            .copied()
            .zip(created.iter().map(|c| c.id))
            .collect();
        claim(store.as_ref(), "live", Duration::from_secs(7200)).await;
        claim(store.as_ref(), "lost", Duration::from_secs(60)).await;
        for (name, status) in [("part_done", Status::PartDone), ("done", Status::Done)] {
            let task = claim(store.as_ref(), name, Duration::from_secs(60)).await;
            clock.advance(Duration::from_secs(3));
            let commit = CommitParams {
                id: task.id,
                token: task.lease.unwrap().token,
                result: serde_json::json!({"ok": name}),
                status,
            };
            store.commit(POOL, commit).await.unwrap();
        }
        let failed = claim(store.as_ref(), "failed", Duration::from_secs(60)).await;
        let give_up = ReturnParams {
            id: failed.id,
            token: failed.lease.unwrap().token,
            error: Some(
                "Traceback (most recent call last):\n  File \"train.py\", line 3\nValueError: boom"
                    .into(),
            ),
            status: None,
        };
        assert_eq!(
            store.return_task(POOL, give_up).await.unwrap(),
            Status::Failed
        );
        Fixture {
            _dir: dir,
            url,
            store,
            ids,
        }
    }

    /// Records of a `taskpool run`-like experiment: `ic`/`rank_ic` metrics
    /// per test window and a `pred` artifact.
    pub async fn with_records(self) -> Fixture {
        for (i, start) in ["2020-01-01", "2020-07-01", "2021-01-01"]
            .iter()
            .enumerate()
        {
            let record = NewRecord {
                pool: Some(POOL.into()),
                task_id: Some(self.ids["done"]),
                metrics: BTreeMap::from([("ic".into(), 0.01 * i as f64), ("rank_ic".into(), 0.02)]),
                tags: BTreeMap::from([("test_start".into(), start.to_string())]),
                ..NewRecord::default()
            };
            let record = self.store.create_record(EXPERIMENT, record).await.unwrap();
            self.store
                .put_artifact(
                    EXPERIMENT,
                    record.id,
                    "pred.csv",
                    b"date,score\n2020-01-02,0.5\n".to_vec(),
                )
                .await
                .unwrap();
        }
        self
    }

    /// The dashboard over the fixture's store, with `options`.
    pub fn router(&self, options: &UiOptions) -> Router {
        taskpool_ui::router(self.store.clone(), &self.url, options)
    }

    /// The dashboard without token.
    pub fn open_router(&self) -> Router {
        self.router(&UiOptions::default())
    }

    /// The dashboard with [`TOKEN`].
    pub fn token_router(&self) -> Router {
        self.router(&UiOptions {
            token: Some(TOKEN.into()),
            ..UiOptions::default()
        })
    }

    /// The task of `role` as stored now.
    pub async fn task(&self, role: &str) -> Task {
        self.store.get(POOL, self.ids[role]).await.unwrap()
    }
}

/// A response's status, headers and body as text.
pub struct Answer {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl Answer {
    /// The body parsed as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// The first CSRF token of the page.
    pub fn csrf(&self) -> String {
        let at = self
            .body
            .find(r#"name="csrf" value=""#)
            .expect("the page has an action form");
        let rest = &self.body[at + r#"name="csrf" value=""#.len()..];
        rest[..rest.find('"').unwrap()].to_string()
    }

    /// Where a redirect points.
    pub fn location(&self) -> &str {
        self.headers[header::LOCATION].to_str().unwrap()
    }
}

async fn send(router: &Router, request: Request<Body>) -> Answer {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// `GET uri`.
pub async fn get(router: &Router, uri: &str) -> Answer {
    send(router, Request::get(uri).body(Body::empty()).unwrap()).await
}

/// `POST uri` with a form of `fields`.
pub async fn post_form(router: &Router, uri: &str, fields: &[(&str, &str)]) -> Answer {
    let body = fields
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let request = Request::post(uri)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap();
    send(router, request).await
}

/// Percent-encode a query or form value.
pub fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
