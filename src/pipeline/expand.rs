//! foreach and matrix: one stage definition in, its named instances out, named
//! exactly as DVC names them (`name@value`, `name@0`, `name@key`, `name@v1-v2`).

use super::error::{ErrorKind, PipelineError};
use super::source::SourceFile;
use super::suggest::unknown_key;
use super::template::{self, Mode, Rendered};
use super::vars::{Scope, Variables};
use super::yaml::{Key, Node, Value};

/// One stage instance before its body is decoded.
#[derive(Debug)]
pub struct Instance<'a> {
    /// The full stage name.
    pub name: String,
    /// The family name for foreach/matrix instances.
    pub family: Option<String>,
    /// The stage's name as written in the file.
    pub written: &'a Key,
    /// The body: the stage itself, `do` for foreach, the stage less `matrix`.
    pub body: Node,
    /// `${item}`.
    pub item: Option<Node>,
    /// `${key}`.
    pub key: Option<Node>,
}

/// Expands one top-level stage entry into its instances; more than `budget`
/// instances is an error (and none are made).
pub fn expand<'a>(
    written: &'a Key,
    body: &Node,
    variables: &Variables,
    file: &SourceFile,
    budget: usize,
    errors: &mut Vec<PipelineError>,
) -> Vec<Instance<'a>> {
    let single = |body: Node| Instance {
        name: written.name.clone(),
        family: None,
        written,
        body,
        item: None,
        key: None,
    };
    if body.get("foreach").is_some() || body.get("do").is_some() {
        return expand_foreach(written, body, variables, file, budget, errors);
    }
    let Some(matrix) = body.get("matrix") else {
        if budget == 0 {
            too_many(written, "1 more".into(), budget, file, errors);
            return Vec::new();
        }
        return vec![single(body.clone())];
    };
    let Some(dimensions) = iteration_value(written, "matrix", matrix, variables, file, errors)
    else {
        return Vec::new();
    };
    let Value::Map(dimensions) = dimensions.value else {
        report_iteration(written, "matrix", "a mapping of lists", &dimensions, file, errors);
        return Vec::new();
    };
    let mut axes = Vec::new();
    for (dimension, values) in dimensions {
        let values = iteration_value(written, "matrix", &values, variables, file, errors);
        match values.map(|v| (v.value, v.span)) {
            Some((Value::List(items), _)) => axes.push((dimension, items)),
            Some((other, span)) => {
                let node = Node::new(other, span);
                report_iteration(written, "matrix", "a mapping of lists", &node, file, errors);
                return Vec::new();
            }
            None => return Vec::new(),
        }
    }
    let count = axes.iter().try_fold(1usize, |count, (_, values)| count.checked_mul(values.len()));
    if count.is_none_or(|count| count > budget) {
        let count = count.map_or_else(|| "more than 2^64".into(), |c| c.to_string());
        too_many(written, count, budget, file, errors);
        return Vec::new();
    }
    let mut stage_body = body.clone();
    if let Value::Map(entries) = &mut stage_body.value {
        entries.retain(|(k, _)| k.name != "matrix");
    }
    matrix_product(&axes)
        .into_iter()
        .map(|(key, item)| Instance {
            name: format!("{}@{key}", written.name),
            family: Some(written.name.clone()),
            written,
            body: stage_body.clone(),
            item: Some(Node::new(item, matrix.span)),
            key: Some(Node::new(Value::String(key), written.span)),
        })
        .collect()
}

/// Reports a family with more instances than the pipeline may still have.
fn too_many(
    written: &Key,
    count: String,
    budget: usize,
    file: &SourceFile,
    errors: &mut Vec<PipelineError>,
) {
    let kind = ErrorKind::TooManyStages { stage: written.name.clone(), count, limit: budget };
    errors.push(PipelineError::new(kind, file, written.span));
}

fn expand_foreach<'a>(
    written: &'a Key,
    body: &Node,
    variables: &Variables,
    file: &SourceFile,
    budget: usize,
    errors: &mut Vec<PipelineError>,
) -> Vec<Instance<'a>> {
    if let Value::Map(entries) = &body.value {
        for (key, _) in
            entries.iter().filter(|(k, _)| !["foreach", "do"].contains(&k.name.as_str()))
        {
            errors.push(unknown_key(
                key,
                &format!("stage `{}`", written.name),
                &["foreach", "do"],
                file,
            ));
        }
    }
    let (Some(foreach), Some(template)) = (body.get("foreach"), body.get("do")) else {
        let missing = if body.get("foreach").is_none() { "foreach" } else { "do" };
        let kind = ErrorKind::WrongType {
            key: missing.into(),
            place: format!("stage `{}`", written.name),
            expected: "present alongside `foreach`/`do`",
            found: "missing",
        };
        errors.push(PipelineError::new(kind, file, written.span));
        return Vec::new();
    };
    let Some(items) = iteration_value(written, "foreach", foreach, variables, file, errors) else {
        return Vec::new();
    };
    let count = match &items.value {
        Value::List(items) => items.len(),
        Value::Map(entries) => entries.len(),
        _ => 0,
    };
    if count > budget {
        too_many(written, count.to_string(), budget, file, errors);
        return Vec::new();
    }
    let pairs: Vec<(String, Option<Node>, Node)> = match items.value {
        Value::List(items) if items.iter().any(|i| !i.value.is_scalar()) => items
            .into_iter()
            .enumerate()
            .map(|(index, item)| (index.to_string(), None, item))
            .collect(),
        Value::List(items) => {
            items.into_iter().map(|item| (item.value.to_string(), None, item)).collect()
        }
        Value::Map(entries) => entries
            .into_iter()
            .map(|(key, item)| {
                let key_node = Node::new(Value::String(key.name.clone()), key.span);
                (key.name, Some(key_node), item)
            })
            .collect(),
        other => {
            let node = Node::new(other, items.span);
            report_iteration(written, "foreach", "a list or a mapping", &node, file, errors);
            return Vec::new();
        }
    };
    pairs
        .into_iter()
        .map(|(key, key_node, item)| Instance {
            name: format!("{}@{key}", written.name),
            family: Some(written.name.clone()),
            written,
            body: template.clone(),
            item: Some(item),
            key: key_node,
        })
        .collect()
}

/// Renders a `foreach`/`matrix` value that may be a `${…}` reference.
fn iteration_value(
    written: &Key,
    what: &'static str,
    node: &Node,
    variables: &Variables,
    file: &SourceFile,
    errors: &mut Vec<PipelineError>,
) -> Option<Node> {
    let scope = Scope { globals: variables, item: None, key: None };
    let place = format!("`{what}` of stage `{}`", written.name);
    resolve_deep(node, &scope, &place, file, errors)
}

/// Interpolates every string in `node`, mapping keys included.
fn resolve_deep(
    node: &Node,
    scope: &Scope<'_>,
    place: &str,
    file: &SourceFile,
    errors: &mut Vec<PipelineError>,
) -> Option<Node> {
    let render = |text: &str, span, errors: &mut Vec<PipelineError>| match template::render(
        text,
        scope,
        Mode::Text,
    ) {
        Ok(Rendered::Value(value)) => Some(Node::new(value, span)),
        Ok(Rendered::Text(text)) => Some(Node::new(Value::String(text), span)),
        Err(error) => {
            let error = super::decode::template_error(error, text, span, place, file);
            super::error::push_merged(errors, error);
            None
        }
    };
    match &node.value {
        Value::String(text) => render(text, node.span, errors),
        Value::List(items) => {
            let items: Option<Vec<Node>> =
                items.iter().map(|item| resolve_deep(item, scope, place, file, errors)).collect();
            Some(Node::new(Value::List(items?), node.span))
        }
        Value::Map(entries) => {
            let mut resolved = Vec::with_capacity(entries.len());
            for (key, value) in entries {
                let name = render(&key.name, key.span, errors)?.value.to_string();
                let value = resolve_deep(value, scope, place, file, errors)?;
                resolved.push((Key { name, span: key.span }, value));
            }
            Some(Node::new(Value::Map(resolved), node.span))
        }
        _ => Some(node.clone()),
    }
}

fn report_iteration(
    written: &Key,
    expression: &'static str,
    expected: &'static str,
    found: &Node,
    file: &SourceFile,
    errors: &mut Vec<PipelineError>,
) {
    let kind = ErrorKind::BadIteration {
        expression,
        stage: written.name.clone(),
        expected,
        found: found.type_name(),
    };
    errors.push(PipelineError::new(kind, file, found.span));
}

/// A partial matrix combination: the name fragments and the item's entries so far.
type Combination = (Vec<String>, Vec<(Key, Node)>);

/// Returns the cartesian product of the axes as (DVC key, item mapping), in order.
fn matrix_product(axes: &[(Key, Vec<Node>)]) -> Vec<(String, Value)> {
    let mut combinations: Vec<Combination> = vec![(Vec::new(), Vec::new())];
    for (dimension, values) in axes {
        let mut next = Vec::with_capacity(combinations.len() * values.len());
        for (fragments, item) in &combinations {
            for (index, value) in values.iter().enumerate() {
                let fragment = if value.value.is_scalar() {
                    value.value.to_string()
                } else {
                    format!("{}{index}", dimension.name)
                };
                let mut fragments = fragments.clone();
                fragments.push(fragment);
                let mut item = item.clone();
                item.push((dimension.clone(), value.clone()));
                next.push((fragments, item));
            }
        }
        combinations = next;
    }
    combinations
        .into_iter()
        .map(|(fragments, item)| (fragments.join("-"), Value::Map(item)))
        .collect()
}
