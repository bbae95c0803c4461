//! What makes generated data dirty like real data: missing values, outliers,
//! inconsistent spellings of a category, a stray wrong-typed cell, and
//! duplicated rows. Every function touches a seeded share of rows.

use crate::random::Random;
use crate::table::{Table, Values};

/// Blanks a share `rate` of the cells of `column`.
pub fn missing(table: &mut Table, random: &mut Random, column: &str, rate: f64) {
    let rows = table.rows();
    let Some(values) = table.column_mut(column) else { return };
    for row in 0..rows {
        if random.chance(rate) {
            match values {
                Values::Float(v) => v[row] = None,
                Values::Int(v) => v[row] = None,
                Values::Text(v) => v[row] = None,
            }
        }
    }
}

/// Multiplies a share `rate` of the numbers in `column` by `factor`.
pub fn outliers(table: &mut Table, random: &mut Random, column: &str, rate: f64, factor: f64) {
    let rows = table.rows();
    let Some(Values::Float(values)) = table.column_mut(column) else { return };
    for value in values.iter_mut().take(rows) {
        if random.chance(rate) {
            *value = value.map(|x| crate::random::round(x * factor, 4));
        }
    }
}

/// Replaces a share `rate` of the cells of `column` that hold a key of
/// `spellings` with one of its other spellings.
pub fn respell(
    table: &mut Table,
    random: &mut Random,
    column: &str,
    rate: f64,
    spellings: &[(&str, &[&str])],
) {
    let Some(Values::Text(values)) = table.column_mut(column) else { return };
    for value in values.iter_mut() {
        let Some(text) = value.as_deref() else { continue };
        let Some((_, variants)) = spellings.iter().find(|(canonical, _)| *canonical == text) else {
            continue;
        };
        if random.chance(rate) {
            let index = random.int(0, variants.len() as i64 - 1) as usize;
            *value = Some(variants[index].to_owned());
        }
    }
}

/// Turns numeric `column` into text and writes `token` into a share `rate` of
/// its cells (a "?" or "n/a" where a number belongs).
pub fn wrong_type(table: &mut Table, random: &mut Random, column: &str, rate: f64, token: &str) {
    let rows = table.rows();
    let Some(values) = table.column_mut(column) else { return };
    let mut text: Vec<Option<String>> = (0..rows).map(|row| values.text(row)).collect();
    let mut touched = false;
    for cell in &mut text {
        if random.chance(rate) {
            *cell = Some(token.to_owned());
            touched = true;
        }
    }
    if touched {
        *values = Values::Text(text);
    }
}

/// Overwrites a share `rate` of the rows with copies of earlier rows, so that
/// the data has exact duplicates while keeping its row count.
pub fn duplicate_rows(table: &mut Table, random: &mut Random, rate: f64) {
    let rows = table.rows();
    let mut copies = Vec::new();
    for row in 1..rows {
        if random.chance(rate) {
            copies.push((row, random.int(0, row as i64 - 1) as usize));
        }
    }
    for (_, values) in &mut table.columns {
        for &(row, source) in &copies {
            match values {
                Values::Float(v) => v[row] = v[source],
                Values::Int(v) => v[row] = v[source],
                Values::Text(v) => v[row] = v[source].clone(),
            }
        }
    }
}
