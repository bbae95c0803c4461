//! Seeded randomness with a fixed algorithm (ChaCha8), so that the same seed
//! gives the same data on any machine and with any version of `rand`'s
//! `StdRng`. Separate purposes draw from separate ChaCha streams.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, LogNormal, Normal, Poisson};

/// Which ChaCha stream a generator draws from.
#[derive(Clone, Copy, Debug)]
pub enum Stream {
    /// The clean data.
    Data = 0,
    /// Labels drawn from the data's probabilities.
    Labels = 1,
    /// Injected dirt (missing values, outliers, misspellings).
    Dirt = 2,
}

/// The first stream of [`Random::task`]'s per-task streams.
const TASK_STREAMS: u64 = 1 << 32;

/// A seeded generator.
pub struct Random(ChaCha8Rng);

impl Random {
    /// Returns the generator for `seed` and `stream`.
    pub fn new(seed: u64, stream: Stream) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(stream as u64);
        Self(rng)
    }

    /// Returns the generator of one task of parallel work (a tree of a
    /// forest, a trial): its own stream of `seed`, whatever runs it.
    pub fn task(seed: u64, index: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(TASK_STREAMS + index);
        Self(rng)
    }

    /// Returns a uniform float in `[low, high)`.
    pub fn uniform(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.0.random::<f64>()
    }

    /// Returns a uniform integer in `low..=high`.
    pub fn int(&mut self, low: i64, high: i64) -> i64 {
        self.0.random_range(low..=high)
    }

    /// Returns true with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.0.random_bool(p.clamp(0.0, 1.0))
    }

    /// Returns a normal draw.
    pub fn normal(&mut self, mean: f64, sd: f64) -> f64 {
        Normal::new(mean, sd.max(f64::MIN_POSITIVE)).map_or(mean, |d| d.sample(&mut self.0))
    }

    /// Returns a log-normal draw with the given median and log-scale spread.
    pub fn lognormal(&mut self, median: f64, sigma: f64) -> f64 {
        LogNormal::new(median.ln(), sigma.max(f64::MIN_POSITIVE))
            .map_or(median, |d| d.sample(&mut self.0))
    }

    /// Returns a Poisson draw.
    pub fn poisson(&mut self, lambda: f64) -> i64 {
        Poisson::new(lambda).map_or(0, |d: Poisson<f64>| d.sample(&mut self.0) as i64)
    }

    /// Shuffles `items` in place (Fisher–Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.int(0, i as i64) as usize;
            items.swap(i, j);
        }
    }

    /// Returns one of `choices`, drawn by weight.
    pub fn pick<'a, T: ?Sized>(&mut self, choices: &[(&'a T, f64)]) -> &'a T {
        let total: f64 = choices.iter().map(|(_, w)| w).sum();
        let mut target = self.uniform(0.0, total);
        for (choice, weight) in choices {
            if target < *weight {
                return choice;
            }
            target -= weight;
        }
        choices[choices.len() - 1].0
    }
}

/// Rounds to `decimals` places, so that files hold tidy numbers.
pub fn round(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

/// The logistic function.
pub fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Returns the intercept that makes the mean of `sigmoid(intercept + score)`
/// equal `rate` (bisection), so a label's base rate is what was asked for.
pub fn calibrate(scores: &[f64], rate: f64) -> f64 {
    let (mut low, mut high) = (-40.0, 40.0);
    for _ in 0..100 {
        let middle = (low + high) / 2.0;
        let mean =
            scores.iter().map(|s| sigmoid(middle + s)).sum::<f64>() / scores.len().max(1) as f64;
        if mean < rate { low = middle } else { high = middle }
    }
    (low + high) / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_draws_and_streams_differ() {
        let draws = |seed, stream| {
            let mut random = Random::new(seed, stream);
            (0..5).map(|_| random.normal(0.0, 1.0)).collect::<Vec<_>>()
        };
        assert_eq!(draws(1, Stream::Data), draws(1, Stream::Data));
        assert_ne!(draws(1, Stream::Data), draws(2, Stream::Data));
        assert_ne!(draws(1, Stream::Data), draws(1, Stream::Dirt));
    }

    #[test]
    fn calibration_hits_the_rate() {
        let scores: Vec<f64> = (0..1000).map(|i| f64::from(i % 7)).collect();
        let intercept = calibrate(&scores, 0.26);
        let mean = scores.iter().map(|s| sigmoid(intercept + s)).sum::<f64>() / 1000.0;
        assert!((mean - 0.26).abs() < 1e-9);
    }
}
