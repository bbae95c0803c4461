//! The decision threshold of a binary classifier, `threshold: auto`: the
//! model is fitted on 5 stratified folds of the training rows (each with its
//! own preprocessing), and the threshold on the positive class's probability
//! that maximises F1 on those out-of-fold predictions is kept, as
//! scikit-learn's `TunedThresholdClassifierCV` does. The test rows never
//! take part.

use serde::Serialize;

use crate::labelled::Labelled;
use crate::model::params::Hyperparameters;
use crate::model::{Kind, Model, fit};
use crate::tune::folds::Fold;

/// How many folds the out-of-fold predictions come from.
const FOLDS: usize = 5;

/// A threshold chosen on out-of-fold predictions, and what it gave there.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Chosen {
    /// Predict the positive class when its probability is at least this.
    pub value: f64,
    /// Precision, recall and F1 of the out-of-fold predictions at `value`.
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// How it was chosen.
    pub chosen_by: String,
}

/// What the threshold is fitted with.
pub struct Fitting<'a> {
    pub kind: Kind,
    pub params: &'a Hyperparameters,
    pub seed: u64,
    /// Each training row's weight (class × sample), if any.
    pub weights: Option<&'a [f64]>,
}

/// Chooses the threshold for `data` with class indices `y` (two classes).
pub fn choose(fitting: &Fitting<'_>, data: &Labelled, y: &[f64]) -> anyhow::Result<Chosen> {
    let labels: Vec<usize> = y.iter().map(|&v| v as usize).collect();
    let positives = labels.iter().filter(|&&l| l == 1).count();
    if positives < FOLDS {
        anyhow::bail!(
            "`threshold: auto` needs at least {FOLDS} rows of the positive class in `{}` to \
             choose on out-of-fold predictions, and it has {positives}; give a number instead",
            data.path.display()
        );
    }
    let folds = crate::tune::folds::folds(y.len(), FOLDS, Some(&labels), fitting.seed);
    let mut scores = vec![0.0; y.len()];
    for test_rows in &folds {
        let fold =
            Fold::cut((data, y, fitting.weights), test_rows, fitting.kind.encoding(fitting.params));
        let estimator = fit(
            fitting.kind,
            fitting.params,
            &fold.x_train,
            &fold.y_train,
            Some(2),
            fitting.seed,
            fold.w_train.as_deref(),
        )?;
        let probabilities = estimator.predict_proba(&fold.x_test)?.unwrap_or_default();
        for (&row, p) in test_rows.iter().zip(probabilities) {
            scores[row] = p.get(1).copied().unwrap_or(0.0);
        }
    }
    let (value, precision, recall, f1) = best_f1(&scores, &labels);
    Ok(Chosen {
        value,
        precision,
        recall,
        f1,
        chosen_by: format!("F1 on {FOLDS}-fold out-of-fold predictions of the training rows"),
    })
}

/// Returns the threshold that maximises F1 of `scores` against `labels`
/// (class 1 positive), halfway between the last score it takes and the next
/// lower one, with the precision, recall and F1 there.
pub fn best_f1(scores: &[f64], labels: &[usize]) -> (f64, f64, f64, f64) {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let positives = labels.iter().filter(|&&l| l == 1).count() as f64;
    let (mut true_positives, mut false_positives) = (0.0, 0.0);
    let mut best = (0.5, 0.0, 0.0, 0.0);
    for (i, &row) in order.iter().enumerate() {
        if labels[row] == 1 {
            true_positives += 1.0;
        } else {
            false_positives += 1.0;
        }
        let next = order.get(i + 1).map(|&r| scores[r]);
        if next == Some(scores[row]) {
            continue; // a threshold cannot split tied scores
        }
        let f1 = 2.0 * true_positives
            / (2.0 * true_positives + false_positives + positives - true_positives);
        if f1 > best.3 {
            let threshold = next.map_or(scores[row] / 2.0, |n| (scores[row] + n) / 2.0);
            let precision = true_positives / (true_positives + false_positives);
            best = (threshold, precision, true_positives / positives.max(1.0), f1);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::best_f1;

    #[test]
    fn the_threshold_maximises_f1_between_two_scores() {
        // Positives at 0.9 and 0.4; negatives at 0.8, 0.3, 0.2, 0.1.
        let scores = [0.9, 0.8, 0.4, 0.3, 0.2, 0.1];
        let labels = [1, 0, 1, 0, 0, 0];
        let (threshold, precision, recall, f1) = best_f1(&scores, &labels);
        // Taking the top three: tp 2, fp 1 → F1 0.8, better than the top one (0.667).
        assert!((threshold - 0.35).abs() < 1e-12, "{threshold}");
        assert!((precision - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(recall, 1.0);
        assert!((f1 - 0.8).abs() < 1e-12);
    }

    #[test]
    fn tied_scores_are_never_split() {
        let (threshold, _, recall, _) = best_f1(&[0.7, 0.7, 0.1], &[1, 0, 0]);
        assert!((threshold - 0.4).abs() < 1e-12, "{threshold}");
        assert_eq!(recall, 1.0);
    }
}
