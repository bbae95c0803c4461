//! The pages of `pipit ui`, as HTML text.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

use crate::html::{bar_chart, escape, page};
use crate::registry::Entry;

/// Styles and the script the runs table sorts and filters with.
const EXTRA: &str = r#"<style>
body { max-width: 1500px; }
nav a { margin-right: 1.2rem; font-weight: 600; }
#runs td, #runs th { white-space: nowrap; }
#runs td:nth-child(-n+4), #runs th:nth-child(-n+4) { text-align: left; }
.scroll { overflow-x: auto; }
th[data-sort] { cursor: pointer; user-select: none; white-space: nowrap; }
th[data-order="asc"]::after { content: " ▲"; }
th[data-order="desc"]::after { content: " ▼"; }
input#filter { font: inherit; padding: .3rem .5rem; width: 18rem; }
td.failure { color: #9b1c1c; }
</style>"#;

const SCRIPT: &str = r#"<script>
const table = document.getElementById('runs');
const body = table.tBodies[0];
const cell = (row, i) => {
  const text = row.cells[i].dataset.v ?? row.cells[i].textContent.trim();
  const number = Number(text);
  return text !== '' && text !== '-' && !Number.isNaN(number) ? number : text;
};
table.querySelectorAll('th[data-sort]').forEach((th, i) => th.addEventListener('click', () => {
  const asc = th.dataset.order !== 'asc';
  table.querySelectorAll('th').forEach(other => delete other.dataset.order);
  th.dataset.order = asc ? 'asc' : 'desc';
  const rows = [...body.rows].sort((a, b) => {
    const x = cell(a, i), y = cell(b, i);
    if (typeof x === typeof y) return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1);
    return typeof x === 'number' ? -1 : 1;
  });
  rows.forEach(row => body.appendChild(row));
}));
const count = document.getElementById('count');
document.getElementById('filter').addEventListener('input', event => {
  const wanted = event.target.value.toLowerCase();
  let shown = 0;
  for (const row of body.rows) {
    row.hidden = !row.textContent.toLowerCase().includes(wanted);
    if (!row.hidden) shown += 1;
  }
  count.textContent = shown;
});
</script>"#;

/// Puts the UI's navigation at the top of a page made elsewhere (the plots).
pub fn with_nav(html: &str) -> String {
    html.replacen("<body>", &format!("<body>\n{EXTRA}{}", nav()), 1)
}

fn nav() -> &'static str {
    r#"<nav><a href="/">Runs</a><a href="/charts">Charts</a><a href="/registry">Registry</a><a href="/plots">Plots</a></nav>"#
}

/// A page with the navigation and the UI's styles.
fn ui_page(title: &str, body: &str) -> String {
    page(title, &format!("{EXTRA}{}\n{body}", nav()))
}

/// The error page.
pub fn error(message: &str) -> String {
    ui_page("pipit ui", &format!("<h1>Not here</h1><p>{}</p>", escape(message)))
}

/// Returns `value` as a cell shows it.
fn shown(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "-".to_owned(),
        Some(Value::Number(n)) if n.is_f64() => {
            let text = format!("{:.4}", n.as_f64().unwrap_or(f64::NAN));
            text.trim_end_matches('0').trim_end_matches('.').to_owned()
        }
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

fn name(run: &Value) -> String {
    let id = run["id"].as_str().unwrap_or_default();
    match (run["name"].as_str(), run["stage"].as_str()) {
        (Some(name), Some(stage)) => format!("{stage} {name}"),
        (Some(name), None) => name.to_owned(),
        _ => id.chars().take(8).collect(),
    }
}

fn time(run: &Value) -> String {
    run["time"].as_str().unwrap_or_default().replace('T', " ").trim_end_matches('Z').to_owned()
}

fn revision(run: &Value) -> String {
    match run["rev"].as_str() {
        Some(rev) => {
            let short: String = rev.chars().take(7).collect();
            format!("{short}{}", if run["dirty"] == true { "*" } else { "" })
        }
        None => "-".to_owned(),
    }
}

/// The keys of `field` (`params` or `metrics`) whose value differs between
/// `runs`, in the order first met.
fn varying<'r>(runs: &[&'r Value], field: &str) -> Vec<&'r str> {
    let mut keys: Vec<&str> = Vec::new();
    for run in runs {
        if let Some(map) = run[field].as_object() {
            for key in map.keys() {
                if !keys.contains(&key.as_str()) {
                    keys.push(key);
                }
            }
        }
    }
    keys.retain(|key| {
        let mut values = runs.iter().map(|r| r[field].get(*key));
        let first = values.next().flatten();
        values.any(|v| v != first)
    });
    keys
}

/// The runs table: newest first, the metrics and params that differ as
/// columns; sorted by a click on a heading, filtered as one types.
pub fn runs(records: &[Value]) -> String {
    let runs: Vec<&Value> = records.iter().rev().filter(|r| r["kind"] != "trial").collect();
    let mut body = String::from("<h1>Runs</h1>");
    if runs.is_empty() {
        body.push_str("<p class=\"muted\">No runs yet: every <code>pipit repro</code> that runs a stage records one.</p>");
        return ui_page("pipit ui: runs", &body);
    }
    let (metrics, params) = (varying(&runs, "metrics"), varying(&runs, "params"));
    let _ = write!(
        body,
        r#"<p><input id="filter" type="search" placeholder="Filter runs" aria-label="Filter runs"> <span class="muted"><span id="count">{}</span> of {} runs · click a heading to sort</span></p><div class="scroll"><table id="runs"><thead><tr>"#,
        runs.len(),
        runs.len()
    );
    for heading in ["run", "time", "rev", "outcome", "seconds"] {
        let _ = write!(body, "<th data-sort>{heading}</th>");
    }
    // Params first (what a run tried), then metrics; a metric's file without
    // its folders, the whole key in the tooltip.
    for key in params.iter().chain(&metrics) {
        let short = match key.split_once(':') {
            Some((path, name)) => format!("{}:{name}", path.rsplit('/').next().unwrap_or(path)),
            None => (*key).to_owned(),
        };
        let _ = write!(body, "<th data-sort title=\"{}\">{}</th>", escape(key), escape(&short));
    }
    body.push_str("</tr></thead><tbody>");
    for run in &runs {
        let id = run["id"].as_str().unwrap_or_default();
        let outcome = run["outcome"].as_str().unwrap_or_default();
        let seconds = run["seconds"].as_f64().unwrap_or(0.0);
        let _ = write!(
            body,
            r#"<tr data-id="{id}"><td><a href="/runs/{id}">{}</a></td><td>{}</td><td>{}</td><td class="{outcome}">{outcome}</td><td data-v="{seconds}">{seconds:.1}</td>"#,
            escape(&name(run)),
            escape(&time(run)),
            escape(&revision(run)),
            id = escape(id),
            outcome = escape(outcome),
        );
        for key in &params {
            let _ = write!(body, "<td>{}</td>", escape(&shown(run["params"].get(*key))));
        }
        for key in &metrics {
            let _ = write!(body, "<td>{}</td>", escape(&shown(run["metrics"].get(*key))));
        }
        body.push_str("</tr>");
    }
    body.push_str("</tbody></table></div>");
    body.push_str(SCRIPT);
    ui_page("pipit ui: runs", &body)
}

/// A table of one map of values.
fn values_table(title: &str, values: &Value) -> String {
    let Some(map) = values.as_object().filter(|m| !m.is_empty()) else {
        return format!("<h2>{title}</h2><p class=\"muted\">none</p>");
    };
    let mut html = format!("<h2>{title}</h2><table><tr><th>key</th><th>value</th></tr>");
    for (key, value) in map {
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td></tr>",
            escape(key),
            escape(&shown(Some(value)))
        );
    }
    html.push_str("</table>");
    html
}

/// One run: what it was, its params, metrics, stages and trials.
pub fn run(records: &[Value], id: &str) -> Option<String> {
    let run = records.iter().find(|r| r["id"] == id)?;
    let mut body = format!(
        "<h1>Run {}</h1><p class=\"muted\">{} · {} · {} · {:.1} s{}</p>",
        escape(&name(run)),
        escape(&time(run)),
        escape(&revision(run)),
        escape(run["outcome"].as_str().unwrap_or_default()),
        run["seconds"].as_f64().unwrap_or(0.0),
        match (run["parent"].as_str(), run["stage"].as_str()) {
            (Some(parent), Some(stage)) => format!(
                " · a trial of stage <code>{}</code> in <a href=\"/runs/{}\">its run</a>",
                escape(stage),
                escape(parent)
            ),
            _ => String::new(),
        }
    );
    if let Some(rev) = run["rev"].as_str() {
        let _ = write!(
            body,
            "<p><a href=\"/plots?rev={}\">Plots at this run's commit</a>{}</p>",
            escape(rev),
            if run["dirty"] == true { " (it ran with uncommitted changes)" } else { "" }
        );
    }
    body.push_str(&values_table("Metrics", &run["metrics"]));
    body.push_str(&values_table("Params", &run["params"]));
    if let Some(stages) = run["stages"].as_array().filter(|s| !s.is_empty()) {
        body.push_str(
            "<h2>Stages</h2><table><tr><th>stage</th><th>outcome</th><th>seconds</th></tr>",
        );
        for stage in stages {
            let _ = write!(
                body,
                "<tr><td>{}</td><td>{}</td><td>{:.2}</td></tr>",
                escape(stage["name"].as_str().unwrap_or_default()),
                escape(stage["outcome"].as_str().unwrap_or_default()),
                stage["seconds"].as_f64().unwrap_or(0.0)
            );
        }
        body.push_str("</table>");
    }
    let trials: Vec<&Value> = records.iter().filter(|r| r["parent"] == id).collect();
    if !trials.is_empty() {
        let _ = write!(
            body,
            "<h2>Trials ({})</h2><table><tr><th>trial</th><th>outcome</th>",
            trials.len()
        );
        let metrics = varying(&trials, "metrics");
        let params = varying(&trials, "params");
        for key in metrics.iter().chain(&params) {
            let _ = write!(body, "<th>{}</th>", escape(key));
        }
        body.push_str("</tr>");
        for trial in trials {
            let _ = write!(
                body,
                "<tr><td><a href=\"/runs/{}\">{}</a></td><td>{}</td>",
                escape(trial["id"].as_str().unwrap_or_default()),
                escape(&name(trial)),
                escape(trial["outcome"].as_str().unwrap_or_default())
            );
            for key in &metrics {
                let _ = write!(body, "<td>{}</td>", escape(&shown(trial["metrics"].get(*key))));
            }
            for key in &params {
                let _ = write!(body, "<td>{}</td>", escape(&shown(trial["params"].get(*key))));
            }
            body.push_str("</tr>");
        }
        body.push_str("</table>");
    }
    Some(ui_page(&format!("pipit ui: run {}", name(run)), &body))
}

/// How many runs a chart shows, the newest.
const CHARTED: usize = 40;

/// A metric across the newest runs that have it, the best highlighted.
pub fn chart(records: &[Value], metric: Option<&str>) -> String {
    let runs: Vec<&Value> = records.iter().filter(|r| r["kind"] != "trial").collect();
    let mut keys: Vec<&str> = Vec::new();
    for run in &runs {
        for (key, value) in run["metrics"].as_object().into_iter().flatten() {
            if value.is_number() && !keys.contains(&key.as_str()) {
                keys.push(key);
            }
        }
    }
    let chosen = metric.filter(|m| keys.contains(m)).or_else(|| keys.first().copied());
    let mut body = String::from(
        "<h1>Charts</h1><form method=\"get\" action=\"/charts\"><label>Metric <select name=\"metric\" onchange=\"this.form.submit()\">",
    );
    for key in &keys {
        let selected = if Some(*key) == chosen { " selected" } else { "" };
        let _ = write!(body, "<option{selected}>{}</option>", escape(key));
    }
    body.push_str("</select></label> <button>Show</button></form>");
    let Some(chosen) = chosen else {
        body.push_str("<p class=\"muted\">No run has a metric yet.</p>");
        return ui_page("pipit ui: charts", &body);
    };
    let points: Vec<(String, f64)> = runs
        .iter()
        .filter_map(|r| {
            Some((format!("{} · {}", name(r), time(r)), r["metrics"][chosen].as_f64()?))
        })
        .collect();
    let newest = &points[points.len().saturating_sub(CHARTED)..];
    let (low, high) =
        newest.iter().fold((0.0f64, f64::MIN), |(lo, hi), (_, v)| (lo.min(*v), hi.max(*v)));
    let best = newest.iter().enumerate().max_by(|a, b| a.1.1.total_cmp(&b.1.1)).map(|(i, _)| i);
    let _ = write!(
        body,
        "<h2>{}</h2><p class=\"muted\">the newest {} of {} runs with it, oldest first; the highest in green</p>{}",
        escape(chosen),
        newest.len(),
        points.len(),
        bar_chart(newest, low, high.max(low + f64::EPSILON), best)
    );
    ui_page("pipit ui: charts", &body)
}

/// The registry: each data set's current model, every version, and the
/// promote/rollback history; and the HTML reports.
pub fn registry(
    entries: &[Entry],
    current: &BTreeMap<String, u64>,
    events: &[Value],
    reports: &[String],
) -> String {
    let mut body = String::from("<h1>Registry</h1>");
    if entries.is_empty() {
        body.push_str("<p class=\"muted\">No model is registered: <code>pipit model register</code> adds one.</p>");
    }
    let mut datasets: Vec<&str> = entries.iter().map(|e| e.dataset.as_str()).collect();
    datasets.dedup();
    datasets.sort_unstable();
    datasets.dedup();
    for dataset in datasets {
        let now = current.get(dataset);
        let _ = write!(
            body,
            "<h2>{}</h2><p>current: <strong>{}</strong></p><table><tr><th>version</th><th>model</th><th>key metric</th><th>gate</th><th>registered</th></tr>",
            escape(dataset),
            now.map_or("none".to_owned(), |v| format!("v{v}"))
        );
        for entry in entries.iter().filter(|e| e.dataset == dataset).rev() {
            let class = if Some(&entry.version) == now { " class=\"best\"" } else { "" };
            let status = entry.status.name();
            let _ = write!(
                body,
                "<tr{class}><td>v{}</td><td>{}</td><td>{} {:.4}</td><td><span class=\"tag {status}\">{status}</span></td><td>{}</td></tr>",
                entry.version,
                escape(&entry.model),
                escape(&entry.gate.metric),
                entry.gate.value,
                escape(&entry.time)
            );
        }
        body.push_str("</table>");
        let mine: Vec<&Value> = events.iter().filter(|e| e["dataset"] == dataset).collect();
        if !mine.is_empty() {
            body.push_str("<h3>History</h3><table><tr><th>time</th><th>action</th><th>from</th><th>to</th></tr>");
            for event in mine.iter().rev() {
                let version = |v: &Value| v.as_u64().map_or("-".to_owned(), |v| format!("v{v}"));
                let _ = write!(
                    body,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    escape(event["time"].as_str().unwrap_or_default()),
                    escape(event["action"].as_str().unwrap_or_default()),
                    version(&event["from"]),
                    version(&event["to"])
                );
            }
            body.push_str("</table>");
        }
    }
    body.push_str("<h2>Reports</h2>");
    if reports.is_empty() {
        body.push_str("<p class=\"muted\">No HTML report under <code>reports/</code> yet.</p>");
    } else {
        body.push_str("<ul>");
        for report in reports {
            let _ = write!(body, "<li><a href=\"/reports/{0}\">{0}</a></li>", escape(report));
        }
        body.push_str("</ul>");
    }
    ui_page("pipit ui: registry", &body)
}
