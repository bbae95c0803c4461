//! Model metrics, computed the way scikit-learn defines them, so that numbers
//! from pipit and from a notebook mean the same thing.
//!
//! Classification: accuracy, precision, recall, F1 (binary: of the positive
//! class; multiclass: macro-averaged), ROC-AUC (one-vs-rest macro for
//! multiclass; ties handled by average ranks), PR-AUC (average precision),
//! log-loss, the Brier score (binary) and the confusion matrix. Regression:
//! R², RMSE, MAE.

pub mod ranking;

use serde_json::{Value, json};

use crate::model::Task;
pub use ranking::{average_precision, roc_auc};

/// The metrics a gate or a tuning can optimise, by task, and whether lower is better.
const KEY_METRICS: [(Task, &str, bool); 11] = [
    (Task::Classification, "f1", false),
    (Task::Classification, "accuracy", false),
    (Task::Classification, "precision", false),
    (Task::Classification, "recall", false),
    (Task::Classification, "roc_auc", false),
    (Task::Classification, "pr_auc", false),
    (Task::Classification, "log_loss", true),
    (Task::Classification, "brier", true),
    (Task::Regression, "r2", false),
    (Task::Regression, "rmse", true),
    (Task::Regression, "mae", true),
];

/// Returns the key metric `wanted` (default: F1 or R²) and whether lower is
/// better; `flag` names the option in the error for an unknown metric.
pub fn key_metric(
    task: Task,
    wanted: Option<&str>,
    flag: &str,
) -> anyhow::Result<(&'static str, bool)> {
    let default = if task == Task::Regression { "r2" } else { "f1" };
    let wanted = wanted.unwrap_or(default);
    let valid: Vec<_> = KEY_METRICS.iter().filter(|(t, ..)| *t == task).collect();
    valid
        .iter()
        .find(|(_, name, _)| *name == wanted)
        .map(|(_, name, lower)| (*name, *lower))
        .ok_or_else(|| {
            let names: Vec<&str> = valid.iter().map(|(_, name, _)| *name).collect();
            let kind = match task {
                Task::Classification => "classification",
                Task::Regression => "regression",
            };
            anyhow::anyhow!(
                "{flag} `{wanted}` is not a {kind} metric: use one of {}",
                names.join(", ")
            )
        })
}

/// Returns R², RMSE and MAE as JSON; with `weights`, each test row counts
/// its weight (scikit-learn's `sample_weight`).
pub fn regression_report(truth: &[f64], predicted: &[f64], weights: Option<&[f64]>) -> Value {
    json!({
        "r2": r2(truth, predicted, weights),
        "rmse": rmse(truth, predicted, weights),
        "mae": mae(truth, predicted, weights),
    })
}

/// Returns accuracy, precision, recall, F1, ROC-AUC, PR-AUC (binary),
/// log-loss, Brier score (binary) and the confusion matrix as JSON; with
/// `weights`, each test row counts its weight, the confusion matrix too.
pub fn classification_report(
    classes: &[String],
    truth: &[usize],
    predicted: &[usize],
    probabilities: Option<&[Vec<f64>]>,
    weights: Option<&[f64]>,
) -> Value {
    let matrix = confusion(truth, predicted, classes.len(), weights);
    let (precision, recall, f1) = precision_recall_f1(&matrix);
    let (roc_auc, pr_auc) = match probabilities {
        Some(p) if classes.len() == 2 => {
            let positive: Vec<bool> = truth.iter().map(|&t| t == 1).collect();
            let scores: Vec<f64> = p.iter().map(|row| row.get(1).copied().unwrap_or(0.0)).collect();
            (
                ranking::roc_auc(&positive, &scores, weights),
                average_precision(&positive, &scores, weights),
            )
        }
        Some(p) => (roc_auc_ovr(truth, p, classes.len(), weights), None),
        None => (None, None),
    };
    // Counts unweighted, sums of weights with weights.
    let shown: Value = if weights.is_some() {
        json!(matrix)
    } else {
        json!(
            matrix
                .iter()
                .map(|row| row.iter().map(|&c| c as u64).collect())
                .collect::<Vec<Vec<u64>>>()
        )
    };
    json!({
        "accuracy": accuracy(truth, predicted, weights),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "roc_auc": roc_auc,
        "pr_auc": pr_auc,
        "log_loss": probabilities.map(|p| log_loss(truth, p, weights)),
        "brier": probabilities.filter(|_| classes.len() == 2).map(|p| brier(truth, p, weights)),
        "classes": classes,
        "confusion_matrix": shown,
    })
}

/// Returns the weighted mean of `values` (each weighing 1 without weights).
fn mean_of(values: impl Iterator<Item = f64>, weights: Option<&[f64]>) -> f64 {
    let (mut sum, mut total) = (0.0, 0.0);
    for (i, value) in values.enumerate() {
        let w = weights.map_or(1.0, |w| w[i]);
        sum += w * value;
        total += w;
    }
    if total > 0.0 { sum / total } else { 0.0 }
}

/// Returns the mean negative log-likelihood of the true classes (scikit-learn's
/// `log_loss`, probabilities clipped to [ε, 1 − ε] with ε = f64::EPSILON).
pub fn log_loss(truth: &[usize], probabilities: &[Vec<f64>], weights: Option<&[f64]>) -> f64 {
    let losses = truth.iter().zip(probabilities).map(|(&t, p)| {
        -p.get(t).copied().unwrap_or(0.0).clamp(f64::EPSILON, 1.0 - f64::EPSILON).ln()
    });
    mean_of(losses, weights)
}

/// Returns the mean squared difference between the positive class's
/// probability and the truth (scikit-learn's binary `brier_score_loss`).
pub fn brier(truth: &[usize], probabilities: &[Vec<f64>], weights: Option<&[f64]>) -> f64 {
    let errors = truth
        .iter()
        .zip(probabilities)
        .map(|(&t, p)| (p.get(1).copied().unwrap_or(0.0) - f64::from(u8::from(t == 1))).powi(2));
    mean_of(errors, weights)
}

/// Returns the (weighted) share of `predicted` labels equal to `truth`.
pub fn accuracy(truth: &[usize], predicted: &[usize], weights: Option<&[f64]>) -> f64 {
    mean_of(truth.iter().zip(predicted).map(|(t, p)| f64::from(u8::from(t == p))), weights)
}

/// Returns the confusion matrix: `matrix[t][p]` counts (or sums the weights
/// of) the rows of truth `t` predicted `p`.
pub fn confusion(
    truth: &[usize],
    predicted: &[usize],
    classes: usize,
    weights: Option<&[f64]>,
) -> Vec<Vec<f64>> {
    let mut matrix = vec![vec![0.0; classes]; classes];
    for (i, (&t, &p)) in truth.iter().zip(predicted).enumerate() {
        if t < classes && p < classes {
            matrix[t][p] += weights.map_or(1.0, |w| w[i]);
        }
    }
    matrix
}

/// Precision, recall and F1 of class `class` (0 where undefined, as
/// scikit-learn's `zero_division=0`).
pub fn class_scores(matrix: &[Vec<f64>], class: usize) -> (f64, f64, f64) {
    let true_positive = matrix[class][class];
    let predicted: f64 = matrix.iter().map(|row| row[class]).sum();
    let actual: f64 = matrix[class].iter().sum();
    let ratio = |a: f64, b: f64| if b == 0.0 { 0.0 } else { a / b };
    let (precision, recall) = (ratio(true_positive, predicted), ratio(true_positive, actual));
    let f1 = if precision + recall == 0.0 {
        0.0
    } else {
        2.0 * precision * recall / (precision + recall)
    };
    (precision, recall, f1)
}

/// Precision, recall and F1: of class 1 for two classes, macro-averaged over
/// all classes otherwise.
pub fn precision_recall_f1(matrix: &[Vec<f64>]) -> (f64, f64, f64) {
    if matrix.len() == 2 {
        return class_scores(matrix, 1);
    }
    let scores: Vec<(f64, f64, f64)> = (0..matrix.len()).map(|c| class_scores(matrix, c)).collect();
    let n = scores.len().max(1) as f64;
    (
        scores.iter().map(|s| s.0).sum::<f64>() / n,
        scores.iter().map(|s| s.1).sum::<f64>() / n,
        scores.iter().map(|s| s.2).sum::<f64>() / n,
    )
}

/// One-vs-rest ROC-AUC averaged over classes (scikit-learn's
/// `multi_class="ovr", average="macro"`); `probabilities[row][class]`.
pub fn roc_auc_ovr(
    truth: &[usize],
    probabilities: &[Vec<f64>],
    classes: usize,
    weights: Option<&[f64]>,
) -> Option<f64> {
    let per_class: Option<Vec<f64>> = (0..classes)
        .map(|class| {
            let positive: Vec<bool> = truth.iter().map(|&t| t == class).collect();
            let scores: Vec<f64> =
                probabilities.iter().map(|p| p.get(class).copied().unwrap_or(0.0)).collect();
            roc_auc(&positive, &scores, weights)
        })
        .collect();
    per_class.map(|aucs| aucs.iter().sum::<f64>() / aucs.len().max(1) as f64)
}

/// R² (scikit-learn's `r2_score`: 1 for a perfect fit of a constant target,
/// 0 for an imperfect one).
pub fn r2(truth: &[f64], predicted: &[f64], weights: Option<&[f64]>) -> f64 {
    let mean = mean_of(truth.iter().copied(), weights);
    let w = |i: usize| weights.map_or(1.0, |w| w[i]);
    let residual: f64 =
        truth.iter().zip(predicted).enumerate().map(|(i, (t, p))| w(i) * (t - p).powi(2)).sum();
    let total: f64 = truth.iter().enumerate().map(|(i, t)| w(i) * (t - mean).powi(2)).sum();
    if total == 0.0 {
        return if residual == 0.0 { 1.0 } else { 0.0 };
    }
    1.0 - residual / total
}

/// Root mean squared error.
pub fn rmse(truth: &[f64], predicted: &[f64], weights: Option<&[f64]>) -> f64 {
    mean_of(truth.iter().zip(predicted).map(|(t, p)| (t - p).powi(2)), weights).sqrt()
}

/// Mean absolute error.
pub fn mae(truth: &[f64], predicted: &[f64], weights: Option<&[f64]>) -> f64 {
    mean_of(truth.iter().zip(predicted).map(|(t, p)| (t - p).abs()), weights)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_scores_by_hand() {
        // truth 1 1 1 0 0 0 0 0, predicted 1 1 0 1 0 0 0 0: TP 2, FN 1, FP 1, TN 4.
        let truth = [1, 1, 1, 0, 0, 0, 0, 0];
        let predicted = [1, 1, 0, 1, 0, 0, 0, 0];
        let matrix = confusion(&truth, &predicted, 2, None);
        assert_eq!(matrix, [[4.0, 1.0], [1.0, 2.0]]);
        assert_eq!(accuracy(&truth, &predicted, None), 0.75);
        let (p, r, f) = precision_recall_f1(&matrix);
        assert_eq!((p, r), (2.0 / 3.0, 2.0 / 3.0));
        assert!((f - 2.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn a_model_that_never_predicts_positive_scores_zero_not_nan() {
        let matrix = confusion(&[1, 0, 0], &[0, 0, 0], 2, None);
        assert_eq!(precision_recall_f1(&matrix), (0.0, 0.0, 0.0));
    }

    #[test]
    fn multiclass_is_macro_averaged() {
        // Class 0: P 1, R 1/2; class 1: P 1/2, R 1; class 2: P 1, R 1.
        let truth = [0, 0, 1, 2];
        let predicted = [0, 1, 1, 2];
        let (p, r, f) = precision_recall_f1(&confusion(&truth, &predicted, 3, None));
        assert!((p - 2.5 / 3.0).abs() < 1e-12 && (r - 2.5 / 3.0).abs() < 1e-12);
        let f_expected = (2.0 / 3.0 + 2.0 / 3.0 + 1.0) / 3.0;
        assert!((f - f_expected).abs() < 1e-12);
    }

    #[test]
    fn one_vs_rest_auc_averages_the_classes() {
        // Class 0 and 2 perfectly ranked, class 1 ranked backwards: (1 + 0 + 1) / 3.
        let truth = [0, 1, 2];
        let probabilities = vec![vec![0.8, 0.1, 0.1], vec![0.5, 0.0, 0.5], vec![0.1, 0.2, 0.7]];
        let auc = roc_auc_ovr(&truth, &probabilities, 3, None).unwrap();
        assert!((auc - 2.0 / 3.0).abs() < 1e-12, "{auc}");
    }

    #[test]
    fn log_loss_and_brier_by_hand() {
        // scikit-learn's documented example: log_loss(["spam", "ham", "ham", "spam"],
        // [[.1, .9], [.9, .1], [.8, .2], [.35, .65]]) = 0.21616…
        let p = vec![vec![0.1, 0.9], vec![0.9, 0.1], vec![0.8, 0.2], vec![0.35, 0.65]];
        assert!((log_loss(&[1, 0, 0, 1], &p, None) - 0.216_161_874_680_579_1).abs() < 1e-12);
        let truth = [0, 1, 1, 0];
        // brier_score_loss([0, 1, 1, 0], [0.1, 0.9, 0.8, 0.3]) = 0.0375
        let q = vec![vec![0.9, 0.1], vec![0.1, 0.9], vec![0.2, 0.8], vec![0.7, 0.3]];
        assert!((brier(&truth, &q, None) - 0.0375).abs() < 1e-12);
        let report =
            classification_report(&["a".into(), "b".into()], &truth, &[0, 1, 1, 0], Some(&q), None);
        assert!(report["brier"].as_f64().is_some() && report["log_loss"].as_f64().is_some());
    }

    #[test]
    fn regression_scores_by_hand() {
        let truth = [3.0, -0.5, 2.0, 7.0];
        let predicted = [2.5, 0.0, 2.0, 8.0];
        // scikit-learn's documented example: r2_score = 0.9486..., MAE 0.5, MSE 0.375.
        assert!((r2(&truth, &predicted, None) - 0.948_608_137_044_967_9).abs() < 1e-12);
        assert_eq!(mae(&truth, &predicted, None), 0.5);
        assert!((rmse(&truth, &predicted, None) - 0.375f64.sqrt()).abs() < 1e-12);
        assert_eq!(r2(&[2.0, 2.0], &[2.0, 2.0], None), 1.0);
        assert_eq!(r2(&[2.0, 2.0], &[1.0, 2.0], None), 0.0);
        // A weight of 2 is a row counted twice.
        let weights = [2.0, 1.0, 1.0, 1.0];
        let twice = ([3.0, 3.0, -0.5, 2.0, 7.0], [2.5, 2.5, 0.0, 2.0, 8.0]);
        assert!(
            (r2(&truth, &predicted, Some(&weights)) - r2(&twice.0, &twice.1, None)).abs() < 1e-12
        );
        assert!(
            (mae(&truth, &predicted, Some(&weights)) - mae(&twice.0, &twice.1, None)).abs() < 1e-12
        );
    }
}
