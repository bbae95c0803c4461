//! pipit's own tree models on binned features: a decision tree, a random
//! forest and gradient boosting. smartcore's and linfa's trees give a leaf's
//! majority class instead of its class fractions, which leaves ROC-AUC at
//! chance on imbalanced data, and linfa's forests cannot be saved; these
//! trees keep class fractions, grow forests in parallel with one seed per
//! tree, and save compactly.

mod bins;
mod grow;
mod helper;

use ndarray::Array2;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use bins::Edges;
pub use grow::Growth;
use grow::{Target, Tree};
use helper::Helper;

use crate::random::Random;
use crate::statistics::median;

/// Averaged trees: a decision tree is a forest of one tree on every row.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Forest {
    /// Values per leaf: the class count, or 1 for regression.
    width: usize,
    trees: Vec<Tree>,
}

/// How a forest is grown.
#[derive(Clone, Copy, Debug)]
pub struct ForestSettings {
    /// How many trees.
    pub trees: usize,
    /// Whether each tree sees a bootstrap sample instead of every row.
    pub bootstrap: bool,
    /// How each tree grows.
    pub growth: Growth,
}

/// Regression targets as gradients: leaves then hold (weighted) means.
fn as_gradients(y: &[f64], weights: Option<&[f64]>) -> (Vec<f64>, Vec<f64>) {
    match weights {
        None => (y.to_vec(), vec![1.0; y.len()]),
        Some(w) => (y.iter().zip(w).map(|(y, w)| y * w).collect(), w.to_vec()),
    }
}

impl Forest {
    /// Fits on `x` and the targets: values, or class indices below `classes`;
    /// each row counts `weights[row]` (1 without weights).
    pub fn fit(
        x: &Array2<f64>,
        y: &[f64],
        classes: Option<usize>,
        settings: ForestSettings,
        (seed, weights): (u64, Option<&[f64]>),
    ) -> Self {
        // Two-byte bins: every distinct value of all but the largest data
        // sets, so that thresholds fall where scikit-learn's exact trees put
        // them (byte bins cost a rare class's F1 on fully grown trees).
        let (edges, binned) = Edges::fit::<u16>(x, weights);
        let labels: Vec<u32> = y.iter().map(|&v| v as u32).collect();
        let (gradients, hessians) = as_gradients(y, weights);
        let target = match classes {
            Some(classes) => Target::Classes { labels: &labels, classes, weights },
            None => Target::Gradients { gradients: &gradients, hessians: &hessians, l2: 0.0 },
        };
        let rows = x.nrows();
        let trees = (0..settings.trees)
            .into_par_iter()
            .map(|index| {
                let mut random = Random::task(seed, index as u64);
                let sample: Vec<u32> = if settings.bootstrap {
                    // Sorted, so that the passes over a node's rows read in order.
                    let mut drawn: Vec<u32> =
                        (0..rows).map(|_| random.int(0, rows as i64 - 1) as u32).collect();
                    drawn.sort_unstable();
                    drawn
                } else {
                    (0..rows as u32).collect()
                };
                Tree::grow(&binned, &edges, &target, settings.growth, sample, &mut random)
            })
            .collect();
        Self { width: classes.unwrap_or(1), trees }
    }

    /// Returns, per row, the trees' averaged leaf values: class
    /// probabilities, or the predicted value.
    pub fn predict(&self, x: &Array2<f64>) -> Vec<Vec<f64>> {
        x.rows()
            .into_iter()
            .map(|row| {
                let row = row.to_vec();
                let mut sum = vec![0.0; self.width];
                for tree in &self.trees {
                    let values = tree.leaf_values(&row, self.width);
                    sum.iter_mut().zip(values).for_each(|(s, v)| *s += v);
                }
                sum.iter().map(|s| s / self.trees.len() as f64).collect()
            })
            .collect()
    }

    /// Returns, per input, the summed gain of the splits on it.
    pub fn gains(&self, inputs: usize) -> Vec<f64> {
        sum_gains(&self.trees, inputs)
    }

    /// Returns how many leaves the trees have together.
    pub fn leaves(&self) -> usize {
        self.trees.iter().map(Tree::leaves).sum()
    }
}

/// From this many rows on, a round's gradients are computed, and the rows a
/// tree was not grown on sent down it, in two halves (side by side when the
/// fit has a helper thread).
const SPLIT_GRADIENTS_FROM: usize = 4096;

/// Gradient-boosted trees: squared or absolute error for regression, log loss (binary)
/// or softmax (one tree per class and round) for classification.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Boosted {
    /// 0 for regression, else the class count.
    classes: usize,
    /// The starting raw score per output.
    init: Vec<f64>,
    /// `outputs` trees per round, already scaled by the learning rate.
    trees: Vec<Tree>,
}

/// What regression boosting minimises (classification boosts log loss).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loss {
    /// Squared error: trees fit the residuals, leaves hold their means.
    Squared,
    /// Absolute error, as scikit-learn's `absolute_error`: the raw scores
    /// start at the median, trees are grown on the residuals' signs, and each
    /// leaf then holds the median of its rows' residuals.
    Absolute,
}

/// How boosting proceeds.
#[derive(Clone, Copy, Debug)]
pub struct BoostSettings {
    /// The regression loss.
    pub loss: Loss,
    /// Boosting rounds.
    pub rounds: usize,
    /// The shrinkage of each tree.
    pub learning_rate: f64,
    /// The share of rows each round sees (drawn without replacement).
    pub subsample: f64,
    /// The L2 penalty on leaf values (scikit-learn's `l2_regularization`).
    pub l2: f64,
    /// How each tree grows.
    pub growth: Growth,
    /// Whether to stop when a held-out share of the rows stops improving.
    pub early_stopping: Option<EarlyStopping>,
}

/// Early stopping, as scikit-learn's HistGradientBoosting does it: a share of
/// the training rows (stratified for classification) is held out, and
/// boosting stops once its loss has not improved by more than 1e-7 for
/// `n_iter_no_change` rounds.
#[derive(Clone, Copy, Debug)]
pub struct EarlyStopping {
    pub validation_fraction: f64,
    pub n_iter_no_change: usize,
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn softmax(raw: &[f64]) -> Vec<f64> {
    let top = raw.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exp: Vec<f64> = raw.iter().map(|r| (r - top).exp()).collect();
    let sum: f64 = exp.iter().sum();
    exp.iter().map(|e| e / sum).collect()
}

/// Splits the rows into those trees are grown on and a held-out share
/// (within each class for classification), both sorted.
fn hold_out(y: &[f64], classes: usize, fraction: f64, random: &mut Random) -> (Vec<u32>, Vec<u32>) {
    let groups: Vec<Vec<u32>> = if classes > 0 {
        (0..classes)
            .map(|c| (0..y.len() as u32).filter(|&r| y[r as usize] as usize == c).collect())
            .collect()
    } else {
        vec![(0..y.len() as u32).collect()]
    };
    let (mut fitted, mut held_out) = (Vec::new(), Vec::new());
    for mut group in groups {
        random.shuffle(&mut group);
        let count = ((group.len() as f64 * fraction).round() as usize).min(group.len());
        held_out.extend_from_slice(&group[..count]);
        fitted.extend_from_slice(&group[count..]);
    }
    fitted.sort_unstable();
    held_out.sort_unstable();
    (fitted, held_out)
}

/// Returns true when none of the last `patience` losses improved on the one
/// before them by more than 1e-7 (scikit-learn's `_should_stop`).
fn no_improvement(losses: &[f64], patience: usize) -> bool {
    if losses.len() <= patience {
        return false;
    }
    let reference = losses[losses.len() - patience - 1];
    losses[losses.len() - patience..].iter().all(|&loss| loss >= reference - 1e-7)
}

/// Returns -1, 0 or 1 as numpy's `sign` does.
fn sign(value: f64) -> f64 {
    if value == 0.0 { 0.0 } else { value.signum() }
}

/// Returns, per leaf of `tree`, the median residual `y - raw` of the sampled
/// rows that fall in it (scikit-learn's leaf update for absolute error).
fn leaf_medians(tree: &Tree, x: &Array2<f64>, y: &[f64], raw: &[f64], sample: &[u32]) -> Vec<f64> {
    let mut residuals: Vec<Vec<f64>> = vec![Vec::new(); tree.leaves()];
    for &r in sample {
        let row = x.row(r as usize);
        let row = row.as_slice().expect("the matrix is in standard layout");
        residuals[tree.leaf(row)].push(y[r as usize] - raw[r as usize]);
    }
    residuals
        .into_iter()
        .map(|mut values| if values.is_empty() { 0.0 } else { median(&mut values) })
        .collect()
}

/// What growing one output's tree each round needs, kept between rounds.
#[derive(Default)]
struct RoundBuffers {
    gradients: Vec<f64>,
    hessians: Vec<f64>,
    /// The rows the tree is grown on, handed to it and back.
    rows: Vec<u32>,
}

/// Sums the trees' gains per input.
fn sum_gains(trees: &[Tree], inputs: usize) -> Vec<f64> {
    let mut total = vec![0.0; inputs];
    for tree in trees {
        total.iter_mut().zip(tree.gains(inputs)).for_each(|(t, g)| *t += g);
    }
    total
}

impl Boosted {
    /// Returns, per input, the summed gain of the splits on it.
    pub fn gains(&self, inputs: usize) -> Vec<f64> {
        sum_gains(&self.trees, inputs)
    }

    /// The raw scores each output has per row.
    fn outputs(&self) -> usize {
        if self.classes > 2 { self.classes } else { 1 }
    }

    /// Fits on `x` and the targets: values, or class indices below `classes`;
    /// each row's gradient and hessian count `weights[row]` (1 without
    /// weights), and the starting scores are the weighted mean or prior.
    pub fn fit(
        x: &Array2<f64>,
        y: &[f64],
        classes: Option<usize>,
        settings: BoostSettings,
        (seed, weights): (u64, Option<&[f64]>),
    ) -> Self {
        let x = &x.as_standard_layout().into_owned();
        let (edges, binned) = Edges::fit::<u8>(x, weights);
        let rows = y.len();
        let weight = |row: usize| weights.map_or(1.0, |w| w[row]);
        let mut random = Random::task(seed, 0);
        // The rows trees are grown on, and those held out for early stopping.
        let (fitted, held_out) = match settings.early_stopping {
            Some(stopping) => {
                hold_out(y, classes.unwrap_or(0), stopping.validation_fraction, &mut random)
            }
            None => ((0..rows as u32).collect(), Vec::new()),
        };
        let total: f64 =
            fitted.iter().map(|&r| weight(r as usize)).sum::<f64>().max(f64::MIN_POSITIVE);
        let classes = classes.unwrap_or(0);
        let absolute = classes == 0 && settings.loss == Loss::Absolute;
        let init = match classes {
            0 if absolute => {
                vec![median(&mut fitted.iter().map(|&r| y[r as usize]).collect::<Vec<_>>())]
            }
            0 => vec![
                fitted.iter().map(|&r| y[r as usize] * weight(r as usize)).sum::<f64>() / total,
            ],
            _ => {
                let mut counts = vec![0.0; classes];
                fitted.iter().for_each(|&r| counts[y[r as usize] as usize] += weight(r as usize));
                let prior: Vec<f64> =
                    counts.iter().map(|c| (c / total).clamp(1e-12, 1.0 - 1e-12)).collect();
                if classes == 2 {
                    vec![(prior[1] / prior[0]).ln()]
                } else {
                    prior.iter().map(|p| p.ln()).collect()
                }
            }
        };
        let mut model = Self { classes, init, trees: Vec::new() };
        let outputs = model.outputs();
        let mut raw: Vec<Vec<f64>> = (0..outputs).map(|k| vec![model.init[k]; rows]).collect();
        let sampled =
            ((settings.subsample.clamp(0.0, 1.0) * fitted.len() as f64).round() as usize).max(1);
        let mut validation = Vec::new();
        if settings.early_stopping.is_some() {
            validation.push(model.loss(&raw, y, &held_out, weights, absolute));
        }
        // Each output's buffers, kept from round to round (fresh ones of
        // this size would cost page faults every round).
        let mut buffers: Vec<RoundBuffers> =
            (0..outputs).map(|_| RoundBuffers::default()).collect();
        // A helper thread for the large nodes of one tree a round.
        Helper::around(outputs == 1, |helper| {
            let mut drawn = Vec::new();
            for round in 0..settings.rounds {
                let sample: &[u32] = if sampled < fitted.len() {
                    drawn.clone_from(&fitted);
                    random.shuffle(&mut drawn);
                    drawn.truncate(sampled);
                    drawn.sort_unstable();
                    &drawn
                } else {
                    &fitted
                };
                let probabilities: Vec<Vec<f64>> = if classes > 2 {
                    (0..rows)
                        .map(|r| softmax(&(0..outputs).map(|k| raw[k][r]).collect::<Vec<_>>()))
                        .collect()
                } else {
                    Vec::new()
                };
                // One tree per output (class) from the same raw scores, each
                // with its own random stream, so the result does not depend on
                // the thread count.
                let grow = |(k, (raw_k, buffer)): (usize, (&mut Vec<f64>, &mut RoundBuffers))| {
                    let RoundBuffers { gradients, hessians, rows: tree_rows } = buffer;
                    gradients.resize(rows, 0.0);
                    hessians.resize(rows, 0.0);
                    // The rows from `first` on, into the slices given.
                    let compute = |first: usize, gradients: &mut [f64], hessians: &mut [f64]| {
                        let pairs = gradients.iter_mut().zip(hessians.iter_mut());
                        for (r, (gradient, hessian)) in (first..).zip(pairs) {
                            let (g, h) = match classes {
                                0 if absolute => (sign(y[r] - raw_k[r]), 1.0),
                                0 => (y[r] - raw_k[r], 1.0),
                                2 => {
                                    let p = sigmoid(raw_k[r]);
                                    (y[r] - p, p * (1.0 - p))
                                }
                                _ => {
                                    let p = probabilities[r][k];
                                    let hit = f64::from(u8::from(y[r] as usize == k));
                                    (hit - p, p * (1.0 - p))
                                }
                            };
                            (*gradient, *hessian) = (g * weight(r), h * weight(r));
                        }
                    };
                    if rows >= SPLIT_GRADIENTS_FROM {
                        let half = rows / 2;
                        let (first_g, second_g) = gradients.split_at_mut(half);
                        let (first_h, second_h) = hessians.split_at_mut(half);
                        Helper::side_by_side(helper, &mut || compute(0, first_g, first_h), || {
                            compute(half, second_g, second_h);
                        });
                    } else {
                        compute(0, gradients, hessians);
                    }
                    let target = Target::Gradients { gradients, hessians, l2: settings.l2 };
                    tree_rows.clear();
                    tree_rows.extend_from_slice(sample);
                    let mut random = Random::task(seed, (1 + round * outputs + k) as u64);
                    let (mut tree, placed) = Tree::grow_placed(
                        (&binned, &edges, &target, helper),
                        settings.growth,
                        std::mem::take(tree_rows),
                        &mut random,
                    );
                    if absolute {
                        tree.set_leaf_values(leaf_medians(&tree, x, y, raw_k, sample));
                    }
                    tree.scale(settings.learning_rate);
                    // The rows the tree was grown on are known by leaf; only the
                    // others (left out by subsampling, held out) go down it.
                    for &(leaf, start, end) in &placed.leaves {
                        let value = tree.value(leaf);
                        for &row in &placed.rows[start..end] {
                            raw_k[row as usize] += value;
                        }
                    }
                    if sample.len() < rows {
                        let mut reached = vec![false; rows];
                        for &row in &placed.rows {
                            reached[row as usize] = true;
                        }
                        // The rows from `first` on, into the slice given.
                        let descend = |first: usize, raw: &mut [f64]| {
                            for (r, value) in (first..).zip(raw) {
                                if !reached[r] {
                                    let row = x.row(r);
                                    let row =
                                        row.as_slice().expect("the matrix is in standard layout");
                                    *value += tree.leaf_values(row, 1)[0];
                                }
                            }
                        };
                        if rows >= SPLIT_GRADIENTS_FROM {
                            let (first, second) = raw_k.split_at_mut(rows / 2);
                            Helper::side_by_side(helper, &mut || descend(0, &mut *first), || {
                                descend(rows / 2, second);
                            });
                        } else {
                            descend(0, raw_k);
                        }
                    }
                    *tree_rows = placed.rows;
                    tree
                };
                // A single tree grows on this thread (a round trip through
                // rayon's pool would wake a sleeping thread twice a round),
                // several side by side on rayon's.
                let grown: Vec<Tree> = if outputs == 1 {
                    raw.iter_mut().zip(buffers.iter_mut()).enumerate().map(grow).collect()
                } else {
                    let buffers = buffers.par_iter_mut();
                    raw.par_iter_mut().zip(buffers).enumerate().map(grow).collect()
                };
                model.trees.extend(grown);
                if let Some(stopping) = settings.early_stopping {
                    validation.push(model.loss(&raw, y, &held_out, weights, absolute));
                    if no_improvement(&validation, stopping.n_iter_no_change) {
                        break;
                    }
                }
            }
        });
        model
    }

    /// Returns the mean (weighted) loss of the raw scores on `rows`: squared
    /// or absolute error, or log loss.
    fn loss(
        &self,
        raw: &[Vec<f64>],
        y: &[f64],
        rows: &[u32],
        weights: Option<&[f64]>,
        absolute: bool,
    ) -> f64 {
        let (mut sum, mut total) = (0.0, 0.0);
        for &r in rows {
            let r = r as usize;
            let w = weights.map_or(1.0, |w| w[r]);
            let loss = match self.classes {
                0 if absolute => (y[r] - raw[0][r]).abs(),
                0 => (y[r] - raw[0][r]).powi(2),
                2 => {
                    let p = sigmoid(raw[0][r]).clamp(1e-15, 1.0 - 1e-15);
                    if y[r] > 0.5 { -p.ln() } else { -(1.0 - p).ln() }
                }
                _ => {
                    let p = softmax(&raw.iter().map(|k| k[r]).collect::<Vec<_>>());
                    -p[y[r] as usize].max(1e-15).ln()
                }
            };
            sum += w * loss;
            total += w;
        }
        sum / total.max(f64::MIN_POSITIVE)
    }

    /// Returns, per row, class probabilities, or the predicted value.
    pub fn predict(&self, x: &Array2<f64>) -> Vec<Vec<f64>> {
        let outputs = self.outputs();
        x.rows()
            .into_iter()
            .map(|row| {
                let row = row.to_vec();
                let mut raw = self.init.clone();
                for (i, tree) in self.trees.iter().enumerate() {
                    raw[i % outputs] += tree.leaf_values(&row, 1)[0];
                }
                match self.classes {
                    0 => raw,
                    2 => {
                        let p = sigmoid(raw[0]);
                        vec![1.0 - p, p]
                    }
                    _ => softmax(&raw),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two features; the class is 1 when x0 + noise > 0.5, x1 is noise.
    fn data(rows: usize) -> (Array2<f64>, Vec<f64>) {
        let mut random = Random::task(9, 0);
        let mut values = Vec::new();
        let mut y = Vec::new();
        for _ in 0..rows {
            let (a, b) = (random.uniform(0.0, 1.0), random.uniform(0.0, 1.0));
            values.extend([a, b]);
            y.push(f64::from(u8::from(a + random.normal(0.0, 0.1) > 0.5)));
        }
        (Array2::from_shape_vec((rows, 2), values).unwrap(), y)
    }

    fn growth(max_depth: Option<usize>) -> Growth {
        Growth {
            max_depth,
            min_samples_split: 2,
            min_samples_leaf: 1,
            max_features: 2,
            max_leaf_nodes: None,
            tree_features: None,
        }
    }

    #[test]
    fn a_stump_splits_the_informative_feature_near_its_threshold() {
        let (x, y) = data(2000);
        let settings = ForestSettings { trees: 1, bootstrap: false, growth: growth(Some(1)) };
        let forest = Forest::fit(&x, &y, Some(2), settings, (1, None));
        assert_eq!(forest.leaves(), 2);
        let low = Array2::from_shape_vec((2, 2), vec![0.2, 0.9, 0.8, 0.1]).unwrap();
        let p = forest.predict(&low);
        assert!(p[0][1] < 0.15 && p[1][1] > 0.85, "{p:?}");
        assert!((p[0][0] + p[0][1] - 1.0).abs() < 1e-12);
    }

    #[test]
    fn a_fully_grown_tree_fits_its_training_rows() {
        let (x, y) = data(300);
        let settings = ForestSettings { trees: 1, bootstrap: false, growth: growth(None) };
        let forest = Forest::fit(&x, &y, None, settings, (1, None));
        let predicted = forest.predict(&x);
        for (p, t) in predicted.iter().zip(&y) {
            assert!((p[0] - t).abs() < 1e-12);
        }
    }

    #[test]
    fn forests_are_deterministic_and_depend_on_the_seed() {
        let (x, y) = data(500);
        let settings = ForestSettings {
            trees: 8,
            bootstrap: true,
            growth: Growth { max_features: 1, ..growth(None) },
        };
        let a = Forest::fit(&x, &y, Some(2), settings, (3, None));
        assert_eq!(a, Forest::fit(&x, &y, Some(2), settings, (3, None)));
        assert_ne!(a, Forest::fit(&x, &y, Some(2), settings, (4, None)));
    }

    #[test]
    fn a_fit_with_its_helper_thread_equals_one_without() {
        // Large enough for nodes to be filled in halves and searched in pairs.
        let (x, y) = data(6000);
        let settings = BoostSettings {
            loss: Loss::Squared,
            rounds: 20,
            learning_rate: 0.1,
            subsample: 1.0,
            l2: 0.0,
            growth: Growth { max_leaf_nodes: Some(31), min_samples_leaf: 20, ..growth(None) },
            early_stopping: None,
        };
        let fit = || Boosted::fit(&x, &y, Some(2), settings, (3, None));
        // Here, outside rayon's pool, the fit has a helper (on two cores or
        // more); within a pool it has none.
        let with_helper = fit();
        let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        let without = pool.install(fit);
        assert_eq!(with_helper, without);
        assert!(with_helper.trees.iter().all(|tree| tree.leaves() > 20));
    }

    #[test]
    fn boosting_lowers_the_training_error_round_by_round() {
        let (x, y) = data(1000);
        let target: Vec<f64> =
            x.rows().into_iter().map(|r| 3.0 * r[0] + (6.0 * r[1]).sin()).collect();
        let error = |rounds| {
            let settings = BoostSettings {
                loss: Loss::Squared,
                rounds,
                learning_rate: 0.1,
                subsample: 1.0,
                l2: 0.0,
                growth: growth(Some(3)),
                early_stopping: None,
            };
            let model = Boosted::fit(&x, &target, None, settings, (1, None));
            let p = model.predict(&x);
            p.iter().zip(&target).map(|(p, t)| (p[0] - t).powi(2)).sum::<f64>() / 1000.0
        };
        let (e0, e10, e100) = (error(0), error(10), error(100));
        assert!(e0 > e10 && e10 > e100 && e100 < 0.01, "{e0} {e10} {e100}");
        let settings = BoostSettings {
            loss: Loss::Squared,
            rounds: 50,
            learning_rate: 0.1,
            subsample: 0.8,
            l2: 0.0,
            growth: growth(Some(3)),
            early_stopping: None,
        };
        let binary = Boosted::fit(&x, &y, Some(2), settings, (1, None));
        let p = binary.predict(&x);
        let correct = p.iter().zip(&y).filter(|(p, t)| (p[1] > 0.5) == (**t == 1.0)).count();
        assert!(correct > 900, "{correct}");
        let three: Vec<f64> = x.rows().into_iter().map(|r| (r[0] * 3.0).floor().min(2.0)).collect();
        let multi = Boosted::fit(&x, &three, Some(3), settings, (1, None));
        let p = multi.predict(&x);
        assert!((p[0].iter().sum::<f64>() - 1.0).abs() < 1e-12);
        let correct =
            p.iter().zip(&three).filter(|(p, t)| crate::model::argmax(p) as f64 == **t).count();
        assert!(correct > 950, "{correct}");
    }

    #[test]
    fn absolute_loss_starts_at_the_median_and_shrugs_off_outliers() {
        let (x, _) = data(1000);
        let clean: Vec<f64> = x.rows().into_iter().map(|r| 3.0 * r[0]).collect();
        // One row in ten is a wild outlier.
        let noisy: Vec<f64> = clean
            .iter()
            .enumerate()
            .map(|(i, v)| if i % 10 == 0 { v + 100.0 } else { *v })
            .collect();
        let fit = |loss, rounds| {
            let settings = BoostSettings {
                loss,
                rounds,
                learning_rate: 0.1,
                subsample: 1.0,
                l2: 0.0,
                growth: growth(Some(3)),
                early_stopping: None,
            };
            Boosted::fit(&x, &noisy, None, settings, (1, None)).predict(&x)
        };
        assert_eq!(fit(Loss::Absolute, 0)[0][0], median(&mut noisy.clone()));
        let error = |p: Vec<Vec<f64>>| {
            p.iter().zip(&clean).map(|(p, t)| (p[0] - t).abs()).sum::<f64>() / clean.len() as f64
        };
        let (absolute, squared) = (error(fit(Loss::Absolute, 100)), error(fit(Loss::Squared, 100)));
        // scikit-learn's HistGradientBoostingRegressor, alike on such data: 0.25 and 10.1.
        assert!(
            absolute < 0.5 && squared > 10.0 * absolute,
            "absolute {absolute}, squared {squared}"
        );
    }

    #[test]
    fn an_l2_penalty_shrinks_leaf_values() {
        let (x, _) = data(500);
        let y: Vec<f64> = x.rows().into_iter().map(|r| 10.0 * r[0]).collect();
        let spread = |l2| {
            let settings = BoostSettings {
                loss: Loss::Squared,
                rounds: 1,
                learning_rate: 1.0,
                subsample: 1.0,
                l2,
                growth: growth(Some(1)),
                early_stopping: None,
            };
            let p = Boosted::fit(&x, &y, None, settings, (1, None)).predict(&x);
            let values: Vec<f64> = p.iter().map(|v| v[0]).collect();
            values.iter().copied().fold(f64::NEG_INFINITY, f64::max)
                - values.iter().copied().fold(f64::INFINITY, f64::min)
        };
        // A stump's two leaves: G / H apart without a penalty, G / (H + λ) with one.
        let (free, penalised) = (spread(0.0), spread(250.0));
        assert!(free > 4.0 && penalised < 0.7 * free, "{free} {penalised}");
    }

    #[test]
    fn best_first_growth_stops_at_the_leaf_budget_and_splits_where_it_gains_most() {
        let (x, y) = data(3000);
        let settings = |max_leaf_nodes| ForestSettings {
            trees: 1,
            bootstrap: false,
            growth: Growth { max_leaf_nodes, ..growth(None) },
        };
        for budget in [2, 5, 31] {
            let forest = Forest::fit(&x, &y, Some(2), settings(Some(budget)), (1, None));
            assert_eq!(forest.leaves(), budget, "budget {budget}");
        }
        // Two leaves: the one split is the informative feature's, as depth one.
        let stump = Forest::fit(&x, &y, Some(2), settings(Some(2)), (1, None));
        let depth_one = ForestSettings { trees: 1, bootstrap: false, growth: growth(Some(1)) };
        let same = Forest::fit(&x, &y, Some(2), depth_one, (1, None));
        assert_eq!(stump.predict(&x), same.predict(&x));
    }

    #[test]
    fn a_tree_sees_only_its_share_of_the_features() {
        let (x, y) = data(2000);
        let one = ForestSettings {
            trees: 8,
            bootstrap: false,
            growth: Growth { tree_features: Some(1), ..growth(Some(3)) },
        };
        let forest = Forest::fit(&x, &y, Some(2), one, (5, None));
        for tree in &forest.trees {
            let used = tree.gains(2).iter().filter(|&&g| g > 0.0).count();
            assert!(used <= 1, "a tree split on {used} features");
        }
    }

    #[test]
    fn early_stopping_stops_when_the_held_out_loss_stops_improving() {
        let (x, y) = data(3000);
        let settings = |early_stopping| BoostSettings {
            loss: Loss::Squared,
            rounds: 500,
            learning_rate: 0.3,
            subsample: 1.0,
            l2: 0.0,
            growth: growth(Some(3)),
            early_stopping,
        };
        let all = Boosted::fit(&x, &y, Some(2), settings(None), (1, None));
        assert_eq!(all.trees.len(), 500);
        let stopping = EarlyStopping { validation_fraction: 0.1, n_iter_no_change: 10 };
        let stopped = Boosted::fit(&x, &y, Some(2), settings(Some(stopping)), (1, None));
        assert!(stopped.trees.len() < 200, "stopped after {} rounds", stopped.trees.len());
        assert!(no_improvement(&[1.0, 0.9, 0.9, 0.9], 2));
        assert!(!no_improvement(&[1.0, 0.9, 0.8, 0.9], 2));
        assert!(!no_improvement(&[1.0, 0.9], 2));
    }

    #[test]
    fn a_split_learns_which_side_missing_values_go() {
        // Class 1 when x0 > 0.5, or when x0 is missing (a fifth of the rows).
        let (mut x, mut y) = data(2000);
        for row in (0..2000).step_by(5) {
            x[[row, 0]] = f64::NAN;
            y[row] = 1.0;
        }
        let settings = ForestSettings { trees: 1, bootstrap: false, growth: growth(Some(1)) };
        let stump = Forest::fit(&x, &y, Some(2), settings, (1, None));
        let probe =
            Array2::from_shape_vec((3, 2), vec![f64::NAN, 0.5, 0.2, 0.5, 0.9, 0.5]).unwrap();
        let p = stump.predict(&probe);
        assert!(p[0][1] > 0.85 && p[1][1] < 0.15 && p[2][1] > 0.85, "{p:?}");
        // Missing values alone make a split when they are what tells.
        let only_missing: Vec<f64> = (0..2000).map(|r| f64::from(u8::from(r % 5 == 0))).collect();
        let stump = Forest::fit(&x, &only_missing, Some(2), settings, (1, None));
        let p = stump.predict(&probe);
        assert!(p[0][1] > 0.99 && p[1][1] < 0.01 && p[2][1] < 0.01, "{p:?}");
        // x1 had no missing values: one at prediction goes to the larger child.
        let (x, y) = data(2000);
        let lopsided: Vec<f64> =
            x.column(1).iter().map(|&v| f64::from(u8::from(v > 0.8))).collect();
        let stump = Forest::fit(&x, &lopsided, Some(2), settings, (1, None));
        let probe = Array2::from_shape_vec((1, 2), vec![0.5, f64::NAN]).unwrap();
        assert!(stump.predict(&probe)[0][1] < 0.01);
        // Boosting learns it too: log loss on the rows with x0 missing.
        let mut x_missing = x.clone();
        let mut y_missing = y.clone();
        for row in (0..2000).step_by(5) {
            x_missing[[row, 0]] = f64::NAN;
            y_missing[row] = 1.0;
        }
        let settings = BoostSettings {
            loss: Loss::Squared,
            rounds: 50,
            learning_rate: 0.1,
            subsample: 1.0,
            l2: 0.0,
            growth: growth(Some(3)),
            early_stopping: None,
        };
        let boosted = Boosted::fit(&x_missing, &y_missing, Some(2), settings, (1, None));
        let p = boosted.predict(&x_missing);
        assert!((0..2000).step_by(5).all(|r| p[r][1] > 0.9));
    }
}
