//! `GET /experiments`, `GET /experiments/{experiment}` (records with their
//! params, metrics, tags and artifacts; an IC chart when the records carry
//! `ic` metrics, as `taskpool run`'s do) and the artifact download.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use taskpool::store::{ArtifactInfo, Record, RecordFilter, RecordId};

use crate::actions::encode;
use crate::error::{PageError, UiError};
use crate::layout;
use crate::pages::pool::cut;
use crate::state::AppState;

/// The metrics the IC chart draws, in this order and colour.
const CHART_SERIES: [(&str, &str); 2] = [("ic", "#1a5fb4"), ("rank_ic", "#c64600")];
/// The tag `taskpool run` puts the test window's first day in (chart order).
const TEST_START_TAG: &str = "test_start";

/// A record with its artifacts.
pub(crate) type Listed = (Record, Vec<ArtifactInfo>);

/// The records of `experiment` with their artifacts.
pub(crate) async fn records(state: &AppState, experiment: &str) -> Result<Vec<Listed>, UiError> {
    let store = state.store();
    let scrub = |e: taskpool::store::Error| UiError::from_store(&e, |t| state.scrub(t));
    let records = store
        .list_records(experiment, &RecordFilter::all())
        .await
        .map_err(scrub)?;
    let mut out = Vec::with_capacity(records.len());
    for record in records {
        let artifacts = store
            .list_artifacts(experiment, record.id)
            .await
            .map_err(scrub)?;
        out.push((record, artifacts));
    }
    Ok(out)
}

/// `GET /experiments`.
pub(crate) async fn list(State(state): State<AppState>) -> Result<Markup, PageError> {
    let names = state
        .store()
        .experiments()
        .await
        .map_err(|e| UiError::from_store(&e, |t| state.scrub(t)))?;
    let body = html! {
        @if names.is_empty() { p { "No experiments yet: records appear when workers store artifacts or `taskpool run` trains." } }
        ul #experiments {
            @for name in &names { li { a href=(format!("/experiments/{}", encode(name))) { (name) } } }
        }
    };
    Ok(layout::page("Experiments", state.label(), None, body))
}

/// `GET /experiments/{experiment}`.
pub(crate) async fn show(
    State(state): State<AppState>,
    Path(experiment): Path<String>,
) -> Result<Markup, PageError> {
    let listed = records(&state, &experiment).await?;
    let exp = encode(&experiment);
    let body = html! {
        (ic_chart(&listed))
        @if listed.is_empty() { p { "No records." } }
        table #records {
            thead { tr { th { "record" } th { "status" } th { "task" } th { "metrics" } th { "tags" } th { "params" } th { "artifacts" } } }
            tbody {
                @for (r, artifacts) in &listed {
                    tr {
                        td { code { (r.id) } br; small { (layout::time(r.finished_at.or(Some(r.created_at)))) } }
                        td { (r.status.as_str()) }
                        td {
                            @match (&r.pool, r.task_id) {
                                (Some(pool), Some(id)) => a href=(format!("/pools/{}/tasks/{id}", encode(pool))) { code { (id) } },
                                (_, Some(id)) => code { (id) },
                                _ => "—",
                            }
                        }
                        td { @for (k, v) in &r.metrics { (k) " = " (format!("{v:.4}")) br; } }
                        td { @for (k, v) in &r.tags { (k) " = " (v) br; } }
                        td { code { (cut(&serde_json::to_string(&r.params).unwrap_or_default(), 120)) } }
                        td {
                            @for a in artifacts {
                                a href=(format!("/experiments/{exp}/records/{}/artifacts/{}", r.id, a.name.split('/').map(encode).collect::<Vec<_>>().join("/"))) { (a.name) }
                                " (" (a.len) " B)" br;
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::page(
        &format!("Experiment {experiment}"),
        state.label(),
        None,
        body,
    ))
}

/// `GET /experiments/{experiment}/records/{id}/artifacts/{*name}`: the bytes,
/// as a download (images inline).
pub(crate) async fn artifact(
    State(state): State<AppState>,
    Path((experiment, id, name)): Path<(String, String, String)>,
) -> Result<Response, PageError> {
    let id = id
        .parse::<RecordId>()
        .map_err(|e| UiError::bad_request(format!("bad record id {id}: {e}")))?;
    let bytes = state
        .store()
        .get_artifact(&experiment, id, &name)
        .await
        .map_err(|e| UiError::from_store(&e, |t| state.scrub(t)))?;
    let file = name.rsplit('/').next().unwrap_or(&name).replace('"', "");
    let (kind, disposition) = match file
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase())
    {
        Some(ext) if ext == "png" => ("image/png", "inline"),
        Some(ext) if ext == "jpg" || ext == "jpeg" => ("image/jpeg", "inline"),
        Some(ext) if ext == "csv" => ("text/csv; charset=utf-8", "attachment"),
        Some(ext) if ext == "json" => ("application/json", "attachment"),
        _ => ("application/octet-stream", "attachment"),
    };
    Ok((
        [
            (header::CONTENT_TYPE, kind.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("{disposition}; filename=\"{file}\""),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
        ],
        bytes,
    )
        .into_response())
}

/// An SVG line chart of the records' `ic` and `rank_ic` metrics, ordered by
/// the test window's start (else creation); nothing when no record has `ic`.
fn ic_chart(listed: &[Listed]) -> Markup {
    let mut points: Vec<&Record> = listed
        .iter()
        .map(|(r, _)| r)
        .filter(|r| r.metrics.contains_key(CHART_SERIES[0].0))
        .collect();
    if points.is_empty() {
        return html! {};
    }
    points.sort_by(|a, b| {
        (a.tags.get(TEST_START_TAG), a.created_at).cmp(&(b.tags.get(TEST_START_TAG), b.created_at))
    });
    let values = points
        .iter()
        .flat_map(|r| {
            CHART_SERIES
                .iter()
                .filter_map(|(m, _)| r.metrics.get(*m).copied())
        })
        .filter(|v| v.is_finite());
    let (lo, hi) = values.fold((0.0f64, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let span = if hi - lo > 0.0 { hi - lo } else { 1.0 };
    let (w, h, pad) = (640.0, 220.0, 30.0);
    let x = |i: usize| pad + (w - 2.0 * pad) * (i as f64 + 0.5) / points.len() as f64;
    let y = |v: f64| pad + (h - 2.0 * pad) * (hi - v) / span;
    let label = |r: &Record| {
        r.tags
            .get(TEST_START_TAG)
            .cloned()
            .unwrap_or_else(|| r.created_at.to_string())
    };
    html! {
        h2 { "IC per window" }
        svg #ic-chart xmlns="http://www.w3.org/2000/svg" width=(w) height=(h) viewBox=(format!("0 0 {w} {h}")) role="img" {
            title { "IC and rank IC per record" }
            line x1=(pad) x2=(w - pad) y1=(y(0.0)) y2=(y(0.0)) stroke="#999" stroke-dasharray="4 3" {}
            text x="2" y=(y(hi) + 4.0) font-size="11" { (format!("{hi:.3}")) }
            text x="2" y=(y(lo) + 4.0) font-size="11" { (format!("{lo:.3}")) }
            text x=(pad) y=(h - 6.0) font-size="11" { (label(points[0])) }
            text x=(w - pad) y=(h - 6.0) font-size="11" text-anchor="end" { (label(points[points.len() - 1])) }
            @for (metric, colour) in CHART_SERIES {
                @let pts: Vec<String> = points.iter().enumerate()
                    .filter_map(|(i, r)| r.metrics.get(metric).filter(|v| v.is_finite()).map(|v| format!("{:.1},{:.1}", x(i), y(*v))))
                    .collect();
                polyline points=(pts.join(" ")) fill="none" stroke=(colour) stroke-width="2" {}
                text x=(w - pad) y=(if metric == "ic" { 14.0 } else { 28.0 }) font-size="12" text-anchor="end" fill=(colour) { (metric) }
            }
        }
    }
}
