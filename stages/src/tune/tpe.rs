//! The Tree-structured Parzen Estimator as Optuna's `TPESampler` defines it
//! (univariate, its defaults): after the start-up trials, the finished trials
//! are split into the best `gamma(n) = min(ceil(0.1 n), 25)` ("below") and the
//! rest ("above"); each side becomes a Parzen estimator per hyperparameter (a
//! truncated-normal mixture for numbers, a smoothed histogram for choices,
//! each with a prior component of weight 1); 24 candidates are drawn from the
//! "below" estimator and the one with the largest `log l(x) − log g(x)` wins.
//! Pruned trials count among the "above" ones.

use super::space::Range;
use crate::random::Random;

/// Candidates drawn per suggestion (Optuna's `n_ei_candidates`).
pub const CANDIDATES: usize = 24;

/// The weight of each estimator's prior component (Optuna's `prior_weight`).
const PRIOR_WEIGHT: f64 = 1.0;

/// Returns how many of `n` trials count as good.
pub fn gamma(n: usize) -> usize {
    n.div_ceil(10).min(25)
}

/// Returns the weights of `n` observations in trial order: older ones
/// fade linearly once there are more than 25 (Optuna's `default_weights`).
pub fn weights(n: usize) -> Vec<f64> {
    if n < 25 {
        return vec![1.0; n];
    }
    let ramp = n - 25;
    let mut weights: Vec<f64> = (0..ramp)
        .map(|i| {
            if ramp == 1 {
                1.0 / n as f64
            } else {
                1.0 / n as f64 + (1.0 - 1.0 / n as f64) * i as f64 / (ramp - 1) as f64
            }
        })
        .collect();
    weights.extend(std::iter::repeat_n(1.0, 25));
    weights
}

/// A mixture over one hyperparameter.
enum Estimator {
    /// Truncated normals on `[low, high]`; on a grid, each value weighs the
    /// mass of its grid cell (half a step either side), as Optuna's
    /// `_BatchedDiscreteTruncNormDistributions` do.
    Numeric {
        low: f64,
        high: f64,
        grid: Option<(f64, bool)>,
        mus: Vec<f64>,
        sigmas: Vec<f64>,
        weights: Vec<f64>,
    },
    /// One smoothed histogram per component.
    Categorical { tables: Vec<Vec<f64>>, weights: Vec<f64> },
}

fn normal_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
}

/// Returns `ln Φ(x)`, with the asymptotic series far in the left tail where
/// `Φ` underflows.
fn log_normal_cdf(x: f64) -> f64 {
    if x > -20.0 {
        return normal_cdf(x).ln();
    }
    let z2 = x * x;
    -0.5 * z2 - (-x).ln() - 0.5 * (2.0 * std::f64::consts::PI).ln()
        + (1.0 - 1.0 / z2 + 3.0 / (z2 * z2)).ln()
}

/// Returns the log of the standard normal's mass on `[a, b]` (Optuna's
/// `_log_gauss_mass`: the left tail by log-differences, the right one by
/// symmetry, the centre by `log1p`).
fn log_gauss_mass(a: f64, b: f64) -> f64 {
    if b <= 0.0 {
        let (la, lb) = (log_normal_cdf(a), log_normal_cdf(b));
        if la == f64::NEG_INFINITY {
            return lb;
        }
        lb + (-(la - lb).exp()).ln_1p()
    } else if a > 0.0 {
        log_gauss_mass(-b, -a)
    } else {
        (-normal_cdf(a) - normal_cdf(-b)).ln_1p()
    }
}

fn log_sum_exp(values: &[f64]) -> f64 {
    let top = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if top == f64::NEG_INFINITY {
        return top;
    }
    top + values.iter().map(|v| (v - top).exp()).sum::<f64>().ln()
}

impl Estimator {
    /// Builds the estimator of `observations` (internal values, trial order).
    fn new(range: &Range, observations: &[f64]) -> Self {
        let mut weights = weights(observations.len());
        weights.push(PRIOR_WEIGHT);
        let total: f64 = weights.iter().sum();
        weights.iter_mut().for_each(|w| *w /= total);
        match range {
            Range::Choice(values) => {
                let choices = values.len();
                // Every component spreads the prior's weight thinly over all
                // choices (Optuna: `prior_weight / n_kernels` each).
                let floor = PRIOR_WEIGHT / (observations.len() + 1) as f64;
                let mut tables: Vec<Vec<f64>> = observations
                    .iter()
                    .map(|&o| {
                        let mut row = vec![floor; choices];
                        row[o as usize] += 1.0;
                        let sum: f64 = row.iter().sum();
                        row.iter().map(|p| p / sum).collect()
                    })
                    .collect();
                tables.push(vec![1.0 / choices as f64; choices]);
                Estimator::Categorical { tables, weights }
            }
            Range::Number { .. } => {
                let (low, high) = range.bounds();
                let (mus, sigmas) = bandwidths(observations, low, high);
                Estimator::Numeric { low, high, grid: range.grid(), mus, sigmas, weights }
            }
        }
    }

    fn sample(&self, random: &mut Random) -> f64 {
        let pick = |weights: &[f64], random: &mut Random| {
            let mut target = random.uniform(0.0, 1.0);
            for (i, w) in weights.iter().enumerate() {
                if target < *w {
                    return i;
                }
                target -= w;
            }
            weights.len() - 1
        };
        match self {
            Estimator::Categorical { tables, weights } => {
                let component = pick(weights, random);
                pick(&tables[component], random) as f64
            }
            Estimator::Numeric { low, high, mus, sigmas, weights, .. } => {
                let component = pick(weights, random);
                // Inverse-CDF sampling of the truncated normal.
                let (mu, sigma) = (mus[component], sigmas[component]);
                let (a, b) = (normal_cdf((low - mu) / sigma), normal_cdf((high - mu) / sigma));
                let u = a + (b - a) * random.uniform(0.0, 1.0);
                let x = mu + sigma * std::f64::consts::SQRT_2 * erfinv(2.0 * u - 1.0);
                x.clamp(*low, *high)
            }
        }
    }

    /// Returns the log density at internal value `x` (a snapped one on a grid).
    fn log_pdf(&self, x: f64) -> f64 {
        match self {
            Estimator::Categorical { tables, weights } => {
                let k = x as usize;
                weights.iter().zip(tables).map(|(w, t)| w * t[k]).sum::<f64>().ln()
            }
            Estimator::Numeric { low, high, grid, mus, sigmas, weights } => {
                // The cell of a grid value, in the internal space.
                let cell = grid.map(|(half, log)| {
                    let value = if log { x.exp() } else { x };
                    let (left, right) = (value - half, value + half);
                    if log { (left.ln(), right.ln()) } else { (left, right) }
                });
                let terms: Vec<f64> = mus
                    .iter()
                    .zip(sigmas)
                    .zip(weights)
                    .map(|((mu, sigma), w)| {
                        let mass = log_gauss_mass((low - mu) / sigma, (high - mu) / sigma);
                        let density = match cell {
                            Some((left, right)) => {
                                log_gauss_mass((left - mu) / sigma, (right - mu) / sigma)
                            }
                            None => {
                                let z = (x - mu) / sigma;
                                -0.5 * z * z - (sigma * (2.0 * std::f64::consts::PI).sqrt()).ln()
                            }
                        };
                        w.ln() + density - mass
                    })
                    .collect();
                log_sum_exp(&terms)
            }
        }
    }
}

/// Returns each component's centre and spread, Optuna's way: one component
/// per observation, whose spread is the larger gap to its sorted neighbours
/// (the interval's ends count as neighbours, except that the smallest and the
/// largest of two or more observations take their inner gap), clipped to
/// `[width / min(100, n + 2), width]` (the "magic clip"); then the prior, in
/// the middle, as wide as the interval.
fn bandwidths(observations: &[f64], low: f64, high: f64) -> (Vec<f64>, Vec<f64>) {
    let width = high - low;
    let n = observations.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| observations[a].total_cmp(&observations[b]));
    let mut points = vec![low];
    points.extend(order.iter().map(|&i| observations[i]));
    points.push(high);
    let mut sorted_sigmas: Vec<f64> =
        (1..=n).map(|i| (points[i] - points[i - 1]).max(points[i + 1] - points[i])).collect();
    if n >= 2 {
        sorted_sigmas[0] = points[2] - points[1];
        sorted_sigmas[n - 1] = points[n] - points[n - 1];
    }
    let minimum = width / (100.0f64).min(n as f64 + 2.0);
    let mut sigmas = vec![0.0; n + 1];
    for (rank, &index) in order.iter().enumerate() {
        sigmas[index] = sorted_sigmas[rank].clamp(minimum, width.max(f64::MIN_POSITIVE));
    }
    sigmas[n] = width.max(f64::MIN_POSITIVE);
    let mut mus = observations.to_vec();
    mus.push(0.5 * (low + high));
    (mus, sigmas)
}

/// The inverse error function (Giles' single-precision-free approximation,
/// refined by two Newton steps on erf).
fn erfinv(y: f64) -> f64 {
    if y <= -1.0 {
        return f64::NEG_INFINITY;
    }
    if y >= 1.0 {
        return f64::INFINITY;
    }
    let w = -((1.0 - y) * (1.0 + y)).ln();
    let mut x = if w < 5.0 {
        let w = w - 2.5;
        let mut p = 2.810_226_36e-08;
        for c in [
            3.432_739_39e-07,
            -3.523_387_7e-06,
            -4.391_506_54e-06,
            0.000_218_580_87,
            -0.001_253_725_03,
            -0.004_177_681_64,
            0.246_640_727,
            1.501_409_41,
        ] {
            p = c + p * w;
        }
        p * y
    } else {
        let w = w.sqrt() - 3.0;
        let mut p = -0.000_200_214_257;
        for c in [
            0.000_100_950_558,
            0.001_349_343_22,
            -0.003_673_428_44,
            0.005_739_507_73,
            -0.007_622_461_3,
            0.009_438_870_47,
            1.001_674_06,
            2.832_976_82,
        ] {
            p = c + p * w;
        }
        p * y
    };
    for _ in 0..2 {
        let error = libm::erf(x) - y;
        x -= error / (2.0 / std::f64::consts::PI.sqrt() * (-x * x).exp());
    }
    x
}

/// Suggests an internal value for one hyperparameter from the values the
/// good and bad trials had.
pub fn suggest(range: &Range, below: &[f64], above: &[f64], random: &mut Random) -> f64 {
    let good = Estimator::new(range, below);
    let bad = Estimator::new(range, above);
    let mut best = (f64::NEG_INFINITY, range.random(random));
    for _ in 0..CANDIDATES {
        let candidate = range.snap(good.sample(random));
        let score = good.log_pdf(candidate) - bad.log_pdf(candidate);
        if score > best.0 {
            best = (score, candidate);
        }
    }
    best.1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gamma_and_weights_follow_optuna() {
        assert_eq!([gamma(1), gamma(10), gamma(11), gamma(100), gamma(1000)], [1, 1, 2, 10, 25]);
        assert_eq!(weights(3), [1.0; 3]);
        let w = weights(30);
        assert_eq!(w.len(), 30);
        assert!((w[0] - 1.0 / 30.0).abs() < 1e-12 && w[4] == 1.0 && w[29] == 1.0);
        assert!(w.windows(2).all(|p| p[0] <= p[1]));
    }

    #[test]
    fn bandwidths_use_the_wider_neighbour_gap_and_the_magic_clip() {
        let (mus, sigmas) = bandwidths(&[0.2, 0.3], 0.0, 1.0);
        assert_eq!(mus, [0.2, 0.3, 0.5]);
        // Sorted 0.2, 0.3 between the ends 0 and 1: the smallest takes its right
        // gap (0.1), the largest its left one (0.1); the prior spans everything.
        assert!((sigmas[0] - 0.25).abs() < 1e-12, "clipped up to 1/4: {sigmas:?}");
        assert!((sigmas[1] - 0.25).abs() < 1e-12, "{sigmas:?}");
        assert_eq!(sigmas[2], 1.0);
    }

    #[test]
    fn log_densities_match_optunas_parzen_estimator() {
        // Optuna 5.0's `_ParzenEstimator(...).log_pdf` on the same observations,
        // as (range, observations, [(point, log density)]); values as users write them.
        type Case = (Range, &'static [f64], &'static [(f64, f64)]);
        let number =
            |low, high, step, log, integer| Range::Number { low, high, step, log, integer };
        let cases: [Case; 6] = [
            (
                number(2.0, 6.0, Some(1.0), false, true),
                &[3.0, 4.0, 4.0],
                &[
                    (2.0, -1.941600637615),
                    (3.0, -1.28744970233),
                    (4.0, -1.169088225318),
                    (5.0, -1.662830907335),
                    (6.0, -2.521977535571),
                ],
            ),
            (
                number(50.0, 300.0, Some(50.0), false, true),
                &[100.0, 250.0],
                &[
                    (50.0, -1.902828921024),
                    (100.0, -1.773646083369),
                    (150.0, -1.708480487822),
                    (200.0, -1.708480487822),
                    (250.0, -1.773646083369),
                    (300.0, -1.902828921024),
                ],
            ),
            (
                number(0.01, 0.3, None, true, false),
                &[0.05, 0.1, 0.2],
                &[
                    (0.011, -2.489674509833),
                    (0.02, -1.928529428558),
                    (0.15, -0.851802067404),
                    (0.299, -1.254014106279),
                ],
            ),
            (
                number(2.0, 64.0, Some(1.0), true, true),
                &[4.0, 9.0, 30.0],
                &[
                    (2.0, -2.249962091134),
                    (3.0, -2.384835849208),
                    (17.0, -4.106002448129),
                    (64.0, -5.876607953187),
                ],
            ),
            (
                number(-10.0, 10.0, None, false, false),
                &[1.0, 2.5, -3.0, 7.0],
                &[
                    (-9.5, -4.130961264873),
                    (0.0, -2.676210286359),
                    (5.0, -2.76951807937),
                    (9.9, -3.348387094321),
                ],
            ),
            (
                Range::Choice(vec!["a".into(), "b".into(), "c".into()]),
                &[0.0, 2.0, 2.0],
                &[(0.0, -1.098612288668), (1.0, -1.658228076604), (2.0, -0.741937344729)],
            ),
        ];
        for (range, observations, expected) in cases {
            let internal = |v: f64| match range {
                Range::Number { log: true, .. } => v.ln(),
                _ => v,
            };
            let observations: Vec<f64> = observations.iter().map(|&v| internal(v)).collect();
            let estimator = Estimator::new(&range, &observations);
            for &(point, want) in expected {
                let got = estimator.log_pdf(internal(point));
                assert!((got - want).abs() < 1e-9, "{range:?} at {point}: {got} against {want}");
            }
        }
    }

    #[test]
    fn erfinv_inverts_erf() {
        for y in [-0.999, -0.5, -0.01, 0.0, 0.3, 0.9, 0.999_999] {
            assert!((libm::erf(erfinv(y)) - y).abs() < 1e-12, "{y}");
        }
    }

    #[test]
    fn suggestions_move_towards_the_good_trials() {
        let range = Range::Number { low: 0.0, high: 10.0, step: None, log: false, integer: false };
        let below = [2.0, 2.2, 1.9];
        let above = [7.0, 8.0, 9.0, 6.5, 5.0, 8.8, 9.5];
        let mut random = Random::task(5, 0);
        let picks: Vec<f64> =
            (0..50).map(|_| suggest(&range, &below, &above, &mut random)).collect();
        // Near the good ones, and on the side away from the bad ones (where
        // l(x) / g(x) is largest).
        let near = picks.iter().filter(|&&x| (0.0..3.5).contains(&x)).count();
        assert!(near > 45, "{picks:?}");
    }
}
