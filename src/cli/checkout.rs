//! `pipit checkout`: put the outputs recorded in the lock back in the workspace.

use std::collections::BTreeSet;

use clap::Args;
use pipit::cache::LinkMode;
use pipit::dag::Selection;
use pipit::lockfile::LockFile;
use pipit::repolock::RepoLock;
use pipit::runcache::RunCache;
use pipit::workspace::Workspace as Files;

use super::{Outcome, Printer, workspace};

/// Arguments of `pipit checkout`
#[derive(Debug, Args)]
pub struct CheckoutArgs {
    /// Stages, families, globs or output paths (all stages when none is given)
    targets: Vec<String>,
    /// Overwrite workspace files that the user changed
    #[arg(short, long)]
    force: bool,
}

/// Runs `pipit checkout`.
pub fn run(args: CheckoutArgs, printer: &Printer) -> anyhow::Result<Outcome> {
    let Some(loaded) = workspace::load(printer)? else {
        return Ok(Outcome::Invalid);
    };
    let Some(selected) = loaded.select(&args.targets, Selection::Single, printer) else {
        return Ok(Outcome::Invalid);
    };
    let files = workspace::open_files(&loaded.pipeline.root)?;
    let _lock = RepoLock::acquire(&files.dot_cache, true, &|_| {})?;
    place(&loaded, &selected, &files, args.force, printer)
}

/// Places the cached outs of the `selected` stages that the workspace lacks,
/// never over a file the user changed unless `force`; prints what it did.
pub fn place(
    loaded: &workspace::Workspace,
    selected: &BTreeSet<usize>,
    files: &Files,
    force: bool,
    printer: &Printer,
) -> anyhow::Result<Outcome> {
    let lock = LockFile::read(&files.root, &files.dot_cache)?;
    let known = known_hashes(&lock, &RunCache::new(&files.dot_cache));
    let (mut placed, mut refused) = (0, 0);
    for &index in selected {
        let stage = &loaded.pipeline.stages[index];
        let Some(entry) = lock.stages.get(&stage.name) else {
            continue;
        };
        for out in stage.outs.iter().filter(|o| o.cache) {
            let name = out.path.to_string();
            let Some(locked) = entry.outs.iter().find(|o| o.path == name) else {
                continue;
            };
            let path = out.path.to_path(&files.root);
            let current = files.digest(&path, &name)?;
            if current.as_ref().is_some_and(|c| c.hash == locked.hash) {
                continue;
            }
            if let Some(current) = current.filter(|c| !force && !known.contains(&c.hash)) {
                printer.note(&format!(
                    "error: not overwriting `{}`: it was changed in the workspace (hash {}); use --force",
                    current.path,
                    pipit::hash::short(&current.hash)
                ));
                refused += 1;
                continue;
            }
            let mode = if out.persist { LinkMode::ReflinkOrCopy } else { files.link };
            match files.checkout_as(locked, mode) {
                Ok(()) => placed += 1,
                Err(error) => {
                    printer.note(&format!("error: cannot check out `{name}`: {error}"));
                    refused += 1;
                }
            }
        }
    }
    files.save_state()?;
    printer.line(&format!(
        "checked out {placed} outputs{}",
        if refused > 0 { format!(", {refused} refused") } else { String::new() }
    ));
    Ok(if refused > 0 { Outcome::Failure } else { Outcome::Success })
}

/// Returns every out hash that some lock entry or run recorded: a workspace file
/// with one of these was produced by pipit, not edited by the user.
fn known_hashes(lock: &LockFile, runs: &RunCache) -> BTreeSet<String> {
    let mut known: BTreeSet<String> =
        lock.stages.values().flat_map(|e| e.outs.iter().map(|o| o.hash.clone())).collect();
    known.extend(runs.all().into_iter().flat_map(|(_, run)| run.outs.into_iter().map(|o| o.hash)));
    known
}
