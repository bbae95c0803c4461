//! k-fold cross-validation splits: shuffled with the seed, stratified by class
//! for classification (each fold holds about the same share of each class),
//! as scikit-learn's `StratifiedKFold(shuffle=True)` and `KFold` split.

use ndarray::Array2;

use crate::labelled::Labelled;
use crate::model::preprocess::{Encoding, Preprocessor};
use crate::random::{Random, Stream};

/// One fold's matrices: the preprocessing is learnt on its training rows only.
pub struct Fold {
    pub x_train: Array2<f64>,
    pub y_train: Vec<f64>,
    /// The training rows' weights, when there are weights.
    pub w_train: Option<Vec<f64>>,
    pub x_test: Array2<f64>,
    pub y_test: Vec<f64>,
    /// The held-out rows' weights, when there are weights.
    pub w_test: Option<Vec<f64>>,
}

impl Fold {
    /// Cuts the fold that holds out `test_rows` (sorted) of `data`, whose
    /// encoded targets are `y`, encoded as the model wants its inputs.
    pub fn cut(
        (data, y, weights): (&Labelled, &[f64], Option<&[f64]>),
        test_rows: &[usize],
        encoding: Encoding,
    ) -> Self {
        let train_rows: Vec<usize> =
            (0..data.records.len()).filter(|r| test_rows.binary_search(r).is_err()).collect();
        let preprocessor = Preprocessor::fit(&data.columns(&train_rows), encoding);
        let pick = |rows: &[usize]| {
            let records: Vec<_> = rows.iter().map(|&r| data.records[r].clone()).collect();
            (preprocessor.matrix(&records), rows.iter().map(|&r| y[r]).collect::<Vec<f64>>())
        };
        let pick_weights =
            |rows: &[usize]| weights.map(|w| rows.iter().map(|&r| w[r]).collect::<Vec<f64>>());
        let ((x_train, y_train), (x_test, y_test)) = (pick(&train_rows), pick(test_rows));
        let (w_train, w_test) = (pick_weights(&train_rows), pick_weights(test_rows));
        Fold { x_train, y_train, w_train, x_test, y_test, w_test }
    }
}

/// Returns `k` folds of row indices (each sorted) covering `0..rows` once.
/// `classes` (one per row) stratifies; `None` splits plainly.
pub fn folds(rows: usize, k: usize, classes: Option<&[usize]>, seed: u64) -> Vec<Vec<usize>> {
    let mut random = Random::new(seed, Stream::Labels);
    let mut folds = vec![Vec::new(); k];
    match classes {
        Some(classes) => {
            let count = classes.iter().copied().max().map_or(0, |m| m + 1);
            // Deal each class's shuffled rows round the folds, continuing where
            // the previous class stopped, so fold sizes differ by at most one.
            let mut next = 0;
            for class in 0..count {
                let mut members: Vec<usize> = (0..rows).filter(|&r| classes[r] == class).collect();
                random.shuffle(&mut members);
                for row in members {
                    folds[next % k].push(row);
                    next += 1;
                }
            }
        }
        None => {
            let mut order: Vec<usize> = (0..rows).collect();
            random.shuffle(&mut order);
            for (i, row) in order.into_iter().enumerate() {
                folds[i * k / rows.max(1)].push(row);
            }
        }
    }
    for fold in &mut folds {
        fold.sort_unstable();
    }
    folds
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_partition_the_rows_and_keep_class_shares() {
        let classes: Vec<usize> = (0..103).map(|i| usize::from(i % 4 == 0)).collect();
        let split = folds(103, 5, Some(&classes), 7);
        let mut all: Vec<usize> = split.iter().flatten().copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..103).collect::<Vec<_>>());
        for fold in &split {
            assert!((20..=21).contains(&fold.len()), "{}", fold.len());
            let positives = fold.iter().filter(|&&r| classes[r] == 1).count();
            assert!((5..=6).contains(&positives), "{positives}");
        }
        assert_eq!(split, folds(103, 5, Some(&classes), 7));
        assert_ne!(split, folds(103, 5, Some(&classes), 8));
        let plain = folds(10, 3, None, 1);
        assert_eq!(plain.iter().map(Vec::len).collect::<Vec<_>>(), [4, 3, 3]);
    }
}
