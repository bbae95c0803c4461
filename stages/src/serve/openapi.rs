//! `GET /openapi.json`: the API described from what is served, each data
//! set's record schema generated from its model's training schema (numbers
//! with their training range, categories as enums).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::deploy::Deployment;
use crate::model::Task;
use crate::model::preprocess::Feature;
use crate::registry::Served;

/// Returns the JSON Schema of one record of `served`'s data set.
pub fn record_schema(served: &Served) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for feature in &served.model.preprocessor.features {
        let name = feature.name().to_owned();
        let property = match feature {
            Feature::Numeric { min, max, median, .. } => json!({
                "type": ["number", "null"],
                "description": format!("training range {min} to {max}; null is imputed as {median}"),
                "x-training-range": [min, max],
                "example": median,
            }),
            Feature::Categorical { categories, mode, .. } => {
                let mut allowed: Vec<Value> = categories.iter().map(|c| json!(c)).collect();
                allowed.push(Value::Null);
                json!({
                    "type": ["string", "null"],
                    "enum": allowed,
                    "description": format!("null is imputed as {mode:?}"),
                    "example": mode,
                })
            }
        };
        required.push(json!(name));
        properties.insert(name, property);
    }
    json!({
        "type": "object",
        "title": format!("{} record", served.entry.dataset),
        "required": required,
        "properties": properties,
    })
}

/// Returns the JSON Schema of one answer of `served`.
fn answer_schema(served: &Served) -> Value {
    let model = &served.model;
    let prediction = match model.task {
        Task::Regression => {
            json!({"type": "number", "description": format!("predicted {}", model.target)})
        }
        Task::Classification => json!({"type": "string", "enum": model.classes}),
    };
    json!({
        "type": "object",
        "properties": {
            "request_id": {"type": "string"},
            "dataset": {"type": "string"},
            "model_version": {"type": "integer"},
            "prediction": prediction,
            "probabilities": {
                "type": "object",
                "description": "the probability of each class (classification)",
                "additionalProperties": {"type": "number"},
            },
            "out_of_range": {
                "type": "array",
                "description": "fields far outside the training range (answered anyway)",
                "items": {"type": "object"},
            },
        },
    })
}

/// Returns the OpenAPI 3.1 document of the server serving `models`.
pub fn document(models: &BTreeMap<String, Arc<Deployment>>) -> Value {
    let mut schemas = Map::new();
    let mut paths = Map::new();
    let errors = json!({
        "description": "a record does not fit the schema: every bad field, with why",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ValidationError"}}},
    });
    for (dataset, deployment) in models {
        let served = deployment.primary();
        // Namespaced, so that no data set's name can collide with another schema.
        schemas.insert(format!("record_{dataset}"), record_schema(served));
        schemas.insert(format!("answer_{dataset}"), answer_schema(served));
        let record = json!({"$ref": format!("#/components/schemas/record_{dataset}")});
        let operation = json!({
            "summary": format!("Predict {} ({} v{})", served.model.target, served.entry.model, served.version),
            "parameters": [
                {"name": "X-Request-Id", "in": "header", "required": false, "schema": {"type": "string"}},
                {"name": "X-Split-Key", "in": "header", "required": false, "schema": {"type": "string"}},
            ],
            "requestBody": {
                "required": true,
                "content": {"application/json": {"schema": {
                    "oneOf": [record, {"type": "array", "items": record, "minItems": 1}],
                }}},
            },
            "responses": {
                "200": {
                    "description": "the prediction (a list of them under `predictions` for a list)",
                    "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/answer_{dataset}")}}},
                },
                "422": errors,
            },
        });
        paths.insert(format!("/predict/{dataset}"), json!({"post": operation}));
    }
    schemas.insert(
        "ValidationError".into(),
        json!({
            "type": "object",
            "properties": {"detail": {"type": "array", "items": {
                "type": "object",
                "properties": {
                    "type": {"type": "string"},
                    "loc": {"type": "array", "items": {"type": ["string", "integer"]}},
                    "msg": {"type": "string"},
                    "input": {},
                },
            }}},
        }),
    );
    paths.insert(
        "/health".into(),
        json!({"get": {"summary": "Status, uptime and the served models", "responses": {"200": {"description": "ok"}}}}),
    );
    paths.insert(
        "/metrics".into(),
        json!({"get": {"summary": "Prometheus metrics", "responses": {"200": {"description": "text/plain"}}}}),
    );
    json!({
        "openapi": "3.1.0",
        "info": {"title": "pipit serve", "version": env!("CARGO_PKG_VERSION")},
        "paths": paths,
        "components": {"schemas": schemas},
    })
}
