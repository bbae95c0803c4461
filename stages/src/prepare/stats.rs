//! `stats.json`: what each column looks like in the training split (type,
//! missing rate, range, mean and spread, quantiles, category frequencies), for
//! the drift stage and for serving to validate records.

use serde_json::{Map, Value, json};

use super::clean::{Cleaned, Kind};
use crate::statistics::{mean_std, quantile};

/// Returns the statistics of one column over `rows`.
pub fn column(column: &Cleaned, rows: &[usize], cap: Option<(f64, f64)>) -> Value {
    let total = rows.len().max(1) as f64;
    match column.kind {
        Kind::Numeric => {
            let mut values: Vec<f64> = rows.iter().filter_map(|&r| column.numbers[r]).collect();
            values.sort_by(f64::total_cmp);
            let missing = rows.len() - values.len();
            let (mean, std) = mean_std(&values);
            let quantiles: Map<String, Value> = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99]
                .iter()
                .map(|&q| (q.to_string(), json!(quantile(&values, q))))
                .collect();
            json!({
                "type": "numeric",
                "missing_rate": missing as f64 / total,
                "min": values.first(),
                "max": values.last(),
                "mean": mean,
                "std": std,
                "quantiles": quantiles,
                "cap": cap.map(|(low, high)| json!([low, high])),
            })
        }
        Kind::Categorical => {
            let mut counts: std::collections::BTreeMap<&str, usize> =
                std::collections::BTreeMap::new();
            let mut missing = 0;
            for &row in rows {
                match column.labels[row].as_deref() {
                    Some(label) => *counts.entry(label).or_default() += 1,
                    None => missing += 1,
                }
            }
            let present = (rows.len() - missing).max(1) as f64;
            let frequencies: Map<String, Value> = counts
                .into_iter()
                .map(|(label, count)| (label.to_owned(), json!(count as f64 / present)))
                .collect();
            json!({"type": "categorical", "missing_rate": missing as f64 / total, "categories": frequencies})
        }
    }
}
