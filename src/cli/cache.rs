//! `pipit cache verify`: re-hash every cached object, find what is missing, and
//! with `--repair` fix what can be fixed.

use clap::{Args, Subcommand};
use pipit::integrity::{self, Problem, Repair};
use pipit::lockfile::LockFile;
use pipit::repolock::RepoLock;

use super::{Outcome, Printer, workspace};

/// Arguments of `pipit cache`
#[derive(Debug, Args)]
pub struct CacheArgs {
    #[command(subcommand)]
    command: CacheCommand,
}

#[derive(Debug, Subcommand)]
enum CacheCommand {
    /// Re-hash every object and find the ones the lock or the run cache needs
    /// but the cache lacks; name each problem and exit 1 if any
    Verify(VerifyArgs),
}

#[derive(Debug, Args)]
struct VerifyArgs {
    /// Remove bad objects and leftover temporary files, store missing objects
    /// again from intact workspace files, and forget run-cache entries that can
    /// no longer be restored
    #[arg(long)]
    repair: bool,
}

/// Runs `pipit cache …`.
pub fn run(args: CacheArgs, printer: &Printer) -> anyhow::Result<Outcome> {
    let CacheCommand::Verify(args) = args.command;
    let (_, root) = workspace::current_root()?;
    let files = workspace::open_files(&root)?;
    let _lock = RepoLock::acquire(&files.dot_cache, true, &|_| {})?;
    let lock = LockFile::read(&files.root, &files.dot_cache)?;
    let report = integrity::verify(&files, &lock, args.repair)?;
    let shown = |path: &std::path::Path| {
        path.strip_prefix(&files.root).unwrap_or(path).display().to_string()
    };
    for problem in &report.problems {
        printer.line(&problem_line(problem, &shown));
    }
    for repair in &report.repairs {
        printer.line(&repair_line(repair, &shown));
    }
    let count = |f: fn(&Problem) -> bool| report.problems.iter().filter(|p| f(p)).count();
    let bad = count(|p| {
        matches!(
            p,
            Problem::Corrupted { .. } | Problem::NotAFile { .. } | Problem::Unreadable { .. }
        )
    });
    let missing = count(|p| matches!(p, Problem::Missing { .. }));
    let leftovers = count(|p| matches!(p, Problem::Leftover { .. }));
    printer.line(&format!(
        "verified {} objects: {bad} bad, {missing} missing, {leftovers} leftover temporary files",
        report.checked
    ));
    if !args.repair {
        if !report.problems.is_empty() {
            printer.note("hint: `pipit cache verify --repair` fixes what it can");
        }
        return Ok(if report.problems.is_empty() { Outcome::Success } else { Outcome::Failure });
    }
    if !report.still_missing.is_empty() {
        printer.line(&format!(
            "still missing {} objects: `pipit repro` rebuilds them by running their stages",
            report.still_missing.len()
        ));
        return Ok(Outcome::Failure);
    }
    Ok(Outcome::Success)
}

/// Returns the line that names one problem.
fn problem_line(problem: &Problem, shown: &dyn Fn(&std::path::Path) -> String) -> String {
    match problem {
        Problem::Corrupted { hash, actual } => {
            format!("corrupted: object {hash} (its bytes hash to {actual})")
        }
        Problem::NotAFile { hash } => format!("not a file: object {hash}"),
        Problem::Unreadable { hash, error } => format!("unreadable: object {hash}: {error}"),
        Problem::Missing { hash, needed_by } => {
            format!("missing: object {hash}, needed by {}", needed_by.join(", "))
        }
        Problem::Leftover { path, pid } => {
            format!("leftover: temporary file `{}` of pid {pid}, which no longer runs", shown(path))
        }
    }
}

/// Returns the line that says what one repair did.
fn repair_line(repair: &Repair, shown: &dyn Fn(&std::path::Path) -> String) -> String {
    match repair {
        Repair::Removed { hash } => format!("repaired: removed bad object {hash}"),
        Repair::Restored { hash, from } => {
            format!("repaired: stored object {hash} again from `{from}`")
        }
        Repair::ForgotRun { stage } => {
            format!("repaired: forgot a run-cache entry of stage `{stage}` whose objects are gone")
        }
        Repair::DeletedTemporary { path } => format!("repaired: deleted `{}`", shown(path)),
    }
}
