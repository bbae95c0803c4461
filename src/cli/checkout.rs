//! `pipit checkout`: put the outputs recorded in the lock back in the workspace.

use std::collections::BTreeSet;

use clap::Args;
use pipit::cache::LinkMode;
use pipit::dag::Selection;
use pipit::lockfile::{LockFile, LockedPath};
use pipit::repolock::RepoLock;
use pipit::runcache::RunCache;
use pipit::workspace::Workspace as Files;

use super::{Outcome, Printer, workspace};

/// Arguments of `pipit checkout`
#[derive(Debug, Args)]
pub struct CheckoutArgs {
    /// Stages, families, globs, output paths or data `pipit add` tracks (`raw`,
    /// `raw.pipit`); everything when none is given
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
    let Some(chosen) = loaded.select_with_tracked(&args.targets, Selection::Single, printer)?
    else {
        return Ok(Outcome::Invalid);
    };
    let files = workspace::open_files(&loaded.pipeline.root)?;
    let _lock = RepoLock::acquire(&files.dot_cache, true, &|_| {})?;
    place(&loaded, &chosen.stages, &chosen.tracked, &files, args.force, printer)
}

/// Places the cached outs of the `selected` stages and the `tracked` data
/// that the workspace lacks, never over a file the user changed unless
/// `force`; prints what it did.
pub fn place(
    loaded: &workspace::Workspace,
    selected: &BTreeSet<usize>,
    tracked: &[LockedPath],
    files: &Files,
    force: bool,
    printer: &Printer,
) -> anyhow::Result<Outcome> {
    let lock = LockFile::read(&files.root, &files.dot_cache)?;
    let mut known = known_hashes(&lock, &RunCache::new(&files.dot_cache));
    known.extend(tracked.iter().map(|t| t.hash.clone()));
    let mut wanted: Vec<(&LockedPath, LinkMode)> = Vec::new();
    for &index in selected {
        let stage = &loaded.pipeline.stages[index];
        let Some(entry) = lock.stages.get(&stage.name) else {
            continue;
        };
        for out in stage.outs.iter().filter(|o| o.cache) {
            if let Some(locked) = entry.outs.iter().find(|o| o.path == out.path.as_str()) {
                let mode = if out.persist { LinkMode::ReflinkOrCopy } else { files.link };
                wanted.push((locked, mode));
            }
        }
    }
    wanted.extend(tracked.iter().map(|t| (t, files.link)));
    let (mut placed, mut refused) = (0, 0);
    for (locked, mode) in wanted {
        match place_one(files, locked, mode, &known, force)? {
            Placed::Already => {}
            Placed::Done => placed += 1,
            Placed::Refused(why) => {
                printer.note(&format!("error: {why}"));
                refused += 1;
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

/// What placing one out did.
enum Placed {
    /// The workspace held it already.
    Already,
    /// It was placed.
    Done,
    /// It was not, for this reason.
    Refused(String),
}

fn place_one(
    files: &Files,
    locked: &LockedPath,
    mode: LinkMode,
    known: &BTreeSet<String>,
    force: bool,
) -> anyhow::Result<Placed> {
    let path = files.root.join(&locked.path);
    let current = files.digest(&path, &locked.path)?;
    if current.as_ref().is_some_and(|c| c.hash == locked.hash) {
        return Ok(Placed::Already);
    }
    if let Some(current) = current.filter(|c| !force && !known.contains(&c.hash)) {
        return Ok(Placed::Refused(format!(
            "not overwriting `{}`: it was changed in the workspace (hash {}); use --force",
            current.path,
            pipit::hash::short(&current.hash)
        )));
    }
    Ok(match files.checkout_as(locked, mode) {
        Ok(()) => Placed::Done,
        Err(error) => Placed::Refused(format!("cannot check out `{}`: {error}", locked.path)),
    })
}

/// Returns every out hash that some lock entry or run recorded: a workspace file
/// with one of these was produced by pipit, not edited by the user.
fn known_hashes(lock: &LockFile, runs: &RunCache) -> BTreeSet<String> {
    let mut known: BTreeSet<String> =
        lock.stages.values().flat_map(|e| e.outs.iter().map(|o| o.hash.clone())).collect();
    known.extend(runs.all().into_iter().flat_map(|(_, run)| run.outs.into_iter().map(|o| o.hash)));
    known
}
