//! Identifier columns: a different value in (nearly) every row, such as a
//! customer ID or a row number. Their distributions always differ between
//! two samples, so they are left out of the verdict, and said to be.

use std::collections::HashSet;

use super::Column;

/// Fewer rows than this say nothing about uniqueness.
const MIN_ROWS: usize = 20;

/// The share of distinct values from which a text column is an identifier.
const DISTINCT_SHARE: f64 = 0.95;

/// Returns true when `column` identifies rows rather than describing them:
/// text with a distinct value in at least 95 % of the rows on both sides, or
/// whole numbers, each different, packed like row numbers (their range at
/// most twice their count).
pub fn is_identifier(column: &Column) -> bool {
    match column {
        Column::Categorical(reference, current) => {
            distinct_share(reference) >= DISTINCT_SHARE
                && (current.len() < MIN_ROWS || distinct_share(current) >= DISTINCT_SHARE)
        }
        Column::Numeric(reference, current) => row_numbers(reference) && distinct(current),
    }
}

fn distinct_share(values: &[String]) -> f64 {
    if values.len() < MIN_ROWS {
        return 0.0;
    }
    let distinct: HashSet<&str> = values.iter().map(String::as_str).collect();
    distinct.len() as f64 / values.len() as f64
}

fn row_numbers(values: &[f64]) -> bool {
    if values.len() < MIN_ROWS || values.iter().any(|v| v.fract() != 0.0) {
        return false;
    }
    let (low, high) = values.iter().fold((f64::MAX, f64::MIN), |(l, h), &v| (l.min(v), h.max(v)));
    distinct(values) && high - low + 1.0 <= 2.0 * values.len() as f64
}

fn distinct(values: &[f64]) -> bool {
    let mut seen: HashSet<u64> = HashSet::with_capacity(values.len());
    values.iter().all(|v| seen.insert(v.to_bits()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(values: impl Iterator<Item = String>) -> Vec<String> {
        values.collect()
    }

    #[test]
    fn unique_text_and_row_numbers_are_identifiers() {
        let ids = |from: usize| text((from..from + 100).map(|i| format!("{i:04}-AB")));
        assert!(is_identifier(&Column::Categorical(ids(0), ids(500))));
        let rows = |from: usize| (from..from + 100).map(|i| i as f64).collect::<Vec<_>>();
        assert!(is_identifier(&Column::Numeric(rows(1), rows(101))));
    }

    #[test]
    fn features_are_not() {
        let cities = text((0..100).map(|i| format!("city{}", i % 7)));
        assert!(!is_identifier(&Column::Categorical(cities.clone(), cities)));
        // Continuous measurements are all different, but not whole numbers.
        let incomes: Vec<f64> = (0..100).map(|i| 1000.0 + f64::from(i) * 3.7).collect();
        assert!(!is_identifier(&Column::Numeric(incomes.clone(), incomes)));
        // Whole numbers spread wide (prices in cents) are a feature.
        let cents: Vec<f64> = (0..100).map(|i| f64::from(i * i * 37)).collect();
        assert!(!is_identifier(&Column::Numeric(cents.clone(), cents)));
        // Too few rows to tell.
        let few = text((0..10).map(|i| format!("id{i}")));
        assert!(!is_identifier(&Column::Categorical(few.clone(), few)));
    }
}
