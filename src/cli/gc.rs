//! `pipit gc`: remove cached objects that nothing needs.

use clap::Args;
use pipit::gc::collect;
use pipit::lockfile::LockFile;
use pipit::repolock::RepoLock;
use pipit::workspace::Workspace as Files;

use super::{Outcome, Printer, workspace};

/// Arguments of `pipit gc`
#[derive(Debug, Args)]
pub struct GcArgs {
    /// Print what would be removed, and remove nothing
    #[arg(long)]
    dry_run: bool,
    /// Keep only the newest N run-cache entries of each stage
    #[arg(long, value_name = "N")]
    keep_runs: Option<usize>,
}

/// Runs `pipit gc`.
pub fn run(args: GcArgs, printer: &Printer) -> anyhow::Result<Outcome> {
    let (_, root) = workspace::current_root()?;
    let files = Files::open(&root);
    let _lock = RepoLock::acquire(&files.dot_cache, true, &|_| {})?;
    let mut locks = vec![LockFile::read(&files.root, &files.dot_cache)?];
    // What an experiment made stays until the experiment is removed.
    let exps = pipit::experiments::Experiments::new(&files.dot_cache);
    for experiment in exps.all() {
        if experiment.is_running() {
            anyhow::bail!(
                "experiment `{}` is running: what it makes is not recorded yet; run `pipit gc` once it ends",
                experiment.name
            );
        }
        let work = exps.work(&experiment.name);
        let dot_cache = work.join(pipit::workspace::DOT_CACHE);
        locks.push(LockFile::read(&work, &dot_cache).map_err(|e| {
            anyhow::anyhow!(
                "experiment `{}`: {e}; `pipit exp remove {}` if it is not needed",
                experiment.name,
                experiment.name
            )
        })?);
    }
    let report = collect(&files, &locks, args.keep_runs, args.dry_run)?;
    let verb = if args.dry_run { "would remove" } else { "removed" };
    printer.line(&format!(
        "{verb} {} objects ({} bytes) and {} run-cache entries{}",
        report.objects.len(),
        report.bytes,
        report.runs,
        match report.leftovers.len() {
            0 => String::new(),
            n => format!(", and {n} temporary files left by interrupted runs"),
        }
    ));
    Ok(Outcome::Success)
}
