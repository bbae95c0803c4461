//! The plots files `stage train --plots-dir` writes, for `pipit plots`: for a
//! classifier the confusion matrix (`confusion.json`) and, with two classes,
//! the ROC and precision–recall curves (`roc.json`, `precision_recall.json`);
//! for a regressor predicted against actual values (`predictions.json`).

use std::path::Path;

use serde_json::{Value, json};

use crate::metrics::ranking::{Cut, cuts};

/// The files a plots folder may hold, removed before writing so that none
/// is left from an earlier run of another kind.
const FILES: [&str; 4] =
    ["confusion.json", "roc.json", "precision_recall.json", "predictions.json"];

/// The most rows `predictions.json` keeps (every n-th beyond).
const MOST_PREDICTIONS: usize = 2_000;

/// A curve keeps a point when it moves at least this far (in either
/// coordinate, both from 0 to 1) from the last one kept.
const STEP: f64 = 0.004;

/// The test rows as the plots need them.
pub struct Scored<'a> {
    pub classes: &'a [String],
    pub truth: &'a [f64],
    pub predicted: &'a [f64],
    pub probabilities: Option<&'a [Vec<f64>]>,
    pub weights: Option<&'a [f64]>,
}

/// Writes the plots files into `dir` and returns their names.
pub fn write(dir: &Path, scored: &Scored<'_>) -> anyhow::Result<Vec<&'static str>> {
    fs_err::create_dir_all(dir)?;
    for name in FILES {
        let path = dir.join(name);
        if path.exists() {
            fs_err::remove_file(path)?;
        }
    }
    let mut files: Vec<(&'static str, Value)> = Vec::new();
    if scored.classes.is_empty() {
        files.push(("predictions.json", json!({"predictions": predictions(scored)})));
    } else {
        files.push(("confusion.json", json!({"confusion": confusion(scored)})));
        if let (Some(probabilities), 2) = (scored.probabilities, scored.classes.len()) {
            let positive: Vec<bool> = scored.truth.iter().map(|&t| t == 1.0).collect();
            let scores: Vec<f64> =
                probabilities.iter().map(|p| p.get(1).copied().unwrap_or(0.0)).collect();
            let found = cuts(&positive, &scores, scored.weights);
            files.push(("roc.json", json!({"roc": roc(&found)})));
            files.push((
                "precision_recall.json",
                json!({"precision_recall": precision_recall(&found)}),
            ));
        }
    }
    for (name, value) in &files {
        crate::atomic::write_atomic(
            &dir.join(name),
            (serde_json::to_string(value)? + "\n").as_bytes(),
        )?;
    }
    Ok(files.into_iter().map(|(name, _)| name).collect())
}

/// One record per (actual, predicted) pair of classes, with its count (the
/// sum of the rows' weights, with weights).
fn confusion(scored: &Scored<'_>) -> Vec<Value> {
    let classes = scored.classes.len();
    let truth: Vec<usize> = scored.truth.iter().map(|&t| t as usize).collect();
    let predicted: Vec<usize> = scored.predicted.iter().map(|&p| p as usize).collect();
    let matrix = crate::metrics::confusion(&truth, &predicted, classes, scored.weights);
    let mut records = Vec::with_capacity(classes * classes);
    for (actual, row) in matrix.iter().enumerate() {
        for (predicted, count) in row.iter().enumerate() {
            records.push(json!({
                "actual": scored.classes[actual],
                "predicted": scored.classes[predicted],
                "count": count,
            }));
        }
    }
    records
}

/// Keeps the points of a curve that move it at least [`STEP`], and the last.
fn thinned(points: Vec<(f64, f64, f64)>) -> Vec<(f64, f64, f64)> {
    let mut kept: Vec<(f64, f64, f64)> = Vec::new();
    let count = points.len();
    for (i, point) in points.into_iter().enumerate() {
        let far = kept.last().is_none_or(|last| {
            (point.0 - last.0).abs() >= STEP || (point.1 - last.1).abs() >= STEP
        });
        if far || i + 1 == count {
            kept.push(point);
        }
    }
    kept
}

/// False-positive rate against true-positive rate, from (0, 0) to (1, 1).
fn roc(found: &[Cut]) -> Vec<Value> {
    let last = found.last().copied();
    let (positives, negatives) = last.map_or((0.0, 0.0), |c| (c.true_positive, c.false_positive));
    let rate = |count: f64, total: f64| if total > 0.0 { count / total } else { 0.0 };
    let mut points = vec![(0.0, 0.0, f64::INFINITY)];
    points.extend(found.iter().map(|c| {
        (rate(c.false_positive, negatives), rate(c.true_positive, positives), c.threshold)
    }));
    thinned(points)
        .into_iter()
        .map(|(fpr, tpr, threshold)| {
            let threshold = if threshold.is_finite() { json!(threshold) } else { Value::Null };
            json!({"fpr": fpr, "tpr": tpr, "threshold": threshold})
        })
        .collect()
}

/// Recall against precision, from the highest threshold down.
fn precision_recall(found: &[Cut]) -> Vec<Value> {
    let positives = found.last().map_or(0.0, |c| c.true_positive);
    let points = found
        .iter()
        .filter(|c| c.true_positive + c.false_positive > 0.0)
        .map(|c| {
            let recall = if positives > 0.0 { c.true_positive / positives } else { 0.0 };
            (recall, c.true_positive / (c.true_positive + c.false_positive), c.threshold)
        })
        .collect();
    thinned(points)
        .into_iter()
        .map(|(recall, precision, threshold)| {
            json!({"recall": recall, "precision": precision, "threshold": threshold})
        })
        .collect()
}

/// Actual against predicted values, every n-th row beyond the most kept.
fn predictions(scored: &Scored<'_>) -> Vec<Value> {
    let step = scored.truth.len().div_ceil(MOST_PREDICTIONS).max(1);
    scored
        .truth
        .iter()
        .zip(scored.predicted)
        .step_by(step)
        .map(|(actual, predicted)| json!({"actual": actual, "predicted": predicted}))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_perfect_ranking_goes_up_the_roc_axis_then_across() {
        let positive = [true, true, false, false];
        let found = cuts(&positive, &[0.9, 0.8, 0.2, 0.1], None);
        let points: Vec<(f64, f64)> = roc(&found)
            .iter()
            .map(|p| (p["fpr"].as_f64().unwrap(), p["tpr"].as_f64().unwrap()))
            .collect();
        assert_eq!(points, [(0.0, 0.0), (0.0, 0.5), (0.0, 1.0), (0.5, 1.0), (1.0, 1.0)]);
        let pr = precision_recall(&found);
        assert_eq!(pr[0]["precision"], 1.0);
        assert_eq!(pr.last().unwrap()["precision"], 0.5);
    }

    #[test]
    fn files_follow_the_task_and_leave_none_from_an_earlier_run() {
        let dir = tempfile::tempdir().unwrap();
        let regression = Scored {
            classes: &[],
            truth: &[1.0, 2.0],
            predicted: &[1.5, 2.5],
            probabilities: None,
            weights: None,
        };
        assert_eq!(write(dir.path(), &regression).unwrap(), ["predictions.json"]);
        let classes = ["no".to_owned(), "yes".to_owned()];
        let probabilities = [vec![0.8, 0.2], vec![0.3, 0.7], vec![0.6, 0.4]];
        let classifier = Scored {
            classes: &classes,
            truth: &[0.0, 1.0, 1.0],
            predicted: &[0.0, 1.0, 0.0],
            probabilities: Some(&probabilities),
            weights: None,
        };
        let written = write(dir.path(), &classifier).unwrap();
        assert_eq!(written, ["confusion.json", "roc.json", "precision_recall.json"]);
        assert!(!dir.path().join("predictions.json").exists());
        let confusion: Value = serde_json::from_str(
            &fs_err::read_to_string(dir.path().join("confusion.json")).unwrap(),
        )
        .unwrap();
        let cell = |a: &str, p: &str| {
            confusion["confusion"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["actual"] == a && r["predicted"] == p)
                .unwrap()["count"]
                .clone()
        };
        assert_eq!(
            (cell("yes", "yes"), cell("yes", "no"), cell("no", "no")),
            (json!(1.0), json!(1.0), json!(1.0))
        );
    }
}
