//! The estimators behind the [`Model`] trait, each from the crate DESIGN.md
//! names for it: linfa (OLS, logistic regression), smartcore (ridge, decision
//! trees). linfa's trees are not used: they give no class probabilities, which
//! ROC-AUC needs. Regression forests are smartcore's; classification forests
//! and gradient boosting come next.

use linfa::prelude::*;
use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};
use smartcore::linalg::basic::matrix::DenseMatrix;
use smartcore::linear::ridge_regression::{
    RidgeRegression, RidgeRegressionParameters, RidgeRegressionSolverName,
};

use smartcore::tree::decision_tree_classifier::{
    DecisionTreeClassifier, DecisionTreeClassifierParameters,
};
use smartcore::tree::decision_tree_regressor::{
    DecisionTreeRegressor, DecisionTreeRegressorParameters,
};

use smartcore::ensemble::random_forest_regressor::{
    RandomForestRegressor, RandomForestRegressorParameters,
};

use super::params::Hyperparameters;

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
    /// Binary logistic regression (linfa-logistic), class 1 positive.
    Logistic(linfa_logistic::FittedLogisticRegression<f64, usize>),
    /// Multinomial logistic regression (linfa-logistic).
    MultiLogistic(linfa_logistic::MultiFittedLogisticRegression<f64, usize>),
    /// A classification tree (smartcore).
    TreeClassifier(DecisionTreeClassifier<f64, u32, DenseMatrix<f64>, Vec<u32>>),
    /// A regression tree (smartcore).
    TreeRegressor(DecisionTreeRegressor<f64, f64, DenseMatrix<f64>, Vec<f64>>),
    /// A regression forest (smartcore).
    ForestRegressor(RandomForestRegressor<f64, f64, DenseMatrix<f64>, Vec<f64>>),
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

/// Returns smartcore's optional depth: `None` grows until leaves are pure.
fn depth(params: &Hyperparameters) -> Option<u16> {
    params
        .0
        .get("max_depth")
        .and_then(serde_json::Value::as_u64)
        .map(|d| d.min(u64::from(u16::MAX)) as u16)
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
    pub fn standardises(self) -> bool {
        matches!(self, Kind::Linear | Kind::Ridge | Kind::Logistic)
    }
}

fn failed(error: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("training failed: {error}")
}

/// Fits `kind` on `x` and the targets: values for regression, class indices
/// (with `classes` classes) for classification.
pub fn fit(
    kind: Kind,
    params: &Hyperparameters,
    x: &Array2<f64>,
    y: &[f64],
    classes: Option<usize>,
    seed: u64,
) -> anyhow::Result<Estimator> {
    match (kind, classes) {
        (Kind::Linear, None) => {
            let data = Dataset::new(x.clone(), Array1::from_vec(y.to_vec()));
            Ok(Estimator::Linear(linfa_linear::LinearRegression::new().fit(&data).map_err(failed)?))
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
            let labels: Array1<usize> = y.iter().map(|&v| v as usize).collect();
            let data = Dataset::new(x.clone(), labels);
            if count == 2 {
                let model = linfa_logistic::LogisticRegression::default()
                    .alpha(alpha)
                    .max_iterations(iterations);
                Ok(Estimator::Logistic(model.fit(&data).map_err(failed)?))
            } else {
                let model = linfa_logistic::MultiLogisticRegression::default()
                    .alpha(alpha)
                    .max_iterations(iterations);
                Ok(Estimator::MultiLogistic(model.fit(&data).map_err(failed)?))
            }
        }
        (Kind::Tree, Some(_)) => {
            let mut parameters = DecisionTreeClassifierParameters::default()
                .with_min_samples_leaf(params.int("min_samples_leaf", 1).max(1) as usize)
                .with_min_samples_split(params.int("min_samples_split", 2).max(2) as usize);
            if let Some(depth) = depth(params) {
                parameters = parameters.with_max_depth(depth);
            }
            let labels: Vec<u32> = y.iter().map(|&v| v as u32).collect();
            Ok(Estimator::TreeClassifier(
                DecisionTreeClassifier::fit(&dense(x)?, &labels, parameters).map_err(failed)?,
            ))
        }
        (Kind::Tree, None) => {
            let mut parameters = DecisionTreeRegressorParameters::default()
                .with_min_samples_leaf(params.int("min_samples_leaf", 1).max(1) as usize)
                .with_min_samples_split(params.int("min_samples_split", 2).max(2) as usize);
            if let Some(depth) = depth(params) {
                parameters = parameters.with_max_depth(depth);
            }
            Ok(Estimator::TreeRegressor(
                DecisionTreeRegressor::fit(&dense(x)?, &y.to_vec(), parameters).map_err(failed)?,
            ))
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
        (Kind::Forest, Some(_)) => anyhow::bail!(
            "a classification `forest` is not available in this version of pipit yet: smartcore's \
             trees give one-hot probabilities and linfa's forests cannot be saved"
        ),
        (Kind::Forest, None) => {
            if params.0.get("bootstrap").and_then(serde_json::Value::as_bool) == Some(false) {
                anyhow::bail!(
                    "a regression forest always bootstraps here: remove `bootstrap=false`"
                );
            }
            let mut parameters = RandomForestRegressorParameters::default()
                .with_n_trees(params.int("n_trees", 100).max(1) as usize)
                .with_min_samples_leaf(params.int("min_samples_leaf", 1).max(1) as usize)
                .with_m(feature_count(params, x.ncols(), false))
                .with_seed(seed);
            if let Some(depth) = depth(params) {
                parameters = parameters.with_max_depth(depth);
            }
            Ok(Estimator::ForestRegressor(
                RandomForestRegressor::fit(&dense(x)?, &y.to_vec(), parameters).map_err(failed)?,
            ))
        }
        (Kind::Gbm, _) => {
            anyhow::bail!(
                "the `{}` model is not available in this version of pipit yet",
                kind.name()
            )
        }
    }
}

impl Model for Estimator {
    fn predict(&self, x: &Array2<f64>) -> anyhow::Result<Vec<f64>> {
        Ok(match self {
            Estimator::Linear(model) => model.predict(x).to_vec(),
            Estimator::Ridge(model) => model.predict(&dense(x)?).map_err(failed)?,
            Estimator::TreeRegressor(model) => model.predict(&dense(x)?).map_err(failed)?,
            Estimator::ForestRegressor(model) => model.predict(&dense(x)?).map_err(failed)?,
            Estimator::Logistic(_) | Estimator::MultiLogistic(_) | Estimator::TreeClassifier(_) => {
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
            Estimator::MultiLogistic(model) => {
                let classes = model.classes().to_vec();
                let p = model.predict_probabilities(x);
                let width = classes.iter().max().map_or(0, |m| m + 1);
                Some(
                    p.rows()
                        .into_iter()
                        .map(|row| {
                            let mut out = vec![0.0; width];
                            for (class, value) in classes.iter().zip(row) {
                                out[*class] = *value;
                            }
                            out
                        })
                        .collect(),
                )
            }
            Estimator::TreeClassifier(model) => {
                use smartcore::linalg::basic::arrays::Array;
                let p = model.predict_proba(&dense(x)?).map_err(failed)?;
                let (rows, columns) = p.shape();
                Some((0..rows).map(|r| (0..columns).map(|c| *p.get((r, c))).collect()).collect())
            }
            Estimator::Linear(_)
            | Estimator::Ridge(_)
            | Estimator::TreeRegressor(_)
            | Estimator::ForestRegressor(_) => None,
        })
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
