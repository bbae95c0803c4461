//! Plots: each plots file, at one or several revisions, drawn as an SVG chart
//! by its template (DVC's `template`/`x`/`y`), all in one self-contained
//! HTML page: inline CSS and SVG, images embedded, nothing fetched.

pub mod chart;
pub mod collect;
pub mod data;

use std::fmt::Write as _;

use crate::html::escape;
use base64::Engine as _;

use crate::pipeline::{PlotProperties, Template};
use chart::{Mark, Series};
use data::{Data, Table};

/// One plots file to draw.
#[derive(Clone, Debug)]
pub struct Target {
    /// The path, relative to the root.
    pub path: String,
    /// How it is drawn.
    pub properties: PlotProperties,
}

/// A plots file's contents at one revision.
#[derive(Clone, Debug)]
pub struct Version {
    pub revision: String,
    pub data: Data,
}

/// The column drawn as x when a plot names none: the row's position.
pub const STEP: &str = "step";

/// Returns the HTML of one plot: its title, its chart (or one per revision
/// for a confusion matrix or an image) and a legend; or why it cannot be
/// drawn.
pub fn section(target: &Target, versions: &[Version]) -> Result<String, String> {
    let properties = &target.properties;
    let template = properties.template.unwrap_or(Template::Linear);
    let title = properties.title.as_deref().unwrap_or(&target.path);
    let kind = if versions.iter().all(|v| matches!(v.data, Data::Image { .. })) {
        "image"
    } else {
        template.name()
    };
    let mut html = format!(r#"<section class="plot"><h2>{}</h2><p class="muted">"#, escape(title));
    if title != target.path {
        let _ = write!(html, "<code>{}</code> · ", escape(&target.path));
    }
    let _ = write!(html, "{kind}</p>");
    let (images, tables): (Vec<&Version>, Vec<&Version>) =
        versions.iter().partition(|v| matches!(v.data, Data::Image { .. }));
    for version in images {
        if let Data::Image { mime, bytes } = &version.data {
            let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
            let _ = write!(
                html,
                r#"<figure><img src="data:{mime};base64,{encoded}" alt="{0}"><figcaption>{0}</figcaption></figure>"#,
                escape(&version.revision)
            );
        }
    }
    let tables: Vec<(&str, &Table)> = tables
        .iter()
        .filter_map(|v| match &v.data {
            Data::Table(table) => Some((v.revision.as_str(), table)),
            Data::Image { .. } => None,
        })
        .collect();
    if !tables.is_empty() {
        let chart = match template {
            Template::Confusion | Template::ConfusionNormalized => {
                confusion(target, &tables, template == Template::ConfusionNormalized)?
            }
            Template::BarHorizontal | Template::BarHorizontalSorted => {
                bars(target, &tables, template == Template::BarHorizontalSorted)?
            }
            Template::Scatter => xy(target, &tables, Mark::Points)?,
            Template::Smooth => xy(target, &tables, Mark::Smoothed)?,
            Template::Linear | Template::Simple => xy(target, &tables, Mark::Line)?,
        };
        html.push_str(&chart);
    }
    html.push_str("</section>\n");
    Ok(html)
}

/// Returns the index of column `name` in `table`, or why not.
fn column(target: &Target, revision: &str, table: &Table, name: &str) -> Result<usize, String> {
    table.column(name).ok_or_else(|| {
        format!(
            "`{}` at {revision} has no column `{name}` (its columns: {})",
            target.path,
            table.columns.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
        )
    })
}

/// The y columns: those named, else the last column that is not x.
fn y_columns(properties: &PlotProperties, table: &Table, x: &str) -> Vec<String> {
    if !properties.y.is_empty() {
        return properties.y.clone();
    }
    table.columns.iter().rev().find(|c| *c != x).cloned().into_iter().collect()
}

/// The x and y columns of a two-column template: those named, else x is
/// `x_default` and y the first other column.
fn x_and_y(
    properties: &PlotProperties,
    table: &Table,
    x_default: Option<&String>,
) -> (String, String) {
    let x = properties.x.clone().or_else(|| x_default.cloned()).unwrap_or_default();
    let y = match properties.y.first() {
        Some(y) => y.clone(),
        None => table.columns.iter().find(|c| **c != x).cloned().unwrap_or_default(),
    };
    (x, y)
}

fn legend(labels: &[String]) -> String {
    let mut html = String::from(r#"<p class="legend">"#);
    for (i, label) in labels.iter().enumerate() {
        let _ = write!(
            html,
            r#"<span><i style="background: {}"></i>{}</span>"#,
            chart::colour(i),
            escape(label)
        );
    }
    html.push_str("</p>");
    html
}

fn xy(target: &Target, tables: &[(&str, &Table)], mark: Mark) -> Result<String, String> {
    let properties = &target.properties;
    let x = properties.x.clone().unwrap_or_else(|| STEP.to_owned());
    let mut series = Vec::new();
    let mut y_names: Vec<String> = Vec::new();
    for (revision, table) in tables {
        let xs: Vec<Option<f64>> = match table.column(&x) {
            Some(index) => table.numbers(index),
            None if x == STEP => (0..table.rows.len()).map(|i| Some(i as f64)).collect(),
            None => return Err(column(target, revision, table, &x).unwrap_err()),
        };
        for y in y_columns(properties, table, &x) {
            let ys = table.numbers(column(target, revision, table, &y)?);
            let mut points: Vec<(f64, f64)> =
                xs.iter().zip(&ys).filter_map(|(x, y)| Some(((*x)?, (*y)?))).collect();
            if mark == Mark::Smoothed {
                points.sort_by(|a, b| a.0.total_cmp(&b.0));
            }
            if points.is_empty() {
                return Err(format!(
                    "`{}` at {revision} has no rows where `{x}` and `{y}` are both numbers",
                    target.path
                ));
            }
            if !y_names.contains(&y) {
                y_names.push(y.clone());
            }
            series.push((revision.to_string(), y, points));
        }
    }
    let several_revisions = tables.len() > 1;
    let several_ys = y_names.len() > 1;
    let series: Vec<Series> = series
        .into_iter()
        .map(|(revision, y, points)| {
            let label = match (several_revisions, several_ys) {
                (true, true) => format!("{revision} · {y}"),
                (true, false) => revision,
                _ => y,
            };
            Series { label, points }
        })
        .collect();
    let x_label = properties.x_label.clone().unwrap_or(x);
    let y_label = properties.y_label.clone().unwrap_or_else(|| y_names.join(", "));
    let labels: Vec<String> = series.iter().map(|s| s.label.clone()).collect();
    Ok(format!("{}{}", chart::xy(&series, mark, &x_label, &y_label), legend(&labels)))
}

/// Counts of (`x`, `y`) pairs per revision, over the labels of all of them;
/// a `count` column, when the data has one besides x and y, weighs each row.
fn confusion(
    target: &Target,
    tables: &[(&str, &Table)],
    normalized: bool,
) -> Result<String, String> {
    let properties = &target.properties;
    let mut labels: Vec<String> = Vec::new();
    let mut pairs = Vec::new();
    for (revision, table) in tables {
        let (x, y) = x_and_y(properties, table, table.columns.first());
        let actual = table.texts(column(target, revision, table, &x)?);
        let predicted = table.texts(column(target, revision, table, &y)?);
        let weights: Vec<f64> = match table.column("count").filter(|_| x != "count" && y != "count")
        {
            Some(index) => table.numbers(index).into_iter().map(|w| w.unwrap_or(0.0)).collect(),
            None => vec![1.0; actual.len()],
        };
        for label in actual.iter().chain(&predicted) {
            if !labels.contains(label) {
                labels.push(label.clone());
            }
        }
        pairs.push((revision, x, y, actual, predicted, weights));
    }
    labels.sort_by(|a, b| match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(a), Ok(b)) => a.total_cmp(&b),
        _ => a.cmp(b),
    });
    let mut html = String::from(r#"<div class="row">"#);
    for (revision, x, y, actual, predicted, weights) in pairs {
        let mut counts = vec![vec![0.0; labels.len()]; labels.len()];
        for ((a, p), w) in actual.iter().zip(&predicted).zip(&weights) {
            let (i, j) = (labels.iter().position(|l| l == a), labels.iter().position(|l| l == p));
            if let (Some(i), Some(j)) = (i, j) {
                counts[i][j] += w;
            }
        }
        let x_label = properties.x_label.clone().unwrap_or(x);
        let y_label = properties.y_label.clone().unwrap_or(y);
        let _ = write!(
            html,
            "<figure>{}<figcaption>{}</figcaption></figure>",
            chart::confusion(&labels, &counts, normalized, (&x_label, &y_label)),
            escape(revision)
        );
    }
    html.push_str("</div>");
    Ok(html)
}

/// A bar per category (`y`, text) of length `x` (a number), as DVC's
/// `bar_horizontal` draws them; one colour per revision.
fn bars(target: &Target, tables: &[(&str, &Table)], sorted: bool) -> Result<String, String> {
    let properties = &target.properties;
    let mut categories: Vec<String> = Vec::new();
    let mut values: Vec<(String, Vec<(String, f64)>)> = Vec::new();
    let mut names = (String::new(), String::new());
    for (revision, table) in tables {
        let (x, y) = x_and_y(properties, table, table.columns.last());
        let lengths = table.numbers(column(target, revision, table, &x)?);
        let labels = table.texts(column(target, revision, table, &y)?);
        let mut pairs = Vec::new();
        for (label, length) in labels.into_iter().zip(lengths) {
            let Some(length) = length else { continue };
            if !categories.contains(&label) {
                categories.push(label.clone());
            }
            pairs.push((label, length));
        }
        values.push((revision.to_string(), pairs));
        names = (x, y);
    }
    let value = |pairs: &[(String, f64)], category: &str| {
        pairs.iter().find(|(label, _)| label == category).map(|(_, v)| *v)
    };
    if sorted && let Some((_, first)) = values.first() {
        categories.sort_by(|a, b| {
            let (a, b) = (value(first, a).unwrap_or(f64::MIN), value(first, b).unwrap_or(f64::MIN));
            b.total_cmp(&a)
        });
    }
    let series: Vec<(String, Vec<Option<f64>>)> = values
        .iter()
        .map(|(revision, pairs)| {
            (revision.clone(), categories.iter().map(|c| value(pairs, c)).collect())
        })
        .collect();
    let x_label = properties.x_label.clone().unwrap_or(names.0);
    let labels: Vec<String> = series.iter().map(|(name, _)| name.clone()).collect();
    Ok(format!("{}{}", chart::bars(&categories, &series, &x_label), legend(&labels)))
}

/// Returns the whole page: a heading naming the revisions, each section,
/// and the problems met (files that could not be read or drawn).
pub fn page(revisions: &[String], sections: &[String], problems: &[String]) -> String {
    let mut body = String::from(
        r#"<style>
.plots { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 680px), 1fr)); gap: 0 2.5rem; }
.plot figure { display: inline-block; margin: .5rem 1.5rem .5rem 0; }
.plot figure img { max-width: 100%; border: 1px solid #e6ebf0; }
.plot figcaption { color: #5f6b7a; text-align: center; font-size: .85rem; }
.legend span { margin-right: 1.2rem; white-space: nowrap; }
.legend i { display: inline-block; width: .8rem; height: .8rem; border-radius: 2px; margin-right: .35rem; vertical-align: -1px; }
.problem { color: #9b1c1c; }
</style>
<h1>Plots</h1>
"#,
    );
    let _ = writeln!(
        body,
        r#"<p class="muted">{} · {} plot{}</p>"#,
        revisions.iter().map(|r| escape(r)).collect::<Vec<_>>().join(" vs "),
        sections.len(),
        if sections.len() == 1 { "" } else { "s" }
    );
    for problem in problems {
        let _ = writeln!(body, r#"<p class="problem">{}</p>"#, escape(problem));
    }
    body.push_str(r#"<div class="plots">"#);
    for section in sections {
        body.push_str(section);
    }
    body.push_str("</div>");
    crate::html::page("pipit plots", &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(properties: PlotProperties) -> Target {
        Target { path: "plots/p.csv".into(), properties }
    }

    fn version(revision: &str, csv: &str) -> Version {
        let data = data::parse(csv.as_bytes().to_vec(), "p.csv", true).unwrap();
        Version { revision: revision.into(), data }
    }

    #[test]
    fn a_line_plot_draws_the_last_column_against_the_step_by_default() {
        let html =
            section(&target(PlotProperties::default()), &[version("workspace", "loss\n3\n2\n1\n")])
                .unwrap();
        assert!(html.contains("<path d=\"M"), "{html}");
        assert!(html.contains("loss against step"), "{html}");
    }

    #[test]
    fn revisions_overlay_as_series_named_by_revision() {
        let properties =
            PlotProperties { x: Some("fpr".into()), y: vec!["tpr".into()], ..Default::default() };
        let versions = [
            version("HEAD", "fpr,tpr\n0,0\n1,1\n"),
            version("workspace", "fpr,tpr\n0,0\n0.2,0.9\n1,1\n"),
        ];
        let html = section(&target(properties), &versions).unwrap();
        assert_eq!(html.matches("<path d=").count(), 2);
        assert!(
            html.contains("</i>HEAD</span>") && html.contains("</i>workspace</span>"),
            "{html}"
        );
    }

    #[test]
    fn a_missing_column_is_named_with_the_ones_there_are() {
        let properties = PlotProperties { y: vec!["acc".into()], ..Default::default() };
        let error = section(&target(properties), &[version("HEAD", "loss\n1\n")]).unwrap_err();
        assert_eq!(error, "`plots/p.csv` at HEAD has no column `acc` (its columns: `loss`)");
    }

    #[test]
    fn a_confusion_matrix_counts_pairs_weighted_by_a_count_column() {
        let properties = PlotProperties {
            template: Some(Template::Confusion),
            x: Some("actual".into()),
            y: vec!["predicted".into()],
            ..Default::default()
        };
        let csv = "actual,predicted,count\n0,0,90\n0,1,5\n1,1,4\n1,0,1\n";
        let html = section(&target(properties), &[version("HEAD", csv)]).unwrap();
        for count in [">90</text>", ">5</text>", ">4</text>", ">1</text>"] {
            assert!(html.contains(count), "{count} in {html}");
        }
    }

    #[test]
    fn sorted_bars_put_the_longest_first() {
        let properties = PlotProperties {
            template: Some(Template::BarHorizontalSorted),
            x: Some("importance".into()),
            y: vec!["feature".into()],
            ..Default::default()
        };
        let html = section(
            &target(properties),
            &[version("HEAD", "feature,importance\nage,0.1\nincome,0.7\n")],
        )
        .unwrap();
        assert!(html.find(">income</text>").unwrap() < html.find(">age</text>").unwrap(), "{html}");
    }
}
