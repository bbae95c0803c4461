//! `stats.json`: what each column looks like in the training split (type,
//! missing rate, range, mean and spread, quantiles, category frequencies), for
//! the drift stage and for serving to validate records.

use serde_json::{Map, Value, json};

use super::clean::{Cleaned, Kind};

/// Returns the `q` quantile of sorted `values`, linearly interpolated (numpy's default).
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let position = q * (sorted.len() - 1) as f64;
    let (low, high) = (position.floor() as usize, position.ceil() as usize);
    sorted[low] + (sorted[high] - sorted[low]) * (position - low as f64)
}

/// Returns the statistics of one column over `rows`.
pub fn column(column: &Cleaned, rows: &[usize], cap: Option<(f64, f64)>) -> Value {
    let total = rows.len().max(1) as f64;
    match column.kind {
        Kind::Numeric => {
            let mut values: Vec<f64> = rows.iter().filter_map(|&r| column.numbers[r]).collect();
            values.sort_by(f64::total_cmp);
            let missing = rows.len() - values.len();
            let mean = values.iter().sum::<f64>() / values.len().max(1) as f64;
            let std = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>()
                / values.len().max(1) as f64)
                .sqrt();
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

#[cfg(test)]
mod tests {
    use super::quantile;

    #[test]
    fn quantiles_interpolate_like_numpy() {
        let values = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile(&values, 0.5), 2.5);
        assert_eq!(quantile(&values, 0.25), 1.75);
        assert_eq!(quantile(&values, 1.0), 4.0);
    }
}
