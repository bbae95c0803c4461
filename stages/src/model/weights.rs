//! What each training row counts for: its class's weight under
//! `class_weight` (scikit-learn's name and formulas) times its sample weight
//! (`--weight-column`).

use serde_json::Value;

use super::params::Hyperparameters;

/// Returns each row's weight, or `None` when every row counts 1. `y` holds
/// class indices into `classes` (empty for regression); `class_weight` is
/// `balanced` (n_rows / (n_classes × rows of the class), counted without
/// sample weights, as scikit-learn does) or a map of class → weight (1 for a
/// class it does not name).
pub fn row_weights(
    params: &Hyperparameters,
    classes: &[String],
    y: &[f64],
    sample: Option<&[f64]>,
) -> anyhow::Result<Option<Vec<f64>>> {
    let per_class = match params.0.get("class_weight") {
        None | Some(Value::Null) => None,
        Some(_) if classes.is_empty() => {
            anyhow::bail!("`class_weight` is for classification; a regression has no classes")
        }
        Some(Value::String(s)) if s == "balanced" => {
            let mut counts = vec![0.0; classes.len()];
            y.iter().for_each(|&c| counts[c as usize] += 1.0);
            let rows = y.len() as f64;
            Some(
                counts
                    .iter()
                    .map(|&n| if n > 0.0 { rows / (classes.len() as f64 * n) } else { 1.0 })
                    .collect::<Vec<f64>>(),
            )
        }
        Some(Value::Object(map)) => {
            let mut weights = vec![1.0; classes.len()];
            for (name, weight) in map {
                let Some(index) = classes.iter().position(|c| c == name) else {
                    anyhow::bail!(
                        "`class_weight` names class `{name}`, which the target does not have \
                         (its classes: {})",
                        classes.join(", ")
                    );
                };
                weights[index] = weight.as_f64().unwrap_or(1.0);
            }
            Some(weights)
        }
        Some(other) => anyhow::bail!(
            "`class_weight` must be `balanced` or a map of class → weight, not `{other}`"
        ),
    };
    Ok(match (per_class, sample) {
        (None, None) => None,
        (None, Some(sample)) => Some(sample.to_vec()),
        (Some(per_class), sample) => Some(
            y.iter()
                .enumerate()
                .map(|(row, &c)| per_class[c as usize] * sample.map_or(1.0, |s| s[row]))
                .collect(),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(class_weight: Value) -> Hyperparameters {
        Hyperparameters([("class_weight".to_owned(), class_weight)].into_iter().collect())
    }

    fn classes() -> Vec<String> {
        vec!["no".into(), "yes".into()]
    }

    #[test]
    fn balanced_weighs_classes_as_scikit_learn_does() {
        // 6 rows, 4 of class 0 and 2 of class 1: 6 / (2 × 4) and 6 / (2 × 2).
        let y = [0.0, 0.0, 1.0, 0.0, 1.0, 0.0];
        let weights = row_weights(&params("balanced".into()), &classes(), &y, None).unwrap();
        assert_eq!(weights.unwrap(), [0.75, 0.75, 1.5, 0.75, 1.5, 0.75]);
        let sample = [2.0, 1.0, 1.0, 1.0, 1.0, 1.0];
        let both = row_weights(&params("balanced".into()), &classes(), &y, Some(&sample));
        assert_eq!(both.unwrap().unwrap()[0], 1.5, "class weight × sample weight");
    }

    #[test]
    fn a_map_weighs_the_classes_it_names() {
        let y = [0.0, 1.0];
        let map = serde_json::json!({"yes": 10});
        assert_eq!(row_weights(&params(map), &classes(), &y, None).unwrap().unwrap(), [1.0, 10.0]);
        let wrong = serde_json::json!({"Yes": 10});
        let error = row_weights(&params(wrong), &classes(), &y, None).unwrap_err().to_string();
        assert!(error.contains("class `Yes`") && error.contains("no, yes"), "{error}");
        assert!(row_weights(&Hyperparameters::default(), &classes(), &y, None).unwrap().is_none());
        let regression = row_weights(&params("balanced".into()), &[], &[1.5], None);
        assert!(regression.unwrap_err().to_string().contains("is for classification"));
    }
}
