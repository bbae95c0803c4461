//! The estimators behind the [`Model`] trait: linfa (OLS), smartcore
//! (ridge), pipit's own L-BFGS logistic regression (see [`super::softmax`]),
//! and pipit's own histogram trees (decision tree, random forest, gradient
//! boosting; see [`super::trees`] for why).

use linfa::prelude::*;
use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};
use smartcore::linalg::basic::matrix::DenseMatrix;
use smartcore::linear::ridge_regression::{
    RidgeRegression, RidgeRegressionParameters, RidgeRegressionSolverName,
};

use super::params::Hyperparameters;
use super::preprocess::{Encoding, Missing};
use super::softmax::Softmax;
use super::trees::{BoostSettings, Boosted, EarlyStopping, Forest, ForestSettings, Growth, Loss};

/// What every estimator does.
pub trait Model {
    /// Predicted values (regression) or class indices (classification).
    fn predict(&self, x: &Array2<f64>) -> anyhow::Result<Vec<f64>>;
    /// Class probabilities, one row per record (classification only).
    fn predict_proba(&self, x: &Array2<f64>) -> anyhow::Result<Option<Vec<Vec<f64>>>>;
}

/// A fitted estimator, saved inside the model file.
#[derive(Serialize, Deserialize)]
#[serde(tag = "estimator", content = "fitted", rename_all = "snake_case")]
pub enum Estimator {
    /// Ordinary least squares (linfa-linear).
    Linear(linfa_linear::FittedLinearRegression<f64>),
    /// L2-penalised least squares (smartcore).
    Ridge(RidgeRegression<f64, f64, DenseMatrix<f64>, Vec<f64>>),
    /// Binary logistic regression (linfa-logistic), class 1 positive: how
    /// models saved before 2026-12-03 hold it; they still load and predict.
    Logistic(linfa_logistic::FittedLogisticRegression<f64, usize>),
    /// Logistic regression, two classes or more (our own L-BFGS fit).
    Softmax(Softmax),
    /// A decision tree or random forest: leaves hold class fractions or means.
    Forest { classification: bool, forest: Forest },
    /// Gradient-boosted trees.
    Boosted { classification: bool, boosted: Boosted },
}

/// Returns `x` as smartcore's matrix.
fn dense(x: &Array2<f64>) -> anyhow::Result<DenseMatrix<f64>> {
    let rows: Vec<Vec<f64>> = x.rows().into_iter().map(|r| r.to_vec()).collect();
    DenseMatrix::from_2d_vec(&rows).map_err(failed)
}

/// Returns how many features each split considers: `max_features` as a share
/// (≤ 1) or a count, else √n for classification and n for regression.
fn feature_count(params: &Hyperparameters, features: usize, classification: bool) -> usize {
    let default = if classification { (features as f64).sqrt().round() } else { features as f64 };
    let wanted = match params.0.get("max_features").and_then(serde_json::Value::as_f64) {
        Some(share) if share <= 1.0 => (share * features as f64).round(),
        Some(count) => count,
        None => default,
    };
    (wanted as usize).clamp(1, features.max(1))
}

/// What a tree grows to unless told otherwise.
#[derive(Clone, Copy)]
struct Shape {
    max_depth: Option<usize>,
    max_leaf_nodes: Option<usize>,
    min_samples_leaf: usize,
}

/// scikit-learn's trees and forests: as deep as the leaves allow.
const UNBOUNDED: Shape = Shape { max_depth: None, max_leaf_nodes: None, min_samples_leaf: 1 };

/// gbm: HistGradientBoosting's (and LightGBM's) 31 leaves grown best first,
/// no depth limit, 20 rows a leaf at least (see bench/models-at-defaults).
const BOOSTED: Shape = Shape { max_depth: None, max_leaf_nodes: Some(31), min_samples_leaf: 20 };

/// Returns how a tree grows: `max_depth`, `max_leaf_nodes` (best first) and
/// `min_samples_leaf` as given, null meaning no limit, else `shape`'s.
fn growth(params: &Hyperparameters, max_features: usize, shape: Shape) -> Growth {
    let limit = |key: &str, default: Option<usize>| match params.0.get(key) {
        Some(value) => value.as_u64().map(|n| n as usize),
        None => default,
    };
    Growth {
        max_depth: limit("max_depth", shape.max_depth).map(|d| d.max(1)),
        min_samples_split: params.int("min_samples_split", 2).max(2) as usize,
        min_samples_leaf: params.int("min_samples_leaf", shape.min_samples_leaf as i64).max(1)
            as usize,
        max_features,
        max_leaf_nodes: limit("max_leaf_nodes", shape.max_leaf_nodes).map(|n| n.max(2)),
        tree_features: None,
    }
}

/// Returns gbm's early stopping: `early_stopping` true, false or `auto` (the
/// default: on past 10,000 training rows, as scikit-learn's
/// HistGradientBoosting, but not with class weights), with
/// `validation_fraction` (0.1) held out and `n_iter_no_change` (10) rounds
/// of patience. With class weights the held-out loss is mostly the few
/// held-out rows of the rare class, and stops too soon: on the demo's credit
/// data (40,000 training rows, 200 of them fraud) balanced weights with
/// early stopping reach a test PR-AUC of 0.66, without it 0.74 (median of 5
/// seeds; bench/models-at-defaults).
fn early_stopping(params: &Hyperparameters, rows: usize) -> anyhow::Result<Option<EarlyStopping>> {
    let on = match params.0.get("early_stopping") {
        Some(serde_json::Value::Bool(false)) => false,
        Some(serde_json::Value::Bool(true)) => true,
        _ => rows > 10_000 && !params.0.contains_key("class_weight"),
    };
    Ok(on.then(|| EarlyStopping {
        validation_fraction: params.float("validation_fraction", 0.1),
        n_iter_no_change: params.int("n_iter_no_change", 10).max(1) as usize,
    }))
}

/// Which estimator to fit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Ordinary least squares (regression).
    Linear,
    /// Ridge regression.
    Ridge,
    /// Logistic regression (classification).
    Logistic,
    /// A decision tree.
    Tree,
    /// A random forest.
    Forest,
    /// Gradient-boosted trees.
    Gbm,
}

impl Kind {
    /// Returns the name users write (`--model forest`).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Linear => "linear",
            Kind::Ridge => "ridge",
            Kind::Logistic => "logistic",
            Kind::Tree => "tree",
            Kind::Forest => "forest",
            Kind::Gbm => "gbm",
        }
    }

    /// Returns true when features are standardised for this model.
    fn standardises(self) -> bool {
        matches!(self, Kind::Linear | Kind::Ridge | Kind::Logistic)
    }

    /// Returns how this model with `params` wants its inputs: linear models
    /// standardised, and missing values imputed unless a tree model has
    /// `missing: learn`.
    pub fn encoding(self, params: &Hyperparameters) -> Encoding {
        let missing = match params.0.get("missing").and_then(serde_json::Value::as_str) {
            Some("learn") => Missing::Learn,
            _ => Missing::Impute,
        };
        Encoding { standardise: self.standardises(), missing }
    }
}

fn failed(error: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("training failed: {error}")
}

/// Fits `kind` on `x` and the targets: values for regression, class indices
/// (with `classes` classes) for classification; with `weights`, each row
/// counts its weight (class weights and sample weights, multiplied).
pub fn fit(
    kind: Kind,
    params: &Hyperparameters,
    x: &Array2<f64>,
    y: &[f64],
    classes: Option<usize>,
    seed: u64,
    weights: Option<&[f64]>,
) -> anyhow::Result<Estimator> {
    if weights.is_some() && matches!(kind, Kind::Linear | Kind::Ridge) {
        anyhow::bail!(
            "`{}` does not take weights; use `tree`, `forest` or `gbm` for weighted regression",
            kind.name()
        );
    }
    match (kind, classes) {
        (Kind::Linear, None) => {
            let data = Dataset::new(x.clone(), Array1::from_vec(y.to_vec()));
            let fitted = linfa_linear::LinearRegression::new().fit(&data).map_err(|e| {
                anyhow::anyhow!(
                    "training failed: least squares has no single solution here ({e}): some \
                     columns are copies or combinations of others; use `ridge`, which has one"
                )
            })?;
            Ok(Estimator::Linear(fitted))
        }
        (Kind::Ridge, None) => {
            let matrix = dense(x)?;
            let parameters = RidgeRegressionParameters::default()
                .with_alpha(params.float("alpha", 1.0))
                .with_solver(RidgeRegressionSolverName::Cholesky)
                // Standardising again is a no-op on standardised inputs, and it is
                // how smartcore fits an intercept.
                .with_normalize(true);
            Ok(Estimator::Ridge(
                RidgeRegression::fit(&matrix, &y.to_vec(), parameters).map_err(failed)?,
            ))
        }
        (Kind::Logistic, Some(count)) => {
            let alpha = 1.0 / params.float("c", 1.0);
            let iterations = params.int("max_iter", 1000).max(1) as u64;
            // Two classes go through the multinomial fit too (faster than
            // linfa's on 40,000 rows, 0.15 s against 0.9 s): with its penalty
            // on both classes' weights, twice the strength is the binary
            // model's (the optimum splits the weights evenly).
            if count == 2 {
                let fitted = Softmax::fit(x, y, (2, weights), 2.0 * alpha, iterations as usize);
                Ok(Estimator::Softmax(fitted))
            } else if let Some(weights) = weights {
                let fitted = Softmax::fit(x, y, (count, Some(weights)), alpha, iterations as usize);
                Ok(Estimator::Softmax(fitted))
            } else {
                Ok(Estimator::Softmax(Softmax::fit(
                    x,
                    y,
                    (count, None),
                    alpha,
                    iterations as usize,
                )))
            }
        }
        (Kind::Tree, _) => {
            let settings = ForestSettings {
                trees: 1,
                bootstrap: false,
                growth: growth(params, x.ncols(), UNBOUNDED),
            };
            let forest = Forest::fit(x, y, classes, settings, (seed, weights));
            Ok(Estimator::Forest { classification: classes.is_some(), forest })
        }
        (Kind::Forest, _) => {
            let settings = ForestSettings {
                trees: params.int("n_trees", 100).max(1) as usize,
                bootstrap: params.0.get("bootstrap").and_then(serde_json::Value::as_bool)
                    != Some(false),
                growth: growth(
                    params,
                    feature_count(params, x.ncols(), classes.is_some()),
                    UNBOUNDED,
                ),
            };
            let forest = Forest::fit(x, y, classes, settings, (seed, weights));
            Ok(Estimator::Forest { classification: classes.is_some(), forest })
        }
        (Kind::Gbm, _) => {
            let loss = match params.0.get("loss").and_then(serde_json::Value::as_str) {
                Some(_) if classes.is_some() => anyhow::bail!(
                    "`loss` is for regression; gbm classification always boosts log loss"
                ),
                Some("absolute") => Loss::Absolute,
                _ => Loss::Squared,
            };
            let settings = BoostSettings {
                loss,
                rounds: params.int("n_trees", 100).max(0) as usize,
                learning_rate: params.float("learning_rate", 0.1),
                subsample: params.float("subsample", 1.0),
                l2: params.float("l2_regularization", 0.0),
                growth: Growth {
                    // Column subsampling: a share (≤ 1) or a count of the
                    // features per tree.
                    tree_features: params
                        .0
                        .get("max_features")
                        .map(|_| feature_count(params, x.ncols(), false)),
                    ..growth(params, x.ncols(), BOOSTED)
                },
                early_stopping: early_stopping(params, x.nrows())?,
            };
            let boosted = Boosted::fit(x, y, classes, settings, (seed, weights));
            Ok(Estimator::Boosted { classification: classes.is_some(), boosted })
        }
        (Kind::Linear | Kind::Ridge, Some(_)) => {
            anyhow::bail!(
                "`{}` is a regression model; use `logistic`, `tree`, `forest` or `gbm` for classification",
                kind.name()
            )
        }
        (Kind::Logistic, None) => {
            anyhow::bail!("`logistic` is a classification model; use `linear` or `ridge`")
        }
    }
}

impl Model for Estimator {
    fn predict(&self, x: &Array2<f64>) -> anyhow::Result<Vec<f64>> {
        Ok(match self {
            Estimator::Linear(model) => model.predict(x).to_vec(),
            Estimator::Ridge(model) => model.predict(&dense(x)?).map_err(failed)?,
            Estimator::Forest { classification: false, forest } => {
                forest.predict(x).into_iter().map(|row| row[0]).collect()
            }
            Estimator::Boosted { classification: false, boosted } => {
                boosted.predict(x).into_iter().map(|row| row[0]).collect()
            }
            Estimator::Logistic(_)
            | Estimator::Softmax(_)
            | Estimator::Forest { .. }
            | Estimator::Boosted { .. } => {
                let probabilities = self.predict_proba(x)?.unwrap_or_default();
                probabilities.iter().map(|row| argmax(row) as f64).collect()
            }
        })
    }

    fn predict_proba(&self, x: &Array2<f64>) -> anyhow::Result<Option<Vec<Vec<f64>>>> {
        Ok(match self {
            Estimator::Logistic(model) => {
                let positive_is_one = model.labels().pos.class == 1;
                let p = model.predict_probabilities(x);
                Some(
                    p.iter()
                        .map(|&p| if positive_is_one { vec![1.0 - p, p] } else { vec![p, 1.0 - p] })
                        .collect(),
                )
            }
            Estimator::Softmax(model) => Some(model.predict_proba(x)),
            Estimator::Forest { classification: true, forest } => Some(forest.predict(x)),
            Estimator::Boosted { classification: true, boosted } => Some(boosted.predict(x)),
            Estimator::Linear(_)
            | Estimator::Ridge(_)
            | Estimator::Forest { .. }
            | Estimator::Boosted { .. } => None,
        })
    }
}

impl Estimator {
    /// Returns how much each of the `inputs` model inputs matters, unscaled:
    /// trees' summed split gains, or the absolute coefficient of a linear
    /// model (on standardised inputs, so comparable).
    pub fn importances(&self, inputs: usize) -> Vec<f64> {
        use smartcore::linalg::basic::arrays::Array;
        let values: Vec<f64> = match self {
            Estimator::Linear(model) => model.params().iter().map(|w| w.abs()).collect(),
            Estimator::Ridge(model) => model.coefficients().iterator(0).map(|w| w.abs()).collect(),
            Estimator::Logistic(model) => model.params().iter().map(|w| w.abs()).collect(),
            Estimator::Softmax(model) => model.weight_sizes(),
            Estimator::Forest { forest, .. } => forest.gains(inputs),
            Estimator::Boosted { boosted, .. } => boosted.gains(inputs),
        };
        let mut values = values;
        values.resize(inputs, 0.0);
        values
    }
}

/// Returns the index of the largest value (the first on ties).
pub fn argmax(values: &[f64]) -> usize {
    values
        .iter()
        .enumerate()
        .fold((0, f64::NEG_INFINITY), |best, (i, &v)| if v > best.1 { (i, v) } else { best })
        .0
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(pairs: &[(&str, serde_json::Value)]) -> Hyperparameters {
        Hyperparameters(pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect())
    }

    #[test]
    fn early_stopping_is_on_past_ten_thousand_rows_without_class_weights() {
        let on = |p: &Hyperparameters, rows| early_stopping(p, rows).unwrap().is_some();
        assert!(!on(&params(&[]), 10_000));
        assert!(on(&params(&[]), 10_001));
        assert!(!on(&params(&[("class_weight", json!("balanced"))]), 50_000));
        let forced =
            params(&[("class_weight", json!("balanced")), ("early_stopping", json!(true))]);
        assert!(on(&forced, 500));
        assert!(!on(&params(&[("early_stopping", json!(false))]), 50_000));
    }
}
