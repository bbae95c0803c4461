//! `pipit params diff`: the params the stages read, as two git revisions (or
//! a revision and the workspace) have them in their params files, with the
//! change.

use clap::{Args, Subcommand};
use indexmap::IndexMap;
use pipit::metrics::{self, Flat};

use super::metrics::{DiffArgs, DiffView, WORKSPACE, compare, print_changes, revisions};
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
    let mut changes = Vec::new();
    for (file, keys) in &used {
        let read = |rev: &str| -> anyhow::Result<Flat> {
            let text = if rev == WORKSPACE {
                let path = root.join(file);
                if !path.exists() {
                    return Ok(Flat::new());
                }
                fs_err::read_to_string(path)?
            } else {
                match pipit::git::show(root, rev, file)? {
                    Some(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                    None => return Ok(Flat::new()),
                }
            };
            let mut flat = metrics::parse(&text, file)?;
            flat.retain(|key, _| {
                keys.iter().any(|k| k.is_empty() || key == k || key.starts_with(&format!("{k}.")))
            });
            Ok(flat)
        };
        changes.extend(compare(file, &read(&a)?, &read(&b)?, args.all));
    }
    let view = DiffView { json: args.json, md: args.md, precision: args.precision, what: "param" };
    print_changes(&changes, (&a, &b), view, printer)
}
