//! A model's input schema as callers meet it: a record (a JSON object, or a
//! row of a CSV/Parquet file) is checked against the features the model was
//! trained on before it is predicted. Every bad field is named with why, as
//! FastAPI with pydantic answers (`{"type", "loc", "msg", "input"}`); a value
//! far outside the training range is accepted but flagged.

use serde::Serialize;
use serde_json::Value;

use super::preprocess::{Cell, Feature, Preprocessor};

/// One reason a field of a record was refused.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FieldError {
    /// What is wrong: `missing`, `float_type`, `string_type`, `enum`, `model_type`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Where: the field's name, after the caller's prefix (`["body", 3]`).
    pub loc: Vec<Value>,
    /// What is wrong, in words.
    pub msg: String,
    /// The value given (absent for a missing field).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<Value>,
}

/// A value accepted but far outside what the model was trained on.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OutOfRange {
    /// The field.
    pub field: String,
    /// The value given.
    pub value: f64,
    /// The smallest and largest value in the training data.
    pub training_range: [f64; 2],
}

/// Returns true when `value` lies far outside the training range `[min, max]`:
/// further from it than the range is wide (or than 1 when it is a point).
pub fn far_outside(value: f64, min: f64, max: f64) -> bool {
    let margin = if max > min { max - min } else { 1.0 };
    value < min - margin || value > max + margin
}

/// Returns the words for a categorical feature's allowed values: `'a', 'b' or 'c'`.
fn allowed(categories: &[String]) -> String {
    match categories {
        [] => "nothing".into(),
        [only] => format!("'{only}'"),
        [rest @ .., last] => {
            let rest: Vec<String> = rest.iter().map(|c| format!("'{c}'")).collect();
            format!("{} or '{last}'", rest.join(", "))
        }
    }
}

/// Checks one JSON record against the schema: its cells in feature order, or
/// every bad field (each `loc` starts with `prefix`). `null` is a missing
/// value, imputed as in training; fields the model does not use are ignored.
pub fn check_json(
    schema: &Preprocessor,
    record: &Value,
    prefix: &[Value],
) -> Result<(Vec<Cell>, Vec<OutOfRange>), Vec<FieldError>> {
    let at = |field: Option<&str>| {
        let mut loc = prefix.to_vec();
        loc.extend(field.map(|f| Value::String(f.to_owned())));
        loc
    };
    let Some(object) = record.as_object() else {
        return Err(vec![FieldError {
            kind: "model_type",
            loc: at(None),
            msg: "Input should be an object of the model's fields".into(),
            input: Some(record.clone()),
        }]);
    };
    let mut cells = Vec::with_capacity(schema.features.len());
    let mut errors = Vec::new();
    let mut flagged = Vec::new();
    for feature in &schema.features {
        let name = feature.name();
        let Some(value) = object.get(name) else {
            errors.push(FieldError {
                kind: "missing",
                loc: at(Some(name)),
                msg: "Field required".into(),
                input: None,
            });
            continue;
        };
        let checked = match (feature, value) {
            (_, Value::Null) => Ok(Cell::Missing),
            (Feature::Numeric { min, max, .. }, Value::Number(number)) => {
                let x = number.as_f64().unwrap_or(f64::NAN);
                if far_outside(x, *min, *max) {
                    flagged.push(OutOfRange {
                        field: name.to_owned(),
                        value: x,
                        training_range: [*min, *max],
                    });
                }
                Ok(Cell::Number(x))
            }
            (Feature::Numeric { .. }, _) => Err(("float_type", "Input should be a valid number")),
            (Feature::Categorical { categories, .. }, Value::String(_) | Value::Number(_)) => {
                let text = match value {
                    Value::String(text) => text.clone(),
                    _ => value.as_f64().map(|x| x.to_string()).unwrap_or_default(),
                };
                if categories.contains(&text) {
                    Ok(Cell::Text(text))
                } else {
                    errors.push(FieldError {
                        kind: "enum",
                        loc: at(Some(name)),
                        msg: format!("Input should be {}", allowed(categories)),
                        input: Some(value.clone()),
                    });
                    continue;
                }
            }
            (Feature::Categorical { .. }, _) => {
                Err(("string_type", "Input should be a valid string"))
            }
        };
        match checked {
            Ok(cell) => cells.push(cell),
            Err((kind, msg)) => errors.push(FieldError {
                kind,
                loc: at(Some(name)),
                msg: msg.into(),
                input: Some(value.clone()),
            }),
        }
    }
    if errors.is_empty() { Ok((cells, flagged)) } else { Err(errors) }
}

/// Checks one row of a file, given as the text of each feature's cell
/// (`None`: missing), against the schema: its cells, or what is wrong with
/// each bad cell (`column: reason`).
pub fn check_text(schema: &Preprocessor, row: &[Option<&str>]) -> Result<Vec<Cell>, Vec<String>> {
    let mut cells = Vec::with_capacity(row.len());
    let mut errors = Vec::new();
    for (feature, text) in schema.features.iter().zip(row) {
        let Some(text) = text.map(str::trim) else {
            cells.push(Cell::Missing);
            continue;
        };
        match feature {
            Feature::Numeric { name, .. } => match text.parse::<f64>() {
                Ok(x) if x.is_finite() => cells.push(Cell::Number(x)),
                _ => errors.push(format!("`{name}`: `{text}` is not a number")),
            },
            Feature::Categorical { name, categories, .. } => {
                if categories.iter().any(|c| c == text) {
                    cells.push(Cell::Text(text.to_owned()));
                } else {
                    errors.push(format!(
                        "`{name}`: `{text}` is not a category the model knows ({})",
                        allowed(categories)
                    ));
                }
            }
        }
    }
    if errors.is_empty() { Ok(cells) } else { Err(errors) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::preprocess::{Encoding, Missing};
    use serde_json::json;

    fn schema() -> Preprocessor {
        let columns = vec![
            ("size".to_owned(), vec![Cell::Number(1.0), Cell::Number(5.0)]),
            ("colour".to_owned(), vec![Cell::Text("red".into()), Cell::Text("blue".into())]),
        ];
        Preprocessor::fit(&columns, Encoding { standardise: false, missing: Missing::Impute })
    }

    #[test]
    fn a_good_record_gives_its_cells_in_feature_order() {
        let (cells, flagged) =
            check_json(&schema(), &json!({"colour": "red", "size": 2, "extra": 1}), &[]).unwrap();
        assert_eq!(cells, [Cell::Number(2.0), Cell::Text("red".into())]);
        assert!(flagged.is_empty());
        let (cells, _) =
            check_json(&schema(), &json!({"colour": null, "size": null}), &[]).unwrap();
        assert_eq!(cells, [Cell::Missing, Cell::Missing], "null is a missing value");
    }

    #[test]
    fn every_bad_field_is_named_with_why() {
        let prefix = [json!("body"), json!(1)];
        let errors =
            check_json(&schema(), &json!({"size": "big", "colour": "green"}), &prefix).unwrap_err();
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0].loc, [json!("body"), json!(1), json!("size")]);
        assert_eq!(errors[0].kind, "float_type");
        assert_eq!(errors[1].msg, "Input should be 'blue' or 'red'");
        let missing = check_json(&schema(), &json!({"size": 1}), &[]).unwrap_err();
        assert_eq!((missing[0].kind, missing[0].msg.as_str()), ("missing", "Field required"));
        assert_eq!(missing[0].input, None);
        let not_object = check_json(&schema(), &json!([1, 2]), &[]).unwrap_err();
        assert_eq!(not_object[0].kind, "model_type");
    }

    #[test]
    fn far_outside_the_training_range_is_flagged_not_refused() {
        let (_, flagged) =
            check_json(&schema(), &json!({"size": 100, "colour": "red"}), &[]).unwrap();
        assert_eq!(flagged[0].training_range, [1.0, 5.0]);
        assert!(!far_outside(8.9, 1.0, 5.0) && far_outside(9.1, 1.0, 5.0));
        assert!(far_outside(-3.1, 1.0, 5.0) && !far_outside(1.5, 2.0, 2.0));
    }

    #[test]
    fn file_rows_are_checked_cell_by_cell() {
        assert_eq!(
            check_text(&schema(), &[Some(" 3 "), None]).unwrap(),
            [Cell::Number(3.0), Cell::Missing]
        );
        let errors = check_text(&schema(), &[Some("x"), Some("green")]).unwrap_err();
        assert_eq!(errors[0], "`size`: `x` is not a number");
        assert!(errors[1].contains("`green` is not a category the model knows"), "{errors:?}");
    }
}
