//! The search space of `pipit stage tune`, as params.yaml writes it:
//!
//! ```yaml
//! n_trees: {int: [50, 500], step: 50}
//! learning_rate: {float: [0.01, 0.3], log: true}
//! loss: {choice: [squared, absolute]}
//! ```
//!
//! Samplers work in an internal space: numbers as floats (their logarithm
//! when `log`), choices as their index.

use anyhow::bail;
use serde_json::Value;

use crate::random::Random;

/// One hyperparameter's range.
#[derive(Clone, Debug, PartialEq)]
pub enum Range {
    /// A number in `[low, high]`, on a grid of `step` if given, sampled in
    /// log space if `log`; `integer` when it takes whole values.
    Number { low: f64, high: f64, step: Option<f64>, log: bool, integer: bool },
    /// One of these values.
    Choice(Vec<Value>),
}

/// A named hyperparameter range.
#[derive(Clone, Debug, PartialEq)]
pub struct Dimension {
    /// The hyperparameter.
    pub name: String,
    /// Its range.
    pub range: Range,
}

impl Range {
    /// Returns the internal interval a density is spread over (numbers): a
    /// range on a grid reaches half a step beyond its ends, as Optuna's does.
    pub fn bounds(&self) -> (f64, f64) {
        match self {
            Range::Number { low, high, step, log, .. } => {
                let half = step.map_or(0.0, |s| s / 2.0);
                let (low, high) = (low - half, high + half);
                if *log { (low.ln(), high.ln()) } else { (low, high) }
            }
            Range::Choice(values) => (0.0, values.len() as f64),
        }
    }

    /// Returns half the grid step and whether the range is logarithmic, for a
    /// number on a grid (integers included); `None` for a continuous one.
    pub fn grid(&self) -> Option<(f64, bool)> {
        match self {
            Range::Number { step: Some(step), log, .. } => Some((step / 2.0, *log)),
            _ => None,
        }
    }

    /// Returns a uniform draw in the internal space, snapped to the range.
    pub fn random(&self, random: &mut Random) -> f64 {
        match self {
            Range::Choice(values) => random.int(0, values.len() as i64 - 1) as f64,
            Range::Number { low, high, step: Some(step), log: false, .. } => {
                let points = ((high - low) / step).floor() as i64;
                low + step * random.int(0, points) as f64
            }
            Range::Number { .. } => {
                let (low, high) = self.bounds();
                self.snap(random.uniform(low, high))
            }
        }
    }

    /// Returns the internal value snapped to what the range allows (a grid
    /// point, an integer, within bounds).
    pub fn snap(&self, internal: f64) -> f64 {
        match self {
            Range::Choice(values) => internal.round().clamp(0.0, values.len() as f64 - 1.0),
            Range::Number { low, high, step, log, integer } => {
                let mut value = if *log { internal.exp() } else { internal };
                if let Some(step) = step {
                    value = low + ((value - low) / step).round() * step;
                }
                if *integer {
                    value = value.round();
                }
                value = value.clamp(*low, *high);
                if *log { value.ln() } else { value }
            }
        }
    }

    /// Returns the values at the range's ends (numbers) or every value
    /// (choices): if the model takes these, it takes every value between.
    pub fn extremes(&self) -> Vec<Value> {
        match self {
            Range::Choice(values) => values.clone(),
            Range::Number { low, high, log, .. } => [low, high]
                .iter()
                .map(|&&end| self.value(if *log { end.ln() } else { end }))
                .collect(),
        }
    }

    /// Returns the hyperparameter's value for an internal value.
    pub fn value(&self, internal: f64) -> Value {
        match self {
            Range::Choice(values) => values[self.snap(internal) as usize].clone(),
            Range::Number { log, integer, .. } => {
                let snapped = self.snap(internal);
                let value = if *log { snapped.exp() } else { snapped };
                if *integer {
                    Value::from(value.round() as i64)
                } else {
                    // Grid arithmetic leaves tails such as 0.30000000000000004.
                    Value::from((value * 1e12).round() / 1e12)
                }
            }
        }
    }
}

/// Reads the space from `FILE[:KEY]` (YAML or JSON, a dotted key).
pub fn read(spec: &str) -> anyhow::Result<Vec<Dimension>> {
    let node = crate::keyed::read(spec)?;
    let Value::Object(map) = &node else {
        bail!("the search space in `{spec}` must be a mapping of hyperparameter to range");
    };
    if map.is_empty() {
        bail!("the search space in `{spec}` is empty");
    }
    map.iter().map(|(name, range)| parse(name, range)).collect()
}

fn parse(name: &str, range: &Value) -> anyhow::Result<Dimension> {
    let wrong = || {
        anyhow::anyhow!(
            "search space `{name}`: write `{{int: [low, high]}}`, `{{float: [low, high]}}` \
             (with `step: …` or `log: true`) or `{{choice: [a, b, …]}}`, not `{range}`"
        )
    };
    let object = range.as_object().ok_or_else(wrong)?;
    let log = object.get("log").and_then(Value::as_bool).unwrap_or(false);
    let step = object.get("step").and_then(Value::as_f64);
    let pair = |key: &str| -> Option<(f64, f64)> {
        let list = object.get(key)?.as_array()?;
        match list.as_slice() {
            [low, high] => Some((low.as_f64()?, high.as_f64()?)),
            _ => None,
        }
    };
    let range = if let Some(choices) = object.get("choice") {
        let values = choices.as_array().filter(|v| !v.is_empty()).ok_or_else(wrong)?;
        Range::Choice(values.clone())
    } else if let Some((low, high)) = pair("int") {
        Range::Number { low, high, step: Some(step.unwrap_or(1.0)), log, integer: true }
    } else if let Some((low, high)) = pair("float") {
        Range::Number { low, high, step, log, integer: false }
    } else {
        return Err(wrong());
    };
    if let Range::Number { low, high, step, log, .. } = &range {
        if low > high || low.is_nan() || high.is_nan() {
            bail!("search space `{name}`: low {low} is above high {high}");
        }
        if *log && (*low <= 0.0 || step.is_some_and(|_| object.contains_key("step"))) {
            bail!("search space `{name}`: a log range needs low > 0 and no step");
        }
        if step.is_some_and(|s| s <= 0.0) {
            bail!("search space `{name}`: step must be positive");
        }
    }
    Ok(Dimension { name: name.to_owned(), range })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dimension(yaml: &str) -> anyhow::Result<Dimension> {
        let value: Value = serde_saphyr::from_str(yaml).unwrap();
        parse("p", &value)
    }

    #[test]
    fn ranges_parse_sample_and_snap() {
        let trees = dimension("{int: [50, 500], step: 50}").unwrap();
        let rate = dimension("{float: [0.01, 0.3], log: true}").unwrap();
        let loss = dimension("{choice: [squared, absolute]}").unwrap();
        let mut random = Random::task(1, 0);
        for _ in 0..200 {
            let n = trees.range.value(trees.range.random(&mut random)).as_i64().unwrap();
            assert!((50..=500).contains(&n) && n % 50 == 0, "{n}");
            let r = rate.range.value(rate.range.random(&mut random)).as_f64().unwrap();
            assert!((0.01..=0.3).contains(&r), "{r}");
            let l = loss.range.value(loss.range.random(&mut random));
            assert!(l == "squared" || l == "absolute");
        }
        assert_eq!(trees.range.value(74.0), 50);
        assert_eq!(trees.range.value(76.0), 100);
        assert_eq!(trees.range.value(900.0), 500);
        assert_eq!(trees.range.bounds(), (25.0, 525.0));
        let depth = dimension("{int: [2, 8]}").unwrap();
        assert_eq!(depth.range.value(4.4), 4);
        assert_eq!(dimension("{float: [0.1, 1.0], step: 0.1}").unwrap().range.value(0.29), 0.3);
    }

    #[test]
    fn mistakes_are_explained() {
        for (yaml, message) in [
            ("{int: [5, 1]}", "low 5 is above high 1"),
            ("{float: [0, 1], log: true}", "a log range needs low > 0"),
            ("{range: [1, 2]}", "write `{int: [low, high]}`"),
            ("{choice: []}", "write `{int"),
            ("{int: [1, 2], step: 0}", "step must be positive"),
        ] {
            let error = dimension(yaml).unwrap_err().to_string();
            assert!(error.contains(message), "{yaml}: {error}");
        }
    }
}
