//! pipit's own tree models against the crates DESIGN.md first named for them:
//! forust-ml for gradient boosting, linfa for classification trees and
//! forests, smartcore for regression trees and forests. Both sides fit the
//! same matrices of the same 80/20 splits (written by bench/models-vs-crates),
//! in this process; fit time is measured around the fit call alone, and both
//! test metrics are computed by pipit's metric code.
//!
//!     models-vs-crates SPLITS_DIR REPEATS

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, bail};
use forust_ml::{GradientBooster, Matrix, objective::ObjectiveType};
use linfa::prelude::*;
use linfa_ensemble::RandomForestParams;
use linfa_trees::DecisionTree;
use ndarray::{Array1, Array2};
use pipit_stages::metrics::{classification_report, regression_report};
use pipit_stages::model::params::Hyperparameters;
use pipit_stages::model::{Kind, Model, fit};
use rand08::SeedableRng;
use rand08::rngs::SmallRng;
use smartcore::ensemble::random_forest_regressor::{
    RandomForestRegressor, RandomForestRegressorParameters,
};
use smartcore::linalg::basic::matrix::DenseMatrix;
use smartcore::tree::decision_tree_regressor::{
    DecisionTreeRegressor, DecisionTreeRegressorParameters,
};

const DATASETS: [(&str, &str, bool); 5] = [
    ("breast cancer", "breast-cancer", true),
    ("wine", "wine", true),
    ("iris", "iris", true),
    ("digits", "digits", true),
    ("diabetes", "diabetes", false),
];

/// One split's matrices; targets are class indices for classification.
struct Split {
    x_train: Array2<f64>,
    y_train: Vec<f64>,
    x_test: Array2<f64>,
    y_test: Vec<f64>,
    classes: usize,
}

/// Reads a CSV of numbers whose column `target` is the label.
fn read(path: &Path) -> anyhow::Result<(Array2<f64>, Vec<f64>)> {
    let text = fs_err::read_to_string(path)?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().context("empty file")?.split(',').collect();
    let target = header.iter().position(|h| *h == "target").context("no target column")?;
    let (mut cells, mut y, mut rows) = (Vec::new(), Vec::new(), 0);
    for line in lines.filter(|l| !l.is_empty()) {
        for (i, cell) in line.split(',').enumerate() {
            let value: f64 =
                cell.parse().with_context(|| format!("`{cell}` in {}", path.display()))?;
            if i == target { y.push(value) } else { cells.push(value) }
        }
        rows += 1;
    }
    Ok((Array2::from_shape_vec((rows, header.len() - 1), cells)?, y))
}

fn split(folder: &Path, classification: bool) -> anyhow::Result<Split> {
    let (x_train, y_train) = read(&folder.join("train.csv"))?;
    let (x_test, y_test) = read(&folder.join("test.csv"))?;
    let classes = if classification {
        y_train.iter().chain(&y_test).fold(0.0f64, |a, &b| a.max(b)) as usize + 1
    } else {
        0
    };
    Ok(Split { x_train, y_train, x_test, y_test, classes })
}

/// F1 (binary, or macro over classes) or R², by pipit's metric code.
fn score(split: &Split, predicted: &[f64]) -> f64 {
    if split.classes == 0 {
        return regression_report(&split.y_test, predicted)["r2"].as_f64().unwrap_or(f64::NAN);
    }
    let names: Vec<String> = (0..split.classes).map(|c| c.to_string()).collect();
    let truth: Vec<usize> = split.y_test.iter().map(|&v| v as usize).collect();
    let labels: Vec<usize> = predicted.iter().map(|&v| v as usize).collect();
    classification_report(&names, &truth, &labels, None)["f1"].as_f64().unwrap_or(f64::NAN)
}

/// Fits pipit's model with its default hyperparameters; returns the test
/// predictions and the fit's seconds.
fn pipit(kind: Kind, split: &Split, seed: u64) -> anyhow::Result<(Vec<f64>, f64)> {
    let classes = (split.classes > 0).then_some(split.classes);
    let params = Hyperparameters(BTreeMap::new());
    let started = Instant::now();
    let model = fit(kind, &params, &split.x_train, &split.y_train, classes, seed)?;
    let seconds = started.elapsed().as_secs_f64();
    Ok((model.predict(&split.x_test)?, seconds))
}

fn column_major(x: &Array2<f64>) -> Vec<f64> {
    x.t().iter().copied().collect()
}

/// forust-ml with pipit's gbm defaults (100 trees, learning rate 0.1, depth
/// 3) and the given L2 penalty on leaf values and least hessian per leaf
/// (its own defaults are 1 and 1; pipit and scikit-learn have none and
/// 1e-3); one booster per class beyond two (one-vs-rest).
fn forust(split: &Split, l2: f32, min_leaf_weight: f32) -> anyhow::Result<(Vec<f64>, f64)> {
    let (train, test) = (column_major(&split.x_train), column_major(&split.x_test));
    let train = Matrix::new(&train, split.x_train.nrows(), split.x_train.ncols());
    let test = Matrix::new(&test, split.x_test.nrows(), split.x_test.ncols());
    let weights = vec![1.0; train.rows];
    let booster = |objective| {
        GradientBooster::default()
            .set_objective_type(objective)
            .set_iterations(100)
            .set_learning_rate(0.1)
            .set_max_depth(3)
            .set_l2(l2)
            .set_min_leaf_weight(min_leaf_weight)
    };
    let started = Instant::now();
    let margins: Vec<Vec<f64>> = match split.classes {
        0 => {
            let mut model = booster(ObjectiveType::SquaredLoss);
            model.fit(&train, &split.y_train, &weights, None)?;
            let seconds = started.elapsed().as_secs_f64();
            return Ok((model.predict(&test, true), seconds));
        }
        2 => {
            let mut model = booster(ObjectiveType::LogLoss);
            model.fit(&train, &split.y_train, &weights, None)?;
            vec![
                model.predict(&test, true).iter().map(|m| -m).collect(),
                model.predict(&test, true),
            ]
        }
        classes => (0..classes)
            .map(|class| {
                let y: Vec<f64> =
                    split.y_train.iter().map(|&v| f64::from(v as usize == class)).collect();
                let mut model = booster(ObjectiveType::LogLoss);
                model.fit(&train, &y, &weights, None)?;
                Ok(model.predict(&test, true))
            })
            .collect::<anyhow::Result<_>>()?,
    };
    let seconds = started.elapsed().as_secs_f64();
    let labels = (0..split.x_test.nrows())
        .map(|row| {
            (0..margins.len()).max_by(|&a, &b| margins[a][row].total_cmp(&margins[b][row])).unwrap()
                as f64
        })
        .collect();
    Ok((labels, seconds))
}

/// linfa's decision tree or random forest (100 trees, √features, bootstrap)
/// with its defaults otherwise.
fn linfa(forest: bool, split: &Split, seed: u64) -> anyhow::Result<(Vec<f64>, f64)> {
    let labels: Array1<usize> = split.y_train.iter().map(|&v| v as usize).collect();
    let data = Dataset::new(split.x_train.clone(), labels);
    let started = Instant::now();
    let predicted = if forest {
        let features = split.x_train.ncols() as f64;
        let model = RandomForestParams::new_fixed_rng(
            DecisionTree::params(),
            SmallRng::seed_from_u64(seed),
        )
        .ensemble_size(100)
        .bootstrap_proportion(1.0)
        .feature_proportion(features.sqrt().round() / features)
        .fit(&data)?;
        let seconds = started.elapsed().as_secs_f64();
        (model.predict(&split.x_test), seconds)
    } else {
        let model = DecisionTree::params().fit(&data)?;
        let seconds = started.elapsed().as_secs_f64();
        (model.predict(&split.x_test), seconds)
    };
    Ok((predicted.0.iter().map(|&c| c as f64).collect(), predicted.1))
}

/// smartcore's regression tree or random forest (100 trees, every feature at
/// each split, as DESIGN.md advises) with its defaults otherwise.
fn smartcore(forest: bool, split: &Split, seed: u64) -> anyhow::Result<(Vec<f64>, f64)> {
    let dense = |x: &Array2<f64>| {
        let rows: Vec<Vec<f64>> = x.rows().into_iter().map(|r| r.to_vec()).collect();
        DenseMatrix::from_2d_vec(&rows).map_err(|e| anyhow::anyhow!("{e}"))
    };
    let (train, test) = (dense(&split.x_train)?, dense(&split.x_test)?);
    let started = Instant::now();
    if forest {
        let parameters = RandomForestRegressorParameters::default()
            .with_n_trees(100)
            .with_m(split.x_train.ncols())
            .with_seed(seed);
        let model = RandomForestRegressor::fit(&train, &split.y_train, parameters)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let seconds = started.elapsed().as_secs_f64();
        Ok((model.predict(&test).map_err(|e| anyhow::anyhow!("{e}"))?, seconds))
    } else {
        let model = DecisionTreeRegressor::fit(
            &train,
            &split.y_train,
            DecisionTreeRegressorParameters::default(),
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        let seconds = started.elapsed().as_secs_f64();
        Ok((model.predict(&test).map_err(|e| anyhow::anyhow!("{e}"))?, seconds))
    }
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, dir, repeats] = args.as_slice() else {
        bail!("usage: models-vs-crates SPLITS_DIR REPEATS");
    };
    let repeats: u64 = repeats.parse()?;
    println!(
        "| data set | model | metric | crate | pipit | crate's | Δ | pipit fit | crate's fit |"
    );
    println!("|---|---|---|---|---:|---:|---:|---:|---:|");
    for (title, folder, classification) in DATASETS {
        let splits: Vec<Split> = (0..repeats)
            .map(|seed| split(&Path::new(dir).join(folder).join(seed.to_string()), classification))
            .collect::<anyhow::Result<_>>()?;
        let (tree, forest) = if classification {
            ("linfa-trees 0.8", "linfa-ensemble 0.8")
        } else {
            ("smartcore 0.7", "smartcore 0.7")
        };
        let rivals = [
            (Kind::Tree, tree),
            (Kind::Forest, forest),
            (Kind::Gbm, "forust-ml 0.8 (its defaults: λ 1, min leaf hessian 1)"),
            (Kind::Gbm, "forust-ml 0.8 (pipit's: λ 0, min leaf hessian 1e-3)"),
        ];
        for (kind, rival) in rivals {
            let mut sums = [0.0; 4];
            for (seed, split) in (0u64..).zip(&splits) {
                let (ours, our_seconds) = pipit(kind, split, seed)?;
                let (theirs, their_seconds) = match (kind, classification) {
                    (Kind::Gbm, _) if rival.contains("its defaults") => forust(split, 1.0, 1.0)?,
                    (Kind::Gbm, _) => forust(split, 0.0, 1e-3)?,
                    (_, true) => linfa(kind == Kind::Forest, split, seed)?,
                    (_, false) => smartcore(kind == Kind::Forest, split, seed)?,
                };
                for (sum, value) in sums.iter_mut().zip([
                    score(split, &ours),
                    score(split, &theirs),
                    our_seconds,
                    their_seconds,
                ]) {
                    *sum += value / repeats as f64;
                }
            }
            let [ours, theirs, our_fit, their_fit] = sums;
            println!(
                "| {title} | {} | {} | {rival} | {ours:.4} | {theirs:.4} | {:+.4} | {:.1} ms | {:.1} ms |",
                kind.name(),
                if classification { "F1" } else { "R²" },
                ours - theirs,
                our_fit * 1000.0,
                their_fit * 1000.0
            );
        }
    }
    Ok(())
}
