//! compare's Markdown and HTML.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{Dataset, Entry, display, metric_name};
use crate::html::{bar_chart, escape, page};

/// The metrics shown as columns, in this order when present.
const COLUMNS: [&str; 10] = [
    "r2",
    "rmse",
    "mae",
    "accuracy",
    "precision",
    "recall",
    "f1",
    "threshold",
    "roc_auc",
    "pr_auc",
];

fn columns(dataset: &Dataset) -> Vec<&'static str> {
    COLUMNS
        .into_iter()
        .filter(|c| dataset.models.iter().any(|m| m.metrics.contains_key(*c)))
        .collect()
}

/// "Random Forest", "Gradient Boosting (Tuned)".
fn label(entry: &Entry) -> String {
    let kind = display(&entry.kind);
    if entry.name == "tuned" { format!("{kind} (Tuned)") } else { kind.to_owned() }
}

/// The label with the file's name when it says more: "Ridge Regression (`linear`)".
fn label_and_name(entry: &Entry, code: impl Fn(&str) -> String) -> String {
    if entry.name == entry.kind || entry.name == "tuned" {
        label(entry)
    } else {
        format!("{} ({})", label(entry), code(&entry.name))
    }
}

fn number(value: Option<f64>) -> String {
    match value {
        Some(v) if v.is_finite() => format!("{:.4}", crate::number::Fixed(v)),
        _ => "–".to_owned(),
    }
}

fn direction(dataset: &Dataset) -> &'static str {
    if dataset.lower_is_better { "lower is better" } else { "higher is better" }
}

/// "Gradient Boosting (Tuned): R² = 0.8441 (+3.84 %) against 0.8129 untuned".
fn tuning_line(dataset: &Dataset) -> Option<String> {
    let tuning = dataset.tuning.as_ref()?;
    let tuned = dataset.models.iter().find(|m| m.name == "tuned")?;
    Some(format!(
        "{}: {} = {:.4} ({:+.2} %) against {:.4} untuned (`{}`)",
        label(tuned),
        metric_name(&dataset.key_metric),
        tuning.tuned_value,
        tuning.gain_percent,
        tuning.baseline_value,
        tuning.baseline
    ))
}

/// Says why no model is best: every key metric is 0 or undefined.
fn no_best(dataset: &Dataset) -> String {
    format!(
        "every model's {} is 0 or undefined, so none is fit to call best",
        metric_name(&dataset.key_metric)
    )
}

/// Returns the Markdown report.
pub fn markdown(datasets: &BTreeMap<String, Dataset>) -> String {
    let mut out = String::from("# Model comparison\n");
    for (name, dataset) in datasets {
        let key = metric_name(&dataset.key_metric);
        let _ = write!(out, "\n## {name} · key metric {key} ({})\n\n", direction(dataset));
        let columns = columns(dataset);
        let headers: Vec<&str> = columns.iter().map(|c| metric_name(c)).collect();
        let _ = writeln!(out, "| model | {} | gate |", headers.join(" | "));
        let _ = writeln!(out, "|---|{}:-:|", "---:|".repeat(columns.len()));
        for entry in &dataset.models {
            let best = Some(&entry.name) == dataset.best.as_ref();
            let cells: Vec<String> = columns
                .iter()
                .map(|c| {
                    let text = number(entry.metrics.get(*c).copied());
                    if best && *c == dataset.key_metric { format!("**{text}**") } else { text }
                })
                .collect();
            let model = label_and_name(entry, |name| format!("`{name}`"));
            let model = if best { format!("**{model}**") } else { model };
            let gate = match entry.accepted {
                Some(true) => "accepted",
                Some(false) => "rejected",
                None => "–",
            };
            let _ = writeln!(out, "| {model} | {} | {gate} |", cells.join(" | "));
        }
        if let Some(baseline) = &dataset.baseline {
            let cells: Vec<String> = columns
                .iter()
                .map(|c| {
                    if *c == dataset.key_metric {
                        number(Some(baseline.value))
                    } else {
                        String::new()
                    }
                })
                .collect();
            let _ = writeln!(out, "| baseline ({}) | {} | |", baseline.kind, cells.join(" | "));
        }
        match dataset.best_entry() {
            Some(best) => {
                let best_label = label_and_name(best, |name| format!("`{name}`"));
                let _ = write!(out, "\nBest: **{best_label}**, {key} = {:.4}\n", best.value);
            }
            None => {
                let _ = write!(out, "\nBest: none: {}\n", no_best(dataset));
            }
        }
        if let Some(line) = tuning_line(dataset) {
            let _ = writeln!(out, "\n{line}");
        }
    }
    out
}

/// Returns the HTML page.
pub fn html(datasets: &BTreeMap<String, Dataset>) -> String {
    let mut body = String::from(
        "<h1>Model comparison</h1>\n<p class=\"muted\">Every model's test metrics, by data set; \
         the best model by the gate's key metric is highlighted.</p>\n",
    );
    for (name, dataset) in datasets {
        let key = metric_name(&dataset.key_metric);
        let _ = writeln!(
            body,
            "<h2>{} <span class=\"muted\">· key metric {key}, {}</span></h2>",
            escape(name),
            direction(dataset)
        );
        match dataset.best_entry() {
            Some(best) => {
                let best_label =
                    label_and_name(best, |name| format!("<code>{}</code>", escape(name)));
                let _ = writeln!(
                    body,
                    "<p>Best: <strong>{best_label}</strong>, {key} = {:.4}</p>",
                    best.value
                );
            }
            None => {
                let _ = writeln!(body, "<p>Best: none: {}</p>", escape(&no_best(dataset)));
            }
        }
        if let Some(line) = tuning_line(dataset) {
            let _ = writeln!(body, "<p>{}</p>", escape(&line.replace('`', "")));
        }
        let bars: Vec<(String, f64)> = dataset
            .models
            .iter()
            .map(|m| (label_and_name(m, |name| name.to_owned()), m.value))
            .collect();
        let values = bars.iter().map(|b| b.1).filter(|v| v.is_finite());
        let lowest = values.clone().fold(0.0, f64::min);
        let highest = values.fold(f64::NEG_INFINITY, f64::max);
        let bounded = !matches!(dataset.key_metric.as_str(), "rmse" | "mae");
        let high = if bounded { 1.0 } else { highest.max(0.0) * 1.1 };
        let best = dataset.models.iter().position(|m| Some(&m.name) == dataset.best.as_ref());
        body.push_str(&bar_chart(&bars, lowest, high.max(lowest + 1e-9), best));
        let columns = columns(dataset);
        body.push_str("\n<table>\n<tr><th>model</th>");
        for column in &columns {
            let _ = write!(body, "<th>{}</th>", metric_name(column));
        }
        body.push_str("<th>gate</th></tr>\n");
        for entry in &dataset.models {
            let best = Some(&entry.name) == dataset.best.as_ref();
            let class = if best { " class=\"best\"" } else { "" };
            let name = label_and_name(entry, |name| format!("<code>{}</code>", escape(name)));
            let _ = write!(body, "<tr{class}><td>{name}</td>");
            for column in &columns {
                let _ = write!(body, "<td>{}</td>", number(entry.metrics.get(*column).copied()));
            }
            let _ = match entry.accepted {
                Some(accepted) => {
                    let gate = if accepted { "accepted" } else { "rejected" };
                    writeln!(body, "<td><span class=\"tag {gate}\">{gate}</span></td></tr>")
                }
                None => writeln!(body, "<td class=\"muted\">–</td></tr>"),
            };
        }
        if let Some(baseline) = &dataset.baseline {
            let _ =
                write!(body, "<tr><td class=\"muted\">baseline ({})</td>", escape(&baseline.kind));
            for column in &columns {
                let cell = if *column == dataset.key_metric {
                    number(Some(baseline.value))
                } else {
                    String::new()
                };
                let _ = write!(body, "<td class=\"muted\">{cell}</td>");
            }
            body.push_str("<td></td></tr>\n");
        }
        body.push_str("</table>\n");
        if let Some(best) = dataset.best_entry().filter(|b| !b.importances.is_empty()) {
            body.push_str(&importances(best));
        }
    }
    page("Model comparison", &body)
}

/// The most this report lists of a model's importances.
const MOST_IMPORTANCES: usize = 12;

/// A bar per input column of the model's importances, largest first, the
/// rest summed as "other" past [`MOST_IMPORTANCES`].
fn importances(entry: &Entry) -> String {
    let mut bars: Vec<(String, f64)> =
        entry.importances.iter().take(MOST_IMPORTANCES).cloned().collect();
    let rest: Vec<&(String, f64)> = entry.importances.iter().skip(MOST_IMPORTANCES).collect();
    if !rest.is_empty() {
        let sum = rest.iter().map(|(_, v)| v).sum();
        bars.push((format!("other ({} columns)", rest.len()), sum));
    }
    let high = bars.iter().map(|b| b.1).fold(0.0, f64::max).max(1e-9);
    let how = if matches!(entry.kind.as_str(), "linear" | "ridge" | "logistic") {
        "the size of each column's coefficients on standardised inputs"
    } else {
        "each column's share of the trees' split gains"
    };
    format!(
        "<h3>What {} looks at</h3>\n<p class=\"muted\">Importance: {how}.</p>\n{}",
        escape(&label(entry)),
        bar_chart(&bars, 0.0, high, None)
    )
}
