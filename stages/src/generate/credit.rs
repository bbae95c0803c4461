//! Card transactions with rare fraud (`is_fraud`, 0.2 % by default): amount,
//! hour, merchant category, distance from home, card present, recent activity,
//! account age, customer age, foreign.
//!
//! Fraud is learnable the way real card fraud is: most of it follows one of a
//! few schemes, each a pattern over several columns with wide noise, and the
//! legitimate transactions overlap each scheme (people do shop online at
//! night, travel abroad, open new accounts):
//! - card-not-present: online or electronics, large amounts, often at night,
//!   in bursts;
//! - a cloned card used far from home: travel, jewellery or electronics,
//!   hundreds of km away, often abroad;
//! - bust-out: a new account spending fast on resalable goods;
//! - and one fraud in twenty looks like an ordinary purchase, so that no
//!   model finds it all (ROC-AUC stays below 1).
//!
//! Drift: amounts 50 % higher, more online shopping, more night-time use.

use crate::random::{Random, round};
use crate::table::{Table, Values};

const CATEGORIES: [(&str, f64); 8] = [
    ("grocery", 0.25),
    ("gas", 0.12),
    ("restaurants", 0.18),
    ("online", 0.20),
    ("travel", 0.06),
    ("electronics", 0.08),
    ("jewelry", 0.02),
    ("other", 0.09),
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

/// The fraud schemes, and how often each is behind a fraud.
#[derive(Clone, Copy)]
enum Scheme {
    CardNotPresent,
    Cloned,
    BustOut,
    Camouflaged,
}

const SCHEMES: [(&Scheme, f64); 4] = [
    (&Scheme::CardNotPresent, 0.45),
    (&Scheme::Cloned, 0.30),
    (&Scheme::BustOut, 0.20),
    (&Scheme::Camouflaged, 0.05),
];

/// Returns the category named `name` as the table's `'static` spelling.
fn category(name: &str) -> &'static str {
    CATEGORIES.iter().find(|c| c.0 == name).map_or("other", |c| c.0)
}

/// A legitimate transaction.
fn legitimate(data: &mut Random, drift: bool) -> Transaction {
    let categories: Vec<(&str, f64)> = CATEGORIES
        .iter()
        .map(|(name, weight)| {
            (*name, if drift && *name == "online" { weight * 2.0 } else { *weight })
        })
        .collect();
    let picked = category(data.pick(&categories));
    let night = if drift { 0.22 } else { 0.08 };
    let hour = if data.chance(night) { data.int(0, 5) } else { data.int(6, 23) };
    let foreign = data.chance(0.04);
    Transaction {
        amount: data.lognormal(if drift { 67.0 } else { 45.0 }, 1.0).max(0.5),
        hour,
        category: picked,
        distance: if foreign { data.lognormal(400.0, 1.0) } else { data.lognormal(8.0, 1.2) },
        card_present: picked != "online" && data.chance(0.85),
        recent: data.poisson(2.5),
        account_days: data.int(30, 3650),
        customer_age: data.normal(45.0, 15.0).round().clamp(18.0, 90.0) as i64,
        foreign,
    }
}

/// A fraudulent transaction: a legitimate one reshaped by the scheme.
fn fraudulent(data: &mut Random, drift: bool) -> Transaction {
    let mut t = legitimate(data, drift);
    let scale = if drift { 1.5 } else { 1.0 };
    match *data.pick(&SCHEMES) {
        Scheme::CardNotPresent => {
            t.category =
                category(data.pick(&[("online", 0.6), ("electronics", 0.3), ("other", 0.1)]));
            t.card_present = data.chance(0.05);
            t.amount = data.lognormal(380.0 * scale, 0.7).max(0.5);
            if data.chance(0.6) {
                t.hour = data.int(0, 5);
            }
            t.recent = data.poisson(8.0);
        }
        Scheme::Cloned => {
            t.category = category(data.pick(&[
                ("travel", 0.3),
                ("jewelry", 0.25),
                ("electronics", 0.3),
                ("gas", 0.15),
            ]));
            t.card_present = data.chance(0.8);
            t.distance = data.lognormal(600.0, 0.8);
            t.foreign = data.chance(0.5);
            t.amount = data.lognormal(350.0 * scale, 0.7).max(0.5);
        }
        Scheme::BustOut => {
            t.account_days = data.int(1, 60);
            t.category =
                category(data.pick(&[("electronics", 0.45), ("jewelry", 0.25), ("online", 0.3)]));
            t.amount = data.lognormal(300.0 * scale, 0.7).max(0.5);
            t.recent = data.poisson(9.0);
        }
        Scheme::Camouflaged => {}
    }
    t
}

/// Returns the clean table of `rows` transactions, a share `rate` of them
/// fraudulent.
pub fn table(rows: usize, drift: bool, rate: f64, data: &mut Random, labels: &mut Random) -> Table {
    let fraud: Vec<Option<i64>> = (0..rows).map(|_| Some(i64::from(labels.chance(rate)))).collect();
    let transactions: Vec<Transaction> = fraud
        .iter()
        .map(|f| if *f == Some(1) { fraudulent(data, drift) } else { legitimate(data, drift) })
        .collect();
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
