//! `pipit cache verify`: re-hash every cached object.

use clap::{Args, Subcommand};
use pipit::workspace::Workspace as Files;

use super::{Outcome, Printer, workspace};

/// Arguments of `pipit cache`
#[derive(Debug, Args)]
pub struct CacheArgs {
    #[command(subcommand)]
    command: CacheCommand,
}

#[derive(Debug, Subcommand)]
enum CacheCommand {
    /// Re-hash every object; name each corrupted one and exit 1 if any
    Verify,
}

/// Runs `pipit cache …`.
pub fn run(args: CacheArgs, printer: &Printer) -> anyhow::Result<Outcome> {
    let CacheCommand::Verify = args.command;
    let (_, root) = workspace::current_root()?;
    let files = Files::open(&root);
    let hashes = files.cache.hashes()?;
    let mut corrupted = 0;
    for hash in &hashes {
        if !files.cache.verify(hash)? {
            corrupted += 1;
            printer
                .line(&format!("corrupted: {hash} ({})", files.cache.object_path(hash).display()));
        }
    }
    printer.line(&format!("verified {} objects, {corrupted} corrupted", hashes.len()));
    Ok(if corrupted > 0 { Outcome::Failure } else { Outcome::Success })
}
