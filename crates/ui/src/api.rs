//! `/api/`: the same data as the pages, as JSON in the shapes of the CLI's
//! `--json` output (see `docs/dashboard.md`):
//!
//! | route | shape |
//! |---|---|
//! | `GET /api/pools` | `[{"pool", "waiting", …, "failed", "total", "expired_leases"}]` |
//! | `GET /api/pools/{pool}/stat` | `taskpool stat --json`: `{"waiting", …, "total"}` |
//! | `GET /api/pools/{pool}/tasks?status&q&text&sort&after&limit` | `{"tasks": [task as in query --json], "next", "scanned"}` |
//! | `GET /api/pools/{pool}/tasks/{id}` | `taskpool get --json` |
//! | `GET /api/pools/{pool}/lost` | `taskpool lost --json`: `{"lost": [...], "requeued": null}` |
//! | `GET /api/experiments` | the lines of `taskpool records --json` (no experiment) as an array: `[{"experiment"}]` |
//! | `GET /api/experiments/{experiment}/records` | the lines of `taskpool records -e EXPERIMENT --json` as an array: records with `artifacts` |

use axum::Json;
use axum::extract::{Path, Query as QueryString, State};
use serde_json::{Value, json};
use taskpool::pipeline::worker::{LostTask, find_lost};
use taskpool::store::{Query, Timestamp};

use crate::error::{ApiError, UiError};
use crate::listing::ListParams;
use crate::pages::experiments::records;
use crate::pages::task::parse_id;
use crate::state::AppState;
use crate::summary::all_pools;

type ApiResult = Result<Json<Value>, ApiError>;

fn store_error(state: &AppState) -> impl Fn(taskpool::store::Error) -> ApiError + '_ {
    move |e| ApiError(UiError::from_store(&e, |t| state.scrub(t)))
}

fn to_json(value: impl serde::Serialize) -> ApiResult {
    serde_json::to_value(value).map(Json).map_err(|e| {
        ApiError(UiError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            e.to_string(),
        ))
    })
}

/// `GET /api/pools`.
pub(crate) async fn pools(State(state): State<AppState>) -> ApiResult {
    to_json(
        all_pools(state.store())
            .await
            .map_err(store_error(&state))?,
    )
}

/// `GET /api/pools/{pool}/stat`.
pub(crate) async fn stat(State(state): State<AppState>, Path(pool): Path<String>) -> ApiResult {
    let stat = state
        .store()
        .stat(&pool, &Query::All)
        .await
        .map_err(store_error(&state))?;
    let mut doc = serde_json::to_value(stat).unwrap_or_else(|_| json!({}));
    if let Value::Object(map) = &mut doc {
        map.insert("total".into(), stat.total().into());
    }
    Ok(Json(doc))
}

/// `GET /api/pools/{pool}/tasks`.
pub(crate) async fn tasks(
    State(state): State<AppState>,
    Path(pool): Path<String>,
    QueryString(params): QueryString<ListParams>,
) -> ApiResult {
    let listing = params.parse().map_err(ApiError)?;
    to_json(
        listing
            .fetch(state.store(), &pool)
            .await
            .map_err(store_error(&state))?,
    )
}

/// `GET /api/pools/{pool}/tasks/{id}`.
pub(crate) async fn task(
    State(state): State<AppState>,
    Path((pool, id)): Path<(String, String)>,
) -> ApiResult {
    let id = parse_id(&id).map_err(ApiError)?;
    to_json(
        state
            .store()
            .get(&pool, id)
            .await
            .map_err(store_error(&state))?,
    )
}

/// `GET /api/pools/{pool}/lost`.
pub(crate) async fn lost(State(state): State<AppState>, Path(pool): Path<String>) -> ApiResult {
    let lost = find_lost(state.store(), &pool, Query::All, Timestamp::now())
        .await
        .map_err(store_error(&state))?;
    let lost: Vec<LostTask> = lost.iter().map(LostTask::from).collect();
    Ok(Json(json!({"lost": lost, "requeued": null})))
}

/// `GET /api/experiments`.
pub(crate) async fn experiments(State(state): State<AppState>) -> ApiResult {
    let names = state
        .store()
        .experiments()
        .await
        .map_err(store_error(&state))?;
    let lines = names
        .into_iter()
        .map(|experiment| json!({ "experiment": experiment }))
        .collect();
    Ok(Json(Value::Array(lines)))
}

/// `GET /api/experiments/{experiment}/records`.
pub(crate) async fn experiment_records(
    State(state): State<AppState>,
    Path(experiment): Path<String>,
) -> ApiResult {
    let listed = records(&state, &experiment).await.map_err(ApiError)?;
    let mut docs = Vec::with_capacity(listed.len());
    for (record, artifacts) in listed {
        let mut doc = serde_json::to_value(record).unwrap_or_else(|_| json!({}));
        if let Value::Object(map) = &mut doc {
            map.insert(
                "artifacts".into(),
                serde_json::to_value(artifacts).unwrap_or_default(),
            );
        }
        docs.push(doc);
    }
    Ok(Json(Value::Array(docs)))
}
