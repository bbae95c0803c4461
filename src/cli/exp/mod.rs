//! `pipit exp`: the runs history (`show`), and experiments: the pipeline run
//! with changed params in a workspace of its own (`run`, `--queue`,
//! `--run-all`), listed (`list`), brought into the workspace (`apply`) and
//! removed (`remove`).

mod run;
mod show;

use clap::{Args, Subcommand};

pub use run::EXP_NAME_ENV;

use super::{Outcome, Printer};

/// Arguments of `pipit exp`
#[derive(Debug, Args)]
pub struct ExpArgs {
    #[command(subcommand)]
    command: ExpCommand,
}

#[derive(Debug, Subcommand)]
enum ExpCommand {
    /// The runs history as a table: a row per run, its params and metrics as columns
    Show(show::ShowArgs),
    /// Run the pipeline with changed params in a workspace of its own, or queue it
    Run(run::RunArgs),
    /// The experiments: queued, running, succeeded or failed
    List(run::ListArgs),
    /// Bring an experiment's params and outputs into the workspace
    Apply(run::ApplyArgs),
    /// Remove experiments and their workspaces (their outputs stay in the cache)
    Remove(run::RemoveArgs),
}

/// Runs `pipit exp`.
pub fn run(args: ExpArgs, printer: &Printer) -> anyhow::Result<Outcome> {
    match args.command {
        ExpCommand::Show(args) => show::run(args, printer),
        ExpCommand::Run(args) => run::run(args, printer),
        ExpCommand::List(args) => run::list(args, printer),
        ExpCommand::Apply(args) => run::apply(args, printer),
        ExpCommand::Remove(args) => run::remove(args, printer),
    }
}
