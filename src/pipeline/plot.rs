//! How a plots file is drawn: DVC's plot properties (`template`, `x`, `y`,
//! `title`, `x_label`, `y_label`, `header`), given on a stage's `plots:` out
//! or, for every file a path or glob matches, under the top-level `plots:`.

use serde::Serialize;

use super::error::{ErrorKind, PipelineError};
use super::source::{SourceFile, Span};
use super::yaml::{Key, Node, Value};

/// The chart a plots file is drawn as (DVC's template names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Template {
    /// Lines through the points, x against each y.
    Linear,
    /// The same as `linear` (DVC draws it without its interactive extras).
    Simple,
    /// Points, not joined.
    Scatter,
    /// The points faint and a moving average through them.
    Smooth,
    /// A confusion matrix: rows are the `x` values (actual), columns the `y`
    /// values (predicted), each cell the count of rows with both.
    Confusion,
    /// The same, each row divided by its total.
    ConfusionNormalized,
    /// A horizontal bar per `x` value, its length the `y` value.
    BarHorizontal,
    /// The same, longest bar first.
    BarHorizontalSorted,
}

impl Template {
    /// Every template by the name a pipeline file gives it.
    pub const ALL: [(&'static str, Template); 8] = [
        ("linear", Template::Linear),
        ("simple", Template::Simple),
        ("scatter", Template::Scatter),
        ("smooth", Template::Smooth),
        ("confusion", Template::Confusion),
        ("confusion_normalized", Template::ConfusionNormalized),
        ("bar_horizontal", Template::BarHorizontal),
        ("bar_horizontal_sorted", Template::BarHorizontalSorted),
    ];

    /// Returns the template named `name`.
    pub fn named(name: &str) -> Option<Template> {
        Self::ALL.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
    }

    /// Returns the template's name.
    pub fn name(self) -> &'static str {
        Self::ALL.iter().find(|(_, t)| *t == self).map_or("linear", |(n, _)| n)
    }

    /// Whether the template draws a confusion matrix.
    pub fn is_confusion(self) -> bool {
        matches!(self, Template::Confusion | Template::ConfusionNormalized)
    }
}

/// How one plots file is drawn; what is unset takes a default (the `linear`
/// template, the row number as x, the last column as y).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PlotProperties {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<Template>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub y: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x_label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub y_label: Option<String>,
    /// Whether a CSV/TSV file starts with a header line (default: it does).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header: Option<bool>,
}

impl PlotProperties {
    /// Returns these properties with what they leave unset taken from `other`.
    pub fn or(&self, other: &PlotProperties) -> PlotProperties {
        PlotProperties {
            template: self.template.or(other.template),
            x: self.x.clone().or_else(|| other.x.clone()),
            y: if self.y.is_empty() { other.y.clone() } else { self.y.clone() },
            title: self.title.clone().or_else(|| other.title.clone()),
            x_label: self.x_label.clone().or_else(|| other.x_label.clone()),
            y_label: self.y_label.clone().or_else(|| other.y_label.clone()),
            header: self.header.or(other.header),
        }
    }
}

/// A top-level `plots:` entry: the properties of every plots file that
/// `pattern` (a path, a directory or a glob, relative to the root) matches.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PlotDefinition {
    pub pattern: String,
    pub properties: PlotProperties,
}

/// The keys of plot properties.
pub const PROPERTY_KEYS: &[&str] = &["template", "x", "y", "x_label", "y_label", "title", "header"];

/// Reads the plot properties among `entries` (other keys are the caller's),
/// taking each string through `text` (which interpolates, and reports what
/// is not a string) and reporting other mistakes through `report`.
pub fn read_properties(
    entries: &[(Key, Node)],
    text: &mut dyn FnMut(&str, &Node) -> Option<String>,
    report: &mut dyn FnMut(ErrorKind, Span),
) -> PlotProperties {
    let mut properties = PlotProperties::default();
    for (key, value) in entries {
        match key.name.as_str() {
            "template" => {
                let Some(name) = text("template", value) else { continue };
                match Template::named(&name) {
                    Some(template) => properties.template = Some(template),
                    None => {
                        let names = Template::ALL.map(|(n, _)| n);
                        let suggestion = super::closest(&name, names).map(str::to_owned);
                        report(ErrorKind::UnknownTemplate { name, suggestion }, value.span);
                    }
                }
            }
            "x" => properties.x = text("x", value),
            "y" => match &value.value {
                Value::List(items) => {
                    properties.y = items.iter().filter_map(|item| text("y", item)).collect();
                }
                _ => properties.y = text("y", value).into_iter().collect(),
            },
            "title" => properties.title = text("title", value),
            "x_label" => properties.x_label = text("x_label", value),
            "y_label" => properties.y_label = text("y_label", value),
            "header" => match value.value {
                Value::Bool(header) => properties.header = Some(header),
                _ => report(
                    ErrorKind::WrongType {
                        key: "header".into(),
                        place: "plot options".into(),
                        expected: "true or false",
                        found: value.type_name(),
                    },
                    value.span,
                ),
            },
            _ => {}
        }
    }
    properties
}

/// Reads the top-level `plots:` of a pipeline file: a list of paths (or
/// globs), each alone or with its properties; DVC's form of a plot named by
/// an id whose `y` maps files to columns gives each file its columns, the id
/// as its title.
pub fn top_level(
    document: &Node,
    file: &SourceFile,
    errors: &mut Vec<PipelineError>,
) -> Vec<PlotDefinition> {
    let found = std::cell::RefCell::new(Vec::new());
    let report = |kind, span| found.borrow_mut().push(PipelineError::new(kind, file, span));
    let wrong = |key: &str, expected, node: &Node| ErrorKind::WrongType {
        key: key.into(),
        place: "`plots`".into(),
        expected,
        found: node.type_name(),
    };
    let text = |key: &str, node: &Node| match &node.value {
        Value::String(text) => Some(text.clone()),
        Value::Int(_) | Value::Float(_) | Value::Bool(_) => Some(node.value.to_string()),
        _ => {
            report(wrong(key, "a string", node), node.span);
            None
        }
    };
    let items = match document.get("plots").map(|n| (&n.value, n)) {
        None | Some((Value::Null, _)) => &[][..],
        Some((Value::List(items), _)) => items.as_slice(),
        Some((_, node)) => {
            report(wrong("plots", "a list of paths or `{path: {properties}}`", node), node.span);
            &[][..]
        }
    };
    let mut definitions = Vec::new();
    for item in items {
        let (pattern, options) = match &item.value {
            Value::String(path) => (path.clone(), None),
            Value::Map(entries) if entries.len() == 1 => {
                (entries[0].0.name.clone(), Some(&entries[0].1))
            }
            _ => {
                report(wrong("plots", "a path or `{path: {properties}}`", item), item.span);
                continue;
            }
        };
        let entries = match options.map(|o| (&o.value, o)) {
            None | Some((Value::Null, _)) => &[][..],
            Some((Value::Map(entries), _)) => entries.as_slice(),
            Some((_, node)) => {
                report(wrong(&pattern, "a mapping of plot properties", node), node.span);
                continue;
            }
        };
        for (key, _) in entries.iter().filter(|(k, _)| !PROPERTY_KEYS.contains(&k.name.as_str())) {
            found.borrow_mut().push(super::suggest::unknown_key(
                key,
                "plot properties",
                PROPERTY_KEYS,
                file,
            ));
        }
        let by_file =
            |(key, value): &&(Key, Node)| key.name == "y" && matches!(value.value, Value::Map(_));
        let plain: Vec<(Key, Node)> = entries.iter().filter(|e| !by_file(e)).cloned().collect();
        let properties = read_properties(&plain, &mut |k, n| text(k, n), &mut |k, s| report(k, s));
        match entries.iter().find(by_file).map(|(_, value)| &value.value) {
            Some(Value::Map(files)) => {
                for (file_key, columns) in files {
                    let y = match &columns.value {
                        Value::List(items) => items.iter().filter_map(|c| text("y", c)).collect(),
                        _ => text("y", columns).into_iter().collect(),
                    };
                    let title = properties.title.clone().or_else(|| Some(pattern.clone()));
                    let properties = PlotProperties { y, title, ..properties.clone() };
                    definitions.push(PlotDefinition { pattern: file_key.name.clone(), properties });
                }
            }
            _ => definitions.push(PlotDefinition { pattern, properties }),
        }
    }
    errors.extend(found.into_inner());
    definitions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_properties_are_taken_from_the_other() {
        let own = PlotProperties { x: Some("fpr".into()), ..PlotProperties::default() };
        let shared = PlotProperties {
            x: Some("step".into()),
            y: vec!["tpr".into()],
            template: Some(Template::Simple),
            ..PlotProperties::default()
        };
        let merged = own.or(&shared);
        assert_eq!(merged.x.as_deref(), Some("fpr"));
        assert_eq!(merged.y, ["tpr"]);
        assert_eq!(merged.template, Some(Template::Simple));
    }

    #[test]
    fn templates_are_known_by_their_dvc_names() {
        for (name, template) in Template::ALL {
            assert_eq!(Template::named(name), Some(template));
            assert_eq!(template.name(), name);
        }
        assert_eq!(Template::named("pie"), None);
    }
}
