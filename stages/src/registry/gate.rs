//! The deployment gate: a model passes when its key metric reaches the
//! threshold and beats the baseline. `train` decides with [`Gate::decide`] and
//! `register` decides again from the numbers a metrics file holds, so that the
//! verdict written there is never taken on trust.

use crate::number::Fixed;
use serde::{Deserialize, Serialize};

/// The gate's verdict on a model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Gate {
    /// The key metric (`f1`, `r2`, …).
    pub metric: String,
    /// Its value on the test split.
    pub value: f64,
    /// The value it had to reach.
    pub threshold: f64,
    /// The baseline's value, which it had to beat.
    pub baseline: f64,
    /// True for error metrics (rmse, mae): the threshold is a ceiling.
    #[serde(default)]
    pub lower_is_better: bool,
    /// Whether the model passed.
    pub accepted: bool,
}

impl Gate {
    /// Returns the verdict on `value` of `metric`: it must reach `threshold`
    /// and beat `baseline`.
    pub fn decide(
        metric: &str,
        value: f64,
        threshold: f64,
        baseline: f64,
        lower_is_better: bool,
    ) -> Self {
        let mut gate = Self {
            metric: metric.to_owned(),
            value,
            threshold,
            baseline,
            lower_is_better,
            accepted: false,
        };
        gate.accepted = gate.reaches_threshold() && gate.beats_baseline();
        gate
    }

    /// Returns true when the value reaches the threshold.
    pub fn reaches_threshold(&self) -> bool {
        if self.lower_is_better {
            self.value <= self.threshold
        } else {
            self.value >= self.threshold
        }
    }

    /// Returns true when the value beats the baseline's; a NaN baseline (a
    /// metric the constant predictor has none of) is beaten by any value.
    pub fn beats_baseline(&self) -> bool {
        self.baseline.is_nan()
            || if self.lower_is_better {
                self.value < self.baseline
            } else {
                self.value > self.baseline
            }
    }

    /// Returns why the gate decided as it did.
    pub fn reason(&self) -> String {
        let (worse, better) = if self.lower_is_better { (">", "≤") } else { ("<", "≥") };
        if !self.reaches_threshold() {
            format!(
                "{} {:.4} {worse} threshold {:.4}",
                self.metric,
                Fixed(self.value),
                Fixed(self.threshold)
            )
        } else if !self.beats_baseline() {
            format!(
                "{} {:.4} does not beat the baseline's {:.4}",
                self.metric,
                Fixed(self.value),
                Fixed(self.baseline)
            )
        } else {
            format!(
                "{} {:.4} {better} {:.4}, baseline {:.4}",
                self.metric,
                Fixed(self.value),
                Fixed(self.threshold),
                Fixed(self.baseline)
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_model_must_reach_the_threshold_and_beat_the_baseline() {
        assert!(Gate::decide("f1", 0.7, 0.5, 0.2, false).accepted);
        assert!(!Gate::decide("f1", 0.4, 0.5, 0.2, false).accepted);
        assert!(!Gate::decide("f1", 0.7, 0.5, 0.7, false).accepted, "a tie does not beat");
        assert!(Gate::decide("rmse", 1.0, 2.0, 3.0, true).accepted);
        assert!(!Gate::decide("rmse", 2.5, 2.0, 3.0, true).accepted);
        assert!(Gate::decide("roc_auc", 0.9, 0.8, f64::NAN, false).accepted);
    }

    #[test]
    fn the_reason_names_what_failed() {
        let low = Gate::decide("f1", 0.4, 0.5, 0.2, false);
        assert_eq!(low.reason(), "f1 0.4000 < threshold 0.5000");
        let tie = Gate::decide("f1", 0.7, 0.5, 0.7, false);
        assert_eq!(tie.reason(), "f1 0.7000 does not beat the baseline's 0.7000");
        let good = Gate::decide("rmse", 1.0, 2.0, 3.0, true);
        assert_eq!(good.reason(), "rmse 1.0000 ≤ 2.0000, baseline 3.0000");
    }
}
