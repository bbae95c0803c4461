//! Card transactions with rare fraud (`is_fraud`, 0.2 % by default): amount,
//! hour, merchant category, distance from home, card present, recent activity,
//! account age, customer age, foreign.
//!
//! Fraud favours large amounts, night hours, far from home, card not present,
//! electronics, jewellery and online shops, bursts of activity and foreign
//! use, with noise enough that it is not trivially separable. Drift: amounts
//! 50 % higher, more online shopping, more night-time use.

use crate::random::{Random, calibrate, round, sigmoid};
use crate::table::{Table, Values};

const CATEGORIES: [(&str, f64, f64); 8] = [
    ("grocery", 0.25, 0.0),
    ("gas", 0.12, 0.1),
    ("restaurants", 0.18, -0.2),
    ("online", 0.20, 0.8),
    ("travel", 0.06, 0.6),
    ("electronics", 0.08, 1.2),
    ("jewelry", 0.02, 1.6),
    ("other", 0.09, 0.2),
];

struct Transaction {
    amount: f64,
    hour: i64,
    category: &'static str,
    distance: f64,
    card_present: bool,
    recent: i64,
    account_days: i64,
    customer_age: i64,
    foreign: bool,
}

fn transaction(data: &mut Random, drift: bool) -> Transaction {
    let categories: Vec<(&str, f64)> = CATEGORIES
        .iter()
        .map(|(name, weight, _)| {
            (*name, if drift && *name == "online" { weight * 2.0 } else { *weight })
        })
        .collect();
    let category = data.pick(&categories);
    let night = if drift { 0.22 } else { 0.08 };
    let hour = if data.chance(night) { data.int(0, 5) } else { data.int(6, 23) };
    let card_present = category != "online" && data.chance(0.85);
    Transaction {
        amount: data.lognormal(if drift { 67.0 } else { 45.0 }, 1.0).max(0.5),
        hour,
        category: CATEGORIES.iter().find(|c| c.0 == category).map_or("other", |c| c.0),
        distance: data.lognormal(8.0, 1.2),
        card_present,
        recent: data.poisson(2.5),
        account_days: data.int(30, 3650),
        customer_age: data.normal(45.0, 15.0).round().clamp(18.0, 90.0) as i64,
        foreign: data.chance(0.04),
    }
}

fn fraud_score(t: &Transaction, noise: &mut Random) -> f64 {
    let risk = CATEGORIES.iter().find(|c| c.0 == t.category).map_or(0.0, |c| c.2);
    1.2 * (t.amount / 45.0).ln()
        + if t.hour < 6 { 1.6 } else { 0.0 }
        + 0.9 * (1.0 + t.distance / 8.0).ln()
        + if t.card_present { 0.0 } else { 1.5 }
        + risk
        + 0.3 * t.recent as f64
        + if t.foreign { 1.6 } else { 0.0 }
        - 0.3 * (t.account_days as f64 / 365.0).ln()
        + noise.normal(0.0, 1.0)
}

/// Returns the clean table of `rows` transactions.
pub fn table(rows: usize, drift: bool, rate: f64, data: &mut Random, labels: &mut Random) -> Table {
    let transactions: Vec<Transaction> = (0..rows).map(|_| transaction(data, drift)).collect();
    let scores: Vec<f64> = transactions.iter().map(|t| fraud_score(t, labels)).collect();
    let intercept = calibrate(&scores, rate);
    let fraud: Vec<Option<i64>> =
        scores.iter().map(|s| Some(i64::from(labels.chance(sigmoid(intercept + s))))).collect();
    let float = |f: &dyn Fn(&Transaction) -> f64| {
        Values::Float(transactions.iter().map(|t| Some(f(t))).collect())
    };
    let int = |f: &dyn Fn(&Transaction) -> i64| {
        Values::Int(transactions.iter().map(|t| Some(f(t))).collect())
    };
    let mut table = Table::default();
    table.push("amount", float(&|t| round(t.amount, 2)));
    table.push("hour", int(&|t| t.hour));
    table.push(
        "merchant_category",
        Values::Text(transactions.iter().map(|t| Some(t.category.to_owned())).collect()),
    );
    table.push("distance_from_home_km", float(&|t| round(t.distance, 2)));
    table.push("card_present", int(&|t| i64::from(t.card_present)));
    table.push("transactions_last_24h", int(&|t| t.recent));
    table.push("account_age_days", int(&|t| t.account_days));
    table.push("customer_age", int(&|t| t.customer_age));
    table.push("is_foreign", int(&|t| i64::from(t.foreign)));
    table.push("is_fraud", Values::Int(fraud));
    table
}

/// Dirt: missing distances, huge amounts, capitalised or padded categories, a
/// "?" where an hour belongs.
pub fn spoil(table: &mut Table, random: &mut Random, scale: f64) {
    super::dirt::missing(table, random, "distance_from_home_km", 0.005 * scale);
    super::dirt::outliers(table, random, "amount", 0.0005 * scale, 50.0);
    let spellings: [(&str, &[&str]); 3] = [
        ("electronics", &["Electronics", "ELECTRONICS"]),
        ("online", &[" online", "Online "]),
        ("gas", &["Gas"]),
    ];
    super::dirt::respell(table, random, "merchant_category", 0.02 * scale, &spellings);
    super::dirt::wrong_type(table, random, "hour", 0.0005 * scale, "?");
}
