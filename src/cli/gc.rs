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
    let lock = LockFile::read(&files.root, &files.dot_cache)?;
    let report = collect(&files, &lock, args.keep_runs, args.dry_run)?;
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
