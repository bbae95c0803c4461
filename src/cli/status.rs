//! `pipit status`: which stages are out of date, and why.

use std::collections::BTreeMap;

use clap::Args;
use pipit::dag::Selection;
use pipit::lockfile::LockFile;
use pipit::status::{Inputs, Reason, reasons};
use pipit::workspace::Workspace as Files;

use super::{Outcome, Printer, workspace};

/// Arguments of `pipit status`
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Stages, families, globs or output paths to check, with what they need
    targets: Vec<String>,
    /// Print the result as JSON: each changed stage with its reasons
    #[arg(long)]
    json: bool,
}

/// Runs `pipit status`: exit 0 when everything is up to date, 1 otherwise.
pub fn run(args: StatusArgs, printer: &Printer) -> anyhow::Result<Outcome> {
    let Some(loaded) = workspace::load(printer)? else {
        return Ok(Outcome::Invalid);
    };
    let Some(selected) = loaded.select(&args.targets, Selection::Upstream, printer) else {
        return Ok(Outcome::Invalid);
    };
    let files = Files::open(&loaded.pipeline.root);
    let lock = LockFile::read(&files.root, &files.dot_cache)?;
    let mut changed: BTreeMap<usize, (String, Vec<Reason>)> = BTreeMap::new();
    let order = loaded.dag.topological_order();
    for (position, index) in order.into_iter().filter(|i| selected.contains(i)).enumerate() {
        let stage = &loaded.pipeline.stages[index];
        let (inputs, missing) = Inputs::of(stage, &files)?;
        let why = reasons(stage, lock.stages.get(&stage.name), &inputs, &missing, &files)?;
        if !why.is_empty() {
            changed.insert(position, (stage.name.clone(), why));
        }
    }
    files.save_state()?;
    if args.json {
        let map: serde_json::Map<String, serde_json::Value> = changed
            .values()
            .map(|(name, why)| (name.clone(), serde_json::to_value(why).unwrap_or_default()))
            .collect();
        printer.out(&(serde_json::to_string_pretty(&map)? + "\n"))?;
    } else if changed.is_empty() {
        printer.line("everything is up to date");
    } else {
        for (name, why) in changed.values() {
            printer.line(&format!("{name}:"));
            for reason in why {
                printer.line(&format!("    {reason}"));
            }
        }
    }
    Ok(if changed.is_empty() { Outcome::Success } else { Outcome::Failure })
}
