//! `pipit params diff`: the params the stages read, as two git revisions (or
//! a revision and the workspace) have them in their params files, with the
//! change.

use clap::{Args, Subcommand};
use indexmap::IndexMap;
use pipit::metrics::{self, Flat};

use pipit::revision::Revision;

use super::metrics::{DiffArgs, DiffView, compare, print_changes, revisions};
use super::{Outcome, Printer, workspace};

/// Arguments of `pipit params`
#[derive(Debug, Args)]
pub struct ParamsArgs {
    #[command(subcommand)]
    command: ParamsCommand,
}

#[derive(Debug, Subcommand)]
enum ParamsCommand {
    /// Compare the params the stages read at two git revisions, or a revision and the workspace
    Diff(DiffArgs),
}

/// Runs `pipit params`.
pub fn run(args: ParamsArgs, printer: &Printer) -> anyhow::Result<Outcome> {
    let ParamsCommand::Diff(args) = args.command;
    let Some(loaded) = workspace::load(printer)? else {
        return Ok(Outcome::Invalid);
    };
    let root = &loaded.pipeline.root;
    let (a, b) = revisions(root, args.a_rev.as_deref(), args.b_rev.as_deref())?;
    // Each params file with the keys the stages read from it ("" for all).
    let mut used: IndexMap<String, Vec<String>> = IndexMap::new();
    for dep in loaded.pipeline.stages.iter().flat_map(|s| &s.params) {
        let keys = used.entry(dep.file.to_string()).or_default();
        for key in dep.values.keys() {
            if !keys.contains(key) {
                keys.push(key.clone());
            }
        }
    }
    // Each file's text at a revision (`None` where it has none): every file
    // of a revision read at once.
    let files = workspace::open_files(root)?;
    let paths: Vec<String> = used.keys().cloned().collect();
    let texts = |rev: &str| -> anyhow::Result<Vec<Option<String>>> {
        let found = Revision::new(&files, rev).read(&paths)?;
        Ok(found.into_iter().map(|b| b.map(|b| String::from_utf8_lossy(&b).into_owned())).collect())
    };
    // The values under the keys the stages read, flattened.
    let read =
        |(file, keys): (&String, &Vec<String>), text: Option<String>| -> anyhow::Result<Flat> {
            let Some(text) = text else {
                return Ok(Flat::new());
            };
            let mut flat = metrics::parse(&text, file)?;
            flat.retain(|key, _| {
                keys.iter().any(|k| k.is_empty() || key == k || key.starts_with(&format!("{k}.")))
            });
            Ok(flat)
        };
    let mut changes = Vec::new();
    for ((entry, text_a), text_b) in used.iter().zip(texts(&a)?).zip(texts(&b)?) {
        let (old, new) = (read(entry, text_a)?, read(entry, text_b)?);
        changes.extend(compare(entry.0, &old, &new, args.all));
    }
    let view = DiffView { json: args.json, md: args.md, precision: args.precision, what: "param" };
    print_changes(&changes, (&a, &b), view, printer)
}
