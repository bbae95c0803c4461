//! The variables that `${…}` reads: params.yaml, the files and mappings under `vars`,
//! and, inside a foreach/matrix stage, `item` and `key`.

use std::collections::HashMap;
use std::path::Path;

use super::error::{ErrorKind, PipelineError};
use super::source::{SourceFile, Span};
use super::template::Context;
use super::yaml::{self, Key, Node, Value};

/// The global variables of a pipeline.
#[derive(Debug, Default)]
pub struct Variables {
    values: HashMap<String, Node>,
    /// Which file or `vars` entry defined each top-level key.
    origins: HashMap<String, String>,
    /// The files read (params.yaml and those under `vars`), relative to the root.
    files: Vec<String>,
}

/// The variables seen by one expanded stage: the globals plus `item` and `key`.
pub struct Scope<'a> {
    /// The pipeline's variables.
    pub globals: &'a Variables,
    /// The foreach/matrix item, if any.
    pub item: Option<&'a Node>,
    /// The foreach/matrix key, if any.
    pub key: Option<&'a Node>,
}

impl Context for Scope<'_> {
    fn variable(&self, name: &str) -> Option<&Node> {
        match name {
            "item" if self.item.is_some() => self.item,
            "key" if self.key.is_some() => self.key,
            _ => self.globals.values.get(name),
        }
    }

    fn names(&self) -> Vec<String> {
        let own = [("item", self.item), ("key", self.key)];
        let mut globals: Vec<String> = self.globals.values.keys().cloned().collect();
        globals.sort();
        own.iter()
            .filter(|(_, node)| node.is_some())
            .map(|(name, _)| (*name).to_owned())
            .chain(globals)
            .collect()
    }
}

impl Variables {
    /// Returns the variables files that were read.
    pub fn files(&self) -> &[String] {
        &self.files
    }

    /// Returns the value of a top-level variable.
    pub fn get(&self, name: &str) -> Option<&Node> {
        self.values.get(name)
    }

    /// Merges a mapping into the variables; a key defined twice is an error.
    fn merge(&mut self, entries: Vec<(Key, Node)>, origin: &str) -> Result<(), Vec<String>> {
        let mut conflicts = Vec::new();
        for (key, node) in entries {
            match self.values.get_mut(&key.name) {
                Some(existing) => merge_node(existing, node, &key.name, &mut conflicts),
                None => {
                    self.origins.insert(key.name.clone(), origin.to_owned());
                    self.values.insert(key.name, node);
                }
            }
        }
        if conflicts.is_empty() { Ok(()) } else { Err(conflicts) }
    }
}

fn merge_node(existing: &mut Node, incoming: Node, path: &str, conflicts: &mut Vec<String>) {
    match (&mut existing.value, incoming.value) {
        (Value::Map(old), Value::Map(new)) => {
            for (key, node) in new {
                let nested = format!("{path}.{}", key.name);
                match old.iter_mut().find(|(k, _)| k.name == key.name) {
                    Some((_, slot)) => merge_node(slot, node, &nested, conflicts),
                    None => old.push((key, node)),
                }
            }
        }
        _ => conflicts.push(path.to_owned()),
    }
}

/// Reads and parses a YAML file of variables; `Ok(None)` when it does not exist.
pub fn read_yaml(
    root: &Path,
    name: &str,
) -> Result<Option<(SourceFile, Node)>, Box<PipelineError>> {
    let path = root.join(name);
    let text = match super::source::read_text(&path) {
        Ok(text) => text,
        Err(super::source::ReadError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(None);
        }
        Err(error) => {
            let kind = super::read_error(name, error);
            return Err(Box::new(PipelineError::unplaced(kind)));
        }
    };
    let file = SourceFile::new(name, path, text);
    match yaml::parse(&file) {
        Ok(node) => Ok(Some((file, node))),
        Err(error) => {
            let kind = ErrorKind::Syntax { message: error.message };
            Err(Box::new(PipelineError::new(kind, &file, error.span.unwrap_or_default())))
        }
    }
}

/// Loads params.yaml (`params_yaml`, already read) and every entry of `vars`.
pub fn load(
    root: &Path,
    pipeline: &SourceFile,
    params_yaml: &Result<Option<(SourceFile, Node)>, Box<PipelineError>>,
    vars: Option<&Node>,
    errors: &mut Vec<PipelineError>,
) -> Variables {
    let mut variables = Variables::default();
    match params_yaml {
        Ok(Some((file, node))) => {
            add_file(&mut variables, file, node.clone(), None, pipeline, None, errors)
        }
        Ok(None) => {}
        Err(error) => errors.push((**error).clone()),
    }
    let Some(vars) = vars else { return variables };
    let entries = match &vars.value {
        Value::List(entries) => entries.clone(),
        Value::Null => Vec::new(),
        other => {
            let kind = ErrorKind::WrongType {
                key: "vars".into(),
                place: "the pipeline".into(),
                expected: "a list of files or mappings",
                found: other.type_name(),
            };
            errors.push(PipelineError::new(kind, pipeline, vars.span));
            return variables;
        }
    };
    for entry in entries {
        add_entry(&mut variables, root, pipeline, entry, errors);
    }
    variables
}

fn add_entry(
    variables: &mut Variables,
    root: &Path,
    pipeline: &SourceFile,
    entry: Node,
    errors: &mut Vec<PipelineError>,
) {
    match entry.value {
        Value::String(spec) => {
            let (name, keys) = match spec.split_once(':') {
                Some((name, keys)) => (name, Some(keys.split(',').map(str::trim).collect())),
                None => (spec.as_str(), None),
            };
            if name == "params.yaml" && keys.is_none() {
                return; // already loaded, as DVC does
            }
            match read_yaml(root, name) {
                Ok(Some((file, node))) => {
                    add_file(variables, &file, node, keys, pipeline, Some(entry.span), errors)
                }
                Ok(None) => {
                    let kind = ErrorKind::Read { path: name.into(), reason: "not found".into() };
                    errors.push(PipelineError::new(kind, pipeline, entry.span));
                }
                Err(error) => errors.push(*error),
            }
        }
        Value::Map(map) => {
            if let Err(conflicts) = variables.merge(map, "vars") {
                report_conflicts(variables, conflicts, "vars", pipeline, entry.span, errors);
            }
        }
        other => {
            let kind = ErrorKind::WrongType {
                key: "vars".into(),
                place: "the pipeline".into(),
                expected: "a file name or a mapping",
                found: other.type_name(),
            };
            errors.push(PipelineError::new(kind, pipeline, entry.span));
        }
    }
}

fn add_file(
    variables: &mut Variables,
    file: &SourceFile,
    node: Node,
    keys: Option<Vec<&str>>,
    pipeline: &SourceFile,
    entry_span: Option<Span>,
    errors: &mut Vec<PipelineError>,
) {
    variables.files.push(file.name.clone());
    let mut entries = match node.value {
        Value::Map(entries) => entries,
        Value::Null => Vec::new(),
        other => {
            let kind = ErrorKind::NotAMapping {
                what: format!("`{}`", file.name),
                found: other.type_name(),
            };
            errors.push(PipelineError::new(kind, file, node.span));
            return;
        }
    };
    if let Some(keys) = keys {
        for key in &keys {
            if !entries.iter().any(|(k, _)| k.name == *key) {
                let kind =
                    ErrorKind::MissingVarsKey { key: (*key).into(), file: file.name.clone() };
                errors.push(PipelineError::new(kind, pipeline, entry_span.unwrap_or_default()));
            }
        }
        entries.retain(|(k, _)| keys.contains(&k.name.as_str()));
    }
    if let Err(conflicts) = variables.merge(entries, &file.name) {
        let span = entry_span.unwrap_or_default();
        report_conflicts(variables, conflicts, &file.name, pipeline, span, errors);
    }
}

fn report_conflicts(
    variables: &Variables,
    conflicts: Vec<String>,
    origin: &str,
    pipeline: &SourceFile,
    span: Span,
    errors: &mut Vec<PipelineError>,
) {
    for key in conflicts {
        let top = key.split('.').next().unwrap_or(&key);
        let other = variables.origins.get(top).cloned().unwrap_or_default();
        let kind = ErrorKind::VarsConflict { key, file: origin.into(), other };
        errors.push(PipelineError::new(kind, pipeline, span));
    }
}
