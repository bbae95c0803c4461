//! The drift report: one self-contained HTML file (inline CSS and SVG, no
//! scripts, nothing fetched). A summary, then every column, drifted ones
//! first: its test, score and statistics, and the two distributions overlaid
//! (a histogram on shared bins for numbers, paired bars for categories).
//! Columns one side lacks are listed after the summary.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Map, Value};

use super::Column;
use super::columns::{Paired, Side};
use crate::html::{escape, page};

const REFERENCE: &str = "#4a78b5";
const CURRENT: &str = "#e07b39";
const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 170.0;

/// Returns the report page; `judged` holds the verdicts on `paired.both`, in order.
pub fn html(
    title: &str,
    summary: &Value,
    paired: &Paired,
    judged: &[(String, Map<String, Value>)],
) -> String {
    let columns = &paired.both;
    let mut body = String::new();
    let drifted = summary["drifted_columns"].as_array().map_or(0, Vec::len);
    let verdict = if summary["dataset_drift"] == true { "yes" } else { "no" };
    let _ = write!(
        body,
        "<h1>Data drift: {}</h1>\n<p class=\"muted\">rule <code>{}</code>; the data set drifts when \
         at least {:.0} % of its columns do.</p>\n<table><tr><th>dataset drift</th><td><span class=\"tag {verdict}\">{verdict}</span></td></tr>\
         <tr><th>drifted columns</th><td>{drifted} of {} ({:.0} %)</td></tr></table>\n",
        escape(title),
        summary["rule"].as_str().unwrap_or_default(),
        summary["threshold"].as_f64().unwrap_or(0.5) * 100.0,
        summary["columns"].as_object().map_or(0, Map::len),
        summary["drift_share"].as_f64().unwrap_or(0.0) * 100.0,
    );
    if drifted > 0 {
        let names: Vec<String> = summary["drifted_columns"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(|n| format!("<code>{}</code>", escape(n)))
            .collect();
        let _ = writeln!(body, "<p>Drifted: {}</p>", names.join(", "));
    }
    if !paired.missing.is_empty() {
        let items: Vec<String> = paired
            .missing
            .iter()
            .map(|m| {
                let counted =
                    if m.side == Side::Current { "counted as drifted" } else { "not compared" };
                format!("<li><code>{}</code> {} ({counted})</li>", escape(&m.name), m.what())
            })
            .collect();
        let _ = writeln!(body, "<p>Missing columns:</p><ul>{}</ul>", items.join(""));
    }
    let _ = writeln!(
        body,
        "<p><span style=\"color:{REFERENCE}\">■</span> reference &nbsp; \
         <span style=\"color:{CURRENT}\">■</span> current</p>"
    );
    let mut order: Vec<usize> = (0..judged.len()).collect();
    order.sort_by_key(|&i| judged[i].1["drifted"] != true);
    for i in order {
        let (name, result) = &judged[i];
        let tag = if result["drifted"] == true { "yes\">drifted" } else { "no\">stable" };
        let _ = writeln!(body, "<h2>{} <span class=\"tag {tag}</span></h2>", escape(name));
        let _ = writeln!(
            body,
            "<p class=\"muted\">{} column; test <code>{}</code>: score {} against threshold {}; \
             {} reference rows, {} current rows.</p>",
            result["type"].as_str().unwrap_or_default(),
            result["test"].as_str().unwrap_or_default(),
            number(&result["score"]),
            number(&result["threshold"]),
            result["reference_rows"],
            result["current_rows"],
        );
        body.push_str("<table><tr>");
        let stats = [
            "ks_stat",
            "ks_pvalue",
            "chi2_stat",
            "chi2_pvalue",
            "psi",
            "wasserstein",
            "jensen_shannon",
        ];
        let present: Vec<&str> = stats.into_iter().filter(|s| result.contains_key(*s)).collect();
        for stat in &present {
            let _ = write!(body, "<th>{stat}</th>");
        }
        body.push_str("</tr><tr>");
        for stat in &present {
            let _ = write!(body, "<td>{}</td>", number(&result[*stat]));
        }
        body.push_str("</tr></table>\n");
        body.push_str(&match &columns[i].1 {
            Column::Numeric(reference, current) => histogram(reference, current),
            Column::Categorical(reference, current) => bars(reference, current),
        });
    }
    page(&format!("Data drift: {title}"), &body)
}

fn number(value: &Value) -> String {
    match value.as_f64() {
        Some(v) if v != 0.0 && (v.abs() < 1e-3 || v.abs() >= 1e5) => format!("{v:.3e}"),
        Some(v) => format!("{v:.4}"),
        None => "–".to_owned(),
    }
}

/// Shares per bin on 30 equal bins over the central 99 % of both samples.
fn histogram(reference: &[f64], current: &[f64]) -> String {
    let mut all: Vec<f64> = reference.iter().chain(current).copied().collect();
    all.sort_by(f64::total_cmp);
    let low = crate::statistics::quantile(&all, 0.005);
    let high = crate::statistics::quantile(&all, 0.995);
    let (low, high) = if high > low { (low, high) } else { (low - 0.5, high + 0.5) };
    let bins = 30;
    let shares = |values: &[f64]| {
        let mut counts = vec![0.0; bins];
        for &v in values {
            let bin =
                (((v - low) / (high - low)) * bins as f64).floor().clamp(0.0, bins as f64 - 1.0);
            counts[bin as usize] += 1.0;
        }
        counts.iter().map(|c| c / values.len().max(1) as f64).collect::<Vec<f64>>()
    };
    let (r, c) = (shares(reference), shares(current));
    let top = r.iter().chain(&c).copied().fold(0.0, f64::max).max(f64::MIN_POSITIVE);
    let step = WIDTH / bins as f64;
    let mut svg = svg_open();
    for (shares, colour) in [(&r, REFERENCE), (&c, CURRENT)] {
        for (i, share) in shares.iter().enumerate() {
            let height = share / top * (HEIGHT - 30.0);
            let _ = write!(
                svg,
                r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{height:.1}" fill="{colour}" fill-opacity="0.55"/>"#,
                40.0 + i as f64 * step,
                HEIGHT - 20.0 - height,
                step - 1.0
            );
        }
    }
    axis(&mut svg, &format!("{low:.4}"), &format!("{high:.4}"), top);
    svg.push_str("</svg>\n");
    svg
}

/// Paired bars per category (the 20 most frequent), as shares of rows.
fn bars(reference: &[String], current: &[String]) -> String {
    let mut counts: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
    for v in reference {
        counts.entry(v).or_default().0 += 1.0;
    }
    for v in current {
        counts.entry(v).or_default().1 += 1.0;
    }
    let (nr, nc) = (reference.len().max(1) as f64, current.len().max(1) as f64);
    let mut categories: Vec<(&str, f64, f64)> =
        counts.into_iter().map(|(k, (r, c))| (k, r / nr, c / nc)).collect();
    categories.sort_by(|a, b| (b.1 + b.2).total_cmp(&(a.1 + a.2)).then(a.0.cmp(b.0)));
    categories.truncate(20);
    let top = categories.iter().map(|c| c.1.max(c.2)).fold(0.0, f64::max).max(f64::MIN_POSITIVE);
    let slot = WIDTH / categories.len().max(1) as f64;
    let mut svg = svg_open();
    for (i, (name, r, c)) in categories.iter().enumerate() {
        let x = 40.0 + i as f64 * slot;
        for (j, (share, colour)) in [(r, REFERENCE), (c, CURRENT)].into_iter().enumerate() {
            let height = share / top * (HEIGHT - 40.0);
            let _ = write!(
                svg,
                r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{height:.1}" fill="{colour}"/>"#,
                x + 2.0 + j as f64 * (slot - 4.0) / 2.0,
                HEIGHT - 30.0 - height,
                (slot - 6.0) / 2.0
            );
        }
        let label: String = name.chars().take(12).collect();
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{}" text-anchor="middle">{}</text>"#,
            x + slot / 2.0,
            HEIGHT - 16.0,
            escape(&label)
        );
    }
    let _ = write!(svg, r#"<text x="36" y="14" text-anchor="end">{:.0} %</text>"#, top * 100.0);
    svg.push_str("</svg>\n");
    svg
}

fn svg_open() -> String {
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{HEIGHT}" role="img">"#,
        WIDTH + 50.0
    )
}

fn axis(svg: &mut String, low: &str, high: &str, top: f64) {
    let y = HEIGHT - 20.0;
    let _ = write!(
        svg,
        r##"<line x1="40" y1="{y}" x2="{}" y2="{y}" stroke="#b8c2cf"/><text x="40" y="{}">{low}</text><text x="{}" y="{}" text-anchor="end">{high}</text><text x="36" y="14" text-anchor="end">{:.0} %</text>"##,
        40.0 + WIDTH,
        y + 14.0,
        40.0 + WIDTH,
        y + 14.0,
        top * 100.0
    );
}
