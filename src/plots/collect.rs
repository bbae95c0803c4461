//! Which plots files to draw and their contents at each revision: the
//! stages' `plots:` outs (and, for the revisions, what each one's own
//! pipeline declared), the plain paths the top-level `plots:` lists, with
//! the properties the top-level entries give by path or glob; drawn into one
//! page.

use indexmap::IndexMap;

use super::{Target, Version};
use crate::pipeline::{OutKind, Pipeline, PlotDefinition, PlotProperties};
use crate::revision::Revision;
use crate::workspace::Workspace;

/// A drawn page.
pub struct Drawn {
    /// The HTML page.
    pub page: String,
    /// How many plots it draws.
    pub count: usize,
    /// Files that could not be read or drawn, and why.
    pub problems: Vec<String>,
    /// Declared plots that no revision has (their stage has not run).
    pub absent: Vec<String>,
}

/// Draws the plots `pipeline` declares (only those under `named` when it
/// names any) at each of `revisions`, overlaid; `None` when there are none.
pub fn draw(
    files: &Workspace,
    pipeline: &Pipeline,
    revisions: &[String],
    named: &[String],
) -> anyhow::Result<Option<Drawn>> {
    let mut wanted = wanted(pipeline, named);
    // What a revision declared and the workspace no longer does is drawn too.
    for rev in revisions {
        if let Some(then) = Revision::new(files, rev).pipeline(pipeline)? {
            for (path, properties) in self::wanted(&then, named) {
                if !wanted.iter().any(|(known, _)| *known == path) {
                    wanted.push((path, properties));
                }
            }
        }
    }
    if wanted.is_empty() {
        return Ok(None);
    }
    let mut problems = Vec::new();
    // Each plots file in the order first met, with its properties and its
    // contents at each revision that has it.
    let mut drawn: IndexMap<String, (PlotProperties, Vec<Version>)> = IndexMap::new();
    for rev in revisions {
        let mut revision = Revision::new(files, rev);
        let mut found: Vec<(String, PlotProperties)> = Vec::new();
        for (path, properties) in &wanted {
            for file in revision.files_at(path)? {
                let properties = properties.or(&shared_properties(&pipeline.plots, &file));
                if !found.iter().any(|(f, _)| *f == file) {
                    found.push((file, properties));
                }
            }
        }
        let paths: Vec<String> = found.iter().map(|(f, _)| f.clone()).collect();
        for ((path, properties), bytes) in found.into_iter().zip(revision.read(&paths)?) {
            let Some(bytes) = bytes else { continue };
            let header = properties.header.unwrap_or(true);
            match super::data::parse(bytes, &path, header) {
                Ok(data) => {
                    let entry = drawn.entry(path).or_insert_with(|| (properties, Vec::new()));
                    entry.1.push(Version { revision: rev.clone(), data });
                }
                Err(error) => problems.push(format!("{error:#} (at {rev})")),
            }
        }
    }
    let absent: Vec<String> = wanted
        .iter()
        .map(|(path, _)| path)
        .filter(|path| !drawn.keys().any(|file| within(file, path)))
        .cloned()
        .collect();
    let mut sections = Vec::new();
    for (path, (properties, versions)) in drawn {
        match super::section(&Target { path, properties }, &versions) {
            Ok(html) => sections.push(html),
            Err(problem) => problems.push(problem),
        }
    }
    let page = super::page(revisions, &sections, &problems);
    Ok(Some(Drawn { page, count: sections.len(), problems, absent }))
}

/// The plots to draw, by path (a file or a directory): the stages' `plots:`
/// outs with their own properties, then the plain paths (not globs) the
/// top-level `plots:` lists; only those under `named` when it names any
/// (a named path that is neither is drawn with default properties).
fn wanted(pipeline: &Pipeline, named: &[String]) -> Vec<(String, PlotProperties)> {
    let outs = pipeline.stages.iter().flat_map(|s| &s.outs).filter(|o| o.kind == OutKind::Plot);
    let mut wanted: Vec<(String, PlotProperties)> =
        outs.map(|o| (o.path.to_string(), o.plot.clone().unwrap_or_default())).collect();
    for definition in &pipeline.plots {
        let covered = wanted.iter().any(|(path, _)| within(&definition.pattern, path));
        if !covered && !is_glob(&definition.pattern) {
            wanted.push((definition.pattern.clone(), PlotProperties::default()));
        }
    }
    if named.is_empty() {
        return wanted;
    }
    let mut chosen = Vec::new();
    for target in named {
        let matching: Vec<_> = wanted
            .iter()
            .filter_map(|(path, properties)| {
                if within(path, target) {
                    Some((target.clone(), properties.clone()))
                } else if within(target, path) {
                    Some((path.clone(), properties.clone()))
                } else {
                    None
                }
            })
            .collect();
        if matching.is_empty() {
            chosen.push((target.clone(), PlotProperties::default()));
        }
        chosen.extend(matching);
    }
    chosen
}

/// Whether `path` is `parent` or lies under it.
fn within(path: &str, parent: &str) -> bool {
    path == parent || path.strip_prefix(parent).is_some_and(|rest| rest.starts_with('/'))
}

fn is_glob(pattern: &str) -> bool {
    pattern.contains(['*', '?', '['])
}

/// The properties the top-level `plots:` gives `file`: the entry naming it
/// or a directory above it, else the first glob that matches it.
fn shared_properties(definitions: &[PlotDefinition], file: &str) -> PlotProperties {
    let glob = |d: &&PlotDefinition| {
        is_glob(&d.pattern) && glob::Pattern::new(&d.pattern).is_ok_and(|p| p.matches(file))
    };
    let by_path = definitions.iter().find(|d| within(file, &d.pattern));
    by_path
        .or_else(|| definitions.iter().find(glob))
        .map(|d| d.properties.clone())
        .unwrap_or_default()
}
