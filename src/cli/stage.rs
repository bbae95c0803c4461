//! `pipit stage …`: the built-in ML stages. The only file of the engine's crate
//! that reaches into `pipit-stages`.

use clap::Args;

use super::{Outcome, Printer};

/// Arguments of `pipit stage`
#[derive(Debug, Args)]
pub struct StageArgs {
    #[command(subcommand)]
    command: pipit_stages::StageCommand,
}

/// Runs a built-in stage: exit 0 when it succeeds, 1 when it fails.
pub fn run(args: StageArgs, printer: &Printer) -> anyhow::Result<Outcome> {
    match pipit_stages::run(args.command) {
        Ok(summary) => {
            printer.line(&summary);
            Ok(Outcome::Success)
        }
        Err(error) => {
            printer.error(&error);
            Ok(Outcome::Failure)
        }
    }
}
