//! `pipit plots show`: the plots files the stages declare (`plots:` outs, and
//! the paths the top-level `plots:` lists), or those named, drawn into one
//! self-contained HTML page. `pipit plots diff`: the same files at several
//! git revisions (and the workspace), overlaid.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use indexmap::IndexMap;
use pipit::pipeline::{OutKind, Pipeline, PlotDefinition, PlotProperties};
use pipit::plots::{self, Target, Version};
use pipit::revision::{Revision, WORKSPACE};

use super::{Outcome, Printer, workspace};

/// Arguments of `pipit plots`
#[derive(Debug, Args)]
pub struct PlotsArgs {
    #[command(subcommand)]
    command: PlotsCommand,
}

#[derive(Debug, Subcommand)]
enum PlotsCommand {
    /// Draw the plots files the stages declare (`plots:` outs), or those named, into an HTML page
    Show(ShowArgs),
    /// Draw the declared plots files at several git revisions, overlaid
    Diff(DiffArgs),
}

/// Arguments of `pipit plots show`
#[derive(Debug, Args)]
struct ShowArgs {
    /// Plots files (or directories of them) to draw instead of every declared one
    targets: Vec<PathBuf>,
    /// Where to write the page
    #[arg(short, long, value_name = "FILE", default_value = DEFAULT_PAGE)]
    out: PathBuf,
}

/// Arguments of `pipit plots diff`
#[derive(Debug, Args)]
struct DiffArgs {
    /// Git revisions, or `workspace` [default: HEAD and the workspace; one
    /// revision: it and the workspace]
    revisions: Vec<String>,
    /// Draw only these plots files (or directories of them)
    #[arg(long, value_name = "PATH", num_args = 1..)]
    targets: Vec<PathBuf>,
    /// Where to write the page
    #[arg(short, long, value_name = "FILE", default_value = DEFAULT_PAGE)]
    out: PathBuf,
}

/// Where the page goes unless told (DVC writes `dvc_plots/index.html`).
const DEFAULT_PAGE: &str = "pipit_plots/index.html";

/// Runs `pipit plots`.
pub fn run(args: PlotsArgs, printer: &Printer) -> anyhow::Result<Outcome> {
    let Some(loaded) = workspace::load(printer)? else {
        return Ok(Outcome::Invalid);
    };
    let (targets, revisions, out) = match args.command {
        PlotsCommand::Show(args) => (args.targets, vec![WORKSPACE.to_owned()], args.out),
        PlotsCommand::Diff(args) => {
            let revisions = match args.revisions.len() {
                0 => vec!["HEAD".to_owned(), WORKSPACE.to_owned()],
                1 => vec![args.revisions[0].clone(), WORKSPACE.to_owned()],
                _ => args.revisions,
            };
            for rev in revisions.iter().filter(|r| *r != WORKSPACE) {
                pipit::git::verify(&loaded.pipeline.root, rev)?;
            }
            (args.targets, revisions, args.out)
        }
    };
    let root = &loaded.pipeline.root;
    let named: Vec<String> = targets
        .iter()
        .map(|t| {
            let written = t.to_string_lossy();
            pipit::dag::target_path(root, &written, &loaded.cwd)
                .map(|path| path.to_string())
                .ok_or_else(|| anyhow::anyhow!("`{written}` is outside the repository"))
        })
        .collect::<anyhow::Result<_>>()?;
    let files = workspace::open_files(root)?;
    let mut wanted = wanted(&loaded.pipeline, &named);
    // What a revision declared and the workspace no longer does is drawn too.
    for rev in &revisions {
        if let Some(then) = Revision::new(&files, rev).pipeline(&loaded.pipeline)? {
            for (path, properties) in self::wanted(&then, &named) {
                if !wanted.iter().any(|(known, _)| *known == path) {
                    wanted.push((path, properties));
                }
            }
        }
    }
    if wanted.is_empty() {
        printer.note(
            "no plots: no stage lists `plots:` outs and the top-level `plots:` lists no file \
             (name files to draw them)",
        );
        return Ok(Outcome::Success);
    }
    let mut problems = Vec::new();
    // Each plots file in the order first met, with its properties and its
    // contents at each revision that has it.
    let mut drawn: IndexMap<String, (PlotProperties, Vec<Version>)> = IndexMap::new();
    for rev in &revisions {
        let mut revision = Revision::new(&files, rev);
        let mut found: Vec<(String, PlotProperties)> = Vec::new();
        for (path, properties) in &wanted {
            for file in revision.files_at(path)? {
                let properties = properties.or(&shared_properties(&loaded.pipeline.plots, &file));
                if !found.iter().any(|(f, _)| *f == file) {
                    found.push((file, properties));
                }
            }
        }
        let paths: Vec<String> = found.iter().map(|(f, _)| f.clone()).collect();
        for ((path, properties), bytes) in found.into_iter().zip(revision.read(&paths)?) {
            let Some(bytes) = bytes else { continue };
            let header = properties.header.unwrap_or(true);
            match plots::data::parse(bytes, &path, header) {
                Ok(data) => {
                    let entry = drawn.entry(path).or_insert_with(|| (properties, Vec::new()));
                    entry.1.push(Version { revision: rev.clone(), data });
                }
                Err(error) => problems.push(format!("{error:#} (at {rev})")),
            }
        }
    }
    for (path, _) in &wanted {
        let under = |file: &String| file == path || file.starts_with(&format!("{path}/"));
        if !drawn.keys().any(under) {
            let at = revisions.join(", ");
            printer.note(&format!("`{path}` is not there at {at}: its stage has not run"));
        }
    }
    let mut sections = Vec::new();
    for (path, (properties, versions)) in drawn {
        match plots::section(&Target { path, properties }, &versions) {
            Ok(html) => sections.push(html),
            Err(problem) => problems.push(problem),
        }
    }
    for problem in &problems {
        printer.note(&format!("error: {problem}"));
    }
    let page = plots::page(&revisions, &sections, &problems);
    let out = loaded.cwd.join(&out);
    if let Some(parent) = out.parent() {
        fs_err::create_dir_all(parent)?;
    }
    pipit::fsutil::write_atomic(&out, page.as_bytes())?;
    let shown = out.strip_prefix(&loaded.cwd).unwrap_or(&out).display().to_string();
    let count = sections.len();
    printer.line(&format!(
        "wrote {shown}: {count} plot{} at {}",
        if count == 1 { "" } else { "s" },
        revisions.join(", ")
    ));
    Ok(if problems.is_empty() { Outcome::Success } else { Outcome::Failure })
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
