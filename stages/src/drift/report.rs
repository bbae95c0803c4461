//! The drift report: one self-contained HTML file (inline CSS and SVG, no
//! scripts, nothing fetched). A summary, then every column, drifted ones
//! first: its test, score and statistics, and the two distributions overlaid
//! (a histogram on shared bins for numbers, a row of paired bars per
//! category, in the categories' natural order). Columns one side lacks and
//! identifier columns left out are listed after the summary.

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
    if !paired.identifiers.is_empty() {
        let names: Vec<String> =
            paired.identifiers.iter().map(|n| format!("<code>{}</code>", escape(n))).collect();
        let _ = writeln!(
            body,
            "<p>Left out as identifiers (a different value in nearly every row): {}</p>",
            names.join(", ")
        );
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
            Column::Numeric(reference, current) => match as_counts(reference, current) {
                Some((reference, current)) => bars(&reference, &current),
                None => histogram(reference, current),
            },
            Column::Categorical(reference, current) => bars(reference, current),
        });
    }
    page(&format!("Data drift: {title}"), &body)
}

fn number(value: &Value) -> String {
    match value.as_f64() {
        Some(v) if v != 0.0 && (v.abs() < 1e-3 || v.abs() >= 1e5) => format!("{v:.3e}"),
        Some(v) => format!("{:.4}", crate::number::Fixed(v)),
        None => "–".to_owned(),
    }
}

/// Returns whole numbers with at most [`MOST_CATEGORIES`] values (an hour,
/// a count) as labels, so that each value gets a bar of its own.
fn as_counts(reference: &[f64], current: &[f64]) -> Option<(Vec<String>, Vec<String>)> {
    let all = || reference.iter().chain(current);
    if all().any(|v| v.fract() != 0.0 || v.abs() > 1e15) {
        return None;
    }
    let distinct: std::collections::BTreeSet<i64> = all().map(|&v| v as i64).collect();
    if distinct.len() > MOST_CATEGORIES {
        return None;
    }
    let text = |values: &[f64]| values.iter().map(|&v| (v as i64).to_string()).collect();
    Some((text(reference), text(current)))
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

/// The most categories drawn; past it, the most frequent and "other".
const MOST_CATEGORIES: usize = 30;
/// The longest label drawn whole; a longer one ends in `…` (its tooltip has
/// it whole).
const LABEL_CHARS: usize = 26;

/// One row per category in natural order (numbers by value), two bars each
/// (reference above current) as shares of rows; past [`MOST_CATEGORIES`],
/// the most frequent ones and one "other" row for the rest.
fn bars(reference: &[String], current: &[String]) -> String {
    let mut counts: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
    for v in reference {
        counts.entry(v).or_default().0 += 1.0;
    }
    for v in current {
        counts.entry(v).or_default().1 += 1.0;
    }
    let (nr, nc) = (reference.len().max(1) as f64, current.len().max(1) as f64);
    let mut rows: Vec<(String, f64, f64)> =
        counts.into_iter().map(|(k, (r, c))| (k.to_owned(), r / nr, c / nc)).collect();
    if rows.len() > MOST_CATEGORIES {
        rows.sort_by(|a, b| (b.1 + b.2).total_cmp(&(a.1 + a.2)).then_with(|| a.0.cmp(&b.0)));
        let rest = rows.split_off(MOST_CATEGORIES - 1);
        rows.sort_by(|a, b| natural_order(&a.0, &b.0));
        let (r, c) = rest.iter().fold((0.0, 0.0), |(r, c), row| (r + row.1, c + row.2));
        rows.push((format!("other ({} categories)", rest.len()), r, c));
    } else {
        rows.sort_by(|a, b| natural_order(&a.0, &b.0));
    }
    let top = rows.iter().map(|c| c.1.max(c.2)).fold(0.0, f64::max).max(f64::MIN_POSITIVE);
    let (label_width, row_height, bar_height) = (190.0, 22.0, 9.0);
    let height = 24.0 + rows.len() as f64 * row_height;
    let longest = WIDTH - label_width - 90.0;
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{height}" role="img">"#,
        WIDTH + 50.0
    );
    for (i, (name, r, c)) in rows.iter().enumerate() {
        let y = 12.0 + i as f64 * row_height;
        let label = if name.chars().count() > LABEL_CHARS {
            format!("{}…", name.chars().take(LABEL_CHARS - 1).collect::<String>())
        } else {
            name.clone()
        };
        let _ = write!(
            svg,
            r#"<text x="{}" y="{:.1}" text-anchor="end"><title>{}</title>{}</text>"#,
            label_width - 6.0,
            y + bar_height + 4.0,
            escape(name),
            escape(&label)
        );
        for (j, (share, colour, side)) in
            [(r, REFERENCE, "reference"), (c, CURRENT, "current")].into_iter().enumerate()
        {
            let _ = write!(
                svg,
                r#"<rect x="{label_width}" y="{:.1}" width="{:.1}" height="{bar_height}" fill="{colour}"><title>{}: {:.1} % of the {side} rows</title></rect>"#,
                y + j as f64 * bar_height,
                (share / top * longest).max(0.5),
                escape(name),
                share * 100.0,
            );
        }
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{:.1}">{:.1} % → {:.1} %</text>"#,
            label_width + r.max(*c) / top * longest + 6.0,
            y + bar_height + 4.0,
            r * 100.0,
            c * 100.0
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// Orders labels as people do: numbers by value, and within text, runs of
/// digits by their value (`hour 9` before `hour 17`).
fn natural_order(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    if let (Ok(x), Ok(y)) = (a.parse::<f64>(), b.parse::<f64>()) {
        return x.total_cmp(&y).then_with(|| a.cmp(b));
    }
    let (mut a_rest, mut b_rest) = (a, b);
    loop {
        let (a_digits, b_digits) = (digits(a_rest), digits(b_rest));
        let (order, a_step, b_step) = if !a_digits.is_empty() && !b_digits.is_empty() {
            let (x, y) = (a_digits.trim_start_matches('0'), b_digits.trim_start_matches('0'));
            (x.len().cmp(&y.len()).then_with(|| x.cmp(y)), a_digits.len(), b_digits.len())
        } else {
            match (a_rest.chars().next(), b_rest.chars().next()) {
                (None, None) => return a.cmp(b),
                (Some(x), Some(y)) => (x.cmp(&y), x.len_utf8(), y.len_utf8()),
                (x, y) => return x.cmp(&y),
            }
        };
        if order != Ordering::Equal {
            return order;
        }
        a_rest = &a_rest[a_step..];
        b_rest = &b_rest[b_step..];
    }
}

/// Returns the ASCII digits `text` starts with.
fn digits(text: &str) -> &str {
    let end = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    &text[..end]
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

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(labels: &[&str]) -> Vec<String> {
        let mut labels: Vec<String> = labels.iter().map(|l| (*l).to_owned()).collect();
        labels.sort_by(|a, b| natural_order(a, b));
        labels
    }

    #[test]
    fn labels_sort_as_people_read_them() {
        assert_eq!(
            sorted(&["17", "6", "13", "0", "23", "-1", "2.5"]),
            ["-1", "0", "2.5", "6", "13", "17", "23"]
        );
        assert_eq!(sorted(&["hour 17", "hour 6", "hour 13"]), ["hour 6", "hour 13", "hour 17"]);
        assert_eq!(sorted(&["b", "a10", "a2", "A"]), ["A", "a2", "a10", "b"]);
        assert_eq!(
            sorted(&["Two year", "Month-to-month", "One year"]),
            ["Month-to-month", "One year", "Two year"]
        );
    }

    #[test]
    fn every_category_is_drawn_up_to_thirty_then_the_rest_is_other() {
        let hours: Vec<String> = (0..24).map(|h| h.to_string()).collect();
        let svg = bars(&hours, &hours);
        let position = |label: &str| {
            svg.find(&format!("<title>{label}</title>{label}</text>"))
                .unwrap_or_else(|| panic!("no label {label}"))
        };
        for hour in 1..24 {
            assert!(position(&(hour - 1).to_string()) < position(&hour.to_string()), "{hour}");
        }
        let many: Vec<String> = (0..50).map(|i| format!("c{}", i % 40)).collect();
        let svg = bars(&many, &many);
        assert!(svg.contains("other (11 categories)"), "{svg}");
        assert_eq!(svg.matches("text-anchor=\"end\"").count(), 30);
    }

    #[test]
    fn a_long_label_is_cut_with_a_mark_and_kept_whole_in_its_tooltip() {
        let long = "Bank transfer (automatic) with a long tail".to_owned();
        let svg = bars(std::slice::from_ref(&long), std::slice::from_ref(&long));
        assert!(
            svg.contains(&format!("<title>{long}</title>Bank transfer (automatic)…</text>")),
            "{svg}"
        );
    }
}
