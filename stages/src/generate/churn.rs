//! Telco-like customers (the columns of IBM's Telco churn sample), ~26 % of
//! whom churn (`Churn` = Yes/No). Month-to-month contracts, fibre, electronic
//! checks and short tenure churn more; support and security keep customers.
//! As in the real file, `TotalCharges` is blank for brand-new customers.
//! Drift: more fibre, shorter tenures, monthly charges up by 8.

use crate::random::{Random, calibrate, round, sigmoid};
use crate::table::{Table, Values};

const ADDONS: [(&str, f64); 6] = [
    ("OnlineSecurity", 0.29),
    ("OnlineBackup", 0.34),
    ("DeviceProtection", 0.34),
    ("TechSupport", 0.29),
    ("StreamingTV", 0.38),
    ("StreamingMovies", 0.39),
];

struct Customer {
    text: Vec<(&'static str, String)>,
    tenure: i64,
    monthly: f64,
    score: f64,
}

fn yes(flag: bool) -> String {
    if flag { "Yes" } else { "No" }.to_owned()
}

fn customer(data: &mut Random, drift: bool) -> Customer {
    let letters: String = (0..5).map(|_| char::from(b'A' + data.int(0, 25) as u8)).collect();
    let id = format!("{:04}-{letters}", data.int(0, 9999));
    let senior = data.chance(0.16);
    let partner = data.chance(0.48);
    let dependents = data.chance(if partner { 0.5 } else { 0.1 });
    let tenure = match data.uniform(0.0, 1.0) {
        p if p < if drift { 0.3 } else { 0.15 } => data.int(0, 3),
        p if p < 0.3 => data.int(62, 72),
        _ => data.int(0, if drift { 48 } else { 72 }),
    };
    let long = tenure as f64 / 72.0;
    let contract = data.pick(&[
        ("Month-to-month", 1.0 - 0.8 * long),
        ("One year", 0.25),
        ("Two year", 0.05 + 0.6 * long),
    ]);
    let phone = data.chance(0.9);
    let multiple = phone && data.chance(0.47);
    let fiber = if drift { 0.55 } else { 0.44 };
    let internet = data.pick(&[("DSL", 0.34), ("Fiber optic", fiber), ("No", 0.22)]);
    let mut text = vec![
        ("customerID", id),
        ("gender", data.pick(&[("Female", 0.5), ("Male", 0.5)]).to_owned()),
        ("SeniorCitizen", if senior { "1" } else { "0" }.to_owned()),
        ("Partner", yes(partner)),
        ("Dependents", yes(dependents)),
        ("PhoneService", yes(phone)),
        ("MultipleLines", if phone { yes(multiple) } else { "No phone service".into() }),
        ("InternetService", internet.to_owned()),
    ];
    let mut monthly = 20.0
        + if multiple { 5.0 } else { 0.0 }
        + match internet {
            "DSL" => 25.0,
            "Fiber optic" => 45.0,
            _ => 0.0,
        };
    for (name, p) in ADDONS {
        let value =
            if internet == "No" { "No internet service".into() } else { yes(data.chance(p)) };
        if value == "Yes" {
            monthly += if name.starts_with("Streaming") { 10.0 } else { 5.0 };
        }
        text.push((name, value));
    }
    let paperless = data.chance(0.59);
    let payment = data.pick(&[
        ("Electronic check", 0.34),
        ("Mailed check", 0.23),
        ("Bank transfer (automatic)", 0.22),
        ("Credit card (automatic)", 0.21),
    ]);
    text.push(("Contract", contract.to_owned()));
    text.push(("PaperlessBilling", yes(paperless)));
    text.push(("PaymentMethod", payment.to_owned()));
    let monthly = (monthly + data.normal(0.0, 2.5) + if drift { 8.0 } else { 0.0 }).max(18.25);
    let has = |name: &str| text.iter().any(|(n, v)| *n == name && v == "Yes");
    let score = if contract == "Month-to-month" {
        1.4
    } else if contract == "One year" {
        0.2
    } else {
        -0.9
    } + if internet == "Fiber optic" {
        0.7
    } else if internet == "No" {
        -0.6
    } else {
        0.0
    } + if payment == "Electronic check" { 0.6 } else { 0.0 }
        - 0.035 * tenure as f64
        + if senior { 0.3 } else { 0.0 }
        + if paperless { 0.3 } else { 0.0 }
        - if has("TechSupport") { 0.5 } else { 0.0 }
        - if has("OnlineSecurity") { 0.45 } else { 0.0 }
        + 0.012 * (monthly - 65.0);
    Customer { text, tenure, monthly, score }
}

/// Returns the clean table of `rows` customers.
pub fn table(rows: usize, drift: bool, data: &mut Random, labels: &mut Random) -> Table {
    let customers: Vec<Customer> = (0..rows).map(|_| customer(data, drift)).collect();
    let scores: Vec<f64> = customers.iter().map(|c| c.score).collect();
    let intercept = calibrate(&scores, 0.26);
    let mut table = Table::default();
    let names: Vec<&str> =
        customers.first().map(|c| c.text.iter().map(|(n, _)| *n).collect()).unwrap_or_default();
    for (index, name) in names.iter().enumerate() {
        if *name == "Contract" {
            table.push("tenure", Values::Int(customers.iter().map(|c| Some(c.tenure)).collect()));
        }
        table.push(
            name,
            Values::Text(customers.iter().map(|c| Some(c.text[index].1.clone())).collect()),
        );
    }
    table.push(
        "MonthlyCharges",
        Values::Float(customers.iter().map(|c| Some(round(c.monthly, 2))).collect()),
    );
    let total = customers
        .iter()
        .map(|c| {
            let charged = c.monthly * c.tenure as f64 * labels.normal(1.0, 0.03);
            Some(if c.tenure == 0 { " ".to_owned() } else { format!("{:.2}", charged) })
        })
        .collect();
    table.push("TotalCharges", Values::Text(total));
    let churn = scores.iter().map(|s| Some(yes(labels.chance(sigmoid(intercept + s))))).collect();
    table.push("Churn", Values::Text(churn));
    table
}

/// Dirt: the same contract, service or payment spelled several ways, missing
/// and absurd monthly charges.
pub fn spoil(table: &mut Table, random: &mut Random, scale: f64) {
    let contracts: [(&str, &[&str]); 2] = [
        ("Month-to-month", &["month to month ", "Month-To-Month", "month-to-month"]),
        ("Two year", &["two year", "2 year"]),
    ];
    super::dirt::respell(table, random, "Contract", 0.02 * scale, &contracts);
    super::dirt::respell(
        table,
        random,
        "InternetService",
        0.01 * scale,
        &[("Fiber optic", &["fiber optic", "Fibre optic"])],
    );
    super::dirt::respell(
        table,
        random,
        "PaymentMethod",
        0.01 * scale,
        &[("Electronic check", &["electronic check", "Electronic check "])],
    );
    super::dirt::missing(table, random, "MonthlyCharges", 0.005 * scale);
    super::dirt::outliers(table, random, "MonthlyCharges", 0.001 * scale, 10.0);
}
