//! Turns one expanded stage body into a typed [`Stage`], interpolating as it reads
//! and reporting every unknown key, wrong type and bad path it meets.

use std::path::Path;

use super::error::{ErrorKind, PipelineError};
use super::expand::Instance;
use super::params::ParamsFiles;
use super::paths::{self, RepoPath, Resolved};
use super::plot::{PROPERTY_KEYS, PlotProperties, read_properties};
use super::source::{SourceFile, Span};
use super::stage::{Dep, DepPath, Out, OutKind, ParamDep, Resources, Stage};
use super::suggest::unknown_key;
use super::template::{self, Mode, Rendered, TemplateError, TemplateErrorKind};
use super::vars::{Scope, Variables};
use super::yaml::{Key, Node, Value};

/// The keys a stage body may have.
pub const STAGE_KEYS: &[&str] = &[
    "cmd",
    "wdir",
    "deps",
    "params",
    "outs",
    "metrics",
    "plots",
    "frozen",
    "always_changed",
    "desc",
    "meta",
    "resources",
];
/// The keys of a stage's `resources`.
pub const RESOURCE_KEYS: &[&str] = &["cpus", "mem", "time", "gpus", "partition", "local"];
const OUT_OPTIONS: &[&str] =
    &["cache", "persist", "desc", "push", "remote", "type", "labels", "meta"];
const PLOT_OPTIONS: &[&str] = &[
    "cache", "persist", "desc", "push", "remote", "template", "x", "y", "x_label", "y_label",
    "title", "header",
];
const _: () = assert!(PLOT_OPTIONS.len() == 5 + PROPERTY_KEYS.len());

/// Stores `value` in `slot` when there is one; returns whether there was.
fn set<T>(slot: &mut Option<T>, value: Option<T>) -> bool {
    let found = value.is_some();
    if found {
        *slot = value;
    }
    found
}

/// Everything decoding needs besides the stage itself.
pub struct Decoder<'a> {
    /// The repository root.
    pub root: &'a Path,
    /// pipeline.yaml.
    pub file: &'a SourceFile,
    /// The pipeline's variables.
    pub variables: &'a Variables,
    /// The params files read so far.
    pub params: &'a mut ParamsFiles,
    /// Where errors go.
    pub errors: &'a mut Vec<PipelineError>,
}

struct StageReader<'d, 'a> {
    decoder: &'d mut Decoder<'a>,
    scope: Scope<'d>,
    stage: String,
}

impl<'a> Decoder<'a> {
    /// Decodes `instance`, recording its errors; the stage is returned even then (as
    /// far as it could be read) so that checks across stages still see it.
    pub fn decode(&mut self, instance: &Instance<'_>) -> Option<Stage> {
        let variables = self.variables;
        let mut reader = StageReader {
            scope: Scope {
                globals: variables,
                item: instance.item.as_ref(),
                key: instance.key.as_ref(),
            },
            stage: instance.name.clone(),
            decoder: self,
        };
        reader.read(instance)
    }
}

impl StageReader<'_, '_> {
    fn error(&mut self, kind: ErrorKind, span: Span) {
        self.decoder.errors.push(PipelineError::new(kind, self.decoder.file, span));
    }

    fn place(&self) -> String {
        format!("stage `{}`", self.stage)
    }

    fn wrong_type(&mut self, key: &str, expected: &'static str, node: &Node) {
        let kind = ErrorKind::WrongType {
            key: key.into(),
            place: self.place(),
            expected,
            found: node.type_name(),
        };
        self.error(kind, node.span);
    }

    /// Interpolates a string node (other scalars pass unchanged).
    fn resolve(&mut self, node: &Node, mode: Mode) -> Option<Node> {
        let Value::String(text) = &node.value else {
            return Some(node.clone());
        };
        match template::render(text, &self.scope, mode) {
            Ok(Rendered::Value(value)) => Some(Node::new(value, node.span)),
            Ok(Rendered::Text(text)) => Some(Node::new(Value::String(text), node.span)),
            Err(error) => {
                let place = self.place();
                let error = template_error(error, text, node.span, &place, self.decoder.file);
                super::error::push_merged(self.decoder.errors, error);
                None
            }
        }
    }

    /// Interpolates a node that must end up a string.
    fn string(&mut self, key: &str, node: &Node, mode: Mode) -> Option<String> {
        let resolved = self.resolve(node, mode)?;
        match resolved.value {
            Value::String(text) => Some(text),
            Value::Int(_) | Value::Float(_) | Value::Bool(_) => Some(resolved.value.to_string()),
            _ => {
                self.wrong_type(key, "a string", &resolved);
                None
            }
        }
    }

    /// Returns false (and reports it) when a path is longer than any file
    /// system allows, before it is resolved: resolving and comparing absurdly
    /// long paths would cost time for nothing.
    fn sized(&mut self, what: &'static str, text: &str, span: Span) -> bool {
        match crate::containment::check_size(text) {
            Ok(()) => true,
            Err(error) => {
                let reason = match error {
                    crate::containment::PathError::TooLong { bytes, components, .. } => format!(
                        "{bytes} bytes in {components} components (at most {} and {})",
                        crate::containment::MAX_PATH_BYTES,
                        crate::containment::MAX_PATH_COMPONENTS
                    ),
                    other => other.to_string(),
                };
                let kind = ErrorKind::PathTooLong { what, stage: self.stage.clone(), reason };
                self.error(kind, span);
                false
            }
        }
    }

    fn key_text(&mut self, key: &Key) -> Option<String> {
        self.string("key", &Node::new(Value::String(key.name.clone()), key.span), Mode::Text)
    }

    fn read(&mut self, instance: &Instance<'_>) -> Option<Stage> {
        let body = &instance.body;
        let entries = match &body.value {
            Value::Map(entries) => entries.as_slice(),
            _ => {
                let what = match &instance.family {
                    Some(_) if instance.body.span != instance.written.span => {
                        format!("the definition of stage `{}`", instance.written.name)
                    }
                    _ => format!("stage `{}`", instance.written.name),
                };
                let kind = ErrorKind::NotAMapping { what, found: body.type_name() };
                self.error(kind, body.span);
                return None;
            }
        };
        for (key, _) in entries.iter().filter(|(k, _)| !STAGE_KEYS.contains(&k.name.as_str())) {
            let place = format!("stage `{}`", instance.written.name);
            let error = unknown_key(key, &place, STAGE_KEYS, self.decoder.file);
            self.decoder.errors.push(error);
        }
        let cmd = self.cmd(body.get("cmd"), instance.written.span);
        let wdir = self.wdir(body.get("wdir"));
        let deps = self.deps(body.get("deps"), &wdir);
        let params = self.params(body.get("params"), &wdir);
        let mut outs = self.outs(body.get("outs"), OutKind::Out, &wdir);
        outs.extend(self.outs(body.get("metrics"), OutKind::Metric, &wdir));
        outs.extend(self.outs(body.get("plots"), OutKind::Plot, &wdir));
        let frozen = self.flag("frozen", body.get("frozen"));
        let always_changed = self.flag("always_changed", body.get("always_changed"));
        let desc = body.get("desc").and_then(|d| self.string("desc", d, Mode::Text));
        let resources = self.resources(body.get("resources"), &instance.written.name);
        Some(Stage {
            name: instance.name.clone(),
            family: instance.family.clone(),
            cmd: cmd.unwrap_or_default(),
            wdir,
            deps,
            params,
            outs,
            frozen,
            always_changed,
            desc,
            resources,
            span: instance.written.span,
        })
    }

    /// Reads `resources`: each key checked and interpolated, a bad value
    /// reported and left out.
    fn resources(&mut self, node: Option<&Node>, written_name: &str) -> Resources {
        let mut resources = Resources::default();
        let entries = match node.map(|n| (&n.value, n)) {
            None | Some((Value::Null, _)) => return resources,
            Some((Value::Map(entries), _)) => entries,
            Some((_, node)) => {
                self.wrong_type("resources", "a mapping", node);
                return resources;
            }
        };
        for (key, value) in entries {
            let Some(&name) = RESOURCE_KEYS.iter().find(|k| **k == key.name) else {
                let place = format!("`resources` of stage `{written_name}`");
                let error = unknown_key(key, &place, RESOURCE_KEYS, self.decoder.file);
                self.decoder.errors.push(error);
                continue;
            };
            let Some(value) = self.resolve(value, Mode::Text) else { continue };
            if value.value == Value::Null {
                continue;
            }
            let count = |least: i64| match value.value {
                Value::Int(n) if n >= least => u32::try_from(n).ok(),
                _ => None,
            };
            let text = match &value.value {
                Value::String(text) => Some(text.as_str()),
                _ => None,
            };
            let (read, expected) = match name {
                "cpus" => (set(&mut resources.cpus, count(1)), "a whole number, 1 or more"),
                "gpus" => (set(&mut resources.gpus, count(0)), "a whole number"),
                "mem" => (
                    set(&mut resources.mem_mib, text.and_then(super::stage::parse_memory)),
                    "a size with its unit, such as 512M or 8G",
                ),
                "time" => (
                    set(&mut resources.time_seconds, text.and_then(super::stage::parse_duration)),
                    "a duration such as 30m, 2h, 1h30m or 1-12:00:00",
                ),
                "partition" => (
                    set(
                        &mut resources.partition,
                        text.filter(|t| !t.is_empty() && !t.contains(char::is_whitespace))
                            .map(str::to_owned),
                    ),
                    "a partition's name",
                ),
                _ => match value.value {
                    Value::Bool(local) => {
                        resources.local = local;
                        (true, "true or false")
                    }
                    _ => (false, "true or false"),
                },
            };
            if !read {
                let kind = ErrorKind::BadResource {
                    key: name,
                    stage: self.stage.clone(),
                    value: value.value.to_string(),
                    expected,
                };
                self.error(kind, value.span);
            }
        }
        resources
    }

    fn cmd(&mut self, node: Option<&Node>, stage_span: Span) -> Option<Vec<String>> {
        let missing = ErrorKind::MissingCmd { stage: self.stage.clone() };
        let Some(node) = node else {
            self.error(missing, stage_span);
            return None;
        };
        let commands: Vec<String> = match &node.value {
            Value::List(items) => {
                let commands: Vec<_> =
                    items.iter().map(|i| self.string("cmd", i, Mode::Command)).collect();
                commands.into_iter().collect::<Option<_>>()?
            }
            Value::String(_) => vec![self.string("cmd", node, Mode::Command)?],
            _ => {
                self.wrong_type("cmd", "a string or a list of strings", node);
                return None;
            }
        };
        if commands.iter().all(|c| c.trim().is_empty()) {
            self.error(missing, node.span);
            return None;
        }
        Some(commands)
    }

    fn wdir(&mut self, node: Option<&Node>) -> RepoPath {
        let Some(node) = node else {
            return RepoPath::root();
        };
        let Some(text) = self.string("wdir", node, Mode::Text) else {
            return RepoPath::root();
        };
        if !self.sized("wdir", &text, node.span) {
            return RepoPath::root();
        }
        match paths::resolve(self.decoder.root, &RepoPath::root(), &text) {
            Resolved::Inside(path) => path,
            Resolved::Outside(_) => {
                let kind = ErrorKind::OutsideRepository {
                    what: "wdir",
                    path: text,
                    stage: self.stage.clone(),
                };
                self.error(kind, node.span);
                RepoPath::root()
            }
        }
    }

    fn list<'n>(&mut self, key: &str, node: Option<&'n Node>) -> &'n [Node] {
        match node.map(|n| (&n.value, n)) {
            None | Some((Value::Null, _)) => &[],
            Some((Value::List(items), _)) => items,
            Some((_, node)) => {
                self.wrong_type(key, "a list", node);
                &[]
            }
        }
    }

    fn deps(&mut self, node: Option<&Node>, wdir: &RepoPath) -> Vec<Dep> {
        let mut deps = Vec::new();
        for item in self.list("deps", node) {
            let Some(text) = self.string("deps", item, Mode::Text) else {
                continue;
            };
            if !self.sized("a dependency", &text, item.span) {
                continue;
            }
            let path = match paths::resolve(self.decoder.root, wdir, &text) {
                Resolved::Inside(path) => DepPath::Repo(path),
                Resolved::Outside(path) => DepPath::External(path),
            };
            deps.push(Dep { path, span: item.span });
        }
        deps
    }

    fn outs(&mut self, node: Option<&Node>, kind: OutKind, wdir: &RepoPath) -> Vec<Out> {
        let key = match kind {
            OutKind::Out => "outs",
            OutKind::Metric => "metrics",
            OutKind::Plot => "plots",
        };
        let mut outs = Vec::new();
        for item in self.list(key, node) {
            let (text, span, options) = match &item.value {
                Value::Map(entries) if entries.len() == 1 => {
                    let (path_key, options) = &entries[0];
                    let Some(text) = self.key_text(path_key) else {
                        continue;
                    };
                    (text, path_key.span, Some(options))
                }
                Value::Map(_) | Value::List(_) => {
                    self.wrong_type(key, "a path or `{path: {options}}`", item);
                    continue;
                }
                _ => match self.string(key, item, Mode::Text) {
                    Some(text) => (text, item.span, None),
                    None => continue,
                },
            };
            if !self.sized("an output", &text, span) {
                continue;
            }
            let (cache, persist, plot) = self.out_options(options, kind);
            let path = match paths::resolve(self.decoder.root, wdir, &text) {
                Resolved::Inside(path) if path.as_str().is_empty() => {
                    let kind = ErrorKind::RootOutput { path: text, stage: self.stage.clone() };
                    self.error(kind, span);
                    continue;
                }
                Resolved::Inside(path) => path,
                Resolved::Outside(_) => {
                    let kind = ErrorKind::OutsideRepository {
                        what: "output",
                        path: text,
                        stage: self.stage.clone(),
                    };
                    self.error(kind, span);
                    continue;
                }
            };
            outs.push(Out { path, kind, cache, persist, plot, span });
        }
        outs
    }

    /// Reads an out's options: `cache`, `persist`, and for a plot its
    /// properties (defaults when it has none).
    fn out_options(
        &mut self,
        options: Option<&Node>,
        kind: OutKind,
    ) -> (bool, bool, Option<PlotProperties>) {
        let (mut cache, mut persist) = (true, false);
        let mut plot = (kind == OutKind::Plot).then(PlotProperties::default);
        let entries = match options.map(|o| &o.value) {
            None | Some(Value::Null) => return (cache, persist, plot),
            Some(Value::Map(entries)) => entries,
            Some(_) => {
                self.wrong_type("output options", "a mapping", options.expect("matched"));
                return (cache, persist, plot);
            }
        };
        let valid = if kind == OutKind::Plot { PLOT_OPTIONS } else { OUT_OPTIONS };
        for (key, value) in entries {
            match key.name.as_str() {
                "cache" => cache = self.flag("cache", Some(value)),
                "persist" => persist = self.flag("persist", Some(value)),
                name if valid.contains(&name) => {}
                _ => {
                    let error = unknown_key(key, "output options", valid, self.decoder.file);
                    self.decoder.errors.push(error);
                }
            }
        }
        if plot.is_some() {
            let mut errors = Vec::new();
            let properties = read_properties(
                entries,
                &mut |key, node| self.string(key, node, Mode::Text),
                &mut |kind, span| errors.push((kind, span)),
            );
            for (kind, span) in errors {
                self.error(kind, span);
            }
            plot = Some(properties);
        }
        (cache, persist, plot)
    }

    fn flag(&mut self, key: &str, node: Option<&Node>) -> bool {
        let Some(node) = node else { return false };
        let Some(resolved) = self.resolve(node, Mode::Text) else {
            return false;
        };
        match resolved.value {
            Value::Bool(value) => value,
            Value::Null => false,
            _ => {
                self.wrong_type(key, "true or false", &resolved);
                false
            }
        }
    }

    fn params(&mut self, node: Option<&Node>, wdir: &RepoPath) -> Vec<ParamDep> {
        let default_file = match paths::resolve(self.decoder.root, wdir, "params.yaml") {
            Resolved::Inside(path) => path,
            Resolved::Outside(_) => return Vec::new(),
        };
        let mut wanted: Vec<(RepoPath, Option<(String, Span)>)> = Vec::new();
        for item in self.list("params", node) {
            match &item.value {
                Value::Map(entries) => {
                    for (file_key, keys) in entries {
                        let Some(name) = self.key_text(file_key) else {
                            continue;
                        };
                        let Resolved::Inside(file) = paths::resolve(self.decoder.root, wdir, &name)
                        else {
                            let kind = ErrorKind::OutsideRepository {
                                what: "params file",
                                path: name,
                                stage: self.stage.clone(),
                            };
                            self.error(kind, file_key.span);
                            continue;
                        };
                        let keys = self.list("params", Some(keys));
                        if keys.is_empty() {
                            wanted.push((file.clone(), None));
                        }
                        for key in keys {
                            if let Some(text) = self.string("params", key, Mode::Text) {
                                wanted.push((file.clone(), Some((text, key.span))));
                            }
                        }
                    }
                }
                _ => {
                    if let Some(text) = self.string("params", item, Mode::Text) {
                        wanted.push((default_file.clone(), Some((text, item.span))));
                    }
                }
            }
        }
        self.lookup_params(wanted)
    }

    fn lookup_params(&mut self, wanted: Vec<(RepoPath, Option<(String, Span)>)>) -> Vec<ParamDep> {
        let mut deps: Vec<ParamDep> = Vec::new();
        for (file, key) in wanted {
            let value = match self.decoder.params.lookup(
                self.decoder.root,
                &file,
                key.as_ref().map(|k| k.0.as_str()),
            ) {
                Ok(value) => value,
                Err(super::params::ParamError::Reported) => continue,
                Err(kind) => {
                    let kind =
                        kind.for_stage(&self.stage, &file, key.as_ref().map(|k| k.0.as_str()));
                    let span = key.as_ref().map_or(Span::default(), |k| k.1);
                    self.error(kind, span);
                    continue;
                }
            };
            let name = key.map(|k| k.0).unwrap_or_default();
            match deps.iter_mut().find(|d| d.file == file) {
                Some(dep) => {
                    dep.values.insert(name, value);
                }
                None => deps.push(ParamDep { file, values: [(name, value)].into_iter().collect() }),
            }
        }
        deps
    }
}

/// Maps a template error onto the file, narrowing the span to the expression when
/// the string is written literally in the file.
pub fn template_error(
    error: TemplateError,
    text: &str,
    span: Span,
    place: &str,
    file: &SourceFile,
) -> PipelineError {
    let expression = text.get(error.offset..error.offset + error.len).unwrap_or(text);
    let narrowed = file
        .slice(Span::new(span.offset, span.len.max(text.len())))
        .and_then(|written| {
            let at = written.find(expression)?;
            (written.matches(expression).count() == 1)
                .then_some(Span::new(span.offset + at, expression.len()))
        })
        .unwrap_or(span);
    let place = place.to_owned();
    let kind = match error.kind {
        TemplateErrorKind::Unclosed => ErrorKind::UnclosedExpression { place },
        TemplateErrorKind::BadExpression { expression } => {
            ErrorKind::BadExpression { expression, place }
        }
        TemplateErrorKind::MissingKey { key, suggestion } => {
            ErrorKind::MissingVariable { key, place, suggestion }
        }
        TemplateErrorKind::NotAScalar { key, type_name } => {
            ErrorKind::NotAScalar { key, type_name, place }
        }
    };
    PipelineError::new(kind, file, narrowed)
}
