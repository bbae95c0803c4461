//! The HTTP endpoints.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State as Shared};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Map, Value, json};

use super::State;
use super::deploy::Deployment;
use super::metrics::ModelKey;
use crate::model::Task;
use crate::model::schema::{FieldError, check_json};
use crate::registry::Served;

/// The page with a form to try a prediction.
const PAGE: &str = include_str!("page.html");
/// The page that renders `/openapi.json`.
const DOCS: &str = include_str!("docs.html");
/// The most records one request may hold.
const MAX_BATCH: usize = 10_000;
/// The most field errors one answer names.
const MAX_ERRORS: usize = 100;
/// How many predictions `/recent` keeps.
const RECENT: usize = 20;

/// Returns the server's routes.
pub fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .route("/docs", get(|| async { Html(DOCS) }))
        .route("/openapi.json", get(openapi))
        .route("/recent", get(recent))
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/predict", post(predict_only))
        .route("/predict/{dataset}", post(predict_dataset))
        .with_state(state)
}

/// One line of the prediction log.
#[derive(serde::Serialize)]
struct LogLine<'a> {
    request_id: &'a str,
    time: &'a str,
    dataset: &'a str,
    model_version: u64,
    input: &'a Value,
    output: &'a Map<String, Value>,
    latency_ms: f64,
}

/// Returns what answers `dataset` now.
fn deployment(state: &State, dataset: &str) -> Option<Arc<Deployment>> {
    state.models.read().unwrap_or_else(std::sync::PoisonError::into_inner).get(dataset).cloned()
}

/// Returns what answers each data set now.
fn deployments(state: &State) -> std::collections::BTreeMap<String, Arc<Deployment>> {
    state.models.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
}

async fn openapi(Shared(state): Shared<Arc<State>>) -> Response {
    axum::Json(super::openapi::document(&deployments(&state))).into_response()
}

async fn recent(Shared(state): Shared<Arc<State>>) -> Response {
    let recent = state.recent.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    axum::Json(Value::Array(recent.iter().cloned().collect())).into_response()
}

async fn health(Shared(state): Shared<Arc<State>>) -> Response {
    let started = Instant::now();
    let models: Map<String, Value> = deployments(&state)
        .iter()
        .map(|(dataset, deployment)| {
            let describe = |served: &Served| {
                let entry = &served.entry;
                json!({
                    "version": served.version,
                    "model": entry.model,
                    "task": entry.task,
                    "target": entry.target,
                    "registered": entry.time,
                    "metrics": entry.metrics,
                    "model_blake3": entry.model_blake3,
                })
            };
            let mut model = describe(deployment.primary());
            if deployment.arms.len() > 1 {
                let arms: Vec<Value> = deployment
                    .arms
                    .iter()
                    .map(|arm| {
                        let mut described = describe(&arm.served);
                        described["share"] = json!(arm.share);
                        described
                    })
                    .collect();
                model = json!({"split": arms});
            }
            (dataset.clone(), model)
        })
        .collect();
    let body = json!({
        "status": "ok",
        "uptime_seconds": state.started.elapsed().as_secs_f64(),
        "models": models,
    });
    state.metrics.request("/health", 200, started.elapsed());
    axum::Json(body).into_response()
}

async fn metrics(Shared(state): Shared<Arc<State>>) -> Response {
    let started = Instant::now();
    let served: Vec<ModelKey> = deployments(&state)
        .values()
        .flat_map(|d| &d.arms)
        .map(|arm| ModelKey {
            dataset: arm.served.entry.dataset.clone(),
            version: arm.served.version,
        })
        .collect();
    let text = state.metrics.render(&served, state.log.lost());
    state.metrics.request("/metrics", 200, started.elapsed());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response()
}

/// `POST /predict`: the only data set served.
async fn predict_only(
    Shared(state): Shared<Arc<State>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    let only = {
        let models = state.models.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        if models.len() == 1 { models.values().next().cloned() } else { None }
    };
    let answer = match only {
        Some(deployment) => predict(&state, &deployment, &headers, &body),
        None => {
            let models = deployments(&state);
            let names: Vec<&String> = models.keys().collect();
            let message = format!(
                "several data sets are served: use /predict/{{dataset}} with one of {names:?}"
            );
            (StatusCode::NOT_FOUND, axum::Json(json!({"detail": message}))).into_response()
        }
    };
    state.metrics.request("/predict", answer.status().as_u16(), started.elapsed());
    answer
}

/// `POST /predict/{dataset}`.
async fn predict_dataset(
    Shared(state): Shared<Arc<State>>,
    Path(dataset): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    let deployment = deployment(&state, &dataset);
    let answer = match deployment {
        Some(deployment) => predict(&state, &deployment, &headers, &body),
        None => {
            let message = format!("no model is served for `{dataset}`");
            (StatusCode::NOT_FOUND, axum::Json(json!({"detail": message}))).into_response()
        }
    };
    state.metrics.request("/predict/{dataset}", answer.status().as_u16(), started.elapsed());
    answer
}

/// Returns the request's id: its `X-Request-Id`, or a new one.
fn request_id(headers: &HeaderMap) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    if let Some(id) = headers.get("x-request-id").and_then(|v| v.to_str().ok())
        && !id.is_empty()
        && id.len() <= 200
    {
        return id.to_owned();
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let seed =
        format!("{nanos}-{}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed));
    blake3::hash(seed.as_bytes()).to_hex()[..32].to_owned()
}

fn unprocessable(detail: Vec<FieldError>) -> Response {
    (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(json!({"detail": detail}))).into_response()
}

/// Checks and predicts one record or a list of them with the version of
/// `deployment` that the request's split key (`X-Split-Key`, else its id) picks.
fn predict(state: &State, deployment: &Deployment, headers: &HeaderMap, body: &[u8]) -> Response {
    let started = Instant::now();
    let id = request_id(headers);
    let key = headers.get("x-split-key").and_then(|v| v.to_str().ok()).unwrap_or(&id);
    let served = deployment.pick(key);
    let parsed: Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(error) => {
            return unprocessable(vec![FieldError {
                kind: "json_invalid",
                loc: vec![json!("body"), json!(error.column())],
                msg: format!("JSON decode error: {error}"),
                input: None,
            }]);
        }
    };
    let (records, batch) = match &parsed {
        Value::Array(items) => (items.iter().collect::<Vec<_>>(), true),
        single => (vec![single], false),
    };
    if batch && !(1..=MAX_BATCH).contains(&records.len()) {
        let (kind, msg) = if records.is_empty() {
            ("too_short", "List should have at least 1 item".to_owned())
        } else {
            ("too_long", format!("List should have at most {MAX_BATCH} items"))
        };
        return unprocessable(vec![FieldError {
            kind,
            loc: vec![json!("body")],
            msg,
            input: None,
        }]);
    }
    let schema = &served.model.preprocessor;
    let mut cells = Vec::with_capacity(records.len());
    let mut flags = Vec::with_capacity(records.len());
    let mut errors = Vec::new();
    for (index, record) in records.iter().enumerate() {
        let prefix = if batch { vec![json!("body"), json!(index)] } else { vec![json!("body")] };
        match check_json(schema, record, &prefix) {
            Ok((row, flagged)) => {
                cells.push(row);
                flags.push(flagged);
            }
            // Enough to say what is wrong; a whole bad batch would make a
            // larger answer than its question.
            Err(bad) if errors.len() < MAX_ERRORS => errors.extend(bad),
            Err(_) => {}
        }
    }
    if !errors.is_empty() {
        errors.truncate(MAX_ERRORS);
        return unprocessable(errors);
    }
    // A large batch takes a while: let the runtime move other requests to
    // another worker meanwhile.
    let predicted = if cells.len() > 256 {
        tokio::task::block_in_place(|| served.model.predict(&cells))
    } else {
        served.model.predict(&cells)
    };
    let (values, probabilities) = match predicted {
        Ok(predicted) => predicted,
        Err(error) => {
            let detail = format!("the model failed to predict: {error:#}");
            return (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(json!({"detail": detail})))
                .into_response();
        }
    };
    let finite =
        values.iter().chain(probabilities.iter().flatten().flatten()).all(|x| x.is_finite());
    if !finite {
        return unprocessable(vec![FieldError {
            kind: "value_error",
            loc: vec![json!("body")],
            msg: "the model gives no finite prediction for these values (far outside the training range?)".into(),
            input: None,
        }]);
    }
    let model = &served.model;
    let key = ModelKey { dataset: served.entry.dataset.clone(), version: served.version };
    let mut answers = Vec::with_capacity(values.len());
    for (index, value) in values.iter().enumerate() {
        let mut answer = Map::new();
        match model.task {
            Task::Regression => {
                answer.insert("prediction".into(), json!(value));
            }
            Task::Classification => {
                let probabilities = probabilities.as_ref().and_then(|p| p.get(index));
                let name = model.classes.get(*value as usize).cloned().unwrap_or_default();
                answer.insert("prediction".into(), json!(name));
                if let Some(p) = probabilities {
                    let by_class: Map<String, Value> =
                        model.classes.iter().cloned().zip(p.iter().map(|x| json!(x))).collect();
                    answer.insert("probabilities".into(), Value::Object(by_class));
                }
            }
        }
        if !flags[index].is_empty() {
            answer.insert("out_of_range".into(), json!(flags[index]));
        }
        answers.push(answer);
    }
    match model.task {
        Task::Regression => state.metrics.values(&key, &values),
        Task::Classification => state.metrics.classes(
            &key,
            answers.iter().filter_map(|a| a.get("prediction").and_then(Value::as_str)),
        ),
    }
    state.metrics.predicted(&key, started.elapsed());
    if state.monitored.contains(&key.dataset) {
        state.windows.add(
            &key.dataset,
            &served.model.preprocessor.features,
            records.iter().copied(),
        );
    }
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    let time = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    for (record, answer) in records.iter().zip(&answers) {
        let line = LogLine {
            request_id: &id,
            time: &time,
            dataset: &key.dataset,
            model_version: key.version,
            input: record,
            output: answer,
            latency_ms,
        };
        if let Ok(line) = serde_json::to_string(&line) {
            state.log.write(line);
        }
    }
    {
        let mut recent = state.recent.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        for answer in answers.iter().take(RECENT) {
            recent.push_front(json!({
                "time": time,
                "dataset": key.dataset,
                "model_version": key.version,
                "prediction": answer.get("prediction"),
            }));
        }
        recent.truncate(RECENT);
    }
    let mut body = Map::new();
    body.insert("request_id".into(), json!(id));
    body.insert("dataset".into(), json!(key.dataset));
    body.insert("model_version".into(), json!(key.version));
    if batch {
        body.insert("predictions".into(), json!(answers));
    } else if let Some(answer) = answers.into_iter().next() {
        body.extend(answer);
    }
    let mut response = axum::Json(Value::Object(body)).into_response();
    if let Ok(value) = id.parse() {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}
